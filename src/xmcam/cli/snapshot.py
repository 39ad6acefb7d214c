"""`xmcam snapshot`: save a still picture as JPEG.

The camera's own snapshot (OPSNAP) comes first; recorders that refuse it (Ret 102/108) or stay
silent get a picture decoded from the first keyframe of the live stream instead (PyAV, the
`media` extra), unless --no-fallback.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from xmcam.aio import AsyncCamera
from xmcam.cli.output import CommandError, ExitCode, print_json, safe_text
from xmcam.cli.session import camera_command, channel_number
from xmcam.media.writer import INSTALL_HINT

__all__ = [
    "add_output_and_channel",
    "add_parser",
    "cannot_write",
    "snapshot",
    "write_file_atomically",
]


async def snapshot(camera: AsyncCamera, args: argparse.Namespace) -> int:
    jpeg = await camera.snapshot(args.channel, fallback=not args.no_fallback)
    if args.output == "-":
        sys.stdout.buffer.write(jpeg)
        sys.stdout.buffer.flush()
        return ExitCode.SUCCESS
    try:
        write_file_atomically(Path(args.output), jpeg)
    except OSError as error:
        raise cannot_write(args.output, error) from None
    if args.json:
        print_json({"output": args.output, "channel": args.channel, "bytes": len(jpeg)})
    else:
        print(f"{safe_text(args.output)}: {len(jpeg)} bytes, channel {args.channel}")
    return ExitCode.SUCCESS


def cannot_write(path: str | os.PathLike[str], error: OSError) -> CommandError:
    """The one-line error for a file that cannot be written (main() would otherwise take an
    OSError for the network's)."""
    reason = error.strerror or str(error)
    return CommandError(f"cannot write {safe_text(os.fspath(path))}: {reason}", ExitCode.FAILURE)


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`: a reader
    sees the old file or the whole new one, never half a picture."""
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_output_and_channel(parser: argparse.ArgumentParser, output_help: str) -> None:
    """The options every live-media command takes: -o/--output FILE (required) and
    --channel N."""
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help=output_help)
    parser.add_argument(
        "--channel", type=channel_number, default=0, metavar="N", help="channel (default 0)"
    )


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "snapshot",
        help="save a still picture as JPEG",
        description=(
            "Save the camera's picture as a JPEG (written atomically). Recorders that refuse "
            "snapshots get one decoded from the live stream's first keyframe (through PyAV; "
            f"if it is missing: {INSTALL_HINT}), unless --no-fallback."
        ),
        epilog=(
            "examples:\n  xmcam snapshot -o front.jpg\n  xmcam snapshot --channel 3 -o - > yard.jpg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_output_and_channel(parser, "the JPEG file to write, or - for standard output")
    parser.add_argument(
        "--no-fallback",
        action="store_true",
        help="only the camera's own snapshot: never decode one from the live stream",
    )
    parser.set_defaults(handler=camera_command(snapshot))
