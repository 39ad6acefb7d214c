"""`xmcam reboot`: restart the camera, and with --wait, wait until it answers again."""

from __future__ import annotations

import argparse
import time

from xmcam.aio import AsyncCamera
from xmcam.cli.confirm import add_yes_option, require_confirmation
from xmcam.cli.output import ExitCode, Progress, print_json
from xmcam.cli.session import camera_command, positive_seconds, target_of

__all__ = ["add_parser", "reboot"]


async def reboot(camera: AsyncCamera, args: argparse.Namespace) -> int:
    progress = Progress()
    started = time.monotonic()
    if args.wait:
        progress.show("rebooting; waiting for the camera to come back…")
    try:
        await camera.reboot(wait=args.wait, wait_timeout=args.wait_timeout)
    finally:
        progress.done()
    elapsed = time.monotonic() - started
    if args.json:
        print_json({"rebooted": True, "back": args.wait, "seconds": round(elapsed, 1)})
    elif args.wait:
        print(f"rebooted; back after {elapsed:.1f} s")
    else:
        print("rebooting")
    return ExitCode.SUCCESS


def _handler(args: argparse.Namespace) -> int:
    # Asked before connecting: a "no" costs no login.
    require_confirmation(f"reboot the camera at {target_of(args).address}?", assume_yes=args.yes)
    return camera_command(reboot)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "reboot",
        help="restart the camera",
        description=(
            "Restart the camera. With --wait, return once it answers logins again. On a "
            "terminal it asks first (--yes skips the question); a script is not asked."
        ),
        epilog="example: xmcam reboot --yes --wait --wait-timeout 300",
    )
    add_yes_option(parser)
    parser.add_argument("--wait", action="store_true", help="wait until the camera is back")
    parser.add_argument(
        "--wait-timeout",
        type=positive_seconds,
        default=180.0,
        metavar="SECONDS",
        help="give up waiting after this long (default 180)",
    )
    parser.set_defaults(handler=_handler)
