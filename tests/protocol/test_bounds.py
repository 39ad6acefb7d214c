"""Resource bounds: a peer cannot make the decoder allocate past its limits, and a long
stream runs in constant memory."""

from __future__ import annotations

import os
import struct
import tracemalloc

import pytest

from xmcam.errors import FrameError
from xmcam.protocol import DEFAULT_LIMITS, DEVICE_LIMITS, FrameDecoder, encode_frame


def header_announcing(length: int, message_id: int = 1021) -> bytes:
    return struct.pack("<BBBBIIBBHI", 0xFF, 1, 0, 0, 1, 0, 0, 0, message_id, length)


@pytest.mark.parametrize("length", [DEFAULT_LIMITS.max_packet_payload + 1, 0x80000000, 0xFFFFFFFF])
def test_an_absurd_length_is_refused_before_any_data_is_buffered(length: int) -> None:
    decoder = FrameDecoder()
    with pytest.raises(FrameError, match="over the limit"):
        decoder.feed(header_announcing(length))
    assert decoder.buffered <= 20


def test_a_device_refuses_client_packets_over_its_smaller_limit() -> None:
    decoder = FrameDecoder(DEVICE_LIMITS)
    decoder.feed(header_announcing(DEVICE_LIMITS.max_packet_payload, 1040))
    with pytest.raises(FrameError):
        FrameDecoder(DEVICE_LIMITS).feed(
            header_announcing(DEVICE_LIMITS.max_packet_payload + 1, 1040)
        )


def test_the_buffer_holds_only_what_arrived() -> None:
    decoder = FrameDecoder()
    decoder.feed(header_announcing(DEFAULT_LIMITS.max_packet_payload))
    decoder.feed(bytes(1000))
    assert decoder.buffered == 1020


def test_a_first_byte_that_is_not_0xff_fails_at_once() -> None:
    with pytest.raises(FrameError, match="bad head byte 0x47 at stream offset 0"):
        FrameDecoder().feed(b"G")


def test_a_long_media_stream_decodes_in_constant_memory() -> None:
    packet = encode_frame(1412, os.urandom(8192), session_id=1)
    stream = packet * 64
    read_size = 65000  # socket-sized reads that cut packets at odd places
    reads = [stream[offset : offset + read_size] for offset in range(0, len(stream), read_size)]
    decoder = FrameDecoder()
    tracemalloc.start()
    try:
        total = 0
        for _ in range(64):  # 33 MiB in all
            for data in reads:
                total += len(decoder.feed(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 64 * 64
    assert decoder.buffered == 0
    # One read, the frames cut from it, and one partial packet: well under 1 MiB.
    assert peak < 1024 * 1024, peak
