"""`xmcam bridge`: bridge alarms into MQTT and Home Assistant."""

from __future__ import annotations

import argparse

from xmcam.cli.output import CommandError, ExitCode

__all__ = ["add_parser"]


def _not_built(args: argparse.Namespace) -> int:
    raise CommandError("xmcam bridge is not built yet", ExitCode.FAILURE)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "bridge",
        help="bridge alarms into MQTT and Home Assistant",
        epilog="example: xmcam bridge --help",
    )
    parser.set_defaults(handler=_not_built)
