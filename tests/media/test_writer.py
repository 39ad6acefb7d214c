"""The media writers: clips cut into frames, written as Annex-B, MP4, MKV and MPEG-TS, then
opened with ffprobe and PyAV, which must find the source's codec, size, frames and duration."""

from __future__ import annotations

import io
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import av
import pytest

from tests.media.probing import probe, stream_of
from tests.media_clips import CLIP_FRAMES, CLIP_GOP
from xmcam.media.annexb import access_units, probe_size
from xmcam.media.frames import (
    AudioCodec,
    AudioFrame,
    InfoFrame,
    MediaFrame,
    PictureFrame,
    VideoCodec,
    VideoFrame,
    encode_audio_frame,
    encode_video_frame,
)
from xmcam.media.writer import (
    AnnexBWriter,
    ContainerWriter,
    MediaError,
    MediaWriter,
    MissingMediaSupportError,
    keyframe_to_jpeg,
    open_writer,
    output_format,
    require_media_support,
)

from .conftest import clip_bytes

pytestmark = pytest.mark.needs_tool("ffprobe")

AUDIO_CHUNK = 320  # 40 ms of 8 kHz G.711, what cameras send


def clip_frames(
    clip: bytes,
    codec: int = VideoCodec.H264,
    *,
    fps: int = 25,
    audio: bytes | None = None,
) -> list[MediaFrame]:
    """`clip` as the demuxer hands it out: one VideoFrame per access unit (size and rate on
    keyframes only, as in I-frame headers), each followed by 40 ms of `audio` when given."""
    size = probe_size(codec, clip)
    assert size is not None
    width, height = size
    frames: list[MediaFrame] = []
    for index, unit in enumerate(access_units(clip, codec)):
        if unit.keyframe:
            frames.append(VideoFrame(True, codec, unit.data, width, height, fps))
        else:
            frames.append(VideoFrame(False, codec, unit.data))
        chunk = audio[index * AUDIO_CHUNK : (index + 1) * AUDIO_CHUNK] if audio else b""
        if chunk:
            frames.append(AudioFrame(AudioCodec.G711A, 8000, chunk))
    return frames


def write_all(writer: MediaWriter, frames: list[MediaFrame]) -> None:
    with writer:
        for frame in frames:
            writer.write(frame)


@pytest.fixture(scope="session")
def main_frames() -> list[MediaFrame]:
    return clip_frames(clip_bytes("main.h264"), audio=clip_bytes("audio.alaw"))


@pytest.mark.parametrize(
    ("suffix", "audio_codec"), [("mp4", "aac"), ("mkv", "pcm_s16le"), ("ts", "aac")]
)
def test_h264_with_audio_in_each_container(
    tmp_path: Path, main_frames: list[MediaFrame], suffix: str, audio_codec: str
) -> None:
    path = tmp_path / f"clip.{suffix}"
    writer = open_writer(path)
    assert isinstance(writer, ContainerWriter)
    write_all(writer, main_frames)
    assert (writer.frames_written, writer.frames_dropped, writer.duration) == (100, 0, 4.0)
    assert writer.audio_frames_written == 100
    assert path.exists()
    assert not (tmp_path / f"clip.{suffix}.part").exists()

    info = probe(path)
    video = stream_of(info, "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 640, 360)
    assert int(video["nb_read_frames"]) == 100
    assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.25)
    audio = stream_of(info, "audio")
    assert audio["codec_name"] == audio_codec
    assert int(audio["nb_read_frames"]) > 0

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 360)
        packets = [packet for packet in container.demux(stream) if packet.size]
        assert len(packets) == 100
        assert [packet.is_keyframe for packet in packets].count(True) == 4
        first, last = packets[0], packets[-1]
        assert first.pts is not None
        assert last.pts is not None
        assert last.time_base is not None
        # 99 frames of 40 ms after the first (containers may shift all by a constant).
        assert float((last.pts - first.pts) * last.time_base) == pytest.approx(3.96, abs=0.002)
        assert container.streams.audio[0].codec_context.name == audio_codec
        assert container.streams.audio[0].codec_context.sample_rate == 8000


@pytest.mark.parametrize("suffix", ["mp4", "mkv", "ts"])
def test_h265_keeps_codec_size_frames_and_duration(
    tmp_path: Path, h265_clip: Path, suffix: str
) -> None:
    path = tmp_path / f"clip.{suffix}"
    clip = h265_clip.read_bytes()
    audio = clip_bytes("audio.alaw")
    write_all(open_writer(path), clip_frames(clip, VideoCodec.H265, audio=audio))
    info = probe(path)
    video = stream_of(info, "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("hevc", 320, 240)
    assert int(video["nb_read_frames"]) == CLIP_FRAMES
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.2)
    assert stream_of(info, "audio")["codec_name"] == ("pcm_s16le" if suffix == "mkv" else "aac")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "hevc"
        keyframes = [packet.is_keyframe for packet in container.demux(stream) if packet.size]
        assert keyframes.count(True) == CLIP_FRAMES // CLIP_GOP


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_4k_h265_keeps_its_dimensions(tmp_path: Path, h265_4k_clip: Path, suffix: str) -> None:
    path = tmp_path / f"4k.{suffix}"
    write_all(open_writer(path), clip_frames(h265_4k_clip.read_bytes(), VideoCodec.H265))
    video = stream_of(probe(path), "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("hevc", 3840, 2160)
    assert int(video["nb_read_frames"]) == 3
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        assert (context.width, context.height) == (3840, 2160)


def test_the_i_frame_rate_times_the_frames(tmp_path: Path) -> None:
    path = tmp_path / "slow.mkv"
    frames = clip_frames(clip_bytes("main.h264"), fps=10)
    writer = open_writer(path)
    write_all(writer, frames)
    assert writer.duration == 10.0
    assert float(probe(path)["format"]["duration"]) == pytest.approx(10.0, abs=0.2)


def test_a_nonsense_frame_rate_keeps_the_previous_one(tmp_path: Path) -> None:
    frames = clip_frames(clip_bytes("main.h264"), fps=0)
    writer = open_writer(tmp_path / "clip.h264")
    write_all(writer, frames)
    assert writer.duration == 4.0  # 25 fps, the default


@pytest.mark.parametrize(("suffix", "dropped"), [("mp4", 30), ("h264", 15)])
def test_frames_before_the_first_keyframe_are_dropped_and_counted(
    tmp_path: Path, main_frames: list[MediaFrame], suffix: str, dropped: int
) -> None:
    # Start mid-GOP, as a stream joined late does: frame 10 of 25 (plus its audio).
    path = tmp_path / f"late.{suffix}"
    writer = open_writer(path)
    write_all(writer, main_frames[20:])
    assert writer.frames_written == 75
    # 15 video frames, and in a container their 15 audio frames (Annex-B has no audio).
    assert writer.frames_dropped == dropped
    video = stream_of(probe(path), "video")
    assert int(video["nb_read_frames"]) == 75


def test_audio_that_starts_after_the_header_is_dropped_and_counted(tmp_path: Path) -> None:
    video = clip_frames(clip_bytes("main.h264"))
    late_audio = [AudioFrame(AudioCodec.G711A, 8000, bytes(AUDIO_CHUNK))] * 3
    path = tmp_path / "late-audio.mp4"
    writer = ContainerWriter(path, format="mp4")
    write_all(writer, video[:30] + late_audio + video[30:])
    assert (writer.frames_written, writer.frames_dropped, writer.audio_frames_written) == (
        100,
        3,
        0,
    )
    assert [stream["codec_name"] for stream in probe(path)["streams"]] == ["h264"]


def test_audio_it_cannot_take_is_dropped_and_counted(tmp_path: Path) -> None:
    video = clip_frames(clip_bytes("main.h264"))
    g729 = AudioFrame(AudioCodec.G729, 8000, bytes(20))
    other_rate = AudioFrame(AudioCodec.G711A, 16000, bytes(AUDIO_CHUNK))
    alaw = AudioFrame(AudioCodec.G711A, 8000, bytes(AUDIO_CHUNK))
    writer = ContainerWriter(tmp_path / "mixed.mkv", format="mkv")
    write_all(writer, [video[0], alaw, other_rate, g729, alaw, *video[1:]])
    assert (writer.audio_frames_written, writer.frames_dropped) == (2, 2)


def test_an_audio_codec_it_cannot_take_gives_a_video_only_file(tmp_path: Path) -> None:
    video = clip_frames(clip_bytes("main.h264"))
    path = tmp_path / "g729.ts"
    writer = ContainerWriter(path, format="ts")
    write_all(writer, [video[0], AudioFrame(AudioCodec.G729, 8000, bytes(20)), *video[1:]])
    assert writer.frames_dropped == 1
    assert [stream["codec_name"] for stream in probe(path)["streams"]] == ["h264"]


def test_a_keyframe_without_parameter_sets_waits_for_the_next(tmp_path: Path) -> None:
    frames = clip_frames(clip_bytes("main.h264"))
    broken = VideoFrame(True, VideoCodec.H264, b"\x00\x00\x00\x01\x65" + bytes(40), 640, 360, 25)
    writer = open_writer(tmp_path / "clip.mp4")
    write_all(writer, [broken, *frames[1:]])
    assert writer.frames_written == 75
    assert writer.frames_dropped == 25


def test_info_and_picture_frames_are_ignored(tmp_path: Path) -> None:
    frames = clip_frames(clip_bytes("main.h264"))
    extras: list[MediaFrame] = [InfoFrame(1, b"x"), PictureFrame(0, b"\xff\xd8", 8, 8, None)]
    for writer in (open_writer(tmp_path / "a.mkv"), open_writer(tmp_path / "a.h264")):
        write_all(writer, [*extras, frames[0], *extras, *frames[1:]])
        assert (writer.frames_written, writer.frames_dropped) == (100, 0)


def test_annex_b_file_holds_the_payloads_from_the_first_keyframe(tmp_path: Path) -> None:
    clip = clip_bytes("main.h264")
    frames = clip_frames(clip)
    path = tmp_path / "clip.h264"
    writer = open_writer(path)
    assert isinstance(writer, AnnexBWriter)
    write_all(writer, frames[5:])
    units = access_units(clip, VideoCodec.H264)
    assert path.read_bytes() == b"".join(unit.data for unit in units[25:])
    assert (writer.frames_written, writer.frames_dropped, writer.duration) == (75, 20, 3.0)
    video = stream_of(probe(path), "video")
    assert (video["codec_name"], int(video["nb_read_frames"])) == ("h264", 75)


def test_annex_b_to_standard_output_plays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_frames: list[MediaFrame]
) -> None:
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer))
    writer = open_writer("-")
    assert isinstance(writer, AnnexBWriter)
    assert writer.path is None
    write_all(writer, main_frames)
    path = tmp_path / "from-stdout.h264"
    path.write_bytes(buffer.getvalue())
    video = stream_of(probe(path), "video")
    assert (video["codec_name"], video["width"], int(video["nb_read_frames"])) == ("h264", 640, 100)


class Pipe(io.RawIOBase):
    """A write-only, unseekable binary stream, as standard output on a pipe."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(self.chunks[-1])


@pytest.mark.parametrize("fmt", ["mp4", "mkv", "ts"])
def test_containers_to_a_pipe_play(tmp_path: Path, main_frames: list[MediaFrame], fmt: str) -> None:
    pipe = Pipe()
    writer = open_writer(pipe, format=fmt)  # type: ignore[arg-type]
    assert isinstance(writer, ContainerWriter)
    write_all(writer, main_frames)
    path = tmp_path / f"piped.{fmt}"
    path.write_bytes(b"".join(pipe.chunks))
    video = stream_of(probe(path), "video")
    assert (video["codec_name"], int(video["nb_read_frames"])) == ("h264", 100)


@pytest.mark.parametrize("suffix", ["mp4", "mkv", "ts", "h264"])
def test_a_stream_cut_mid_way_leaves_a_playable_part_file(
    tmp_path: Path, main_frames: list[MediaFrame], suffix: str
) -> None:
    path = tmp_path / f"cut.{suffix}"
    writer = open_writer(path)

    def interrupted() -> None:
        with writer:
            for index, frame in enumerate(main_frames):
                if index == 110:  # 55 video frames in
                    raise KeyboardInterrupt
                writer.write(frame)

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    part = tmp_path / f"cut.{suffix}.part"
    assert not path.exists()
    assert part.exists()
    info = probe(part)
    assert int(stream_of(info, "video")["nb_read_frames"]) == 55


def test_abort_keeps_the_part_and_close_after_it_does_nothing(
    tmp_path: Path, main_frames: list[MediaFrame]
) -> None:
    path = tmp_path / "clip.mkv"
    writer = open_writer(path)
    for frame in main_frames[:60]:
        writer.write(frame)
    writer.abort()
    writer.close()
    assert not path.exists()
    assert int(stream_of(probe(tmp_path / "clip.mkv.part"), "video")["nb_read_frames"]) == 30
    with pytest.raises(ValueError, match="closed"):
        writer.write(main_frames[0])


def test_close_mid_way_publishes_a_playable_file(
    tmp_path: Path, main_frames: list[MediaFrame]
) -> None:
    # `xmcam stream` ends on Ctrl-C this way: what came so far is the recording.
    path = tmp_path / "live.mp4"
    writer = open_writer(path)
    for frame in main_frames[:61]:
        writer.write(frame)
    writer.close()
    assert not (tmp_path / "live.mp4.part").exists()
    assert writer.frames_written == 31
    info = probe(path)
    assert int(stream_of(info, "video")["nb_read_frames"]) == 31
    assert float(info["format"]["duration"]) == pytest.approx(1.24, abs=0.15)


@pytest.mark.parametrize(("suffix", "dropped"), [("mp4", 38), ("h264", 19)])
def test_no_keyframe_leaves_no_file(
    tmp_path: Path, main_frames: list[MediaFrame], suffix: str, dropped: int
) -> None:
    path = tmp_path / f"nothing.{suffix}"
    writer = open_writer(path)
    assert path.with_name(path.name + ".part").exists()  # made at once: fails early
    write_all(writer, main_frames[2:40])  # no keyframe in there
    assert (writer.frames_written, writer.frames_dropped) == (0, dropped)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_directory_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_writer(tmp_path / "missing" / "clip.mp4")


@pytest.mark.parametrize(
    ("name", "fmt", "kind"),
    [
        ("a.MP4", None, ContainerWriter),
        ("a.mkv", None, ContainerWriter),
        ("a.ts", None, ContainerWriter),
        ("a.264", None, AnnexBWriter),
        ("a.hevc", None, AnnexBWriter),
        ("a.265", None, AnnexBWriter),
        ("a.bin", "h265", AnnexBWriter),
        ("a.bin", ".ts", ContainerWriter),
    ],
)
def test_the_extension_or_format_chooses_the_writer(
    tmp_path: Path, name: str, fmt: str | None, kind: type[object]
) -> None:
    writer = open_writer(tmp_path / name, format=fmt)
    assert isinstance(writer, kind)
    writer.close()
    assert list(tmp_path.iterdir()) == []


def test_output_format_names() -> None:
    assert output_format("-") == "annexb"
    assert output_format("-", "ts") == "ts"
    assert output_format(io.BytesIO()) == "annexb"
    assert output_format("clip.HEVC") == "hevc"
    assert output_format(Path("clip.mkv"), "mp4") == "mp4"


@pytest.mark.parametrize(("name", "fmt"), [("a.avi", None), ("noext", None), ("a.mp4", "flv")])
def test_an_unknown_format_is_refused(tmp_path: Path, name: str, fmt: str | None) -> None:
    with pytest.raises(ValueError, match=r"cannot tell the video format .*\.mp4, \.mkv, \.ts"):
        open_writer(tmp_path / name, format=fmt)
    with pytest.raises(ValueError, match="not a container format"):
        ContainerWriter(tmp_path / name, format="avi")


def test_annex_b_named_for_one_codec_refuses_the_other(tmp_path: Path, h265_clip: Path) -> None:
    writer = open_writer(tmp_path / "clip.h264")
    frames = clip_frames(h265_clip.read_bytes(), VideoCodec.H265)
    with pytest.raises(MediaError, match=r"the video is H\.265, the output is named for H\.264"):
        writer.write(frames[0])
    writer.close()
    assert list(tmp_path.iterdir()) == []


def test_a_container_refuses_a_codec_it_cannot_hold(tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "clip.mp4")
    keyframe = VideoFrame(True, VideoCodec.MPEG4, b"\x00\x00\x01\xb0", 320, 240, 25)
    with pytest.raises(MediaError, match=r"MP4 output takes H\.264 or H\.265 video, not MPEG-4"):
        writer.write(keyframe)
    with pytest.raises(MediaError, match="video codec 9"):
        writer.write(VideoFrame(True, 9, b"", 320, 240, 25))


def test_keyframe_to_jpeg() -> None:
    frames = clip_frames(clip_bytes("main.h264"))
    first = frames[0]
    assert isinstance(first, VideoFrame)
    jpeg = keyframe_to_jpeg(first)
    assert jpeg.startswith(b"\xff\xd8")
    assert jpeg.endswith(b"\xff\xd9")
    with av.open(io.BytesIO(jpeg)) as container:
        context = container.streams.video[0].codec_context
        assert (context.name, context.width, context.height) == ("mjpeg", 640, 360)


def test_keyframe_to_jpeg_of_h265_4k(h265_4k_clip: Path) -> None:
    first = clip_frames(h265_4k_clip.read_bytes(), VideoCodec.H265)[0]
    assert isinstance(first, VideoFrame)
    with av.open(io.BytesIO(keyframe_to_jpeg(first))) as container:
        context = container.streams.video[0].codec_context
        assert (context.width, context.height) == (3840, 2160)


@pytest.mark.parametrize(
    "frame",
    [
        VideoFrame(True, VideoCodec.H264, b"\x00\x00\x00\x01\x65" + bytes(64)),
        VideoFrame(True, VideoCodec.H264, b""),
        VideoFrame(True, VideoCodec.MPEG4, b"\x00\x00\x01\xb0"),
    ],
)
def test_keyframe_to_jpeg_of_garbage_raises_media_error(frame: VideoFrame) -> None:
    with pytest.raises(MediaError):
        keyframe_to_jpeg(frame)


@pytest.fixture
def without_pyav(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry makes `import av` raise ImportError, as when PyAV is not installed.
    monkeypatch.setitem(sys.modules, "av", None)


@pytest.mark.usefixtures("without_pyav")
def test_without_pyav_containers_say_how_to_install_it(tmp_path: Path) -> None:
    # PyAV itself, with this interpreter: xmcam is not on the package index.
    hint = re.escape(f"{shlex.quote(sys.executable)} -m pip install av")
    with pytest.raises(MissingMediaSupportError, match=hint):
        require_media_support()
    with pytest.raises(MissingMediaSupportError, match=hint):
        open_writer(tmp_path / "clip.mp4")
    with pytest.raises(MissingMediaSupportError, match=hint):
        keyframe_to_jpeg(VideoFrame(True, VideoCodec.H264, b""))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("without_pyav")
def test_without_pyav_annex_b_still_works(tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "clip.h264")
    write_all(writer, clip_frames(clip_bytes("main.h264")))
    assert writer.frames_written == 100


# ------------------------------------------------------ through the demuxer, as in the docs


def container_stream(frames: list[MediaFrame]) -> bytes:
    """`frames` in the device's container (FC/FD/FA frames), as a recording holds them."""
    pieces: list[bytes] = []
    for frame in frames:
        if isinstance(frame, VideoFrame):
            pieces.append(
                encode_video_frame(
                    frame.data,
                    keyframe=frame.keyframe,
                    codec=frame.codec,
                    width=frame.width or 0,
                    height=frame.height or 0,
                    fps=frame.fps or 25,
                )
            )
        elif isinstance(frame, AudioFrame):
            pieces.append(encode_audio_frame(frame.data, codec=frame.codec))
    return b"".join(pieces)


def test_docs_example_remuxes_a_recording(
    tmp_path: Path, main_frames: list[MediaFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "media.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Writing files") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    recording = tmp_path / "recording.h264"
    # A recording starting mid-frame and mid-GOP, as a copied file or a joined stream can.
    recording.write_bytes(b"tail of a frame" + container_stream(main_frames[10:]))
    output = tmp_path / "recording.mp4"
    source = code.group(1).replace('"recording.h264"', repr(str(recording)))
    source = source.replace('"recording.mp4"', repr(str(output)))
    exec(compile(source, "docs/media.md", "exec"), {})  # noqa: S102 - our own docs
    # Video frames 5 to 24 come before the second keyframe: dropped with their audio.
    assert capsys.readouterr().out == "75 40 3.0 s\n"
    info = probe(output)
    video = stream_of(info, "video")
    assert (video["codec_name"], video["width"], int(video["nb_read_frames"])) == ("h264", 640, 75)
    assert stream_of(info, "audio")["codec_name"] == "aac"
    assert float(info["format"]["duration"]) == pytest.approx(3.0, abs=0.2)
