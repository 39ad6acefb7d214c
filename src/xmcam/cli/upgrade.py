"""`xmcam upgrade FILE`: install a firmware image, safely (docs/protocol.md §18).

The file is read and checked whole (every member's CRC, the zip's directory) and its
description read before anything is sent: a file that is not a well-formed XM upgrade file is
refused without even a connection (exit 7). The camera's `SystemInfo.HardWare` must be the
hardware the image's description names, or nothing is sent (exit 1; `--force` sends it
anyway, and overrides nothing else). On a terminal it asks first (`--yes` skips the
question). A progress bar shows the bytes sent, then the camera's own percentages; after a
success it waits for the reboot, logs in again and prints the old and the new SoftWareVersion.
A camera that refuses the image (513, 514) is one `xmcam:` line with its Ret code, exit 6: it
keeps its firmware.

`xmcam fleet FILE upgrade IMAGE` runs `fleet_action()` on every camera of an inventory: those
whose hardware the image is not for are skipped, and say so.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from xmcam.aio import AsyncCamera
from xmcam.cli.confirm import add_yes_option, require_confirmation
from xmcam.cli.output import CommandError, ExitCode, Progress, print_json, safe_text
from xmcam.cli.session import camera_command, positive_seconds, target_of
from xmcam.client.models import SystemInfo
from xmcam.client.upgrade import DEFAULT_WAIT, UpgradeProgress, UpgradeResult, load_image
from xmcam.errors import ConnectionClosedError, FirmwareImageError, TransportError, error_for_ret
from xmcam.protocol.codes import MessageId
from xmcam.protocol.firmware import FirmwareDescription, hardware_matches

__all__ = ["add_parser", "fleet_action", "read_image", "upgrade"]

DEFAULT_REBOOT_WAIT: Final = 300.0
BAR_WIDTH: Final = 20


def read_image(path: str) -> tuple[bytes, FirmwareDescription]:
    """The image and its description; a one-line CommandError (exit 7) for a file that is not
    a well-formed XM upgrade file, exit 1 for one that cannot be read."""
    try:
        return load_image(Path(path))
    except FirmwareImageError as error:
        code = ExitCode.FAILURE if str(error).startswith("cannot read") else ExitCode.PROTOCOL
        raise CommandError(f"{path}: refused, nothing was sent: {error}", code) from None


def _image_words(description: FirmwareDescription) -> str:
    return f"for {description.hardware}, version {description.version or 'not named'}"


async def upgrade(camera: AsyncCamera, args: argparse.Namespace) -> int:
    data, description = args.image
    address = target_of(args).address
    before = await camera.system_info()
    warnings: list[str] = []
    if not hardware_matches(description, before.model):
        mismatch = f"{args.file} is for {description.hardware}, the camera is {before.model}"
        if not args.force:
            raise CommandError(
                f"{mismatch}: refused, nothing was sent (--force sends it anyway)",
                ExitCode.FAILURE,
            )
        warnings.append(f"{mismatch}; sending it anyway (--force)")
    question = (
        f"upgrade the camera at {address} ({before.model}, firmware {before.firmware}) with "
        f"{args.file} ({_image_words(description)})?"
    )
    # In a thread: the session's keepalives go on while the question waits. The camera's
    # words (model, version) are the device's: made safe for the terminal.
    await asyncio.to_thread(
        require_confirmation,
        safe_text(question, limit=1000),
        assume_yes=args.yes,
        warnings=[safe_text(warning, limit=1000) for warning in warnings],
    )
    started = time.monotonic()
    progress = Progress()
    try:
        result = await camera.upgrade(
            data, force=args.force, progress=_bar(progress), wait_timeout=args.wait_timeout
        )
        _refused(result, address, before)
        progress.show("waiting for the camera to come back…")
        after = await come_back(camera, args.reboot_timeout)
    finally:
        progress.done()
    _report(args, result, before, after, time.monotonic() - started)
    return ExitCode.SUCCESS


def _bar(progress: Progress) -> Callable[[UpgradeProgress], None]:
    def show(step: UpgradeProgress) -> None:
        filled = BAR_WIDTH * step.done // max(step.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        if step.stage == "sending":
            megabytes = f"{step.done / 1e6:.1f} of {step.total / 1e6:.1f} MB"
            progress.show(f"sending  [{bar}] {megabytes}")
        else:
            progress.show(f"flashing [{bar}] {step.done} % (the camera's count)")

    return show


def _refused(result: UpgradeResult, address: str, before: SystemInfo) -> None:
    """Raise the one-line error of an upgrade that failed."""
    if result.status != "failed":
        return
    keeps = f"it keeps firmware {before.firmware}"
    if result.ret is not None:
        raise CommandError(
            f"{address}: the camera refused the image: Ret {result.ret} ({result.meaning}); "
            f"{keeps}",
            ExitCode.DEVICE,
        )
    raise CommandError(f"{address}: the upgrade failed: {result.detail}", ExitCode.CONNECTION)


async def come_back(camera: AsyncCamera, timeout: float) -> SystemInfo:
    """The camera's SystemInfo once it answers again after its reboot; a one-line error
    (exit 4) when it has not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await camera.system_info()
        except TransportError:
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"the camera did not come back within {timeout:g} s", ExitCode.TIMEOUT
                ) from None
            await asyncio.sleep(camera.reboot_poll_interval)


def _report(
    args: argparse.Namespace,
    result: UpgradeResult,
    before: SystemInfo,
    after: SystemInfo,
    seconds: float,
) -> None:
    changed = after.firmware != before.firmware
    if result.status == "unconfirmed" and not changed:
        raise CommandError(
            f"the camera did not confirm the upgrade ({result.detail}) and still reports "
            f"firmware {after.firmware}",
            ExitCode.DEVICE,
        )
    expected = result.description.version
    if args.json:
        print_json(
            {
                "status": result.status,
                "confirmed": result.status == "succeeded",
                "ret": result.ret,
                "meaning": result.meaning,
                "detail": result.detail,
                "old_version": before.firmware,
                "new_version": after.firmware,
                "image": {
                    "file": args.file,
                    "bytes": result.size,
                    "hardware": result.description.hardware,
                    "version": expected,
                },
                "seconds": round(seconds, 1),
            }
        )
        return
    how = "" if result.status == "succeeded" else " (not confirmed; the version changed)"
    print(safe_text(f"upgraded{how}: {before.firmware} -> {after.firmware}"))
    if expected is not None and after.firmware != expected:
        warning = f"xmcam: warning: the camera reports {after.firmware}, the image {expected}"
        print(safe_text(warning), file=sys.stderr)


def fleet_action(
    data: bytes,
    description: FirmwareDescription,
    *,
    wait_timeout: float = DEFAULT_WAIT,
    reboot_timeout: float = DEFAULT_REBOOT_WAIT,
) -> Callable[[AsyncCamera], Awaitable[dict[str, Any]]]:
    """The fleet's upgrade of one camera: skipped (and saying so) when the image is not for
    its hardware; else upgraded, waited for, and its versions before and after. A refusal
    raises the device's error (the camera's line in the table)."""

    async def action(camera: AsyncCamera) -> dict[str, Any]:
        before = await camera.system_info()
        if not hardware_matches(description, before.model):
            return {
                "status": "skipped",
                "detail": f"the image is not for its hardware ({before.model})",
                "old_version": before.firmware,
                "new_version": before.firmware,
            }
        result = await camera.upgrade(data, wait_timeout=wait_timeout)
        if result.status == "failed":
            if result.ret is not None:
                raise error_for_ret(result.ret, message_id=MessageId.UPGRADE_PROGRESS)
            raise ConnectionClosedError(result.detail)
        after = await come_back(camera, reboot_timeout)
        if result.status == "unconfirmed" and after.firmware == before.firmware:
            raise CommandError(f"not confirmed ({result.detail}); the version did not change")
        return {
            "status": result.status,
            "detail": result.detail,
            "old_version": before.firmware,
            "new_version": after.firmware,
        }

    return action


def fleet_cells(value: dict[str, Any]) -> tuple[object, ...]:
    if value["status"] == "skipped":
        return (value["old_version"], "", f"skipped: {value['detail']}")
    return (value["old_version"], value["new_version"], value["status"])


def _handler(args: argparse.Namespace) -> int:
    args.image = read_image(args.file)  # before any connection: a bad file costs nothing
    return camera_command(upgrade)(args)


def add_wait_options(parser: argparse.ArgumentParser) -> None:
    """--wait-timeout and --reboot-timeout, for `upgrade` and `fleet ... upgrade`."""
    parser.add_argument(
        "--wait-timeout",
        type=positive_seconds,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help="how long to wait for the camera's verdict after the last byte (default "
        f"{DEFAULT_WAIT:g}); some cameras never send one",
    )
    parser.add_argument(
        "--reboot-timeout",
        type=positive_seconds,
        default=DEFAULT_REBOOT_WAIT,
        metavar="SECONDS",
        help=f"how long to wait for the camera to come back (default {DEFAULT_REBOOT_WAIT:g})",
    )


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "upgrade",
        help="install a firmware image (checked first; asks on a terminal)",
        description=(
            "Install a firmware image (an XM upgrade file: a zip whose InstallDesc names the "
            "hardware it is for). The file is checked and its description read before anything "
            "is sent; an image for other hardware than the camera's is refused unless --force. "
            "Shows the bytes sent and the camera's progress, waits for its reboot, and prints "
            "the old and new firmware versions. Exit 6 when the camera refuses the image (it "
            "keeps its firmware), 7 when the file is not an upgrade image, 1 for another "
            "camera's image."
        ),
        epilog="example: xmcam upgrade General_IPC_HI3516D.bin --yes",
    )
    parser.add_argument("file", metavar="FILE", help="the firmware image (*.bin)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="send an image whose description names other hardware than the camera's "
        "(a damaged file is refused all the same)",
    )
    add_yes_option(parser)
    add_wait_options(parser)
    parser.set_defaults(handler=_handler)
