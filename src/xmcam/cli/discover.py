"""`xmcam discover`: find cameras on the local network."""

from __future__ import annotations

import argparse

from xmcam.cli.output import CommandError, ExitCode

__all__ = ["add_parser"]


def _not_built(args: argparse.Namespace) -> int:
    raise CommandError("xmcam discover is not built yet", ExitCode.FAILURE)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "discover",
        help="find cameras on the local network",
        epilog="example: xmcam discover --help",
    )
    parser.set_defaults(handler=_not_built)
