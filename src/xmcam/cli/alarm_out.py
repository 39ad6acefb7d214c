"""`xmcam alarm-out`: switch the camera's alarm outputs (relay, siren, light) on, off, or
back to automatic (driven by the camera's alarms), or show them."""

from __future__ import annotations

import argparse

from xmcam.aio import AsyncCamera
from xmcam.cli.output import ExitCode, print_json, print_table
from xmcam.cli.session import camera_command, channel_number

__all__ = ["add_parser", "alarm_out"]

MODES = ("on", "off", "auto")


async def alarm_out(camera: AsyncCamera, args: argparse.Namespace) -> int:
    if args.mode is not None:
        await camera.set_alarm_out(args.mode, args.channel)
    outputs = [
        output
        for output in await camera.alarm_outputs()
        if args.channel is None or output.channel == args.channel
    ]
    if args.json:
        print_json(outputs)
    else:
        print_table(
            ("channel", "mode", "status"),
            [(output.channel, output.mode, output.status) for output in outputs],
        )
    return ExitCode.SUCCESS


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "alarm-out",
        help="switch the alarm outputs on, off or to automatic",
        description=(
            "Switch the alarm outputs: on (held on), off (held off) or auto (the camera's "
            "alarms drive them). Without a mode, show them. Channels count from 0."
        ),
        epilog="examples:\n  xmcam alarm-out on --channel 0\n  xmcam alarm-out auto",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mode", nargs="?", choices=MODES, help="on, off or auto")
    parser.set_defaults(channel_of="alarm output")  # checked against the outputs (client)
    parser.add_argument(
        "--channel", type=channel_number, metavar="N", help="only this output (default: all)"
    )
    parser.set_defaults(handler=camera_command(alarm_out))
