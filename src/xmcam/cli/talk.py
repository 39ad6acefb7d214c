"""`xmcam talk FILE|-`: play any audio file through the camera's speaker.

PyAV (the `media` extra) decodes whatever FFmpeg reads (WAV, MP3, Ogg, a TTS engine's output,
from a file or a pipe) and resamples it to 8 kHz 16-bit mono; `AsyncCamera.talk()` encodes
that to G.711 A-law and sends it in 40 ms packets paced in real time (docs/protocol.md §19).

The decoding streams: it runs in a worker thread one chunk (about 0.25 s of sound) ahead of
the packets being sent, so the first packet leaves after the first chunk is decoded, not the
whole file, and a long file or an endless pipe costs no memory. Ctrl-C and SIGTERM stop the
sound: the Stop is sent before the command exits (130 and 143).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO, Final

from xmcam.aio import AsyncCamera
from xmcam.cli.output import CommandError, ExitCode, Progress, print_json, safe_text
from xmcam.cli.session import camera_command, channel_number
from xmcam.client.talk import PACKET_SECONDS, SAMPLE_RATE
from xmcam.media.writer import INSTALL_HINT

__all__ = ["add_parser", "decode_pcm", "talk"]

_CHUNK_BYTES: Final = SAMPLE_RATE // 4 * 2  # 0.25 s of 16-bit PCM: what one thread hop brings
_EXIT_SIGTERM: Final = 128 + signal.SIGTERM
_EXIT_SIGINT: Final = 130


def decode_pcm(source: str | BinaryIO) -> Iterator[bytes]:
    """The first audio stream of `source` (a path or a readable binary file), decoded and
    resampled to 16-bit signed mono PCM at 8 kHz, in chunks of about 0.25 s. Raises
    CommandError when it cannot be read or holds no audio."""
    try:
        import av  # noqa: PLC0415 - PyAV only for the commands that need it
    except ImportError:
        raise CommandError(
            f"talk needs PyAV, which a plain install of xmcam brings; install it with: "
            f"{INSTALL_HINT}",
            ExitCode.FAILURE,
        ) from None
    name = source if isinstance(source, str) else "standard input"
    try:
        container = av.open(source, mode="r")
    except (av.FFmpegError, OSError) as error:
        raise CommandError(f"cannot read {safe_text(name)}: {error}", ExitCode.FAILURE) from None
    with container:
        if not container.streams.audio:
            raise CommandError(f"{safe_text(name)} has no audio", ExitCode.FAILURE)
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        pending = bytearray()
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pending += bytes(out.planes[0])[: out.samples * 2]
                if len(pending) >= _CHUNK_BYTES:
                    yield bytes(pending)
                    pending.clear()
            for out in resampler.resample(None):
                pending += bytes(out.planes[0])[: out.samples * 2]
        except av.FFmpegError as error:
            raise CommandError(
                f"cannot decode {safe_text(name)}: {error}", ExitCode.FAILURE
            ) from None
        if pending:
            yield bytes(pending)


async def _read_ahead(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """`chunks` from a worker thread, the next one decoded while this one is sent."""
    pending = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
    try:
        while (chunk := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
            yield chunk
    finally:
        # The thread may be inside the generator: let it finish before closing it.
        with contextlib.suppress(BaseException):
            await asyncio.shield(pending)
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


async def talk(camera: AsyncCamera, args: argparse.Namespace) -> int:
    source: str | BinaryIO = sys.stdin.buffer if args.file == "-" else args.file
    chunks = decode_pcm(source)
    first = next(chunks, None)  # a file that cannot be decoded fails before the claim
    if first is None:
        raise CommandError(f"{safe_text(args.file)} holds no sound", ExitCode.FAILURE)
    progress = Progress()

    def shown(packets: int) -> None:
        if packets % 25 == 0:
            progress.show(f"talk: {packets * PACKET_SECONDS:.0f} s sent")

    async def frames() -> AsyncIterator[bytes]:
        yield first
        async for chunk in _read_ahead(chunks):
            yield chunk

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        stats = await camera.talk(frames(), channel=args.channel, on_packet=shown)
    except asyncio.CancelledError:
        if not terminated:
            raise
        progress.done()
        print("xmcam: talk stopped (SIGTERM)", file=sys.stderr)
        return _EXIT_SIGTERM
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGTERM)
        progress.done()
    summary: dict[str, Any] = {
        "file": args.file,
        "channel": args.channel,
        "packets": stats.packets,
        "seconds": round(stats.seconds, 3),
        "wall_seconds": round(stats.wall_seconds, 3),
        "max_late_ms": round(stats.max_late * 1000, 2),
        "restarts": stats.restarts,
    }
    if args.json:
        print_json(summary)
    else:
        where = "" if args.channel is None else f", channel {args.channel}"
        print(
            f"{safe_text(args.file)}: {stats.seconds:.1f} s of audio in {stats.packets} "
            f"packets{where}"
        )
    return ExitCode.SUCCESS


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "talk",
        help="play an audio file through the camera's speaker",
        description=(
            "Play an audio file (WAV, MP3, anything FFmpeg reads; - for standard input) "
            "through the camera's speaker: decoded and resampled to 8 kHz, sent as G.711 "
            f"A-law in real time (through PyAV; if it is missing: {INSTALL_HINT}). One "
            "client talks at a time: another one's talk is refused with Ret 503 (exit 6). "
            "Ctrl-C stops the sound."
        ),
        epilog=(
            "examples:\n"
            "  xmcam talk doorbell.mp3\n"
            "  espeak-ng --stdout 'Please leave the parcel' | xmcam talk -\n"
            "  xmcam talk --channel 2 --json warning.wav"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the audio file, or - for standard input")
    parser.add_argument(
        "--channel",
        type=channel_number,
        default=None,
        metavar="N",
        help="a recorder's channel whose speaker plays it (default: the device's own)",
    )
    parser.set_defaults(handler=camera_command(talk))
