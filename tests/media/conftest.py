"""Clips for the media tests: the simulator's committed H.264 clips, and tiny H.265 (and odd
H.264) clips made with ffmpeg once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media.streams import clip_bytes
from tests.media_clips import make_clip

# clip_bytes is imported from here by other media tests.
__all__ = ["clip_bytes"]


@pytest.fixture(scope="session")
def main_h264() -> bytes:
    return clip_bytes("main.h264")


@pytest.fixture(scope="session")
def extra_h264() -> bytes:
    return clip_bytes("extra.h264")


# name -> (test source size, frames, encoder arguments). Each is a few KB: flat or tiny frames.
_CLIPS: dict[str, tuple[str, int, list[str]]] = {
    # 25 frames, a keyframe at 0 only, parameter sets repeated as cameras do.
    "small.h265": (
        "320x240",
        25,
        ["-c:v", "libx265", "-x265-params", "keyint=25:bframes=0:repeat-headers=1:log-level=error"],
    ),
    # 330x250 is coded as a multiple of 8 and cropped back (the conformance window).
    "crop.h265": ("330x250", 2, ["-c:v", "libx265", "-x265-params", "log-level=error"]),
    # High 4:4:4 with scaling matrices in the SPS, and a crop in units of 1 pixel.
    "hi444.h264": (
        "330x250",
        2,
        [
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv444p",
            "-profile:v",
            "high444",
            "-x264-params",
            "cqm=jvt",
        ],
    ),
    # Interlaced: frame_mbs_only_flag = 0, heights in 32-line map units.
    "ilace.h264": (
        "320x360",
        2,
        ["-c:v", "libx264", "-flags", "+ildct", "-x264-params", "interlaced=1"],
    ),
    # Three slices a picture behind access-unit delimiters.
    "slices.h264": ("320x240", 3, ["-c:v", "libx264", "-x264-params", "slices=3:aud=1:bframes=0"]),
}


def _make_clip(directory: Path, name: str, source: str, frames: int, codec: list[str]) -> bytes:
    return make_clip(directory / name, source, frames, codec).read_bytes()


@pytest.fixture(scope="session")
def made_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The clips of _CLIPS and a one-frame flat 3840x2160 H.265 clip ("4k.h265"), by name."""
    directory = tmp_path_factory.mktemp("clips")
    clips = {
        name: _make_clip(directory, name, f"testsrc2=size={size}:rate=25", frames, codec)
        for name, (size, frames, codec) in _CLIPS.items()
    }
    ultrafast = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"]
    clips["4k.h265"] = _make_clip(
        directory, "4k.h265", "color=c=gray:size=3840x2160:rate=25", 1, ultrafast
    )
    return clips
