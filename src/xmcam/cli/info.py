"""`xmcam info`: what the camera is (model, firmware, serial, channels, uptime) and its disks."""

from __future__ import annotations

import argparse

from xmcam.aio import AsyncCamera
from xmcam.cli.output import ExitCode, print_fields, print_json, print_table
from xmcam.cli.session import camera_command
from xmcam.client.models import Disk

__all__ = ["add_parser", "show_info"]


async def show_info(camera: AsyncCamera, args: argparse.Namespace) -> int:
    info = await camera.system_info()
    disks = await camera.storage_info() if args.disks else []
    if args.json:
        record = {"system": info, "login": camera.login_info}
        if args.disks:
            record["disks"] = disks
        print_json(record)
        return ExitCode.SUCCESS
    login = camera.login_info
    uptime = None
    if info.uptime_minutes is not None:
        hours, minutes = divmod(info.uptime_minutes, 60)
        uptime = f"{hours} h {minutes} min"
    print_fields(
        [
            ("model", info.model),
            ("device type", login.device_type),
            ("firmware", info.firmware),
            ("build time", info.build_time),
            ("hardware version", info.hardware_version),
            ("serial", info.serial),
            ("channels", info.channels),
            ("alarm inputs", info.alarm_in),
            ("alarm outputs", info.alarm_out),
            ("uptime", uptime),
        ]
    )
    if args.disks:
        print()
        if disks:
            print_table(_DISK_HEADERS, [_disk_row(disk) for disk in disks])
        else:
            print("no disks")
    return ExitCode.SUCCESS


_DISK_HEADERS = ("disk", "partitions", "total MiB", "free MiB")


def _disk_row(disk: Disk) -> tuple[object, ...]:
    return (disk.number, len(disk.partitions), disk.total_mb, disk.remaining_mb)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "info",
        help="show the camera's model, firmware, serial and channels",
        description="Log in and show what the camera says it is (SystemInfo).",
        epilog="example: xmcam -H 192.168.1.10 info --disks",
    )
    parser.add_argument("--disks", action="store_true", help="also list the storage devices")
    parser.set_defaults(handler=camera_command(show_info))
