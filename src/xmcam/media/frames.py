"""The frames inside DVRIP media packets, and how to write them.

Live video (1412), playback (1422), download (1426), talk (1432/1433) and recorded `.h264`
files all carry one byte stream of frames, independent of packet boundaries (docs/protocol.md
§11). Each frame starts with `00 00 01 <type>` and a small header:

| type | header | layout after the 4-byte start code                                       |
|------|--------|--------------------------------------------------------------------------|
| FC   | 16 B   | T (codec + high bits of W and H), F (fps), W, H, DateTime u32, Length u32 |
| FE   | 16 B   | the same, for a picture (T low nibble 0 = JPEG)                           |
| FD   | 8 B    | Length u32                                                               |
| FA   | 8 B    | T (audio codec), S (sample-rate index), Length u16                       |
| F9   | 8 B    | T (info type), N (unused), Length u16                                    |

All numbers are little-endian; Length counts the payload only. W and H are width/8 and
height/8: their low 8 bits in bytes 6 and 7, their bits 8-9 in bits 4-5 (W) and 6-7 (H) of T,
which is how a 4K stream says 3840x2160 (T = 0x53). The codec is `T & 0x0F`.

This module holds the typed frames the demuxer (`xmcam.media.demux`) returns and the
encoders the simulator streams with. It is standard library only.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Final

__all__ = [
    "AUDIO_HEADER",
    "INFO_HEADER",
    "I_FRAME_HEADER",
    "P_FRAME_HEADER",
    "SAMPLE_RATES",
    "START_CODE",
    "AudioCodec",
    "AudioFrame",
    "FrameType",
    "InfoFrame",
    "MediaFrame",
    "PictureFrame",
    "VideoCodec",
    "VideoFrame",
    "decode_timestamp",
    "encode_audio_frame",
    "encode_info_frame",
    "encode_picture_frame",
    "encode_timestamp",
    "encode_video_frame",
]

START_CODE: Final = b"\x00\x00\x01"

# Headers after the 4-byte start code + type.
I_FRAME_HEADER: Final = struct.Struct("<BBBBII")  # T, F, W, H, DateTime, Length (12 bytes)
P_FRAME_HEADER: Final = struct.Struct("<I")  # Length
AUDIO_HEADER: Final = struct.Struct("<BBH")  # T, S, Length
INFO_HEADER: Final = struct.Struct("<BBH")  # T, N, Length

# Widths and heights are stored divided by 8 in 10 bits.
_MAX_DIMENSION: Final = 0x3FF * 8
_MAX_SHORT_PAYLOAD: Final = 0xFFFF
_MAX_LONG_PAYLOAD: Final = 0xFFFFFFFF


class FrameType(enum.IntEnum):
    """The fourth byte of a media frame's start code."""

    INFO = 0xF9
    AUDIO = 0xFA
    I_FRAME = 0xFC
    P_FRAME = 0xFD
    PICTURE = 0xFE


class VideoCodec(enum.IntEnum):
    """Video codec, the low nibble of T (H.265 measured by go2rtc and hass-xmeye)."""

    MPEG4 = 1
    H264 = 2
    H265 = 3


class AudioCodec(enum.IntEnum):
    """Audio codec, byte T of an FA frame (the table go2rtc cites; 14 = 0x0E is [FRM]'s)."""

    PCM8 = 7
    G729 = 8
    IMA_ADPCM = 9
    G711U = 10
    G721 = 11
    PCM8_VWIS = 12
    MS_ADPCM = 13
    G711A = 14
    PCM16 = 15


# Audio sample-rate index S -> Hz (docs/protocol.md §11: 2 = 8 kHz is [FRM]'s; the rest go2rtc's).
SAMPLE_RATES: Final[dict[int, int]] = {
    1: 4000,
    2: 8000,
    3: 11025,
    4: 16000,
    5: 20000,
    6: 22050,
    7: 32000,
    8: 44100,
    9: 48000,
}
_SAMPLE_RATE_INDEX: Final = {rate: index for index, rate in SAMPLE_RATES.items()}


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One video frame: an access unit of Annex-B NAL units (start codes included).

    `width`, `height`, `fps` and `timestamp` come from I-frame headers only; they are None on
    P-frames. `codec` is a VideoCodec, or the raw nibble when it is one we do not know.
    """

    keyframe: bool
    codec: int
    data: bytes
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """One audio frame: raw samples in `codec` (an AudioCodec or the raw byte).
    `sample_rate` is None when the index is not one we know."""

    codec: int
    sample_rate: int | None
    data: bytes


@dataclass(frozen=True, slots=True)
class InfoFrame:
    """An F9 side-information frame (vehicle data, or H.264+/H.265+ side info on cameras)."""

    info_type: int
    data: bytes


@dataclass(frozen=True, slots=True)
class PictureFrame:
    """An FE picture frame: a JPEG (codec 0) with its size and time stamp."""

    codec: int
    data: bytes
    width: int
    height: int
    timestamp: datetime | None


MediaFrame = VideoFrame | AudioFrame | InfoFrame | PictureFrame


def decode_timestamp(value: int) -> datetime | None:
    """The device-local time in an I-frame or picture header, or None when the bit field
    holds no valid date (fields from the low bit up: seconds 6 bits, minutes 6, hours 5,
    day 5, month 4, year 6 since 2000; docs/protocol.md §11)."""
    second = value & 0x3F
    minute = (value >> 6) & 0x3F
    hour = (value >> 12) & 0x1F
    day = (value >> 17) & 0x1F
    month = (value >> 22) & 0x0F
    year = 2000 + ((value >> 26) & 0x3F)
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def encode_timestamp(when: datetime) -> int:
    """The header bit field for `when` (years 2000-2063; seconds are truncated)."""
    if not 2000 <= when.year <= 2063:
        raise ValueError(f"a media time stamp holds the years 2000-2063, not {when.year}")
    return (
        when.second
        | when.minute << 6
        | when.hour << 12
        | when.day << 17
        | when.month << 22
        | (when.year - 2000) << 26
    )


def _size_fields(width: int, height: int) -> tuple[int, int, int]:
    """(high bits for T, W byte, H byte) for a picture size."""
    if not (0 <= width <= _MAX_DIMENSION and 0 <= height <= _MAX_DIMENSION):
        raise ValueError(f"a frame size fits in 0..{_MAX_DIMENSION}, not {width}x{height}")
    if width % 8 or height % 8:
        raise ValueError(f"a frame size is stored in units of 8 pixels, not {width}x{height}")
    w, h = width // 8, height // 8
    return (w >> 8) << 4 | (h >> 8) << 6, w & 0xFF, h & 0xFF


def _check_payload(data: bytes, limit: int) -> None:
    if len(data) > limit:
        raise ValueError(f"a payload of {len(data)} bytes is over this frame type's {limit}")


def encode_video_frame(
    data: bytes,
    *,
    keyframe: bool,
    codec: int = VideoCodec.H264,
    width: int = 0,
    height: int = 0,
    fps: int = 25,
    timestamp: datetime | None = None,
) -> bytes:
    """One FC (keyframe) or FD frame around Annex-B `data`. Size, rate and time stamp are
    written for keyframes only, as devices do."""
    _check_payload(data, _MAX_LONG_PAYLOAD)
    if not keyframe:
        return START_CODE + b"\xfd" + P_FRAME_HEADER.pack(len(data)) + data
    high_bits, w, h = _size_fields(width, height)
    stamp = encode_timestamp(timestamp) if timestamp is not None else 0
    header = I_FRAME_HEADER.pack((codec & 0x0F) | high_bits, fps & 0x1F, w, h, stamp, len(data))
    return START_CODE + b"\xfc" + header + data


def encode_picture_frame(
    data: bytes, *, width: int, height: int, timestamp: datetime | None = None
) -> bytes:
    """One FE frame around a JPEG."""
    _check_payload(data, _MAX_LONG_PAYLOAD)
    high_bits, w, h = _size_fields(width, height)
    stamp = encode_timestamp(timestamp) if timestamp is not None else 0
    return START_CODE + b"\xfe" + I_FRAME_HEADER.pack(high_bits, 0, w, h, stamp, len(data)) + data


def encode_audio_frame(
    data: bytes, *, codec: int = AudioCodec.G711A, sample_rate: int = 8000
) -> bytes:
    """One FA frame (live cameras send 320 bytes of G.711 A-law at 8 kHz: 40 ms)."""
    _check_payload(data, _MAX_SHORT_PAYLOAD)
    index = _SAMPLE_RATE_INDEX.get(sample_rate)
    if index is None:
        raise ValueError(f"no sample-rate index for {sample_rate} Hz")
    return START_CODE + b"\xfa" + AUDIO_HEADER.pack(codec, index, len(data)) + data


def encode_info_frame(data: bytes, *, info_type: int = 1) -> bytes:
    """One F9 side-information frame."""
    _check_payload(data, _MAX_SHORT_PAYLOAD)
    return START_CODE + b"\xf9" + INFO_HEADER.pack(info_type, 0, len(data)) + data
