"""`xmcam fleet`: run a command over every camera of an inventory file."""

from __future__ import annotations

import argparse

from xmcam.cli.output import CommandError, ExitCode

__all__ = ["add_parser"]


def _not_built(args: argparse.Namespace) -> int:
    raise CommandError("xmcam fleet is not built yet", ExitCode.FAILURE)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "fleet",
        help="run a command over every camera of an inventory file",
        epilog="example: xmcam fleet --help",
    )
    parser.set_defaults(handler=_not_built)
