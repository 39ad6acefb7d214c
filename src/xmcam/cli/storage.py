"""`xmcam storage`: the camera's disks or SD cards, partition by partition (1020 StorageInfo),
and `xmcam storage format` (1460 OPStorageManager Clear), which erases every recording."""

from __future__ import annotations

import argparse
from typing import Any, Final

from xmcam.aio import AsyncCamera
from xmcam.cli.confirm import add_yes_option, require_confirmation
from xmcam.cli.output import ExitCode, Progress, print_json, print_table
from xmcam.cli.session import camera_command
from xmcam.client.models import Disk
from xmcam.protocol.fields import lenient_int

__all__ = ["add_parser", "storage_format", "storage_show"]

# DirverType [sic] and Status as [CFG] names them (docs/protocol.md §8.1).
_TYPES: Final = {0: "read-write", 1: "read-only", 3: "redundant", 4: "snapshot"}
_STATES: Final = {0: "ok"}


def _state(status: int | None) -> str:
    if status is None:
        return "-"
    return _STATES.get(status, f"error {status}")


def _partitions(disks: list[Disk]) -> list[dict[str, Any]]:
    rows = []
    for index, disk in enumerate(disks):
        raw_parts = disk.raw.get("Partition")
        raws = (
            [part for part in raw_parts if isinstance(part, dict)]
            if isinstance(raw_parts, list)
            else []
        )
        for number, part in enumerate(disk.partitions):
            raw = raws[number] if number < len(raws) else {}
            rows.append(
                {
                    "disk": disk.number if disk.number is not None else index,
                    "partition": number,
                    "type": _TYPES.get(part.driver_type, str(part.driver_type))
                    if part.driver_type is not None
                    else None,
                    "total_mb": part.total_mb,
                    "free_mb": part.remaining_mb,
                    "state": _state(part.status),
                    "status": part.status,
                    "current": raw.get("IsCurrent") is True,
                    "oldest": raw.get("OldStartTime")
                    if isinstance(raw.get("OldStartTime"), str)
                    else None,
                    "newest": raw.get("NewEndTime")
                    if isinstance(raw.get("NewEndTime"), str)
                    else None,
                }
            )
    return rows


async def storage_show(camera: AsyncCamera, args: argparse.Namespace) -> int:
    disks = await camera.storage_info()
    rows = _partitions(disks)
    if args.json:
        total = sum(row["total_mb"] or 0 for row in rows)
        free = sum(row["free_mb"] or 0 for row in rows)
        print_json({"disks": len(disks), "total_mb": total, "free_mb": free, "partitions": rows})
        return ExitCode.SUCCESS
    if not rows:
        print("no disks")
        return ExitCode.SUCCESS
    print_table(
        ("disk", "part", "type", "total MiB", "free MiB", "used", "state", "recordings"),
        [
            (
                row["disk"],
                row["partition"],
                row["type"],
                row["total_mb"],
                row["free_mb"],
                _used(row["total_mb"], row["free_mb"]),
                row["state"],
                f"{row['oldest']} .. {row['newest']}" if row["oldest"] and row["newest"] else None,
            )
            for row in rows
        ],
    )
    return ExitCode.SUCCESS


def _used(total: int | None, free: int | None) -> str | None:
    if not total or free is None:
        return None
    return f"{100 * (total - min(free, total)) / total:.0f}%"


async def storage_format(camera: AsyncCamera, args: argparse.Namespace) -> int:
    progress = Progress()
    progress.show("formatting…")
    try:
        formatted = await camera.format_storage(args.disk)
    finally:
        progress.done()
    if args.json:
        print_json({"formatted": formatted})
    elif not formatted:
        print("no disks to format")
    else:
        for part in formatted:
            print(f"disk {part.disk} partition {part.partition}: formatted")
    return ExitCode.SUCCESS


def _format_handler(args: argparse.Namespace) -> int:
    which = "every disk" if args.disk is None else f"disk {args.disk}"
    require_confirmation(
        f"Format {which} of the camera?",
        assume_yes=args.yes,
        warnings=[f"formatting erases every recording on {which}; this cannot be undone"],
    )
    return camera_command(storage_format)(args)


def _disk_number(text: str) -> int:
    number = lenient_int(text, minimum=0)
    if number is None:
        raise argparse.ArgumentTypeError(f"not a disk number: {text!r}")
    return number


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "storage",
        help="show the disks and SD cards; format them",
        description=(
            "Show the camera's disks or SD cards: partitions, capacity, free space, state "
            "and the recordings' span (StorageInfo)."
        ),
        epilog="examples:\n  xmcam storage\n  xmcam storage format --disk 0 --yes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=camera_command(storage_show))
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    fmt = actions.add_parser(
        "format",
        help="format a disk (erases every recording; asks first)",
        description="Format the partitions of one disk, or of every disk (OPStorageManager).",
        epilog="example: xmcam storage format --disk 0",
    )
    fmt.add_argument(
        "--disk",
        type=_disk_number,
        metavar="N",
        help="the disk's number as `xmcam storage` shows it (default: every disk)",
    )
    add_yes_option(fmt)
    fmt.set_defaults(handler=_format_handler)
