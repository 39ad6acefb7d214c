"""ffprobe's view of a media file, for the tests of the writers and the media commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["codecs_of", "probe", "stream_of"]


def probe(path: Path | str) -> dict[str, Any]:
    """The file's streams (codec, size, frames counted by decoding, duration) and the
    container's duration, as ffprobe reads them."""
    command = ["ffprobe", "-v", "error", "-count_frames", "-show_entries"]
    command += ["stream=codec_name,width,height,nb_read_frames,duration:format=duration"]
    command += ["-of", "json", str(path)]
    result = subprocess.run(command, check=True, capture_output=True, timeout=30)
    return dict(json.loads(result.stdout))


def stream_of(info: dict[str, Any], kind: str) -> dict[str, Any]:
    """The one video (`kind` "video") or audio stream of `probe()`'s answer."""
    video = kind == "video"
    streams = [stream for stream in info["streams"] if ("width" in stream) == video]
    assert len(streams) == 1, info
    return dict(streams[0])


def codecs_of(info: dict[str, Any]) -> list[str]:
    """The codec names of every stream, sorted."""
    return sorted(stream["codec_name"] for stream in info["streams"])
