"""`xmcam alarm-out`: switch the camera's alarm outputs (relay, siren, light) on, off, or
back to automatic (driven by the camera's alarms), or show them."""

from __future__ import annotations

import argparse

from xmcam.aio import AsyncCamera
from xmcam.cli.output import ExitCode, jsonable, print_json
from xmcam.cli.session import camera_command, channel_number
from xmcam.errors import DeviceError, PayloadError

__all__ = ["add_parser", "alarm_out"]

MODES = ("on", "off", "auto")


_MEANING = {
    "on": "held on, whatever the alarms",
    "off": "held off, whatever the alarms",
    "auto": "the camera's alarms switch it",
}


async def alarm_out(camera: AsyncCamera, args: argparse.Namespace) -> int:
    if args.mode is not None:
        await camera.set_alarm_out(args.mode, args.channel)
    outputs = [
        output
        for output in await camera.alarm_outputs()
        if args.channel is None or output.channel == args.channel
    ]
    # Whether each output is switched on at this moment is in WorkState's AlarmOut mask
    # (docs/protocol.md, 8.1), not in the config's AlarmOutStatus, which the vendor's client
    # writes as "OPEN" whatever the mode. Firmware without WorkState: not said.
    try:
        mask: int | None = (await camera.work_state()).alarm_out
    except (DeviceError, PayloadError):
        mask = None
    active = {
        output.channel: None if mask is None else bool(mask >> output.channel & 1)
        for output in outputs
    }
    if args.json:
        print_json([{**jsonable(output), "active": active[output.channel]} for output in outputs])
        return ExitCode.SUCCESS
    for output in outputs:
        print(f"alarm output {output.channel}: {_describe(output.mode, active[output.channel])}")
    return ExitCode.SUCCESS


def _describe(mode: str, active: bool | None) -> str:
    """`off (held off, whatever the alarms)`, `auto (the camera's alarms switch it; off
    now)`: the mode, and what it means for the output."""
    meaning = _MEANING.get(mode)
    if meaning is None:
        return f"{mode} (a mode xmcam does not know)"
    if mode == "auto" and active is not None:
        meaning += "; on now" if active else "; off now"
    return f"{mode} ({meaning})"


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
