"""Tests for xmcam.protocol.header: the 20-byte header and the named limits."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from tests.seed import SEED_FRAMES
from xmcam.errors import FrameError, ProtocolError
from xmcam.protocol.header import (
    CLIENT_VERSION,
    DEFAULT_LIMITS,
    DEVICE_LIMITS,
    DEVICE_LIMITS_BEFORE_LOGIN,
    DEVICE_VERSION,
    FUNSDK_MARKER,
    HEAD_FLAG,
    HEADER,
    HEADER_SIZE,
    MAX_PART_SIZE,
    Header,
    Limits,
)

# docs/protocol.md §2: "Example login request header with 0x50 body bytes".
PROTOCOL_LOGIN_HEADER = bytes.fromhex("ff000000 00000000 00000000 0000e803 50000000")


def test_constants() -> None:
    assert HEADER_SIZE == 20
    assert HEADER.size == 20
    assert HEAD_FLAG == 0xFF
    assert CLIENT_VERSION == 0
    assert DEVICE_VERSION == 1
    assert FUNSDK_MARKER == 0x63
    assert MAX_PART_SIZE == 16 * 1024


def test_protocol_example_login_header_packs_exactly() -> None:
    header = Header(message_id=1000, length=0x50)
    assert header.pack() == PROTOCOL_LOGIN_HEADER


def test_protocol_example_login_header_unpacks() -> None:
    header = Header.unpack(PROTOCOL_LOGIN_HEADER)
    assert header == Header(message_id=1000, length=0x50)
    assert header.session_id == 0
    assert header.sequence == 0
    assert header.version == CLIENT_VERSION
    assert header.total_packets == 0
    assert header.current_packet == 0
    assert header.reserved1 == 0
    assert header.reserved2 == 0


def test_seed_login_header_round_trips() -> None:
    # The seed's own login request: same header with its real body length (0x64).
    packet = SEED_FRAMES[0].payload
    header = Header.unpack(packet)
    assert header == Header(message_id=1000, length=len(packet) - HEADER_SIZE)
    assert header.length == 0x64
    assert header.pack() == packet[:HEADER_SIZE]


def test_seed_reply_header_has_device_version() -> None:
    header = Header.unpack(SEED_FRAMES[1].payload)
    assert header.version == DEVICE_VERSION
    assert header.session_id == 1
    assert header.message_id == 1001


def test_every_field_round_trips_in_little_endian() -> None:
    header = Header(
        message_id=0x1234,
        length=0x0A0B0C0D,
        session_id=0x11223344,
        sequence=0x55667788,
        version=1,
        total_packets=3,
        current_packet=2,
        reserved1=254,
        reserved2=7,
    )
    wire = header.pack()
    assert wire == bytes.fromhex("ff01fe07 44332211 88776655 0302 3412 0d0c0b0a")
    assert Header.unpack(wire) == header


def test_maximum_field_values_round_trip() -> None:
    header = Header(
        message_id=0xFFFF,
        length=0xFFFFFFFF,
        session_id=0xFFFFFFFF,
        sequence=0xFFFFFFFF,
        version=0xFF,
        total_packets=0xFF,
        current_packet=0xFF,
        reserved1=0xFF,
        reserved2=0xFF,
    )
    assert Header.unpack(header.pack()) == header
    assert header.pack() == b"\xff" * 20


def test_reserved_bytes_are_never_validated() -> None:
    wire = bytearray(PROTOCOL_LOGIN_HEADER)
    wire[2] = 0x80
    wire[3] = 0x01
    header = Header.unpack(wire)
    assert (header.reserved1, header.reserved2) == (0x80, 0x01)


def test_unpack_at_offset() -> None:
    data = b"junk" + PROTOCOL_LOGIN_HEADER + b"tail"
    assert Header.unpack(data, 4) == Header(message_id=1000, length=0x50)


def test_unpack_accepts_bytearray_and_memoryview() -> None:
    expected = Header(message_id=1000, length=0x50)
    assert Header.unpack(bytearray(PROTOCOL_LOGIN_HEADER)) == expected
    assert Header.unpack(memoryview(PROTOCOL_LOGIN_HEADER)) == expected


@pytest.mark.parametrize("head", [0x00, 0xFE, 0x7F, ord("{")])
def test_bad_head_byte_raises_frame_error(head: int) -> None:
    wire = bytes([head]) + PROTOCOL_LOGIN_HEADER[1:]
    with pytest.raises(FrameError, match=f"bad head byte 0x{head:02x}"):
        Header.unpack(wire)


@pytest.mark.parametrize("size", [0, 1, 19])
def test_short_input_raises_frame_error(size: int) -> None:
    with pytest.raises(FrameError, match=f"needs 20 bytes, got {size}"):
        Header.unpack(PROTOCOL_LOGIN_HEADER[:size])


def test_short_input_after_offset_raises_frame_error() -> None:
    with pytest.raises(FrameError, match="got 19"):
        Header.unpack(b"x" + PROTOCOL_LOGIN_HEADER[:19], 1)


def test_frame_error_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        Header.unpack(b"")


def test_pack_out_of_range_raises_struct_error() -> None:
    with pytest.raises(struct.error):
        Header(message_id=0x10000, length=0).pack()
    with pytest.raises(struct.error):
        Header(message_id=1000, length=-1).pack()


def test_header_is_frozen() -> None:
    header = Header(message_id=1000, length=0)
    with pytest.raises(AttributeError):
        header.length = 5  # type: ignore[misc]


# --- bytes 12/13 --------------------------------------------------------------------------


def test_channel_reads_byte_12() -> None:
    header = Header(message_id=1412, length=8192, total_packets=2)
    assert header.channel == 2
    assert Header.unpack(header.pack()).channel == 2


@pytest.mark.parametrize(("byte13", "end"), [(0, False), (1, True), (2, False), (0xFF, False)])
def test_end_flag_reads_byte_13(byte13: int, end: bool) -> None:
    header = Header(message_id=1426, length=0, current_packet=byte13)
    assert header.end_flag is end


@pytest.mark.parametrize(
    ("total", "multi"),
    [(0, False), (1, False), (2, True), (0x62, True), (0x63, False), (0x64, True), (0xFF, True)],
)
def test_is_multi_packet(total: int, multi: bool) -> None:
    header = Header(message_id=1042, length=10, total_packets=total)
    assert header.is_multi_packet is multi


def test_funsdk_marker_is_not_multi_packet() -> None:
    assert not Header(message_id=1000, length=0, total_packets=FUNSDK_MARKER).is_multi_packet


# --- limits -------------------------------------------------------------------------------


def test_check_packet_length_at_limit_passes() -> None:
    limits = Limits(max_packet_payload=100)
    limits.check_packet_length(100, 1000)
    limits.check_packet_length(0, 1000)
    DEFAULT_LIMITS.check_packet_length(DEFAULT_LIMITS.max_packet_payload, 1412)


def test_check_packet_length_over_limit_raises() -> None:
    limits = Limits(max_packet_payload=100)
    with pytest.raises(FrameError, match="message 1042 announces 101 bytes") as info:
        limits.check_packet_length(101, 1042)
    assert "limit of 100" in str(info.value)


def test_check_packet_length_rejects_absurd_lengths() -> None:
    # Length >= 0x80000000 crashes some firmware (docs/protocol.md §2.5); we never accept it.
    with pytest.raises(FrameError):
        DEFAULT_LIMITS.check_packet_length(0x80000000, 1000)
    with pytest.raises(FrameError):
        DEVICE_LIMITS.check_packet_length(DEVICE_LIMITS.max_packet_payload + 1, 1000)


def test_default_limits_values() -> None:
    assert Limits() == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.max_packet_payload == 4 * 1024 * 1024
    assert DEFAULT_LIMITS.max_message_size == 16 * 1024 * 1024
    assert DEFAULT_LIMITS.max_pending_messages == 8
    assert DEFAULT_LIMITS.max_json_size == 1024 * 1024
    assert DEFAULT_LIMITS.max_json_depth == 32


def test_device_limits_are_smaller_than_default_limits() -> None:
    assert DEVICE_LIMITS.max_packet_payload < DEFAULT_LIMITS.max_packet_payload
    assert DEVICE_LIMITS.max_message_size < DEFAULT_LIMITS.max_message_size
    for limit in dataclasses.fields(Limits):
        assert getattr(DEVICE_LIMITS, limit.name) <= getattr(DEFAULT_LIMITS, limit.name)
    # A device must still take the largest known config tree (~155 KB, docs/protocol.md §2.5).
    assert DEVICE_LIMITS.max_packet_payload >= 155 * 1024
    assert DEVICE_LIMITS.max_message_size >= 155 * 1024


def test_limits_before_login_are_a_few_kib() -> None:
    for limit in dataclasses.fields(Limits):
        assert getattr(DEVICE_LIMITS_BEFORE_LOGIN, limit.name) <= getattr(DEVICE_LIMITS, limit.name)
    assert DEVICE_LIMITS_BEFORE_LOGIN.max_packet_payload <= 8 * 1024
    assert DEVICE_LIMITS_BEFORE_LOGIN.max_json_size <= 8 * 1024
    # An encrypted (FunSDK) login, the largest thing sent before login, is about 1.3 KiB:
    # three RSA-1024 fields in hex, AES-padded, base64.
    assert DEVICE_LIMITS_BEFORE_LOGIN.max_packet_payload >= 3 * 1024


def test_limits_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_packet_payload = 1  # type: ignore[misc]
