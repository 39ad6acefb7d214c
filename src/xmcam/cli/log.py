"""`xmcam log`: read the camera's log (OPLogQuery 1442, every page), follow it, or clear it.

One line per entry (`--json`: JSON Lines). The entries' texts come from the device and reach
the terminal only through `safe_text` / `print_json`. `--follow` asks again every few seconds
from the entry after the last one shown, so nothing is printed twice.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Final

from xmcam.aio import AsyncCamera
from xmcam.cli.confirm import add_yes_option, require_confirmation
from xmcam.cli.files import parse_when
from xmcam.cli.output import CommandError, ExitCode, Progress, print_json, safe_text
from xmcam.cli.session import camera_command, positive_seconds
from xmcam.client.maintenance import LOG_KINDS, LogEntry

__all__ = ["add_parser", "log_clear", "log_show"]

_DEFAULT_POLL: Final = 5.0


def _line(entry: LogEntry) -> str:
    when = entry.time.isoformat(sep=" ") if entry.time is not None else "-"
    parts = [f"{entry.position:>6}", when, entry.kind or "-", entry.user or "-", entry.data]
    return safe_text("  ".join(parts).rstrip())


def _print(entries: list[LogEntry], args: argparse.Namespace) -> None:
    for entry in entries:
        if args.json:
            print_json(
                {
                    "position": entry.position,
                    "time": entry.time,
                    "type": entry.kind,
                    "user": entry.user,
                    "data": entry.data,
                }
            )
        else:
            print(_line(entry), flush=True)


async def log_show(camera: AsyncCamera, args: argparse.Namespace) -> int:
    begin = parse_when(args.start) if args.start else None
    end = parse_when(args.stop, end=True) if args.stop else None
    if begin is not None and end is not None and end < begin:
        raise CommandError("--to is before --from", ExitCode.USAGE)
    progress = Progress()
    progress.show("reading the log…")
    try:
        entries = await camera.logs(begin=begin, end=end, kind=args.type)
    finally:
        progress.done()
    _print(entries, args)
    if not args.follow:
        return ExitCode.SUCCESS
    position = entries[-1].position + 1 if entries else 0
    while True:
        await asyncio.sleep(args.interval)
        fresh = await camera.logs(begin=begin, end=end, kind=args.type, position=position)
        _print(fresh, args)
        if fresh:
            position = fresh[-1].position + 1


async def log_clear(camera: AsyncCamera, args: argparse.Namespace) -> int:
    await camera.clear_log()
    if args.json:
        print_json({"cleared": True})
    else:
        print("log cleared")
    return ExitCode.SUCCESS


def _clear_handler(args: argparse.Namespace) -> int:
    require_confirmation(
        "Erase the camera's log?",
        assume_yes=args.yes,
        warnings=["every entry of the camera's log is erased; this cannot be undone"],
    )
    return camera_command(log_clear)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "log",
        help="read, follow or clear the camera's log",
        description=(
            "Read the camera's log (logins, config changes, reboots, alarms), one line per "
            "entry: position, time (device-local), type, user, data."
        ),
        epilog=(
            "examples:\n"
            "  xmcam log --from yesterday --type Account\n"
            "  xmcam --json log --follow\n"
            "  xmcam log clear --yes"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--from",
        dest="start",
        metavar="WHEN",
        help='entries from: "2026-11-25 10:00", "2026-11-25", "today", "yesterday" '
        "(device time; default: the oldest)",
    )
    parser.add_argument(
        "--to",
        dest="stop",
        metavar="WHEN",
        help="entries until (a date alone: its end; default: the newest)",
    )
    parser.add_argument(
        "--type",
        choices=LOG_KINDS,
        default="All",
        help="only entries of this kind (default All)",
    )
    parser.add_argument(
        "-f", "--follow", action="store_true", help="keep polling and print new entries"
    )
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=_DEFAULT_POLL,
        metavar="SECONDS",
        help=f"with --follow: seconds between polls (default {_DEFAULT_POLL:g})",
    )
    parser.set_defaults(handler=camera_command(log_show))
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    clear = actions.add_parser(
        "clear",
        help="erase the camera's log (asks first)",
        description="Erase every entry of the camera's log (OPLogManager RemoveAll).",
        epilog="example: xmcam log clear --yes",
    )
    add_yes_option(clear)
    clear.set_defaults(handler=_clear_handler)
