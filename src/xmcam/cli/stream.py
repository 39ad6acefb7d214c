"""`xmcam stream`: live video into a file (MP4, MKV, MPEG-TS, raw H.264/H.265) or a pipe.

Ctrl-C is how a live recording normally ends: the first one stops the stream (Stop sent to
the camera), finishes the file so that it plays and gives it its final name; the exit code is
0 when anything was written. A second Ctrl-C stops waiting for the camera's answer to Stop.
SIGTERM (systemd, `docker stop`) does exactly the same; with nothing written the exit code is
130 after Ctrl-C, 143 after SIGTERM (xmcam.cli.signals).

The output path is checked before connecting: a directory, or a folder that does not exist,
costs no login and no recording.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from xmcam.aio import AsyncCamera
from xmcam.cli.output import CommandError, ExitCode, Progress, print_json
from xmcam.cli.session import camera_command, positive_seconds
from xmcam.cli.signals import interrupted_exit_code, signal_name, stop_signals
from xmcam.cli.snapshot import add_output_and_channel, cannot_write
from xmcam.client.models import StreamStats
from xmcam.media.frames import MediaFrame, VideoFrame
from xmcam.media.writer import (
    CONTAINER_FORMATS,
    INSTALL_HINT,
    MediaWriter,
    codec_label,
    open_writer,
    output_format,
    require_media_support,
)

__all__ = ["add_parser", "stream"]

logger = logging.getLogger(__name__)

FORMATS: Final = ("mp4", "mkv", "ts", "h264", "h265")
# The progress line is redrawn at most this often (seconds).
PROGRESS_INTERVAL: Final = 0.5


@dataclass
class Recording:
    """What one `xmcam stream` run did, for the progress line and the summary."""

    started: float = field(default_factory=time.monotonic)
    payload_bytes: int = 0
    first_keyframe: VideoFrame | None = None
    interrupted: bool = False
    """Ended by Ctrl-C or SIGTERM."""
    ended_by_camera: bool = False
    shown_at: float = 0.0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def bitrate(self) -> float:
        """Bits per second of media received (video and audio payloads)."""
        return self.payload_bytes * 8 / max(self.elapsed, 1e-3)


async def stream(camera: AsyncCamera, args: argparse.Namespace) -> int:
    recording = Recording()
    stop = asyncio.Event()
    progress = Progress()
    try:
        writer = open_writer(args.output, format=args.format)
    except OSError as error:
        raise cannot_write(args.output, error) from None
    stats: StreamStats | None = None
    try:
        with _stop_on_signals(stop, recording):
            async with (
                camera.live(args.channel, substream=args.sub) as live,
                contextlib.aclosing(_frames_until(live, stop, recording, args)) as frames,
            ):
                async for frame in frames:
                    writer.write(frame)
                    _count(recording, frame)
                    if args.duration is not None and writer.duration >= args.duration:
                        break
                    _show(progress, recording, writer, live.stats)
                stats = live.stats
    finally:
        progress.done()
        writer.close()
    if writer.frames_written == 0 or stats is None:
        if recording.interrupted:
            print(
                f"xmcam: stopped by {signal_name()} before the first keyframe: nothing written",
                file=sys.stderr,
            )
            return interrupted_exit_code()
        raise CommandError("no keyframe came from the camera: nothing written", ExitCode.FAILURE)
    _summary(args, recording, writer, stats)
    return ExitCode.SUCCESS


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event, recording: Recording) -> Iterator[None]:
    """The first Ctrl-C or SIGTERM sets `stop` (the recording ends cleanly), a second
    cancels the command. Where the loop cannot take signals (not the main thread, Windows),
    Ctrl-C keeps its usual meaning."""
    task = asyncio.current_task()

    def on_signal(_: object) -> None:
        if stop.is_set() and task is not None:
            task.cancel()
        recording.interrupted = True
        stop.set()

    with stop_signals(on_signal):
        yield


async def _frames_until(
    live: AsyncIterator[MediaFrame],
    stop: asyncio.Event,
    recording: Recording,
    args: argparse.Namespace,
) -> AsyncGenerator[MediaFrame]:
    """The stream's frames until `stop` is set, the camera ends it, or `--duration` (plus
    the request deadline, for a stream slower than real time) has passed on the clock. A
    camera silent for longer than the deadline is an error."""
    frames = aiter(live)
    stopping = asyncio.ensure_future(stop.wait())
    limit = None if args.duration is None else args.duration + args.timeout
    try:
        while not stop.is_set():
            wait = args.timeout if limit is None else min(args.timeout, limit - recording.elapsed)
            if wait <= 0:
                return
            next_frame = asyncio.ensure_future(anext(frames))
            done, _ = await asyncio.wait(
                {next_frame, stopping}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
            if next_frame not in done:
                await _cancel(next_frame)
                if stop.is_set() or (limit is not None and recording.elapsed >= limit):
                    return
                raise CommandError(
                    f"no media from the camera for {args.timeout:g} s", ExitCode.TIMEOUT
                )
            try:
                yield next_frame.result()
            except StopAsyncIteration:
                recording.ended_by_camera = True
                return
    finally:
        await _cancel(stopping)


async def _cancel(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
        await task


def _count(recording: Recording, frame: MediaFrame) -> None:
    data = getattr(frame, "data", b"")
    recording.payload_bytes += len(data)
    if recording.first_keyframe is None and isinstance(frame, VideoFrame) and frame.keyframe:
        recording.first_keyframe = frame
        logger.info("recording from the first keyframe")


def _show(
    progress: Progress, recording: Recording, writer: MediaWriter, stats: StreamStats
) -> None:
    now = time.monotonic()
    if now - recording.shown_at < PROGRESS_INTERVAL:
        return
    recording.shown_at = now
    elapsed = int(recording.elapsed)
    clock = f"{elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
    lost = writer.frames_dropped + stats.dropped_frames
    dropped = f"  {lost} dropped" if lost else ""
    progress.show(
        f"{clock}  {writer.frames_written} frames  {writer.duration:.1f} s video  "
        f"{recording.bitrate() / 1e6:.2f} Mbit/s{dropped}  (Ctrl-C stops)"
    )


def _summary(
    args: argparse.Namespace, recording: Recording, writer: MediaWriter, stats: StreamStats
) -> None:
    keyframe = recording.first_keyframe
    record: dict[str, Any] = {
        "output": str(writer.path) if writer.path is not None else "-",
        "codec": codec_label(keyframe.codec) if keyframe else None,
        "width": keyframe.width if keyframe else None,
        "height": keyframe.height if keyframe else None,
        "frames": writer.frames_written,
        "audio_frames": writer.audio_frames_written,
        "duration": round(writer.duration, 3),
        "elapsed": round(recording.elapsed, 3),
        "bitrate": round(recording.bitrate()),
        "dropped_before_keyframe": writer.frames_dropped,
        "dropped_frames": stats.dropped_frames,
        "dropped_bytes": stats.dropped_bytes,
        "interrupted": recording.interrupted,
        "signal": signal_name() if recording.interrupted else None,
        "ended_by_camera": recording.ended_by_camera,
    }
    # With `-o -` the video owns standard output: the summary goes to stderr.
    out = sys.stderr if writer.path is None else sys.stdout
    if args.json:
        print_json(record, stream=out)
        return
    size = f" {record['width']}x{record['height']}" if keyframe else ""
    dropped = record["dropped_before_keyframe"] + record["dropped_frames"]
    print(
        f"{record['output']}: {record['frames']} frames, {writer.duration:.1f} s, "
        f"{record['codec']}{size}, {recording.bitrate() / 1e6:.2f} Mbit/s, "
        f"{dropped} frames dropped",
        file=out,
    )


def check_output_path(output: str) -> None:
    """Refuse, before connecting, an output the recording could not end in: a directory, a
    folder that does not exist or is not one, a folder this user cannot write to. (The file
    is written as FILE.part and renamed at the end: only the rename would find a directory.)"""
    if output == "-":
        return
    path = Path(output)
    folder = path.parent
    if path.is_dir():
        error = errno.EISDIR
    elif not folder.exists():
        error = errno.ENOENT
    elif not folder.is_dir():
        error = errno.ENOTDIR
    elif not os.access(folder, os.W_OK | os.X_OK):
        error = errno.EACCES
    else:
        return
    raise cannot_write(output, OSError(error, os.strerror(error)))


def _handler(args: argparse.Namespace) -> int:
    # Checked before connecting: a wrong name, a missing PyAV or an output that cannot be
    # written costs no login.
    try:
        name = output_format(args.output, args.format)
    except ValueError as error:
        raise CommandError(str(error), ExitCode.USAGE) from None
    check_output_path(args.output)
    if name in CONTAINER_FORMATS:
        require_media_support()
    return camera_command(stream)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "stream",
        help="record live video into a file or a pipe",
        description=(
            "Record the camera's live video (and audio) without re-encoding it: MP4, MKV or "
            f"MPEG-TS (through PyAV; if it is missing: {INSTALL_HINT}), or raw H.264/H.265. "
            "The format comes from the file's extension or --format; `-o -` writes raw video "
            "to standard output. Progress shows on stderr; Ctrl-C or SIGTERM stops and keeps "
            "a playable file. Written as FILE.part, renamed when finished.\n\n"
            "exit code: 0 when anything was recorded (also after Ctrl-C or SIGTERM);\n"
            "130 after Ctrl-C, 143 after SIGTERM, when nothing was; 0 when the reader of\n"
            "`-o -` goes away (`xmcam stream -o - | head -c 1000`)."
        ),
        epilog=(
            "examples:\n"
            "  xmcam stream -o front.mp4 --duration 60\n"
            "  xmcam stream --channel 2 --sub -o yard.mkv\n"
            "  xmcam stream -o - | ffplay -"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_output_and_channel(parser, "the file to write, or - for raw video on standard output")
    parser.add_argument(
        "--sub", action="store_true", help="the sub-stream (Extra1: smaller, fewer bits)"
    )
    parser.add_argument(
        "--duration",
        type=positive_seconds,
        metavar="SECONDS",
        help="stop after this much video (default: until Ctrl-C)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="the output format, when the file's extension does not say it",
    )
    parser.set_defaults(handler=_handler)
