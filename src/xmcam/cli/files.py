"""`xmcam files`: list and download recordings."""

from __future__ import annotations

import argparse

from xmcam.cli.output import CommandError, ExitCode

__all__ = ["add_parser"]


def _not_built(args: argparse.Namespace) -> int:
    raise CommandError("xmcam files is not built yet", ExitCode.FAILURE)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "files", help="list and download recordings", epilog="example: xmcam files --help"
    )
    parser.set_defaults(handler=_not_built)
