"""Annex-B splitting, access units and SPS sizes, on real clips (the simulator's H.264 clips
and ffmpeg-made H.265 ones) and on parameter sets built bit by bit."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xmcam.media.annexb import (
    AccessUnit,
    access_units,
    has_nal_unit,
    is_keyframe_nal,
    nal_units,
    probe_size,
)
from xmcam.media.frames import VideoCodec

H264 = VideoCodec.H264
H265 = VideoCodec.H265


def h264_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def h265_type(nal: bytes) -> int:
    return (nal[0] >> 1) & 0x3F


# ------------------------------------------------------------------------------- nal_units


def test_nal_units_accepts_3_and_4_byte_start_codes() -> None:
    data = b"\x00\x00\x00\x01\x67\xaa\x00\x00\x01\x68\xbb\x00\x00\x00\x01\x65\xcc\xdd"
    assert nal_units(data) == [b"\x67\xaa", b"\x68\xbb", b"\x65\xcc\xdd"]


def test_nal_units_ignores_leading_bytes_empty_units_and_trailing_zeros() -> None:
    data = b"junk\x00\x00\x01\x00\x00\x01\x41\x01\x00\x00\x00\x00\x00\x01\x41\x02\x00"
    assert nal_units(data) == [b"\x41\x01", b"\x41\x02"]


def test_nal_units_of_data_without_start_code() -> None:
    assert nal_units(b"") == []
    assert nal_units(b"\x00\x00\x02\x41") == []
    assert nal_units(b"\x00\x00\x01") == []


def test_nal_units_of_a_real_clip(main_h264: bytes) -> None:
    units = nal_units(main_h264)
    # 100 pictures, SPS and PPS before each of the 4 keyframes, and x264's one SEI.
    assert len(units) == 109
    assert [h264_type(unit) for unit in units[:4]] == [7, 8, 6, 5]
    assert all(unit[0] & 0x80 == 0 for unit in units)


# ---------------------------------------------------------------------------- has_nal_unit


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x00\x00\x00\x01\x41\x9a", True),
        (b"\x00\x00\x01\x65", True),
        (b"xx\x00\x00\x01\x80\x00\x00\x01\x06", True),  # the second start code is good
        (b"", False),
        (b"\x00\x00\x01", False),  # no NAL header byte
        (b"\x00\x00\x01\x80", False),  # forbidden bit set
        (b"\x00\x00\x02\x41", False),
        (bytes(range(1, 128)), False),  # shaped like a 4K "service block": 127 bytes, no NAL
    ],
)
def test_has_nal_unit(data: bytes, expected: bool) -> None:
    assert has_nal_unit(data) is expected


# ------------------------------------------------------------------------- is_keyframe_nal


@pytest.mark.parametrize("kind", range(32))
def test_h264_keyframe_is_an_idr_slice(kind: int) -> None:
    assert is_keyframe_nal(H264, bytes([0x60 | kind, 0x88])) is (kind == 5)


@pytest.mark.parametrize("kind", range(64))
def test_h265_keyframe_is_an_irap_slice(kind: int) -> None:
    assert is_keyframe_nal(H265, bytes([kind << 1, 0x01, 0xAF])) is (16 <= kind <= 21)


def test_is_keyframe_nal_of_nothing_or_another_codec() -> None:
    assert not is_keyframe_nal(H264, b"")
    assert not is_keyframe_nal(VideoCodec.MPEG4, b"\x65")
    assert not is_keyframe_nal(0x0F, b"\x65")


# --------------------------------------------------------------------------- access_units


def test_main_clip_access_units(main_h264: bytes) -> None:
    units = access_units(main_h264, H264)
    assert len(units) == 100
    assert [index for index, unit in enumerate(units) if unit.keyframe] == [0, 25, 50, 75]
    for unit in units:
        assert unit.data.startswith(b"\x00\x00\x00\x01")
        kinds = [h264_type(nal) for nal in nal_units(unit.data)]
        assert [kind for kind in kinds if kind in (1, 5)] == [5 if unit.keyframe else 1]
        if unit.keyframe:
            assert kinds[:2] == [7, 8]  # the parameter sets open the keyframe
    # Nothing is lost or reordered.
    joined = [nal for unit in units for nal in nal_units(unit.data)]
    assert joined == nal_units(main_h264)


def test_extra_clip_access_units(extra_h264: bytes) -> None:
    units = access_units(extra_h264, H264)
    assert len(units) == 100
    assert [index for index, unit in enumerate(units) if unit.keyframe] == [0, 25, 50, 75]


def test_h265_access_units(made_clips: dict[str, bytes]) -> None:
    clip = made_clips["small.h265"]
    units = access_units(clip, H265)
    assert len(units) == 25
    assert [unit.keyframe for unit in units] == [True] + [False] * 24
    first = [h265_type(nal) for nal in nal_units(units[0].data)]
    assert first[:3] == [32, 33, 34]  # VPS, SPS, PPS
    assert any(16 <= kind <= 21 for kind in first)
    assert [nal for unit in units for nal in nal_units(unit.data)] == nal_units(clip)


def test_slices_and_delimiters_stay_in_their_picture(made_clips: dict[str, bytes]) -> None:
    units = access_units(made_clips["slices.h264"], H264)
    assert len(units) == 3
    for unit in units:
        kinds = [h264_type(nal) for nal in nal_units(unit.data)]
        assert kinds[0] == 9  # the delimiter opens it
        assert len([kind for kind in kinds if kind in (1, 5)]) == 3


def test_access_units_of_an_empty_stream_and_an_unknown_codec() -> None:
    assert access_units(b"", H264) == []
    with pytest.raises(ValueError, match="codec 1"):
        access_units(b"\x00\x00\x01\x65", VideoCodec.MPEG4)


def test_access_unit_is_frozen() -> None:
    unit = AccessUnit(b"\x00\x00\x00\x01\x65", keyframe=True)
    with pytest.raises(AttributeError):
        unit.keyframe = False  # type: ignore[misc]


# ----------------------------------------------------------------------------- probe_size


def test_probe_size_of_the_simulator_clips(main_h264: bytes, extra_h264: bytes) -> None:
    # 640x360 is coded as 40x23 macroblocks (640x368) and cropped by 8 lines.
    assert probe_size(H264, main_h264) == (640, 360)
    assert probe_size(H264, extra_h264) == (352, 288)
    keyframe = access_units(main_h264, H264)[25]
    assert probe_size(H264, keyframe.data) == (640, 360)


@pytest.mark.parametrize(
    ("name", "codec", "size"),
    [
        ("small.h265", H265, (320, 240)),
        ("crop.h265", H265, (330, 250)),
        ("4k.h265", H265, (3840, 2160)),
        ("hi444.h264", H264, (330, 250)),
        ("ilace.h264", H264, (320, 360)),
        ("slices.h264", H264, (320, 240)),
    ],
)
def test_probe_size_of_made_clips(
    made_clips: dict[str, bytes], name: str, codec: VideoCodec, size: tuple[int, int]
) -> None:
    assert probe_size(codec, made_clips[name]) == size


def test_probe_size_without_a_usable_sps(main_h264: bytes) -> None:
    sps = nal_units(main_h264)[0]
    assert probe_size(H264, b"") is None
    assert probe_size(H264, access_units(main_h264, H264)[1].data) is None  # a P-frame
    assert probe_size(H265, main_h264) is None  # no H.265 SPS in H.264
    assert probe_size(VideoCodec.MPEG4, main_h264) is None
    assert probe_size(H264, b"\x00\x00\x01" + sps[:6]) is None  # truncated
    # An exp-Golomb code of 48 zeros (behind emulation prevention): no SPS holds one.
    zeros = b"\x00\x00\x03" * 3
    assert probe_size(H264, b"\x00\x00\x01\x67\x42\x00\x1e" + zeros + b"\x80") is None


# ---------------------------------------------------- parameter sets built bit by bit


class BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, count: int, value: int) -> None:
        self.bits += [(value >> shift) & 1 for shift in range(count - 1, -1, -1)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def nal(self, header: bytes) -> bytes:
        """The NAL unit: header, the bits with a stop bit, emulation prevention added."""
        bits = [*self.bits, 1]
        bits += [0] * (-len(bits) % 8)
        rbsp = bytes(
            int("".join(map(str, bits[index : index + 8])), 2) for index in range(0, len(bits), 8)
        )
        escaped = bytearray()
        zeros = 0
        for byte in rbsp:
            if zeros >= 2 and byte <= 3:
                escaped.append(3)
                zeros = 0
            escaped.append(byte)
            zeros = zeros + 1 if byte == 0 else 0
        return b"\x00\x00\x00\x01" + header + bytes(escaped)


# Crop units (SubWidthC, SubHeightC) by chroma format, Table 6-1 of both standards.
CROP_UNITS = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}


@dataclass(frozen=True)
class H264Sps:
    """An H.264 sequence parameter set with the fields that change where the size is."""

    profile: int = 66
    chroma: int = 1
    separate_planes: bool = False
    poc_type: int = 2
    frame_mbs_only: bool = True
    mbs: tuple[int, int] = (1, 1)
    crop: tuple[int, int, int, int] | None = None

    def nal(self) -> bytes:
        writer = BitWriter()
        writer.u(8, self.profile)
        writer.u(16, 0x001E)
        writer.ue(0)
        if self.profile == 100:
            writer.ue(self.chroma)
            if self.chroma == 3:
                writer.u(1, int(self.separate_planes))
            writer.ue(0)
            writer.ue(0)
            writer.u(1, 0)
            writer.u(1, 1)  # scaling matrices: list 0 with 16 deltas, list 1 "use the default"
            writer.u(1, 1)
            for _ in range(16):
                writer.se(-3)
            writer.u(1, 1)
            writer.se(-8)  # next_scale 0: no more deltas in this list
            for _ in range(6 if self.chroma != 3 else 10):
                writer.u(1, 0)
        writer.ue(0)
        writer.ue(self.poc_type)
        if self.poc_type == 0:
            writer.ue(2)
        elif self.poc_type == 1:
            writer.u(1, 0)
            for value in (-2, 5):
                writer.se(value)
            writer.ue(2)  # two offsets in the cycle
            for value in (1, -1):
                writer.se(value)
        writer.ue(1)
        writer.u(1, 0)
        writer.ue(self.mbs[0] - 1)
        writer.ue(self.mbs[1] - 1)
        writer.u(1, int(self.frame_mbs_only))
        if not self.frame_mbs_only:
            writer.u(1, 1)
        writer.u(1, 1)
        writer.u(1, int(self.crop is not None))
        for offset in self.crop or ():
            writer.ue(offset)
        writer.u(1, 0)  # vui_parameters_present_flag
        return writer.nal(b"\x67")

    def size(self) -> tuple[int, int] | None:
        field_factor = 1 if self.frame_mbs_only else 2
        width, height = self.mbs[0] * 16, self.mbs[1] * 16 * field_factor
        if self.crop is not None:
            # The crop unit follows the chroma format (always 4:2:0 below High profiles).
            array_type = self.chroma if self.profile == 100 else 1
            if self.profile == 100 and self.chroma == 3 and self.separate_planes:
                array_type = 0
            unit_x, unit_y = CROP_UNITS[array_type]
            width -= (self.crop[0] + self.crop[1]) * unit_x
            height -= (self.crop[2] + self.crop[3]) * unit_y * field_factor
        return (width, height) if width > 0 and height > 0 else None


crops = st.none() | st.tuples(*[st.integers(0, 3)] * 4)


# Monochrome, and 4:4:4 coded as three separate planes: crop units of one pixel.
@example(H264Sps(100, 0, False, 1, frame_mbs_only=False, mbs=(20, 10), crop=(1, 2, 3, 1)))
@example(H264Sps(100, 3, True, 0, frame_mbs_only=True, mbs=(20, 10), crop=(1, 2, 3, 1)))
@given(
    st.builds(
        H264Sps,
        profile=st.sampled_from([66, 77, 100]),
        chroma=st.integers(0, 3),
        separate_planes=st.booleans(),
        poc_type=st.integers(0, 2),
        frame_mbs_only=st.booleans(),
        mbs=st.tuples(st.integers(1, 240), st.integers(1, 135)),
        crop=crops,
    )
)
def test_h264_sps_sizes(sps: H264Sps) -> None:
    assert probe_size(H264, b"\x00\x00\x01\x09\xf0" + sps.nal()) == sps.size()


@dataclass(frozen=True)
class H265Sps:
    """An H.265 sequence parameter set with the fields up to the conformance window."""

    sub_layers: tuple[tuple[bool, bool], ...] = ()
    chroma: int = 1
    separate_planes: bool = False
    luma_size: tuple[int, int] = (64, 64)
    window: tuple[int, int, int, int] | None = None

    def nal(self) -> bytes:
        writer = BitWriter()
        writer.u(4, 0)
        writer.u(3, len(self.sub_layers))
        writer.u(1, 1)
        writer.u(88, (1 << 80) | 0x5A5A)  # general profile fields
        writer.u(8, 153)  # level 5.1
        for profile_present, level_present in self.sub_layers:
            writer.u(1, int(profile_present))
            writer.u(1, int(level_present))
        if self.sub_layers:
            writer.u(2 * (8 - len(self.sub_layers)), 0)
        for profile_present, level_present in self.sub_layers:
            if profile_present:
                writer.u(88, 0)
            if level_present:
                writer.u(8, 120)
        writer.ue(0)
        writer.ue(self.chroma)
        if self.chroma == 3:
            writer.u(1, int(self.separate_planes))
        writer.ue(self.luma_size[0])
        writer.ue(self.luma_size[1])
        writer.u(1, int(self.window is not None))
        for offset in self.window or ():
            writer.ue(offset)
        writer.ue(0)  # bit_depth_luma_minus8, then more fields the probe never reads
        return writer.nal(b"\x42\x01")

    def size(self) -> tuple[int, int] | None:
        width, height = self.luma_size
        if self.window is not None:
            array_type = 0 if self.chroma == 3 and self.separate_planes else self.chroma
            unit_x, unit_y = CROP_UNITS[array_type]
            width -= (self.window[0] + self.window[1]) * unit_x
            height -= (self.window[2] + self.window[3]) * unit_y
        return (width, height) if width > 0 and height > 0 else None


@given(
    st.builds(
        H265Sps,
        sub_layers=st.lists(st.tuples(st.booleans(), st.booleans()), max_size=7).map(tuple),
        chroma=st.integers(0, 3),
        separate_planes=st.booleans(),
        luma_size=st.tuples(st.integers(8, 8192), st.integers(8, 4320)),
        window=crops,
    )
)
def test_h265_sps_sizes(sps: H265Sps) -> None:
    vps = b"\x00\x00\x00\x01\x40\x01\x0c"
    assert probe_size(H265, vps + sps.nal()) == sps.size()


def test_probe_size_refuses_absurd_dimensions() -> None:
    assert probe_size(H265, H265Sps(luma_size=(70000, 64)).nal()) is None
    assert probe_size(H264, H264Sps(crop=(4, 4, 0, 0)).nal()) is None  # cropped to nothing


@given(st.binary(max_size=64))
def test_probe_size_never_raises(tail: bytes) -> None:
    for codec in (H264, H265):
        header = b"\x67" if codec == H264 else b"\x42\x01"
        result = probe_size(codec, b"\x00\x00\x01" + header + tail)
        assert result is None or (result[0] > 0 and result[1] > 0)
