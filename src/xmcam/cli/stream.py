"""`xmcam stream`: live video into a file or a pipe."""

from __future__ import annotations

import argparse

from xmcam.cli.output import CommandError, ExitCode

__all__ = ["add_parser"]


def _not_built(args: argparse.Namespace) -> int:
    raise CommandError("xmcam stream is not built yet", ExitCode.FAILURE)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "stream", help="live video into a file or a pipe", epilog="example: xmcam stream --help"
    )
    parser.set_defaults(handler=_not_built)
