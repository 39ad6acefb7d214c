"""`xmcam defaults`: show a config's factory value (1044), or reset whole sections of the
camera's settings to the factory's (1450 OPDefaultConfig), after a confirmation."""

from __future__ import annotations

import argparse

from xmcam.aio import AsyncCamera
from xmcam.cli.confirm import add_yes_option, require_confirmation
from xmcam.cli.output import ExitCode, pretty_json, print_json
from xmcam.cli.session import camera_command
from xmcam.client.maintenance import DEFAULT_SECTIONS
from xmcam.protocol.codes import Ret

__all__ = ["add_parser", "defaults_restore", "defaults_show"]


async def defaults_show(camera: AsyncCamera, args: argparse.Namespace) -> int:
    value = await camera.default_config(args.name)
    if args.json:
        print_json(value)
    else:
        print(pretty_json(value))
    return ExitCode.SUCCESS


async def defaults_restore(camera: AsyncCamera, args: argparse.Namespace) -> int:
    ret = await camera.restore_defaults(args.sections)
    restart = ret in (Ret.OK_NEEDS_REBOOT, Ret.NEEDS_APP_RESTART, Ret.NEEDS_SYSTEM_RESTART)
    if args.json:
        print_json({"restored": sorted(args.sections), "ret": ret, "restart_needed": restart})
    else:
        print(f"restored factory defaults: {', '.join(sorted(args.sections))}")
        if restart:
            print("the camera asks for a restart (xmcam reboot) for them to take effect")
    return ExitCode.SUCCESS


def _restore_handler(args: argparse.Namespace) -> int:
    sections = set(DEFAULT_SECTIONS) if "all" in args.sections else set(args.sections)
    args.sections = sorted(sections)
    warnings = [f"these settings go back to the factory's: {', '.join(args.sections)}"]
    if "Account" in sections:
        warnings.append("Account: every user but the factory's is removed, passwords reset")
    if "NetCommon" in sections:
        warnings.append("NetCommon: the camera's address may change and it may be unreachable")
    require_confirmation("Restore the factory defaults?", assume_yes=args.yes, warnings=warnings)
    return camera_command(defaults_restore)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "defaults",
        help="show factory values; restore factory defaults",
        description="Show a config's factory value, or reset sections to factory defaults.",
        epilog=(
            "examples:\n"
            "  xmcam defaults show General.General\n"
            "  xmcam defaults restore Encode Record --yes"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="a config's factory value (1044)",
        epilog="example: xmcam --json defaults show 'Camera.Param.[0]'",
    )
    show.add_argument("name", metavar="NAME", help="a dotted config name")
    show.set_defaults(handler=camera_command(defaults_show))
    restore = actions.add_parser(
        "restore",
        help="reset sections to factory defaults (asks first)",
        description=(
            "Reset the chosen sections of the camera's settings to factory defaults "
            f"(OPDefaultConfig). Sections: {', '.join(DEFAULT_SECTIONS)}, or all."
        ),
        epilog="example: xmcam defaults restore General Encode",
    )
    restore.add_argument(
        "sections",
        nargs="+",
        choices=(*DEFAULT_SECTIONS, "all"),
        metavar="SECTION",
        help=f"one or more of {', '.join(DEFAULT_SECTIONS)}, all",
    )
    add_yes_option(restore)
    restore.set_defaults(handler=_restore_handler)
