"""`xmcam reboot`: restart the camera, and with --wait, wait until it answers again."""

from __future__ import annotations

import argparse
import time

from xmcam.aio import AsyncCamera
from xmcam.cli.output import ExitCode, Progress, print_json
from xmcam.cli.session import camera_command, positive_seconds

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


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "reboot",
        help="restart the camera",
        description="Restart the camera. With --wait, return once it answers logins again.",
        epilog="example: xmcam reboot --wait --wait-timeout 300",
    )
    parser.add_argument("--wait", action="store_true", help="wait until the camera is back")
    parser.add_argument(
        "--wait-timeout",
        type=positive_seconds,
        default=180.0,
        metavar="SECONDS",
        help="give up waiting after this long (default 180)",
    )
    parser.set_defaults(handler=camera_command(reboot))
