"""`xmcam users`: list, add and remove the camera's user accounts, and change passwords.

Passwords come from a prompt that does not echo (getpass) or, for scripts, from standard
input with --password-stdin (one a line). They are never echoed, printed or logged, and they
are read before the login, so a typo costs no session.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from xmcam.aio import AsyncCamera
from xmcam.cli.output import CommandError, ExitCode, print_json, print_table, safe_text
from xmcam.cli.session import camera_command

__all__ = ["add_parser", "read_new_password"]


def _stdin_lines(count: int) -> list[str]:
    lines = []
    for _ in range(count):
        line = sys.stdin.readline()
        if not line:
            raise CommandError("standard input ended before the password", ExitCode.USAGE)
        lines.append(line.rstrip("\r\n"))
    return lines


def read_new_password(args: argparse.Namespace, user: str) -> str:
    """A new password: one line of stdin, or typed twice at a prompt that does not echo."""
    if args.password_stdin:
        return _stdin_lines(1)[0]
    first = getpass.getpass(f"New password for {safe_text(user)}: ")
    if getpass.getpass("Repeat it: ") != first:
        raise CommandError("the two passwords differ; nothing changed", ExitCode.USAGE)
    return first


async def users_list(camera: AsyncCamera, args: argparse.Namespace) -> int:
    accounts = await camera.users()
    if args.json:
        print_json(accounts)
        return ExitCode.SUCCESS
    print_table(
        ("user", "group", "rights", "reserved", "sharable", "memo"),
        [
            (user.name, user.group, len(user.authorities), user.reserved, user.sharable, user.memo)
            for user in accounts
        ],
    )
    return ExitCode.SUCCESS


async def users_add(camera: AsyncCamera, args: argparse.Namespace) -> int:
    await camera.add_user(args.name, args.new_password, args.group, memo=args.memo)
    return _done(args, "added", group=args.group)


async def users_remove(camera: AsyncCamera, args: argparse.Namespace) -> int:
    await camera.remove_user(args.name)
    return _done(args, "removed")


async def users_passwd(camera: AsyncCamera, args: argparse.Namespace) -> int:
    await camera.change_password(args.name, args.old_password, args.new_password)
    return _done(args, "password changed")


def _done(args: argparse.Namespace, what: str, **extra: str) -> int:
    if args.json:
        print_json({"user": args.name, "done": what, **extra})
    else:
        group = f" (group {safe_text(extra['group'])})" if "group" in extra else ""
        print(f"user {safe_text(args.name)}: {what}{group}")
    return ExitCode.SUCCESS


def _add_handler(args: argparse.Namespace) -> int:
    args.new_password = read_new_password(args, args.name)
    return camera_command(users_add)(args)


def _passwd_handler(args: argparse.Namespace) -> int:
    if args.name is None:
        args.name = args.user
    if args.password_stdin:
        args.old_password, args.new_password = _stdin_lines(2)
    else:
        args.old_password = getpass.getpass(f"Current password for {safe_text(args.name)}: ")
        args.new_password = read_new_password(args, args.name)
    return camera_command(users_passwd)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "users",
        help="list, add and remove users; change passwords",
        description="Manage the camera's user accounts. Passwords are never echoed.",
        epilog=(
            "examples:\n"
            "  xmcam users list\n"
            "  xmcam users add viewer --group user\n"
            "  printf 'old\\nnew\\n' | xmcam users passwd admin --password-stdin"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="list the users", epilog="example: xmcam --json users list"
    )
    listing.set_defaults(handler=camera_command(users_list))
    add = actions.add_parser(
        "add",
        help="add a user (asks for the password)",
        epilog="example: xmcam users add viewer --group user --memo 'front desk'",
    )
    add.add_argument("name", metavar="NAME", help="the new user's name")
    add.add_argument("--group", default="user", help="the user's group (default user)")
    add.add_argument("--memo", default="", help="a note stored with the user")
    add.set_defaults(handler=_add_handler)
    remove = actions.add_parser(
        "remove", help="remove a user", epilog="example: xmcam users remove viewer"
    )
    remove.add_argument("name", metavar="NAME", help="the user to remove")
    remove.set_defaults(handler=camera_command(users_remove))
    passwd = actions.add_parser(
        "passwd",
        help="change a password (asks for the current and the new one)",
        epilog="example: xmcam users passwd viewer",
    )
    passwd.add_argument("name", metavar="NAME", nargs="?", help="default: the -u user")
    passwd.set_defaults(handler=_passwd_handler)
    for action in (add, passwd):
        action.add_argument(
            "--password-stdin",
            action="store_true",
            help="read passwords from standard input, one a line (passwd: current, then new)",
        )
