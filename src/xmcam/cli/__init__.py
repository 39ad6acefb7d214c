"""The `xmcam` command. Every command is a module with `add_parser()`; `main()` dispatches.

Commands use the public API only. Errors end as one line on stderr and a named exit code
(`xmcam.cli.output.ExitCode`), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from xmcam import __version__
from xmcam.cli import decode, demo
from xmcam.cli.output import ExitCode, safe_text
from xmcam.errors import (
    AuthenticationError,
    DeviceError,
    ProtocolError,
    RequestTimeoutError,
    TransportError,
    XMCamError,
)

__all__ = ["ExitCode", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    # Options valid both before and after the command (`xmcam --json demo`, `xmcam demo --json`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print JSON (one object per line) for scripts",
    )
    parser = argparse.ArgumentParser(
        prog="xmcam",
        description="Toolkit for Xiongmai (XMEye / iCSee / NetSurveillance) cameras and recorders.",
        epilog="example: xmcam demo",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"xmcam {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in (demo, decode):
        module.add_parser(commands)
    for action in commands.choices.values():
        action._add_container_actions(common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "json"):
        args.json = False
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(handler(args))
    except XMCamError as error:
        code = next(code for kind, code in _EXIT_CODES if isinstance(error, kind))
        print(f"xmcam: {safe_text(str(error))}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`xmcam demo --json | head -1`): stop writing quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.FAILURE


# The first matching class wins: subclasses before their bases.
_EXIT_CODES: tuple[tuple[type[XMCamError], ExitCode], ...] = (
    (AuthenticationError, ExitCode.AUTHENTICATION),
    (DeviceError, ExitCode.DEVICE),
    (RequestTimeoutError, ExitCode.TIMEOUT),
    (TransportError, ExitCode.CONNECTION),
    (ProtocolError, ExitCode.PROTOCOL),
    (XMCamError, ExitCode.FAILURE),
)
