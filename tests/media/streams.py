"""DVRIP media streams built from real clips, with the frames a demuxer must give back.
Used by the demuxer tests and bench/media_demux.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources

from xmcam.media.annexb import access_units, probe_size
from xmcam.media.frames import (
    AudioCodec,
    AudioFrame,
    MediaFrame,
    VideoCodec,
    VideoFrame,
    encode_audio_frame,
    encode_video_frame,
)

CLIPS = resources.files("xmcam.sim") / "clips"
# 40 ms of G.711 at 8 kHz: what cameras send per audio frame.
AUDIO_FRAME_BYTES = 320
FPS = 25


def clip_bytes(name: str) -> bytes:
    """A clip the simulator ships (src/xmcam/sim/clips)."""
    return (CLIPS / name).read_bytes()


@dataclass
class MediaStream:
    """An encoded frame stream and the frames it holds, in order."""

    data: bytearray = field(default_factory=bytearray)
    frames: list[MediaFrame] = field(default_factory=list)

    def add(self, encoded: bytes, frame: MediaFrame) -> None:
        self.data += encoded
        self.frames.append(frame)

    def __add__(self, other: MediaStream) -> MediaStream:
        return MediaStream(self.data + other.data, self.frames + other.frames)


def clip_stream(
    clip: bytes,
    codec: VideoCodec = VideoCodec.H264,
    *,
    audio: bytes | None = None,
    start: datetime = datetime(2026, 11, 25, 12, 0, 0),
) -> MediaStream:
    """The clip's access units as FC (keyframes, with size and time stamp) and FD frames,
    each followed by 40 ms of `audio` when given, as a camera streams them."""
    size = probe_size(codec, clip)
    assert size is not None
    width, height = size
    stream = MediaStream()
    for index, unit in enumerate(access_units(clip, codec)):
        if unit.keyframe:
            # Devices give the size in units of 8 (a 360-line picture says 360; 1080 is 1080).
            when = start + timedelta(seconds=index // FPS)
            encoded = encode_video_frame(
                unit.data,
                keyframe=True,
                codec=codec,
                width=width,
                height=height,
                fps=FPS,
                timestamp=when,
            )
            stream.add(encoded, VideoFrame(True, codec, unit.data, width, height, FPS, when))
        else:
            stream.add(
                encode_video_frame(unit.data, keyframe=False), VideoFrame(False, codec, unit.data)
            )
        if audio is not None:
            offset = index * AUDIO_FRAME_BYTES % max(len(audio) - AUDIO_FRAME_BYTES, 1)
            samples = audio[offset : offset + AUDIO_FRAME_BYTES]
            stream.add(encode_audio_frame(samples), AudioFrame(AudioCodec.G711A, 8000, samples))
    return stream
