"""`xmcam channels`: the channels' titles (1048) and `xmcam channels rename N TITLE` (1046,
the whole list sent back with one title changed). Titles come from the device and reach the
terminal only through `safe_text` / `print_json`."""

from __future__ import annotations

import argparse
from typing import Final

from xmcam.aio import AsyncCamera
from xmcam.cli.output import CommandError, ExitCode, print_json, print_table, safe_text
from xmcam.cli.session import camera_command, channel_number

__all__ = ["add_parser", "channels_rename", "channels_show"]

MAX_TITLE: Final = 64  # characters; the picture's overlay shows far fewer


async def channels_show(camera: AsyncCamera, args: argparse.Namespace) -> int:
    titles = await camera.channel_titles()
    if args.json:
        print_json([{"channel": number, "title": title} for number, title in enumerate(titles)])
        return ExitCode.SUCCESS
    if not titles:
        print("no channel titles")
        return ExitCode.SUCCESS
    print_table(("channel", "title"), list(enumerate(titles)))
    return ExitCode.SUCCESS


async def channels_rename(camera: AsyncCamera, args: argparse.Namespace) -> int:
    titles = await camera.rename_channel(args.channel, args.title)
    if args.json:
        print_json({"channel": args.channel, "title": titles[args.channel]})
    else:
        print(f"channel {args.channel}: {safe_text(titles[args.channel])}")
    return ExitCode.SUCCESS


def _title(text: str) -> str:
    if len(text) > MAX_TITLE:
        raise argparse.ArgumentTypeError(f"a title has at most {MAX_TITLE} characters")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise argparse.ArgumentTypeError("a title cannot hold control characters")
    return text


def _rename_handler(args: argparse.Namespace) -> int:
    if not args.title.strip():
        raise CommandError("the title is empty", ExitCode.USAGE)
    return camera_command(channels_rename)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "channels",
        help="show or rename the channels' titles",
        description="Show the channels' titles, the text each channel shows on its picture.",
        epilog="examples:\n  xmcam channels\n  xmcam channels rename 0 'Front door'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=camera_command(channels_show))
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    rename = actions.add_parser(
        "rename",
        help="give a channel a new title",
        description="Give one channel a new title; the others keep theirs.",
        epilog="example: xmcam channels rename 1 'Back yard'",
    )
    rename.add_argument(
        "channel", type=channel_number, metavar="N", help="the channel (0: the first)"
    )
    rename.add_argument("title", type=_title, metavar="TITLE", help="the new title")
    rename.set_defaults(handler=_rename_handler)
