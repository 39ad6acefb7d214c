"""`xmcam users`: list, add and remove the camera's user accounts, and change passwords.

Passwords come from a prompt that does not echo (getpass) or, for scripts, from standard
input with --password-stdin (one a line). They are never echoed, printed or logged, and they
are read before the login, so a typo costs no session. Without a terminal (standard input is
not one, or it ends at the prompt) nothing is asked: one line points to --password-stdin
(exit code 2), rather than getpass's fallback, which would echo what is typed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import warnings
from typing import Final

from xmcam.aio import AsyncCamera
from xmcam.cli.confirm import add_yes_option, require_confirmation
from xmcam.cli.output import CommandError, ExitCode, print_json, print_table, safe_text
from xmcam.cli.session import camera_command, target_of

__all__ = ["add_parser", "read_new_password"]


def _stdin_lines(count: int) -> list[str]:
    lines = []
    for _ in range(count):
        line = sys.stdin.readline()
        if not line:
            raise CommandError("standard input ended before the password", ExitCode.USAGE)
        lines.append(line.rstrip("\r\n"))
    return lines


NO_TERMINAL: Final = (
    "no terminal to ask for the password: give it on standard input with --password-stdin"
)
END_OF_INPUT: Final = "no password typed (end of input); in a script use --password-stdin"


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed, or not a real file
        return False


def ask_password(prompt: str) -> str:
    """A password typed at a prompt that does not echo. A usage error (one line) when there
    is no terminal, when getpass would fall back to an echoing prompt, or at end of input."""
    if not stdin_is_terminal():
        raise CommandError(NO_TERMINAL, ExitCode.USAGE)
    try:
        with warnings.catch_warnings():
            # getpass warns, then reads with echo, when it cannot open the terminal.
            warnings.simplefilter("error", getpass.GetPassWarning)
            return getpass.getpass(prompt)
    except getpass.GetPassWarning:
        raise CommandError(NO_TERMINAL, ExitCode.USAGE) from None
    except EOFError:
        if sys.stderr.isatty():
            print(file=sys.stderr)  # the prompt's line was left open
        raise CommandError(END_OF_INPUT, ExitCode.USAGE) from None


def read_new_password(args: argparse.Namespace, user: str) -> str:
    """A new password: one line of stdin, or typed twice at a prompt that does not echo."""
    if args.password_stdin:
        return _stdin_lines(1)[0]
    first = ask_password(f"New password for {safe_text(user)}: ")
    if ask_password("Repeat it: ") != first:
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
        args.old_password = ask_password(f"Current password for {safe_text(args.name)}: ")
        args.new_password = read_new_password(args, args.name)
    return camera_command(users_passwd)(args)


def _remove_handler(args: argparse.Namespace) -> int:
    # Asked before connecting: a "no" costs no login.
    require_confirmation(
        f"remove user {safe_text(args.name)} from {target_of(args).address}?", assume_yes=args.yes
    )
    return camera_command(users_remove)(args)


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
        description=(
            "Add a user. The password is asked twice at a prompt that does not echo; without "
            "a terminal (a script), give it with --password-stdin."
        ),
        epilog="example: xmcam users add viewer --group user --memo 'front desk'",
    )
    add.add_argument("name", metavar="NAME", help="the new user's name (to log in with)")
    add.add_argument("--group", default="user", help="the user's group (default user)")
    add.add_argument("--memo", default="", help="a note stored with the user")
    add.set_defaults(handler=_add_handler)
    remove = actions.add_parser(
        "remove",
        help="remove a user (asks first on a terminal; --yes skips the question)",
        epilog="example: xmcam users remove viewer --yes",
    )
    remove.add_argument("name", metavar="NAME", help="the user to remove")
    add_yes_option(remove)
    remove.set_defaults(handler=_remove_handler)
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
