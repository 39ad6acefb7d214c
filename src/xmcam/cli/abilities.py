"""`xmcam abilities [NAME]`: what the firmware says it can do (1360), as a readable tree or
JSON. An ability is any JSON value: an object of groups (SystemFunction), an array
(PTZProtocol), a string (MultiVstd "PAL|NTSC"). Without a name, every ability the device
answers (`xmcam.client.maintenance.ABILITY_NAMES`)."""

from __future__ import annotations

import argparse
from typing import Any, Final

from xmcam.aio import AsyncCamera
from xmcam.cli.output import ExitCode, print_json, safe_text
from xmcam.cli.session import camera_command

__all__ = ["add_parser", "show_abilities", "tree_lines"]

_MAX_DEPTH: Final = 32  # deeper than any ability; a hostile reply is cut off there


def tree_lines(name: str, value: Any, depth: int = 0) -> list[str]:
    """`value` under `name` as indented lines: objects and arrays of objects open a level,
    an array of plain values is one line, every text made safe for a terminal."""
    indent = "  " * depth
    label = safe_text(name)
    if depth >= _MAX_DEPTH:
        return [f"{indent}{label}: …"]
    if isinstance(value, dict):
        if not value:
            return [f"{indent}{label}: {{}}"]
        lines = [f"{indent}{label}:"]
        for key, item in value.items():
            lines.extend(tree_lines(str(key), item, depth + 1))
        return lines
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        lines = [f"{indent}{label}:"]
        for index, item in enumerate(value):
            lines.extend(tree_lines(f"[{index}]", item, depth + 1))
        return lines
    if isinstance(value, list):
        return [f"{indent}{label}: {', '.join(_scalar(item) for item in value) or '[]'}"]
    return [f"{indent}{label}: {_scalar(value)}"]


def _scalar(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "-"
    return safe_text(str(value))


async def show_abilities(camera: AsyncCamera, args: argparse.Namespace) -> int:
    if args.name:
        found = {args.name: await camera.abilities(args.name)}
    else:
        found = await camera.all_abilities()
    if args.json:
        print_json(found[args.name] if args.name else found)
        return ExitCode.SUCCESS
    for name, value in found.items():
        for line in tree_lines(name, value):
            print(line)
    return ExitCode.SUCCESS


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "abilities",
        help="show what the firmware says it supports",
        description=(
            "Show an ability (1360) by name, or every ability the camera answers, as a tree "
            "(--json: the device's JSON)."
        ),
        epilog="examples:\n  xmcam abilities\n  xmcam --json abilities SystemFunction",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="an ability's name (SystemFunction, EncodeCapability, PTZProtocol, ...)",
    )
    parser.set_defaults(handler=camera_command(show_abilities))
