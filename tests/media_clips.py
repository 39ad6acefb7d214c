"""A pytest plugin (tests/conftest.py loads it): small video clips made with ffmpeg once per
test session, for anything that streams media from the simulator.

Each fixture returns the Path of an Annex-B elementary stream in a session temporary
directory:

- `h264_clip`: H.264, 320x240, 25 fps, 2 s (50 frames), a keyframe every 25 frames, no
  B-frames, SPS/PPS before every keyframe (as cameras send);
- `h265_clip`: the same in H.265 (VPS/SPS/PPS before every keyframe);
- `h265_4k_clip`: H.265, 3840x2160, 3 frames, the first a keyframe (for the size bits of 4K
  frame headers).

A test asking for one is skipped when ffmpeg is not installed (failed under CI:
tests/tools.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.tools import require_tool

__all__ = [
    "CLIP_FPS",
    "CLIP_FRAMES",
    "CLIP_GOP",
    "h264_clip",
    "h265_4k_clip",
    "h265_clip",
    "make_clip",
]

CLIP_FPS = 25
CLIP_FRAMES = 50  # 2 s
CLIP_GOP = 25
FOUR_K_FRAMES = 3

# Keyframes at a fixed interval only, no B-frames, parameter sets before every keyframe.
_GOP_OPTIONS = f"keyint={CLIP_GOP}:min-keyint={CLIP_GOP}:scenecut=0:bframes=0:repeat-headers=1"
_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
_X265 = ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def make_clip(output: Path, source: str, frames: int, codec: list[str]) -> Path:
    """Encode `frames` frames of the lavfi `source` with the `codec` arguments into `output`,
    an Annex-B stream (HEVC for a `.h265` name, else H.264). Skips the test without ffmpeg
    (fails it under CI)."""
    require_tool("ffmpeg")
    muxer = "hevc" if output.suffix == ".h265" else "h264"
    command = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", source]
    command += ["-frames:v", str(frames), *codec, "-f", muxer, str(output)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return output


def _ffmpeg(output: Path, source: str, frames: int, encoder: list[str], params: str) -> Path:
    if "libx264" in encoder:
        return make_clip(output, source, frames, [*encoder, "-x264-params", params])
    x265_params = f"{params}:log-level=error"
    return make_clip(output, source, frames, [*encoder, "-x265-params", x265_params])


@pytest.fixture(scope="session")
def media_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media-clips")


@pytest.fixture(scope="session")
def h264_clip(media_clip_dir: Path) -> Path:
    """H.264 320x240, 25 fps, 50 frames, GOP 25, no B-frames."""
    source = f"testsrc2=size=320x240:rate={CLIP_FPS}"
    return _ffmpeg(media_clip_dir / "small.h264", source, CLIP_FRAMES, _X264, _GOP_OPTIONS)


@pytest.fixture(scope="session")
def h265_clip(media_clip_dir: Path) -> Path:
    """H.265 320x240, 25 fps, 50 frames, GOP 25, no B-frames."""
    source = f"testsrc2=size=320x240:rate={CLIP_FPS}"
    return _ffmpeg(media_clip_dir / "small.h265", source, CLIP_FRAMES, _X265, _GOP_OPTIONS)


@pytest.fixture(scope="session")
def h265_4k_clip(media_clip_dir: Path) -> Path:
    """H.265 3840x2160, 3 frames (a keyframe and two P-frames)."""
    source = f"testsrc2=size=3840x2160:rate={CLIP_FPS}"
    return _ffmpeg(media_clip_dir / "4k.h265", source, FOUR_K_FRAMES, _X265, _GOP_OPTIONS)
