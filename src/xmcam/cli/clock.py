"""`xmcam time`: read the camera's clock and its skew, set it, or sync it to this host.

(The module is `clock`, not `time`, so that it never shadows the standard library's.)
Cameras keep local wall-clock time with no zone: TIME is read and shown as this host's local
time, and the skew is the device's clock minus this host's, in seconds.
"""

from __future__ import annotations

import argparse
import datetime

from xmcam.aio import AsyncCamera
from xmcam.cli.output import (
    TIME_FORMAT,
    CommandError,
    ExitCode,
    print_fields,
    print_json,
    safe_text,
)
from xmcam.cli.session import camera_command

__all__ = ["add_parser", "parse_time", "skew_words"]


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 date and time (`2024-05-01 12:00:00`, `2024-05-01T12:00`); a usage
    error otherwise. A zone, when given, is converted to this host's local time."""
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"bad time {safe_text(text)!r}: expected YYYY-MM-DD HH:MM[:SS]", ExitCode.USAGE
        ) from None
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    return when


async def time_command(camera: AsyncCamera, args: argparse.Namespace) -> int:
    if args.action == "set":
        when = parse_time(args.time) if args.time else None
        await camera.set_time(when)
        return await _show(camera, args, "set")
    if args.action == "sync":
        skew_before = await camera.sync_time()
        return await _show(camera, args, "synced", skew_before)
    return await _show(camera, args, None)


async def _show(
    camera: AsyncCamera,
    args: argparse.Namespace,
    done: str | None,
    skew_before: float | None = None,
) -> int:
    device_time = await camera.get_time()
    skew = await camera.time_skew()
    if args.json:
        record: dict[str, object] = {"device_time": device_time, "skew_seconds": round(skew, 3)}
        if skew_before is not None:
            record["skew_before_seconds"] = round(skew_before, 3)
        print_json(record)
        return ExitCode.SUCCESS
    fields: list[tuple[str, object]] = [
        ("device time", device_time.strftime(TIME_FORMAT)),
        ("skew", _skew_text(skew)),
    ]
    if skew_before is not None:
        fields.append(("skew before", _skew_text(skew_before)))
    if done is not None:
        print(f"clock {done}")
    print_fields(fields)
    return ExitCode.SUCCESS


def _skew_text(seconds: float) -> str:
    return skew_words(seconds, "this host")


_UNITS: tuple[tuple[str, str, int], ...] = (
    ("year", "years", 365 * 86400),
    ("day", "days", 86400),
    ("h", "h", 3600),
    ("min", "min", 60),
    ("s", "s", 1),
)


def skew_words(seconds: float, other: str = "") -> str:
    """A skew (device minus host, seconds) as a person reads it: `0.4 s ahead`, `level`,
    or from a minute on a duration in its two largest units, `2 years 216 days behind` (a
    figure like 81888340.9 s says nothing at a glance). With `other`, what the clock is
    compared with: `0.4 s ahead of this host`, `level with this host`."""
    size = round(abs(seconds), 1)
    if size == 0:
        return f"level with {other}" if other else "level"
    direction = "ahead" if seconds > 0 else "behind"
    if size < 60:
        amount = f"{size:.1f} s"
    else:
        remaining = round(abs(seconds))
        parts: list[str] = []
        for one, many, unit in _UNITS:
            count, remaining = divmod(remaining, unit)
            if count or parts:
                parts.append(f"{count} {one if count == 1 else many}")
            if len(parts) == 2:
                break
        amount = " ".join(part for part in parts if not part.startswith("0 "))
    if not other:
        return f"{amount} {direction}"
    return f"{amount} {direction} of {other}" if seconds > 0 else f"{amount} behind {other}"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "time",
        help="show, set or sync the camera's clock",
        description=(
            "get (the default): show the camera's clock and how far it is from this host's. "
            "set [TIME]: set it to TIME (ISO 8601, local time), or to this host's time. "
            "sync: set it to this host's time and show the skew it had."
        ),
        epilog="examples:\n  xmcam time\n  xmcam time set '2024-05-01 12:00:00'\n  xmcam time sync",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "action", nargs="?", choices=("get", "set", "sync"), default="get", help="default get"
    )
    parser.add_argument("time", nargs="?", metavar="TIME", help="for set: YYYY-MM-DD HH:MM:SS")
    parser.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace) -> int:
    if args.time is not None and args.action != "set":
        raise CommandError("only `time set` takes a TIME", ExitCode.USAGE)
    if args.time is not None:
        parse_time(args.time)  # a typo fails before the login
    return camera_command(time_command)(args)
