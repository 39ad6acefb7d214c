"""Writers that put demuxed frames into files: raw Annex-B, or MP4, Matroska and MPEG-TS.

Theory of operation. A camera's video frames are already encoded access units (Annex-B NAL
units, start codes included), so a file is made by muxing them, never by re-encoding:

- `AnnexBWriter` writes the video payloads one after the other: an elementary stream that
  ffplay, ffmpeg and VLC read as it is (`.h264` / `.h265`, or a pipe). Standard library only.
- `ContainerWriter` (PyAV, the `media` extra) puts them into a container. The stream's codec
  parameters (size, profile, SPS/PPS/VPS as extradata) come from probing the first keyframe
  with FFmpeg's raw H.264/H.265 demuxer, since every keyframe a camera sends begins with its
  parameter sets. Time stamps are counted, never taken from the device: each video frame
  lasts 1/fps of the latest I-frame header (a 90 kHz clock, exact for the usual rates), and
  decode order is display order (cameras encode without B-frames). Audio is timed by its
  samples. G.711 cannot go into MP4 or MPEG-TS, so it is decoded and encoded to AAC there;
  Matroska takes it as 16-bit PCM (the same samples, losslessly expanded: FFmpeg writes
  A-law into Matroska only through the old ACM mapping, which it refuses at normal
  compliance, so PyAV cannot add such a stream).

Both wait for the first keyframe: what comes before it cannot be decoded and is dropped and
counted (`frames_dropped`). A container's header names its streams, so the container writer
holds the first second of video until it knows whether audio comes with it; audio that first
shows up later is dropped and counted.

Resume-safe output: a writer given a path writes `<path>.part` and renames it to the final
name on `close()`, so a file under its final name is always whole. `abort()` finishes the file
(it plays) but leaves it under `.part`; leaving the `with` block on an exception does that.
A writer that never saw a keyframe leaves no file at all.
"""

from __future__ import annotations

import abc
import io
import os
import shlex
import sys
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Final, Protocol, Self

from xmcam.errors import XMCamError
from xmcam.media.frames import AudioCodec, AudioFrame, MediaFrame, VideoCodec, VideoFrame

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.video.stream import VideoStream

__all__ = [
    "ANNEX_B_FORMATS",
    "CONTAINER_FORMATS",
    "AnnexBWriter",
    "ContainerWriter",
    "MediaError",
    "MediaWriter",
    "MissingMediaSupportError",
    "codec_label",
    "keyframe_to_jpeg",
    "open_writer",
    "output_format",
    "require_media_support",
]

# PyAV is a default dependency, so it is missing only from an environment that skipped it.
# xmcam is not on the package index (pip finds no extra of it to install): the hint
# installs PyAV itself with the interpreter running xmcam, so it lands in the right place
# (a virtual environment, pipx) wherever xmcam was installed from. The CLI's help imports it.
INSTALL_HINT: Final = f"{shlex.quote(sys.executable or 'python3')} -m pip install av"

# Output names (a file's extension or --format) -> the video codec an Annex-B file must hold.
ANNEX_B_FORMATS: Final[dict[str, VideoCodec | None]] = {
    "h264": VideoCodec.H264,
    "264": VideoCodec.H264,
    "h265": VideoCodec.H265,
    "265": VideoCodec.H265,
    "hevc": VideoCodec.H265,
}
# Output names -> FFmpeg's muxer.
CONTAINER_FORMATS: Final[dict[str, str]] = {"mp4": "mp4", "mkv": "matroska", "ts": "mpegts"}

# FFmpeg's decoders (and raw demuxers) for the video codecs a container can take.
_VIDEO_CODECS: Final[dict[int, str]] = {VideoCodec.H264: "h264", VideoCodec.H265: "hevc"}
# FFmpeg's decoders for the audio a camera sends. Other codecs (G.729, ADPCM) are dropped.
_AUDIO_DECODERS: Final[dict[int, str]] = {
    AudioCodec.G711A: "pcm_alaw",
    AudioCodec.G711U: "pcm_mulaw",
    AudioCodec.PCM16: "pcm_s16le",
}
# The audio each container gets (see the module's docstring for why not G.711 itself).
_AUDIO_ENCODERS: Final[dict[str, str]] = {"mp4": "aac", "mkv": "pcm_s16le", "ts": "aac"}

# A frame rate outside this range is a broken header: keep the last good one.
MAX_FPS: Final = 120
DEFAULT_FPS: Final = 25
# 90 kHz, MPEG's clock: whole ticks per frame at 1-6, 8-10, 12, 15, 20, 24, 25, 30, 60 fps.
VIDEO_CLOCK: Final = 90_000
_VIDEO_TIME_BASE: Final = Fraction(1, VIDEO_CLOCK)
# MP4 to a pipe: fragments, since the index at the end needs a seekable file.
_STREAMING_MP4: Final = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}


class MediaError(XMCamError):
    """Media could not be written or decoded: a codec a container cannot hold, a keyframe
    that does not decode, a second codec in the middle of an Annex-B file."""


class MissingMediaSupportError(MediaError, ImportError):
    """Containers and JPEG snapshots need PyAV (a default dependency), and it is missing."""


def require_media_support() -> None:
    """Raise MissingMediaSupportError (naming the install command) when PyAV is missing."""
    try:
        import av  # noqa: F401, PLC0415 (PyAV is optional: imported only when used)
    except ImportError as error:
        raise MissingMediaSupportError(
            f"video containers and JPEG decoding need PyAV, which a plain install of xmcam "
            f"brings; install it with: {INSTALL_HINT}"
        ) from error


class MediaWriter(Protocol):
    """What `open_writer()` returns: feed it frames, then close it."""

    frames_written: int
    """Video frames written."""
    frames_dropped: int
    """Frames dropped: before the first keyframe, or that the file cannot hold."""
    audio_frames_written: int
    """Audio frames written (always 0 for raw Annex-B, which holds video only)."""
    path: Path | None
    """The final file name, or None when writing to a stream."""

    @property
    def duration(self) -> float:
        """Seconds of video written."""

    def write(self, frame: MediaFrame) -> None:
        """Write one frame (info and picture frames are ignored)."""

    def close(self) -> None:
        """Finish the file and give it its final name."""

    def abort(self) -> None:
        """Finish the file so that it plays, but leave it under `<path>.part`."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


def open_writer(
    target: str | os.PathLike[str] | BinaryIO, *, format: str | None = None
) -> MediaWriter:
    """A writer for `target`: a path (its extension or `format` chooses the kind), `-` for
    standard output, or a binary stream. `.h264/.264/.h265/.265/.hevc`, `-` and streams get
    raw Annex-B (no PyAV needed); `.mp4/.mkv/.ts` a container. Raises ValueError for a name
    it cannot tell the format of, MissingMediaSupportError when a container needs PyAV."""
    if isinstance(target, str) and target == "-":
        target = sys.stdout.buffer
    name = output_format(target, format)
    if name in CONTAINER_FORMATS:
        return ContainerWriter(target, format=name)
    return AnnexBWriter(target, codec=ANNEX_B_FORMATS.get(name))


def output_format(target: str | os.PathLike[str] | BinaryIO, format: str | None = None) -> str:
    """The output's format name (a key of CONTAINER_FORMATS or ANNEX_B_FORMATS, or "annexb"
    for a stream named by neither); ValueError when neither `format` nor the name tells."""
    if format is not None:
        name = format.lower().lstrip(".")
    elif isinstance(target, str | os.PathLike) and target != "-":
        name = Path(target).suffix.lower().lstrip(".")
    else:
        return "annexb"
    if name not in CONTAINER_FORMATS and name not in ANNEX_B_FORMATS:
        known = ", ".join(f".{known}" for known in [*CONTAINER_FORMATS, *ANNEX_B_FORMATS])
        raise ValueError(f"cannot tell the video format of {_shown(target, name)}: use {known}")
    return name


def _shown(target: str | os.PathLike[str] | BinaryIO, name: str) -> str:
    if isinstance(target, str | os.PathLike):
        return repr(os.fspath(target))
    return repr(name)


class _Output:
    """Where a writer's bytes go: a binary stream as it is, or `<path>.part`, renamed to
    `path` once the file is whole."""

    def __init__(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        self.stream: BinaryIO | None = None
        self.path: Path | None = None
        self.part: Path | None = None
        if isinstance(target, str | os.PathLike):
            self.path = Path(target)
            self.part = self.path.with_name(self.path.name + ".part")
            # Fail now, not at the first keyframe, on a directory that cannot be written.
            self.part.touch()
        else:
            self.stream = target

    def settle(self, *, keep: bool, publish: bool) -> None:
        """After the file is finished: rename it (publish), leave it as `.part` (keep and
        not publish), or remove it (nothing worth keeping)."""
        if self.part is None or self.path is None:
            return
        if not keep:
            self.part.unlink(missing_ok=True)
        elif publish:
            self.part.replace(self.path)


def _frame_rate(keyframe: VideoFrame, previous: int) -> int:
    """The frame rate an I-frame header gives, or `previous` when it gives none or nonsense."""
    fps = keyframe.fps
    return fps if fps is not None and 0 < fps <= MAX_FPS else previous


_Timing = tuple[Fraction, Fraction]  # a video frame's start and length, in seconds


class _Writer(abc.ABC):
    """What both writers share: counters, the video clock, the `.part` file's end."""

    def __init__(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        self.frames_written = 0
        self.frames_dropped = 0
        self.audio_frames_written = 0
        self._output = _Output(target)
        self.path = self._output.path
        self._fps = DEFAULT_FPS
        self._video_time = Fraction(0)
        self._closed = False

    @property
    def duration(self) -> float:
        """Seconds of video written."""
        return float(self._video_time)

    def _clock(self, frame: VideoFrame) -> _Timing:
        """When `frame` starts (seconds since the first keyframe) and how long it lasts (one
        frame at the rate of the latest I-frame header); advances the clock past it."""
        if frame.keyframe:
            self._fps = _frame_rate(frame, self._fps)
        timing = (self._video_time, Fraction(1, self._fps))
        self._video_time += timing[1]
        return timing

    def close(self) -> None:
        """Finish the file and give it its final name (a file with no keyframe is removed)."""
        self._end(publish=True)

    def abort(self) -> None:
        """Finish the file so that it plays, but leave it under `<path>.part`."""
        self._end(publish=False)

    def _end(self, *, publish: bool) -> None:
        if self._closed:
            return
        self._closed = True
        self._finish()
        # A failed finish (disk full) raises above and leaves the `.part` in place.
        self._output.settle(keep=self.frames_written > 0, publish=publish)

    @abc.abstractmethod
    def _finish(self) -> None:
        """Write what the format needs at the end (each writer its own)."""

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("write to a closed media writer")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.close()
        else:
            self.abort()


class AnnexBWriter(_Writer):
    """Raw H.264/H.265 elementary stream: the video payloads as they are, from the first
    keyframe on, to a path (through `.part`) or a binary stream (flushed each frame, so a
    player on a pipe sees it at once). Audio and other frames are left out. `codec`, when
    given, is the codec the file's name promises: a stream in another raises MediaError."""

    def __init__(
        self, target: str | os.PathLike[str] | BinaryIO, *, codec: int | None = None
    ) -> None:
        super().__init__(target)
        self.codec = codec
        self._file: BinaryIO | None = None

    def write(self, frame: MediaFrame) -> None:
        self._check_open()
        if not isinstance(frame, VideoFrame):
            return
        if self._file is None:
            if not frame.keyframe:
                self.frames_dropped += 1
                return
            self._file = self._start(frame)
        self._clock(frame)
        self._file.write(frame.data)
        if self._output.stream is not None:
            self._file.flush()
        self.frames_written += 1

    def _start(self, frame: VideoFrame) -> BinaryIO:
        if self.codec is not None and frame.codec != self.codec:
            raise MediaError(
                f"the video is {codec_label(frame.codec)}, the output is named for "
                f"{codec_label(self.codec)}"
            )
        self.codec = frame.codec
        if self._output.stream is not None:
            return self._output.stream
        assert self._output.part is not None
        return self._output.part.open("wb")

    def _finish(self) -> None:
        if self._file is None:
            return
        if self._output.stream is not None:
            self._file.flush()
        else:
            self._file.close()


class ContainerWriter(_Writer):
    """MP4, Matroska or MPEG-TS through PyAV, video muxed as it is (no re-encoding), audio
    as AAC (MP4, TS) or PCM (MKV). `format` is "mp4", "mkv" or "ts". Writes to a path
    (through `.part`) or a binary stream (MP4 then fragmented, since a pipe cannot seek)."""

    def __init__(self, target: str | os.PathLike[str] | BinaryIO, *, format: str = "mp4") -> None:
        if format not in CONTAINER_FORMATS:
            raise ValueError(f"not a container format: {format!r} (mp4, mkv or ts)")
        require_media_support()
        super().__init__(target)
        self.format = format
        self._container: OutputContainer | None = None
        self._video: VideoStream | None = None
        self._audio: AudioStream | None = None
        self._audio_decoder: AudioCodecContext | None = None
        self._audio_kind: tuple[int, int] | None = None
        self._audio_samples = 0
        self._header_pending = True
        # Frames held until the streams are known (the first second of video).
        self._held: list[tuple[VideoFrame, _Timing] | AudioFrame] = []  # a keyframe first
        self._held_video = 0
        self._hold_limit = DEFAULT_FPS

    def write(self, frame: MediaFrame) -> None:
        self._check_open()
        if isinstance(frame, VideoFrame):
            self._write_video(frame)
        elif isinstance(frame, AudioFrame):
            self._write_audio(frame)

    def _write_video(self, frame: VideoFrame) -> None:
        if self._container is None and not (frame.keyframe and self._open(frame)):
            self.frames_dropped += 1
            return
        # Counted and timed when accepted, held or not: duration is what the file will hold.
        timing = self._clock(frame)
        self.frames_written += 1
        if not self._header_pending:
            self._mux_video(frame, timing)
            return
        self._held.append((frame, timing))
        self._held_video += 1
        if self._held_video > self._hold_limit:
            self._start_muxing()

    def _write_audio(self, frame: AudioFrame) -> None:
        if self._container is None:
            self.frames_dropped += 1
        elif self._header_pending:
            self._held.append(frame)
            self._start_muxing()
        else:
            self._mux_audio(frame)

    def _open(self, keyframe: VideoFrame) -> bool:
        """Open the container with a video stream whose parameters come from probing
        `keyframe`; False when the keyframe holds no usable parameter sets."""
        import av  # noqa: PLC0415 (optional dependency)
        from av.error import FFmpegError  # noqa: PLC0415

        codec_name = _VIDEO_CODECS.get(keyframe.codec)
        if codec_name is None:
            raise MediaError(
                f"{self.format.upper()} output takes H.264 or H.265 video, "
                f"not {codec_label(keyframe.codec)}"
            )
        try:
            probe = av.open(io.BytesIO(keyframe.data), "r", format=codec_name)
        except FFmpegError:
            return False
        with probe:
            template = probe.streams.video[0] if probe.streams.video else None
            if template is None or not template.codec_context.width:
                return False
            self._container = self._open_container()
            self._video = self._container.add_stream_from_template(template, opaque=True)
        self._video.time_base = _VIDEO_TIME_BASE
        self._hold_limit = _frame_rate(keyframe, DEFAULT_FPS)
        return True

    def _open_container(self) -> OutputContainer:
        import av  # noqa: PLC0415 (optional dependency)

        muxer = CONTAINER_FORMATS[self.format]
        if self._output.stream is not None:
            options = _STREAMING_MP4 if self.format == "mp4" else {}
            return av.open(self._output.stream, "w", format=muxer, options=options)
        assert self._output.part is not None
        return av.open(str(self._output.part), "w", format=muxer)

    def _start_muxing(self) -> None:
        """Add the audio stream when held audio asks for one, then write what was held
        (the first packet writes the container's header)."""
        assert self._container is not None
        first_audio = next((item for item in self._held if isinstance(item, AudioFrame)), None)
        if first_audio is not None:
            self._add_audio(first_audio)
        self._header_pending = False
        held, self._held = self._held, []
        for item in held:
            if isinstance(item, AudioFrame):
                self._mux_audio(item)
            else:
                self._mux_video(*item)

    def _add_audio(self, frame: AudioFrame) -> None:
        import av  # noqa: PLC0415 (optional dependency)

        decoder_name = _AUDIO_DECODERS.get(frame.codec)
        if decoder_name is None or frame.sample_rate is None:
            return
        assert self._container is not None
        decoder = av.CodecContext.create(decoder_name, "r")
        assert isinstance(decoder, av.AudioCodecContext)
        decoder.sample_rate = frame.sample_rate
        decoder.layout = "mono"
        encoder_name = _AUDIO_ENCODERS[self.format]
        stream = self._container.add_stream(encoder_name, rate=frame.sample_rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        self._audio = stream
        self._audio_decoder = decoder
        self._audio_kind = (frame.codec, frame.sample_rate)

    def _mux_video(self, frame: VideoFrame, timing: _Timing) -> None:
        import av  # noqa: PLC0415 (optional dependency)

        assert self._container is not None
        assert self._video is not None
        start, length = timing
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = round(start * VIDEO_CLOCK)
        packet.duration = round(length * VIDEO_CLOCK)
        packet.time_base = _VIDEO_TIME_BASE
        packet.is_keyframe = frame.keyframe
        packet.stream = self._video
        self._container.mux_one(packet)

    def _mux_audio(self, frame: AudioFrame) -> None:
        import av  # noqa: PLC0415 (optional dependency)
        from av.error import FFmpegError  # noqa: PLC0415

        if self._audio_kind != (frame.codec, frame.sample_rate) or not frame.data:
            self.frames_dropped += 1
            return
        assert self._container is not None
        assert self._audio is not None
        assert self._audio_decoder is not None
        rate = self._audio_kind[1]
        try:
            decoded = self._audio_decoder.decode(av.Packet(frame.data))
        except FFmpegError:
            self.frames_dropped += 1
            return
        for samples in decoded:
            samples.pts = self._audio_samples
            samples.time_base = Fraction(1, rate)
            self._audio_samples += samples.samples
            self._container.mux(self._audio.encode(samples))
        self.audio_frames_written += 1

    def _finish(self) -> None:
        if self._container is None:
            return
        try:
            if self._header_pending:
                self._start_muxing()
            if self._audio is not None:
                self._container.mux(self._audio.encode(None))
        finally:
            self._container.close()


def codec_label(codec: int) -> str:
    """A video codec's name for people: "H.264", "H.265"."""
    return _CODEC_NAMES.get(codec, f"video codec {codec}")


_CODEC_NAMES: Final[dict[int, str]] = {
    VideoCodec.MPEG4: "MPEG-4",
    VideoCodec.H264: "H.264",
    VideoCodec.H265: "H.265",
}


def keyframe_to_jpeg(frame: VideoFrame, *, quality: int = 3) -> bytes:
    """The picture of one keyframe as a JPEG (decoded and encoded with PyAV). `quality` is
    the JPEG quantiser, 2 (best) to 31. Raises MediaError when the keyframe does not decode,
    MissingMediaSupportError without PyAV."""
    require_media_support()
    import av  # noqa: PLC0415 (optional dependency)
    from av.error import FFmpegError  # noqa: PLC0415

    decoder_name = _VIDEO_CODECS.get(frame.codec)
    if decoder_name is None:
        raise MediaError(f"cannot decode {codec_label(frame.codec)} to a picture")
    if not frame.data:
        raise MediaError("the keyframe is empty")
    decoder = av.CodecContext.create(decoder_name, "r")
    assert isinstance(decoder, av.VideoCodecContext)
    try:
        pictures = decoder.decode(av.Packet(frame.data)) + decoder.decode(None)
    except FFmpegError as error:
        raise MediaError(f"the keyframe does not decode: {error}") from None
    if not pictures:
        raise MediaError("the keyframe does not decode to a picture")
    picture = pictures[0].reformat(format="yuvj420p")
    encoder = av.VideoCodecContext.create("mjpeg", "w")
    encoder.width = picture.width
    encoder.height = picture.height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, DEFAULT_FPS)
    encoder.qmin = encoder.qmax = max(2, min(31, quality))
    packets = encoder.encode(picture) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)
