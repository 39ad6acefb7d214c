"""`xmcam ptz`: move a pan-tilt-zoom camera for a moment, and use its presets and tours.

A move always ends with its stop command, even when the move is interrupted (Ctrl-C): the
client sends the stop in a `finally`.
"""

from __future__ import annotations

import argparse

from xmcam.aio import AsyncCamera
from xmcam.cli.output import CommandError, ExitCode, print_json
from xmcam.cli.session import camera_command, channel_number, positive_seconds
from xmcam.client.operations import PTZ_COMMANDS

__all__ = ["DIRECTIONS", "add_parser", "ptz_command"]

DIRECTIONS = tuple(PTZ_COMMANDS)
_PRESET_ACTIONS = ("set", "goto", "clear")
_TOUR_ACTIONS = ("start", "stop")
_MAX_PRESET = 255


async def ptz_command(camera: AsyncCamera, args: argparse.Namespace) -> int:
    if args.direction == "preset":
        await camera.ptz_preset(args.action, args.number, channel=args.channel)
        record: dict[str, object] = {"preset": args.number, "action": args.action}
        done = f"preset {args.number}: {args.action}"
    elif args.direction == "tour":
        await camera.ptz_tour(args.action, args.number, channel=args.channel)
        record = {"tour": args.number, "action": args.action}
        done = f"tour {args.number}: {args.action}"
    else:
        await camera.ptz(
            args.direction, channel=args.channel, speed=args.speed, duration=args.duration
        )
        record = {"move": args.direction, "speed": args.speed, "seconds": args.duration}
        done = f"moved {args.direction} at speed {args.speed} for {args.duration:g} s, stopped"
    if args.json:
        print_json({"channel": args.channel, **record})
    else:
        print(f"channel {args.channel}: {done}")
    return ExitCode.SUCCESS


def _speed(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise argparse.ArgumentTypeError(f"not a speed from 1 to 10: {text!r}")
    return int(text)


def _check(args: argparse.Namespace) -> None:
    """Read `preset ACTION N` and `tour ACTION [N]` from the words after the command."""
    words: list[str] = args.words
    if args.direction not in ("preset", "tour"):
        if words:
            raise CommandError(f"a move takes no more words: {' '.join(words)}", ExitCode.USAGE)
        return
    actions = _PRESET_ACTIONS if args.direction == "preset" else _TOUR_ACTIONS
    usage = f"usage: xmcam ptz {args.direction} {'|'.join(actions)} N"
    if args.direction == "tour" and len(words) == 1:
        words = [*words, "0"]
    if len(words) != 2 or words[0] not in actions:
        raise CommandError(usage, ExitCode.USAGE)
    if not words[1].isdigit() or int(words[1]) > _MAX_PRESET:
        raise CommandError(f"not a number from 0 to {_MAX_PRESET}: {words[1]!r}", ExitCode.USAGE)
    args.action, args.number = words[0], int(words[1])


def _handler(args: argparse.Namespace) -> int:
    _check(args)
    return camera_command(ptz_command)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "ptz",
        help="move the camera (pan, tilt, zoom, focus), presets and tours",
        description=(
            "Move for --duration seconds, then stop: DIRECTION is one of "
            + ", ".join(DIRECTIONS)
            + ". Or: preset set|goto|clear N; tour start|stop [N]."
        ),
        epilog=(
            "examples:\n"
            "  xmcam ptz left --speed 3 --duration 1.5\n"
            "  xmcam ptz preset set 1\n"
            "  xmcam ptz preset goto 1\n"
            "  xmcam ptz tour start 0"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "direction",
        metavar="DIRECTION",
        choices=(*DIRECTIONS, "preset", "tour"),
        help="where to move (" + ", ".join(DIRECTIONS) + "), or preset or tour",
    )
    parser.add_argument("words", nargs="*", metavar="ACTION N", help="for preset and tour")
    parser.add_argument("--speed", type=_speed, default=5, help="1 (slow) to 10 (default 5)")
    parser.add_argument(
        "--duration",
        type=positive_seconds,
        default=0.5,
        metavar="SECONDS",
        help="how long to move (default 0.5)",
    )
    parser.add_argument(
        "--channel", type=channel_number, default=0, metavar="N", help="channel (default 0)"
    )
    parser.set_defaults(handler=_handler)
