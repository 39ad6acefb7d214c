"""The frame encoders and the DateTime bit field, against docs/protocol.md §11's worked examples."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmcam.media.frames import (
    SAMPLE_RATES,
    AudioCodec,
    FrameType,
    VideoCodec,
    decode_timestamp,
    encode_audio_frame,
    encode_info_frame,
    encode_picture_frame,
    encode_timestamp,
    encode_video_frame,
)

EXAMPLE_TIME = datetime(2026, 8, 8, 21, 38, 57)


def test_timestamp_example() -> None:
    assert encode_timestamp(EXAMPLE_TIME) == 0x6A1159B9
    assert decode_timestamp(0x6A1159B9) == EXAMPLE_TIME
    frame = encode_video_frame(b"", keyframe=True, width=640, height=360, timestamp=EXAMPLE_TIME)
    assert frame[8:12] == bytes.fromhex("b959116a")


def test_timestamp_truncates_microseconds() -> None:
    assert decode_timestamp(encode_timestamp(EXAMPLE_TIME.replace(microsecond=999_999))) == (
        EXAMPLE_TIME
    )


@pytest.mark.parametrize("year", [1999, 2064, 1970])
def test_timestamp_years_out_of_range(year: int) -> None:
    with pytest.raises(ValueError, match=str(year)):
        encode_timestamp(datetime(year, 1, 1))


@pytest.mark.parametrize(
    "value",
    [
        0,  # month 0, day 0: what devices send for "no time"
        0xFFFFFFFF,  # month 15, hour 31, minute 63
        encode_timestamp(datetime(2026, 2, 1)) + (29 << 17),  # February 30th
    ],
)
def test_invalid_timestamps_decode_to_none(value: int) -> None:
    assert decode_timestamp(value) is None


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2063, 12, 31, 23, 59, 59)))
def test_timestamp_round_trip(when: datetime) -> None:
    value = encode_timestamp(when)
    assert 0 <= value <= 0xFFFFFFFF
    assert decode_timestamp(value) == when.replace(microsecond=0)


@pytest.mark.parametrize(
    ("codec", "width", "height", "fields"),
    [
        (VideoCodec.H265, 3840, 2160, "53 19 e0 0e"),  # 4K: bits 8-9 of W and H in T
        (VideoCodec.H264, 1920, 1080, "02 19 f0 87"),
        (VideoCodec.H264, 2560, 1440, "12 19 40 b4"),
        (VideoCodec.H264, 640, 360, "02 19 50 2d"),
        (VideoCodec.H265, 8184, 8184, "f3 19 ff ff"),  # the largest size the fields hold
        (VideoCodec.H264, 0, 0, "02 19 00 00"),
    ],
)
def test_i_frame_header(codec: VideoCodec, width: int, height: int, fields: str) -> None:
    frame = encode_video_frame(
        b"\x00\x00\x00\x01\x65", keyframe=True, codec=codec, width=width, height=height
    )
    assert frame[:4] == b"\x00\x00\x01\xfc"
    assert frame[4:8] == bytes.fromhex(fields)  # T, F (25 fps), W, H
    assert frame[8:12] == bytes(4)  # no time stamp given
    assert frame[12:16] == (5).to_bytes(4, "little")
    assert frame[16:] == b"\x00\x00\x00\x01\x65"


def test_p_frame_layout() -> None:
    payload = b"\x00\x00\x00\x01\x41" + bytes(300)
    frame = encode_video_frame(payload, keyframe=False, width=3840, height=2160)
    assert frame == b"\x00\x00\x01\xfd" + len(payload).to_bytes(4, "little") + payload


def test_fps_keeps_five_bits() -> None:
    frame = encode_video_frame(b"", keyframe=True, width=8, height=8, fps=30 | 0xE0)
    assert frame[5] == 30


def test_common_live_audio_frame() -> None:
    samples = bytes(range(256)) + bytes(64)
    frame = encode_audio_frame(samples)
    assert frame == bytes.fromhex("000001fa0e024001") + samples
    assert len(frame) == 328


@pytest.mark.parametrize(("rate", "index"), [(rate, index) for index, rate in SAMPLE_RATES.items()])
def test_audio_sample_rate_index(rate: int, index: int) -> None:
    assert encode_audio_frame(b"", codec=AudioCodec.G711U, sample_rate=rate)[4:6] == bytes(
        [10, index]
    )


def test_info_frame() -> None:
    text = b"GPS:$GPRMC,1;SPEED:42;"
    assert encode_info_frame(text) == b"\x00\x00\x01\xf9\x01\x00" + bytes([len(text), 0]) + text
    assert encode_info_frame(b"", info_type=6)[4] == 6


def test_picture_frame() -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(10) + b"\xff\xd9"
    frame = encode_picture_frame(jpeg, width=3840, height=2160, timestamp=EXAMPLE_TIME)
    assert frame[:4] == b"\x00\x00\x01\xfe"
    assert frame[4:8] == bytes.fromhex("5000e00e")  # T: JPEG (0) plus the high bits
    assert frame[8:12] == bytes.fromhex("b959116a")
    assert frame[12:16] == len(jpeg).to_bytes(4, "little")
    assert frame[16:] == jpeg


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (3841, 2160, "units of 8"),
        (3840, 2161, "units of 8"),
        (8192, 8, "0..8184"),
        (8, 8192, "0..8184"),
        (-8, 8, "0..8184"),
    ],
)
def test_sizes_out_of_range(width: int, height: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_video_frame(b"", keyframe=True, width=width, height=height)
    with pytest.raises(ValueError, match=message):
        encode_picture_frame(b"", width=width, height=height)


def test_payloads_over_the_short_length() -> None:
    too_long = bytes(0x10000)
    with pytest.raises(ValueError, match="65536 bytes"):
        encode_audio_frame(too_long)
    with pytest.raises(ValueError, match="65536 bytes"):
        encode_info_frame(too_long)
    assert len(encode_audio_frame(too_long[1:])) == 8 + 0xFFFF


def test_unknown_sample_rate() -> None:
    with pytest.raises(ValueError, match="12345 Hz"):
        encode_audio_frame(b"", sample_rate=12345)


def test_enumerations_match_the_wire() -> None:
    assert [int(kind) for kind in FrameType] == [0xF9, 0xFA, 0xFC, 0xFD, 0xFE]
    assert (VideoCodec.H264, VideoCodec.H265) == (2, 3)
    assert int(AudioCodec.G711A) == 0x0E
