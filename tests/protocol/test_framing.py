"""Tests for xmcam.protocol.framing: the incremental decoder, reassembly, frame encoding.

Every decoding test feeds its bytes several ways (whole, byte by byte, in odd-sized chunks,
as memoryview and bytearray) and expects the same frames."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.seed import EXPECTED_BODIES, EXPECTED_HEADERS, SEED_FRAMES
from xmcam.errors import FrameError, PayloadError, ProtocolError, ReassemblyError
from xmcam.protocol.codes import MEDIA_MESSAGE_IDS
from xmcam.protocol.framing import Frame, FrameDecoder, encode_frame, encode_message
from xmcam.protocol.header import (
    DEFAULT_LIMITS,
    DEVICE_LIMITS,
    FUNSDK_MARKER,
    HEADER_SIZE,
    MAX_PART_SIZE,
    Header,
    Limits,
)

KEEPALIVE = b'{ "Name" : "KeepAlive", "SessionID" : "0x00000001" }\n'
CONFIG = 1042  # a control message id (ConfigGet), not media
MONITOR_DATA = 1412


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def feed_whole(decoder: FrameDecoder, data: bytes) -> list[Frame]:
    return decoder.feed(data)


def feed_bytewise(decoder: FrameDecoder, data: bytes) -> list[Frame]:
    frames: list[Frame] = []
    for index in range(len(data)):
        frames += decoder.feed(data[index : index + 1])
    return frames


def feed_sevens(decoder: FrameDecoder, data: bytes) -> list[Frame]:
    frames: list[Frame] = []
    for chunk in _chunks(data, 7):
        frames += decoder.feed(chunk)
    return frames


def feed_memoryview(decoder: FrameDecoder, data: bytes) -> list[Frame]:
    frames: list[Frame] = []
    for chunk in _chunks(data, 33):
        frames += decoder.feed(memoryview(chunk))
    return frames


def feed_bytearray(decoder: FrameDecoder, data: bytes) -> list[Frame]:
    frames: list[Frame] = []
    for chunk in _chunks(data, 21):
        frames += decoder.feed(bytearray(chunk))
    return frames


Feeder = Callable[[FrameDecoder, bytes], list[Frame]]
FEEDERS: list[Feeder] = [feed_whole, feed_bytewise, feed_sevens, feed_memoryview, feed_bytearray]
feeders = pytest.mark.parametrize("feed", FEEDERS, ids=lambda feeder: feeder.__name__)


def decode_all(
    data: bytes, feed: Feeder = feed_whole, limits: Limits = DEFAULT_LIMITS
) -> list[Frame]:
    decoder = FrameDecoder(limits)
    frames = feed(decoder, data)
    assert decoder.buffered == 0
    decoder.eof()
    return frames


# ==========================================================================================
# Single frames
# ==========================================================================================


@feeders
def test_single_frame(feed: Feeder) -> None:
    data = encode_frame(1006, KEEPALIVE, session_id=1, sequence=5)
    frames = decode_all(data, feed)
    assert frames == [
        Frame(Header(message_id=1006, length=len(KEEPALIVE), session_id=1, sequence=5), KEEPALIVE)
    ]
    assert frames[0].parts == 1


@feeders
def test_empty_frame(feed: Feeder) -> None:
    frames = decode_all(encode_frame(1003), feed)
    assert frames == [Frame(Header(message_id=1003, length=0), b"")]


@feeders
def test_every_seed_frame_joined(feed: Feeder) -> None:
    stream = b"".join(frame.payload for frame in SEED_FRAMES)
    frames = decode_all(stream, feed)
    assert len(frames) == len(SEED_FRAMES)
    for frame, seed, expected, body in zip(
        frames, SEED_FRAMES, EXPECTED_HEADERS, EXPECTED_BODIES, strict=True
    ):
        _, message_id, session_id, sequence, version = expected
        assert frame.message_id == message_id
        assert frame.session_id == session_id
        assert frame.sequence == sequence
        assert frame.header.version == version
        assert frame.body().data == body
        assert frame.to_bytes() == seed.payload


@feeders
def test_several_frames_in_one_feed(feed: Feeder) -> None:
    payloads = [b"", b"a", b"bc" * 50, KEEPALIVE]
    data = b"".join(
        encode_frame(1000 + 2 * i, payload, sequence=i) for i, payload in enumerate(payloads)
    )
    frames = decode_all(data, feed)
    assert [frame.payload for frame in frames] == payloads
    assert [frame.message_id for frame in frames] == [1000, 1002, 1004, 1006]
    assert [frame.sequence for frame in frames] == [0, 1, 2, 3]


def test_split_at_every_offset() -> None:
    first = encode_frame(1006, KEEPALIVE, session_id=1)
    second = encode_frame(1007, b"{}\n\x00", session_id=1, version=1)
    data = first + second
    expected = decode_all(data)
    assert len(expected) == 2
    for cut in range(len(data) + 1):
        decoder = FrameDecoder()
        frames = decoder.feed(data[:cut])
        frames += decoder.feed(data[cut:])
        assert frames == expected, cut
        assert decoder.buffered == 0
        decoder.eof()


def test_split_twice_at_every_pair_of_offsets() -> None:
    data = encode_frame(1006, b"xyz") + encode_frame(1008, b"")
    expected = decode_all(data)
    for first, second in itertools.combinations_with_replacement(range(len(data) + 1), 2):
        decoder = FrameDecoder()
        frames = decoder.feed(data[:first])
        frames += decoder.feed(data[first:second])
        frames += decoder.feed(data[second:])
        assert frames == expected, (first, second)


def test_frames_are_returned_as_soon_as_complete() -> None:
    data = encode_frame(1006, KEEPALIVE)
    decoder = FrameDecoder()
    for index in range(len(data) - 1):
        assert decoder.feed(data[index : index + 1]) == []
    assert len(decoder.feed(data[-1:])) == 1


def test_empty_feed_returns_nothing() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"") == []
    decoder.feed(b"\xff\x00")
    assert decoder.feed(b"") == []
    assert decoder.buffered == 2


def test_buffered() -> None:
    data = encode_frame(1006, b"0123456789")
    decoder = FrameDecoder()
    assert decoder.buffered == 0
    decoder.feed(data[:10])
    assert decoder.buffered == 10
    decoder.feed(data[10:25])
    assert decoder.buffered == 25
    assert len(decoder.feed(data[25:] + data[:3])) == 1
    assert decoder.buffered == 3


def test_buffered_counts_collected_parts() -> None:
    parts = encode_message(CONFIG, b"x" * 30, part_size=10)
    decoder = FrameDecoder()
    assert decoder.feed(parts[0] + parts[1]) == []
    assert decoder.buffered == 20  # two parts of 10 bytes, held until the third arrives
    (frame,) = decoder.feed(parts[2])
    assert decoder.buffered == 0
    assert frame.payload == b"x" * 30


def test_caller_may_reuse_its_buffer() -> None:
    data = encode_frame(1006, KEEPALIVE)
    decoder = FrameDecoder()
    scratch = bytearray(data[:30])
    assert decoder.feed(scratch) == []
    scratch[:] = b"\x00" * 30  # the decoder must have copied what it kept
    frames = decoder.feed(memoryview(data)[30:])
    assert frames[0].payload == KEEPALIVE
    assert isinstance(frames[0].payload, bytes)


def test_memoryview_input_whole() -> None:
    data = encode_frame(1006, KEEPALIVE) * 2
    frames = FrameDecoder().feed(memoryview(data))
    assert [frame.payload for frame in frames] == [KEEPALIVE, KEEPALIVE]
    assert all(type(frame.payload) is bytes for frame in frames)


def test_bytearray_input_leftover_is_kept() -> None:
    data = encode_frame(1006, KEEPALIVE)
    decoder = FrameDecoder()
    assert len(decoder.feed(bytearray(data + data[:25]))) == 1
    assert decoder.buffered == 25
    assert decoder.feed(bytearray(data[25:]))[0].payload == KEEPALIVE


@settings(max_examples=100, database=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=60), st.integers(0, 0xFFFFFFFF)),
        max_size=6,
    ),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_any_split_gives_the_same_frames(
    packets: list[tuple[int, bytes, int]], cuts: list[int]
) -> None:
    media = set(MEDIA_MESSAGE_IDS)
    data = b"".join(
        encode_frame(message_id, payload, session_id=session)
        for message_id, payload, session in packets
    )
    decoder = FrameDecoder()
    frames: list[Frame] = []
    start = 0
    for cut in sorted(min(cut, len(data)) for cut in cuts):
        frames += decoder.feed(data[start:cut])
        start = cut
    frames += decoder.feed(data[start:])
    decoder.eof()
    assert [(f.message_id, f.payload, f.session_id) for f in frames] == packets
    assert all(f.is_media == (f.message_id in media) for f in frames)


@settings(max_examples=300, database=None)
@given(st.binary(max_size=120), st.integers(min_value=1, max_value=40))
def test_decoder_raises_only_protocol_errors(data: bytes, chunk: int) -> None:
    decoder = FrameDecoder(Limits(max_packet_payload=64))
    raised: ProtocolError | None = None
    try:
        for piece in _chunks(data, chunk):
            decoder.feed(piece)
        decoder.eof()
    except ProtocolError as error:
        raised = error
    # Whatever was raised is the sticky failure, or an end-of-stream report.
    assert decoder.failure is None or decoder.failure is raised


# ==========================================================================================
# Limits and broken streams
# ==========================================================================================


def test_length_over_limit_raises_when_the_header_is_complete() -> None:
    limits = Limits(max_packet_payload=100)
    header = Header(message_id=1042, length=101).pack()
    decoder = FrameDecoder(limits)
    for index in range(HEADER_SIZE - 1):
        assert decoder.feed(header[index : index + 1]) == []
    with pytest.raises(FrameError, match="announces 101 bytes") as info:
        decoder.feed(header[-1:])
    assert type(info.value) is FrameError
    assert decoder.failure is info.value


def test_length_over_limit_raises_in_one_feed() -> None:
    with pytest.raises(FrameError, match="limit of 100"):
        FrameDecoder(Limits(max_packet_payload=100)).feed(Header(message_id=1, length=101).pack())


def test_length_at_limit_waits_for_the_data() -> None:
    decoder = FrameDecoder(Limits(max_packet_payload=100))
    assert decoder.feed(Header(message_id=1042, length=100).pack()) == []
    assert decoder.buffered == HEADER_SIZE
    frames = decoder.feed(b"x" * 100)
    assert frames[0].payload == b"x" * 100


def test_absurd_length_with_default_and_device_limits() -> None:
    header = Header(message_id=1000, length=0x80000000).pack()
    with pytest.raises(FrameError):
        FrameDecoder().feed(header)
    just_over = Header(message_id=1000, length=DEVICE_LIMITS.max_packet_payload + 1).pack()
    with pytest.raises(FrameError):
        FrameDecoder(DEVICE_LIMITS).feed(just_over)
    assert FrameDecoder().feed(just_over) == []  # a client accepts more than a device


def test_bad_head_byte() -> None:
    data = b"\x00" + encode_frame(1006, KEEPALIVE)[1:]
    with pytest.raises(FrameError, match="bad head byte 0x00") as info:
        FrameDecoder().feed(data)
    assert not isinstance(info.value, ReassemblyError)


def test_bad_head_byte_is_caught_on_its_first_byte() -> None:
    decoder = FrameDecoder()
    with pytest.raises(FrameError, match="bad head byte 0x47"):
        decoder.feed(b"GET / HTTP/1.1\r\n")


@feeders
def test_bad_head_byte_in_any_feed(feed: Feeder) -> None:
    decoder = FrameDecoder()
    with pytest.raises(FrameError, match="bad head byte 0x7b"):
        feed(decoder, b'{"Name":"KeepAlive"}' + b"\x00" * 40)


def test_bad_head_after_a_frame_reports_its_stream_offset() -> None:
    good = encode_frame(1006, KEEPALIVE)
    decoder = FrameDecoder()
    assert len(decoder.feed(good)) == 1
    with pytest.raises(FrameError, match=f"stream offset {len(good)}\\b"):
        decoder.feed(b"\xfe" + good[1:])


def test_good_frames_before_garbage_are_returned_then_the_error_is_raised() -> None:
    good = encode_frame(1006, KEEPALIVE)
    decoder = FrameDecoder()
    frames = decoder.feed(good + good + b"\x00garbage" * 5)
    assert [frame.payload for frame in frames] == [KEEPALIVE, KEEPALIVE]
    error = decoder.failure
    assert isinstance(error, FrameError)
    with pytest.raises(FrameError, match="bad head byte 0x00") as info:
        decoder.feed(b"")
    assert info.value is error
    with pytest.raises(FrameError) as info:
        decoder.eof()
    assert info.value is error


def test_good_frame_then_garbage_error_is_raised_on_eof() -> None:
    decoder = FrameDecoder()
    frames = decoder.feed(encode_frame(1006, KEEPALIVE) + b"\x01")
    assert len(frames) == 1
    with pytest.raises(FrameError, match="bad head byte 0x01"):
        decoder.eof()


def test_good_frames_from_the_buffer_before_garbage() -> None:
    good = encode_frame(1006, KEEPALIVE)
    decoder = FrameDecoder()
    assert decoder.feed(good[:10]) == []
    assert len(decoder.feed(good[10:] + b"junk" * 10)) == 1
    assert isinstance(decoder.failure, FrameError)


def test_failure_is_sticky() -> None:
    decoder = FrameDecoder()
    assert decoder.failure is None
    with pytest.raises(FrameError) as first:
        decoder.feed(b"\x00" * 20)
    assert decoder.failure is first.value
    for _ in range(3):
        with pytest.raises(FrameError) as again:
            decoder.feed(encode_frame(1006, KEEPALIVE))
        assert again.value is first.value
    with pytest.raises(FrameError) as at_eof:
        decoder.eof()
    assert at_eof.value is first.value


@pytest.mark.parametrize("cut", [1, 5, 19, 20, 21, 40])
def test_eof_mid_packet(cut: int) -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(1006, KEEPALIVE)[:cut])
    with pytest.raises(FrameError, match=f"middle of a packet \\({cut} bytes\\)") as info:
        decoder.eof()
    assert type(info.value) is FrameError
    assert decoder.failure is None  # eof reports; it does not poison the decoder


def test_eof_mid_multi_packet_message() -> None:
    parts = encode_message(CONFIG, b"x" * 30, part_size=10)
    decoder = FrameDecoder()
    assert decoder.feed(parts[0] + parts[2]) == []
    with pytest.raises(ReassemblyError, match="middle of multi-packet CONFIG_GET_REQ"):
        decoder.eof()


def test_eof_mid_two_multi_packet_messages_names_both() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_message(CONFIG, b"x" * 30, part_size=10)[0])
    decoder.feed(encode_message(60000, b"x" * 30, part_size=10)[0])
    with pytest.raises(ReassemblyError, match="CONFIG_GET_REQ, MSG_60000"):
        decoder.eof()


def test_eof_at_a_boundary() -> None:
    decoder = FrameDecoder()
    decoder.eof()
    decoder.feed(encode_frame(1006, KEEPALIVE) * 3)
    decoder.eof()
    decoder.eof()
    assert decoder.failure is None
    assert decoder.buffered == 0


# ==========================================================================================
# Multi-packet reassembly
# ==========================================================================================

BIG = bytes(range(256)) * 3 + b"tail"  # 772 bytes


@feeders
def test_reassembly(feed: Feeder) -> None:
    packets = encode_message(CONFIG, BIG, session_id=7, sequence=3, part_size=100)
    assert len(packets) == 8
    frames = decode_all(b"".join(packets), feed)
    assert len(frames) == 1
    frame = frames[0]
    assert frame.payload == BIG
    assert frame.parts == 8
    assert frame.header.length == len(BIG)
    assert frame.header.total_packets == 8
    assert frame.header.current_packet == 0
    assert frame.message_id == CONFIG
    assert frame.session_id == 7
    assert frame.sequence == 3


def test_reassembly_returns_the_message_with_its_last_part() -> None:
    packets = encode_message(CONFIG, BIG, part_size=400)
    decoder = FrameDecoder()
    assert decoder.feed(packets[0]) == []
    frames = decoder.feed(packets[1])
    assert [frame.payload for frame in frames] == [BIG]


@pytest.mark.parametrize("order", [(2, 1, 0), (1, 0, 2), (2, 0, 1), (0, 2, 1)], ids=str)
def test_parts_out_of_order(order: tuple[int, int, int]) -> None:
    packets = encode_message(CONFIG, BIG, part_size=300)
    assert len(packets) == 3
    frames = decode_all(b"".join(packets[index] for index in order))
    assert len(frames) == 1
    assert frames[0].payload == BIG
    assert frames[0].parts == 3
    assert frames[0].header.length == len(BIG)


def test_interleaved_messages_of_different_ids() -> None:
    first = encode_message(CONFIG, b"A" * 50, part_size=20)
    second = encode_message(1040, b"B" * 30, part_size=20)
    single = encode_frame(1006, KEEPALIVE)
    stream = first[0] + second[0] + single + first[1] + second[1] + first[2]
    frames = decode_all(stream, feed_bytewise)
    assert [(frame.message_id, frame.parts) for frame in frames] == [
        (1006, 1),
        (1040, 2),
        (CONFIG, 3),
    ]
    assert frames[1].payload == b"B" * 30
    assert frames[2].payload == b"A" * 50


def test_same_id_can_be_reassembled_again() -> None:
    packets = encode_message(CONFIG, BIG, part_size=500)
    frames = decode_all(b"".join(packets) * 2 + encode_frame(CONFIG, b"after"))
    assert [frame.payload for frame in frames] == [BIG, BIG, b"after"]


def test_duplicate_part() -> None:
    packets = encode_message(CONFIG, BIG, part_size=300)
    decoder = FrameDecoder()
    with pytest.raises(ReassemblyError, match="part 1 of 3 arrived twice"):
        decoder.feed(packets[0] + packets[1] + packets[1])


@pytest.mark.parametrize(("total", "index"), [(3, 3), (3, 200), (2, 2), (4, 255)])
def test_part_index_out_of_range(total: int, index: int) -> None:
    packet = encode_frame(CONFIG, b"x", total_packets=total, current_packet=index)
    with pytest.raises(ReassemblyError, match=f"part {index} of {total} is out of range"):
        FrameDecoder().feed(packet)


def test_changed_total() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(CONFIG, b"x", total_packets=3, current_packet=0))
    with pytest.raises(ReassemblyError, match="says 4 parts, earlier parts said 3"):
        decoder.feed(encode_frame(CONFIG, b"y", total_packets=4, current_packet=1))


def test_pending_message_limit() -> None:
    limits = Limits(max_pending_messages=2)
    decoder = FrameDecoder(limits)
    decoder.feed(encode_frame(1040, b"x", total_packets=2, current_packet=0))
    decoder.feed(encode_frame(1042, b"x", total_packets=2, current_packet=0))
    # A further part of a pending message is fine; a third message id is not.
    assert decoder.feed(encode_frame(1042, b"y", total_packets=2, current_packet=1)) != []
    decoder.feed(encode_frame(1044, b"x", total_packets=2, current_packet=0))
    with pytest.raises(ReassemblyError, match="more than 2 multi-packet messages"):
        decoder.feed(encode_frame(1046, b"x", total_packets=2, current_packet=0))


def test_default_pending_message_limit() -> None:
    decoder = FrameDecoder()
    for number in range(DEFAULT_LIMITS.max_pending_messages):
        decoder.feed(encode_frame(2000 + 2 * number, b"x", total_packets=2))
    with pytest.raises(ReassemblyError, match="more than 8"):
        decoder.feed(encode_frame(1040, b"x", total_packets=2))


def test_message_size_limit() -> None:
    limits = Limits(max_message_size=60)
    exactly = encode_message(CONFIG, b"x" * 60, part_size=20)
    frames = decode_all(b"".join(exactly), limits=limits)
    assert frames[0].payload == b"x" * 60
    over = encode_message(CONFIG, b"x" * 61, part_size=20)
    decoder = FrameDecoder(limits)
    decoder.feed(b"".join(over[:3]))
    with pytest.raises(ReassemblyError, match="over the limit of 60"):
        decoder.feed(over[3])


def test_whole_frame_of_the_same_id_mid_message() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_message(CONFIG, BIG, part_size=300)[0])
    with pytest.raises(ReassemblyError, match="whole CONFIG_GET_REQ arrived in the middle"):
        decoder.feed(encode_frame(CONFIG, b"{}"))


@pytest.mark.parametrize("byte12", [0, 1, FUNSDK_MARKER])
def test_single_frames_of_the_same_id_mid_message(byte12: int) -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(CONFIG, b"x", total_packets=2))
    with pytest.raises(ReassemblyError, match="in the middle"):
        decoder.feed(encode_frame(CONFIG, b"y", total_packets=byte12))


def test_reassembly_error_after_good_frames_is_deferred() -> None:
    decoder = FrameDecoder()
    part = encode_frame(CONFIG, b"x", total_packets=2)
    frames = decoder.feed(encode_frame(1006, KEEPALIVE) + part + part)
    assert [frame.message_id for frame in frames] == [1006]
    assert isinstance(decoder.failure, ReassemblyError)
    with pytest.raises(ReassemblyError, match="arrived twice"):
        decoder.feed(b"")


@pytest.mark.parametrize("message_id", sorted(MEDIA_MESSAGE_IDS))
def test_media_frames_are_never_reassembled(message_id: int) -> None:
    data = encode_frame(message_id, b"\x00\x00\x01\xfc" + b"v" * 20, total_packets=2)
    frames = decode_all(data * 3)
    assert len(frames) == 3
    for frame in frames:
        assert frame.is_media
        assert frame.parts == 1
        assert frame.header.channel == 2
        assert frame.header.end_flag is False


def test_media_end_flag_and_channel() -> None:
    data = encode_frame(MONITOR_DATA, b"", total_packets=5, current_packet=1)
    (frame,) = decode_all(data)
    assert frame.header.channel == 5
    assert frame.header.end_flag is True
    assert frame.to_bytes() == data


def test_media_ids_are_configurable() -> None:
    as_media = FrameDecoder(media_message_ids=[CONFIG])
    frames = as_media.feed(encode_frame(CONFIG, b"x", total_packets=2))
    assert len(frames) == 1
    as_control = FrameDecoder(media_message_ids=())
    assert as_control.feed(encode_frame(MONITOR_DATA, b"x", total_packets=2)) == []
    # Frame.is_media follows the code table, not the decoder's setting.
    assert not frames[0].is_media


def test_funsdk_marker_is_a_single_frame() -> None:
    data = encode_frame(1000, b"base64==\x00", total_packets=FUNSDK_MARKER, current_packet=0)
    (frame,) = decode_all(data)
    assert frame.parts == 1
    assert frame.header.total_packets == FUNSDK_MARKER
    assert frame.payload == b"base64==\x00"
    assert frame.to_bytes() == data


@pytest.mark.parametrize("byte12", [0, 1])
def test_total_zero_or_one_is_a_single_frame(byte12: int) -> None:
    data = encode_frame(CONFIG, b"x", total_packets=byte12, current_packet=0)
    (frame,) = decode_all(data)
    assert frame.parts == 1
    assert frame.header.total_packets == byte12


# ==========================================================================================
# Frame
# ==========================================================================================


def test_frame_properties() -> None:
    frame = Frame(Header(message_id=1006, length=3, session_id=9, sequence=4), b"{}\n")
    assert frame.message_id == 1006
    assert frame.session_id == 9
    assert frame.sequence == 4
    assert frame.parts == 1
    assert frame.is_media is False
    assert Frame(Header(message_id=MONITOR_DATA, length=0), b"").is_media is True


def test_frame_body() -> None:
    frame = decode_all(SEED_FRAMES[1].payload)[0]
    body = frame.body()
    assert body.ret == 100
    assert body.session_id == 1
    assert body.original_keys == {"DeviceType": "DeviceType "}
    with pytest.raises(PayloadError, match="over the limit of 10"):
        frame.body(Limits(max_json_size=10))
    with pytest.raises(PayloadError):
        Frame(Header(message_id=1006, length=1), b"[").body()


def test_frame_to_bytes_single_is_the_wire_bytes() -> None:
    for seed in SEED_FRAMES:
        (frame,) = decode_all(seed.payload)
        assert frame.to_bytes() == seed.payload


def test_frame_to_bytes_reassembled_is_one_packet() -> None:
    packets = encode_message(CONFIG, BIG, session_id=3, sequence=8, version=1, part_size=200)
    (frame,) = decode_all(b"".join(packets))
    wire = frame.to_bytes()
    assert wire == encode_frame(CONFIG, BIG, session_id=3, sequence=8, version=1)
    (again,) = decode_all(wire)
    assert again.payload == BIG
    assert again.parts == 1
    assert again.header.total_packets == 0


def test_frame_to_bytes_reassembled_out_of_order() -> None:
    packets = encode_message(CONFIG, BIG, part_size=300)
    (frame,) = decode_all(packets[2] + packets[0] + packets[1])
    assert frame.to_bytes() == encode_frame(CONFIG, BIG)


# ==========================================================================================
# Encoding
# ==========================================================================================


def test_encode_frame_matches_every_seed_packet() -> None:
    for seed, expected in zip(SEED_FRAMES, EXPECTED_HEADERS, strict=True):
        _, message_id, session_id, sequence, version = expected
        payload = seed.payload[HEADER_SIZE:]
        wire = encode_frame(
            message_id, payload, session_id=session_id, sequence=sequence, version=version
        )
        assert wire == seed.payload


def test_encode_frame_every_field() -> None:
    wire = encode_frame(
        0x1234,
        b"ab",
        session_id=0x11223344,
        sequence=0x55667788,
        version=1,
        total_packets=3,
        current_packet=2,
        reserved1=0xFE,
        reserved2=0x01,
    )
    assert wire == bytes.fromhex("ff01fe01 44332211 88776655 0302 3412 02000000") + b"ab"


@pytest.mark.parametrize(
    "field",
    [
        {"message_id": 0x10000},
        {"message_id": -1},
        {"session_id": 2**32},
        {"session_id": -1},
        {"sequence": 2**32},
        {"version": 256},
        {"total_packets": 256},
        {"current_packet": -1},
        {"reserved1": 256},
        {"reserved2": 300},
    ],
    ids=lambda field: next(iter(field)),
)
def test_encode_frame_field_out_of_range(field: dict[str, int]) -> None:
    arguments: dict[str, int] = {"message_id": 1000, **field}
    message_id = arguments.pop("message_id")
    with pytest.raises(ValueError, match="header field out of range"):
        encode_frame(message_id, b"", **arguments)


def test_encode_message_fits_in_one_packet() -> None:
    assert encode_message(1006, KEEPALIVE, session_id=1) == [
        encode_frame(1006, KEEPALIVE, session_id=1)
    ]
    assert encode_message(1006, b"") == [encode_frame(1006)]
    assert encode_message(1006, b"x" * 10, part_size=10) == [encode_frame(1006, b"x" * 10)]
    assert len(encode_message(1006, b"x" * MAX_PART_SIZE)) == 1
    assert len(encode_message(1006, b"x" * (MAX_PART_SIZE + 1))) == 2


def test_encode_message_parts() -> None:
    packets = encode_message(CONFIG, b"0123456789abcdefghijk", session_id=2, part_size=10)
    assert len(packets) == 3
    headers = [Header.unpack(packet) for packet in packets]
    assert [header.total_packets for header in headers] == [3, 3, 3]
    assert [header.current_packet for header in headers] == [0, 1, 2]
    assert [packet[HEADER_SIZE:] for packet in packets] == [b"0123456789", b"abcdefghij", b"k"]
    assert [header.length for header in headers] == [10, 10, 1]
    assert all(header.session_id == 2 for header in headers)
    assert all(header.message_id == CONFIG for header in headers)


@pytest.mark.parametrize("part_size", [0, -1, -100])
def test_encode_message_part_size_must_be_positive(part_size: int) -> None:
    with pytest.raises(ValueError, match="part_size must be positive"):
        encode_message(CONFIG, b"x", part_size=part_size)


@pytest.mark.parametrize("parts", [256, 300, 99])
def test_encode_message_refuses_part_counts(parts: int) -> None:
    with pytest.raises(ValueError, match="do not fit in parts of 2 bytes"):
        encode_message(CONFIG, b"x" * (2 * parts), part_size=2)
    with pytest.raises(ValueError, match="do not fit"):
        encode_message(CONFIG, b"x" * (2 * parts - 1), part_size=2)


@pytest.mark.parametrize("parts", [2, 98, 100, 255])
def test_encode_message_accepts_part_counts(parts: int) -> None:
    payload = bytes(range(256)) * 2
    payload = (payload * (parts // 2 + 1))[: 3 * parts]
    packets = encode_message(CONFIG, payload, part_size=3)
    assert len(packets) == parts
    (frame,) = decode_all(b"".join(packets))
    assert frame.payload == payload
    assert frame.parts == parts


def test_unfinished_messages_share_one_size_limit() -> None:
    limits = Limits(max_message_size=50)
    first = encode_message(1043, b"a" * 60, part_size=30)  # part 0: 30 bytes, under 50 alone
    second = encode_message(1049, b"b" * 60, part_size=30)
    decoder = FrameDecoder(limits)
    assert decoder.feed(first[0]) == []
    with pytest.raises(ReassemblyError, match="unfinished messages over the limit of 50"):
        decoder.feed(second[0])


def test_a_sticky_error_does_not_grow_its_traceback() -> None:
    decoder = FrameDecoder()
    with pytest.raises(FrameError):
        decoder.feed(b"\x00")
    for _ in range(1000):
        with pytest.raises(FrameError) as caught:
            decoder.feed(b"")
    depth = 0
    trace = caught.value.__traceback__
    while trace is not None:
        depth += 1
        trace = trace.tb_next
    assert depth < 10
