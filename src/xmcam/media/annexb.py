"""Annex-B H.264 / H.265 elementary streams: NAL units, access units, and the picture size.

Theory of operation. An Annex-B stream is NAL units, each behind a start code `00 00 01`
(often `00 00 00 01`). Inside a NAL unit the encoder breaks every `00 00 0x` (x <= 3) with an
emulation-prevention byte, so `00 00 01` only ever appears as a start code, and the byte after
it is a NAL header whose top bit (forbidden_zero_bit) is 0. Splitting is therefore a search
for `00 00 01` (done by `bytes.find` and a compiled pattern, never a per-byte Python loop).

An access unit (one picture) is the NAL units from one "first" NAL to the next. A new access
unit begins, once the current one holds a coded slice, at a parameter set, SEI, access-unit
delimiter (and the other types H.264 7.4.1.2.3 / H.265 7.4.2.4.4 list), or at a slice that is
the first of its picture: first_mb_in_slice == 0 in H.264 (its ue(v) code is a lone 1 bit),
first_slice_segment_in_pic_flag in H.265. Parameter sets thus travel with the keyframe that
follows them, which is what a DVRIP I-frame carries.

`probe_size` reads the width and height out of the first sequence parameter set: it removes
emulation-prevention bytes, walks the fields up to the picture size with an exp-Golomb bit
reader, and subtracts the cropping window (640x360 is coded as 640x368 and cropped by 8).

Standard library only; the simulator uses this to cut clips into frames and fill FC headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from xmcam.media.frames import VideoCodec

__all__ = [
    "AccessUnit",
    "access_units",
    "has_nal_unit",
    "is_keyframe_nal",
    "nal_units",
    "probe_size",
]

_START_CODE: Final = b"\x00\x00\x01"
_LONG_START_CODE: Final = b"\x00\x00\x00\x01"
# A start code and a NAL header byte with its forbidden bit clear.
_NAL_START: Final = re.compile(rb"\x00\x00\x01[\x00-\x7f]")
_EMULATION_PREVENTION: Final = re.compile(rb"\x00\x00\x03")

# H.264 NAL unit types (Table 7-1).
_H264_IDR: Final = 5
_H264_SEI: Final = 6
_H264_SPS: Final = 7
_H264_PPS: Final = 8
_H264_AUD: Final = 9
# Types that open a new access unit once the current one has a slice (7.4.1.2.3).
_H264_AU_OPENERS: Final = frozenset(
    {_H264_SEI, _H264_SPS, _H264_PPS, _H264_AUD, 14, 15, 16, 17, 18}
)
# Coded slices: non-IDR, data partition A, IDR (partitions B and C follow A).
_H264_FIRST_SLICE_TYPES: Final = frozenset({1, 2, _H264_IDR})
_H264_VCL_TYPES: Final = frozenset(range(1, 6))
# Profiles whose SPS carries chroma format and bit depths (7.3.2.1.1).
_H264_HIGH_PROFILES: Final = frozenset(
    {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}
)

# H.265 NAL unit types (Table 7-1): 0-31 are slices, 16-21 IRAP pictures.
_H265_VCL_LIMIT: Final = 32
_H265_IRAP: Final = range(16, 22)
_H265_SPS: Final = 33
# VPS, SPS, PPS, AUD, prefix SEI, and the reserved ranges that also open an AU (7.4.2.4.4).
_H265_AU_OPENERS: Final = frozenset({32, 33, 34, 35, 39, *range(41, 45), *range(48, 56)})

# No exp-Golomb code in a valid SPS is longer than this; more zeros means garbage.
_MAX_GOLOMB_ZEROS: Final = 31
# Nor is any picture dimension we accept larger (H.265 level 6.2 tops out at 8192x4320).
_MAX_DIMENSION: Final = 16384


@dataclass(frozen=True, slots=True)
class AccessUnit:
    """One coded picture: its NAL units, each behind a 4-byte start code (as cameras send
    them); a keyframe's parameter sets come first."""

    data: bytes
    keyframe: bool


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units in Annex-B `data`, without their start codes (3- or 4-byte codes alike).

    Bytes before the first start code are ignored, as are empty units and the zero bytes
    trailing a unit (they belong to the next 4-byte start code, or are padding)."""
    units: list[bytes] = []
    find = data.find
    start = find(_START_CODE)
    while start >= 0:
        begin = start + 3
        start = find(_START_CODE, begin)
        unit = data[begin:] if start < 0 else data[begin:start]
        unit = unit.rstrip(b"\x00")
        if unit:
            units.append(unit)
    return units


def has_nal_unit(data: bytes) -> bool:
    """Whether `data` holds at least one Annex-B NAL unit: a start code followed by a NAL
    header byte whose forbidden bit is clear. (A camera's 127-byte "service block" does not.)"""
    return _NAL_START.search(data) is not None


def _nal_type(codec: int, nal: bytes) -> int:
    return nal[0] & 0x1F if codec == VideoCodec.H264 else (nal[0] >> 1) & 0x3F


def is_keyframe_nal(codec: int, nal: bytes) -> bool:
    """Whether `nal` (without start code) is a random-access picture's slice: an IDR slice
    (type 5) in H.264, an IRAP slice (types 16-21) in H.265. False for other codecs."""
    if not nal or codec not in (VideoCodec.H264, VideoCodec.H265):
        return False
    kind = _nal_type(codec, nal)
    if codec == VideoCodec.H264:
        return kind == _H264_IDR
    return kind in _H265_IRAP


def _opens_access_unit(codec: int, nal: bytes) -> tuple[bool, bool]:
    """(whether `nal` is a slice, whether it opens a new access unit when the current one
    already holds a slice)."""
    kind = _nal_type(codec, nal)
    if codec == VideoCodec.H264:
        if kind in _H264_VCL_TYPES:
            # first_mb_in_slice is the slice header's first field: 0 is coded as a lone 1 bit.
            first = kind in _H264_FIRST_SLICE_TYPES and len(nal) > 1 and bool(nal[1] & 0x80)
            return True, first
        return False, kind in _H264_AU_OPENERS
    if kind < _H265_VCL_LIMIT:
        # first_slice_segment_in_pic_flag is the first bit after the 2-byte NAL header.
        return True, len(nal) > 2 and bool(nal[2] & 0x80)
    return False, kind in _H265_AU_OPENERS


def access_units(stream: bytes, codec: int) -> list[AccessUnit]:
    """A whole Annex-B elementary stream of `codec` (VideoCodec.H264 or H265) cut into access
    units. Parameter sets, SEI and delimiters go with the picture that follows them."""
    if codec not in (VideoCodec.H264, VideoCodec.H265):
        raise ValueError(f"access units are cut for H.264 (2) and H.265 (3), not codec {codec}")
    units: list[AccessUnit] = []
    current: list[bytes] = []
    has_slice = False
    keyframe = False
    for nal in nal_units(stream):
        is_slice, opens = _opens_access_unit(codec, nal)
        if has_slice and opens:
            units.append(AccessUnit(_LONG_START_CODE + _LONG_START_CODE.join(current), keyframe))
            current, has_slice, keyframe = [], False, False
        current.append(nal)
        if is_slice:
            has_slice = True
            keyframe = keyframe or is_keyframe_nal(codec, nal)
    if current:
        units.append(AccessUnit(_LONG_START_CODE + _LONG_START_CODE.join(current), keyframe))
    return units


# ------------------------------------------------------------------------ sequence parameter sets


class _BitReader:
    """Big-endian bits of an RBSP, with exp-Golomb codes. Reading past the end raises
    ValueError (a truncated or foreign SPS)."""

    def __init__(self, rbsp: bytes) -> None:
        self._value = int.from_bytes(rbsp, "big")
        self._left = len(rbsp) * 8

    def bits(self, count: int) -> int:
        if count > self._left:
            raise ValueError("the SPS ends early")
        self._left -= count
        return (self._value >> self._left) & ((1 << count) - 1)

    def flag(self) -> bool:
        return self.bits(1) == 1

    def skip(self, count: int) -> None:
        self.bits(count)

    def ue(self) -> int:
        zeros = 0
        while self.bits(1) == 0:
            zeros += 1
            if zeros > _MAX_GOLOMB_ZEROS:
                raise ValueError("an exp-Golomb code longer than any SPS holds")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)


def _rbsp(nal: bytes, header_size: int) -> bytes:
    """The NAL unit's payload without its header and emulation-prevention bytes."""
    return _EMULATION_PREVENTION.sub(b"\x00\x00", nal[header_size:])


# Chroma subsampling (SubWidthC, SubHeightC) by chroma_format_idc (Table 6-1, both codecs).
_CHROMA_SUBSAMPLING: Final = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}


def _skip_h264_scaling_lists(reader: _BitReader, count: int) -> None:
    for index in range(count):
        if not reader.flag():
            continue
        size = 16 if index < 6 else 64
        last = next_scale = 8
        for _ in range(size):
            if next_scale:
                next_scale = (last + reader.se() + 256) % 256
            last = next_scale or last


def _h264_size(rbsp: bytes) -> tuple[int, int]:
    """7.3.2.1.1 seq_parameter_set_data, up to frame cropping."""
    reader = _BitReader(rbsp)
    profile_idc = reader.bits(8)
    reader.skip(16)  # constraint flags, level_idc
    reader.ue()  # seq_parameter_set_id
    chroma_format_idc = 1
    separate_planes = False
    if profile_idc in _H264_HIGH_PROFILES:
        chroma_format_idc = reader.ue()
        if chroma_format_idc == 3:
            separate_planes = reader.flag()
        reader.ue()  # bit_depth_luma_minus8
        reader.ue()  # bit_depth_chroma_minus8
        reader.skip(1)  # qpprime_y_zero_transform_bypass_flag
        if reader.flag():  # seq_scaling_matrix_present_flag
            _skip_h264_scaling_lists(reader, 8 if chroma_format_idc != 3 else 12)
    reader.ue()  # log2_max_frame_num_minus4
    poc_type = reader.ue()
    if poc_type == 0:
        reader.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif poc_type == 1:
        reader.skip(1)  # delta_pic_order_always_zero_flag
        reader.se()  # offset_for_non_ref_pic
        reader.se()  # offset_for_top_to_bottom_field
        for _ in range(reader.ue()):  # num_ref_frames_in_pic_order_cnt_cycle
            reader.se()
    reader.ue()  # max_num_ref_frames
    reader.skip(1)  # gaps_in_frame_num_value_allowed_flag
    width = (reader.ue() + 1) * 16
    map_units = reader.ue() + 1
    frame_mbs_only = reader.bits(1)
    if not frame_mbs_only:
        reader.skip(1)  # mb_adaptive_frame_field_flag
    reader.skip(1)  # direct_8x8_inference_flag
    height = (2 - frame_mbs_only) * map_units * 16
    if reader.flag():  # frame_cropping_flag
        left, right, top, bottom = reader.ue(), reader.ue(), reader.ue(), reader.ue()
        chroma = 0 if separate_planes else chroma_format_idc
        if chroma == 0:
            unit_x, unit_y = 1, 2 - frame_mbs_only
        else:
            sub_width, sub_height = _CHROMA_SUBSAMPLING.get(chroma, (1, 1))
            unit_x, unit_y = sub_width, sub_height * (2 - frame_mbs_only)
        width -= (left + right) * unit_x
        height -= (top + bottom) * unit_y
    return width, height


def _skip_h265_profile_tier_level(reader: _BitReader, max_sub_layers_minus1: int) -> None:
    """7.3.3 profile_tier_level(1, sps_max_sub_layers_minus1)."""
    reader.skip(88)  # general profile space, tier, idc, compatibility and constraint flags
    reader.skip(8)  # general_level_idc
    present = [(reader.flag(), reader.flag()) for _ in range(max_sub_layers_minus1)]
    if max_sub_layers_minus1 > 0:
        reader.skip(2 * (8 - max_sub_layers_minus1))  # reserved_zero_2bits
    for profile_present, level_present in present:
        if profile_present:
            reader.skip(88)
        if level_present:
            reader.skip(8)


def _h265_size(rbsp: bytes) -> tuple[int, int]:
    """7.3.2.2 seq_parameter_set_rbsp, up to the conformance window."""
    reader = _BitReader(rbsp)
    reader.skip(4)  # sps_video_parameter_set_id
    max_sub_layers_minus1 = reader.bits(3)
    reader.skip(1)  # sps_temporal_id_nesting_flag
    _skip_h265_profile_tier_level(reader, max_sub_layers_minus1)
    reader.ue()  # sps_seq_parameter_set_id
    chroma_format_idc = reader.ue()
    if chroma_format_idc == 3 and reader.flag():  # separate_colour_plane_flag
        chroma_format_idc = 0
    width = reader.ue()  # pic_width_in_luma_samples
    height = reader.ue()  # pic_height_in_luma_samples
    if reader.flag():  # conformance_window_flag
        left, right, top, bottom = reader.ue(), reader.ue(), reader.ue(), reader.ue()
        sub_width, sub_height = _CHROMA_SUBSAMPLING.get(chroma_format_idc, (1, 1))
        width -= (left + right) * sub_width
        height -= (top + bottom) * sub_height
    return width, height


def probe_size(codec: int, data: bytes) -> tuple[int, int] | None:
    """(width, height) of the picture, read from the first sequence parameter set in Annex-B
    `data` (cropping applied), or None when `data` holds no SPS of `codec` that parses."""
    if codec not in (VideoCodec.H264, VideoCodec.H265):
        return None
    sps_type = _H264_SPS if codec == VideoCodec.H264 else _H265_SPS
    for nal in nal_units(data):
        if _nal_type(codec, nal) != sps_type:
            continue
        try:
            if codec == VideoCodec.H264:
                width, height = _h264_size(_rbsp(nal, 1))
            else:
                width, height = _h265_size(_rbsp(nal, 2))
        except ValueError:
            return None
        if 0 < width <= _MAX_DIMENSION and 0 < height <= _MAX_DIMENSION:
            return width, height
        return None
    return None
