"""What every camera command shares: the global options, where the camera is, and one
logged-in session per command.

Each command that talks to a camera is an `async def` taking the connected camera and the
parsed arguments; `camera_command()` turns it into a handler that opens the session (the
asyncio client, one `asyncio.run` per command), runs it, and logs out, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from xmcam.aio import AsyncCamera, connect
from xmcam.cli.output import CommandError, ExitCode, TerminalFormatter
from xmcam.client.settings import split_host_port
from xmcam.errors import AccountLockedError
from xmcam.protocol import DEFAULT_PORT

__all__ = [
    "DEFAULT_PORT",
    "PASSWORD_ENVIRONMENT",
    "CameraAction",
    "Target",
    "add_global_options",
    "camera_command",
    "channel_number",
    "check_channel",
    "closing",
    "configure_logging",
    "parse_host",
    "positive_seconds",
    "target_of",
    "timeout_given",
]

DEFAULT_TIMEOUT: Final = 10.0
MAX_CHANNEL: Final = 255
PASSWORD_ENVIRONMENT: Final = "XMCAM_PASSWORD"  # noqa: S105  (a variable's name)

T = TypeVar("T")

CameraAction = Callable[[AsyncCamera, argparse.Namespace], Awaitable[int]]


@dataclass(frozen=True)
class Target:
    """The camera to talk to and how to log in. The password never shows in the repr."""

    host: str
    port: int
    user: str
    password: str
    timeout: float
    encryption: str = "auto"

    def __repr__(self) -> str:
        return f"Target(host={self.host!r}, port={self.port}, user={self.user!r})"

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_host(text: str) -> tuple[str, int]:
    """`HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT` as (host, port); a bare IPv6
    address (more than one colon) has no port. Raises CommandError (usage) when malformed."""
    try:
        return split_host_port(text)  # the library's reading, the same for both
    except ValueError as error:
        raise CommandError(str(error), ExitCode.USAGE) from None


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(f"out of range (0 to 86400 s): {text!r}")
    return value


class _DefaultSeconds(float):
    """The global --timeout's default: a float like any other, which tells `timeout_given()`
    that nobody typed it."""


def timeout_given(args: argparse.Namespace) -> float | None:
    """The global --timeout when it was given, else None: a command with a wait of its own
    (discover's listening time, an inventory's timeouts) uses its own default then, and the
    global one when it was given (one option, one meaning)."""
    value = getattr(args, "timeout", None)
    return None if value is None or isinstance(value, _DefaultSeconds) else float(value)


def channel_number(text: str) -> int:
    """An argparse type: a channel number, counted from 0."""
    if not text.isdigit() or int(text) > MAX_CHANNEL:
        raise argparse.ArgumentTypeError(f"not a channel number (0 to {MAX_CHANNEL}): {text!r}")
    return int(text)


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The options before the command. Host, user and password also come from XMCAM_HOST,
    XMCAM_USER and XMCAM_PASSWORD (better than -p: the command line shows in `ps`)."""
    group = parser.add_argument_group("camera")
    group.add_argument(
        "-H",
        "--host",
        metavar="HOST[:PORT]",
        default=os.environ.get("XMCAM_HOST"),
        help=f"the camera (port {DEFAULT_PORT} unless given; env XMCAM_HOST), or a camera's "
        "name in the inventory ~/.config/xmcam/cameras.toml (env XMCAM_INVENTORY names another)",
    )
    group.add_argument(
        "-u",
        "--user",
        default=os.environ.get("XMCAM_USER", "admin"),
        help="user name (default admin; env XMCAM_USER)",
    )
    # No default here: main() must tell a password typed on the command line (and warn)
    # from one taken from the environment (target_of() reads it).
    group.add_argument(
        "-p",
        "--password",
        default=None,
        help=f'password (default empty; env {PASSWORD_ENVIRONMENT}, which "ps" does not show: '
        "prefer it)",
    )
    group.add_argument(
        "--timeout",
        type=positive_seconds,
        default=_DefaultSeconds(DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help=f"deadline for each request (default {DEFAULT_TIMEOUT:g}); when given, also "
        "discover's listening time and every camera's of an inventory (fleet, bridge)",
    )
    group.add_argument(
        "--encryption",
        choices=("auto", "on", "off"),
        default=os.environ.get("XMCAM_ENCRYPTION", "auto"),
        help="the encrypted login of newer firmware (V5.06 and later): auto finds out before "
        "sending a password (default auto; env XMCAM_ENCRYPTION)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="say more on stderr: -v one line per request and reply, -vv each frame in hex too",
    )
    output.add_argument(
        "--debug",
        action="store_true",
        help="as -vv: log every frame in hex on stderr, passwords and hashes redacted (encrypted "
        "bodies as decrypted, keys never shown)",
    )


def configure_logging(args: argparse.Namespace) -> Callable[[], None]:
    """Send xmcam's log records to stderr at the level the options ask for (-v info, -vv or
    --debug everything, frames included); returns the undo, since main() runs many times in
    one process under test. The handler sits on the root logger, filtered to xmcam's
    records, so that a later `logging.basicConfig()` adds no second copy of each line; its
    formatter escapes what a device could have put in a message (`TerminalFormatter`)."""
    verbose = args.verbose or 0
    level = logging.DEBUG if args.debug or verbose > 1 else logging.INFO if verbose else None
    logger = logging.getLogger("xmcam")
    handler = logging.StreamHandler()
    handler.addFilter(logging.Filter("xmcam"))
    # Every line the command prints starts "xmcam:", whichever module logged it.
    handler.setFormatter(TerminalFormatter("xmcam: %(message)s"))
    handler.setLevel(level or logging.WARNING)
    previous = logger.level
    logging.getLogger().addHandler(handler)
    if level is not None:
        logger.setLevel(level)

    def undo() -> None:
        logging.getLogger().removeHandler(handler)
        logger.setLevel(previous)

    return undo


def target_of(args: argparse.Namespace) -> Target:
    """The camera the global options name; a usage error when there is none."""
    if not args.host:
        raise CommandError("no camera given: use -H HOST[:PORT] or set XMCAM_HOST", ExitCode.USAGE)
    from xmcam.cli.inventory import inventory_target  # noqa: PLC0415  (it imports this module)

    named = inventory_target(args)  # -H porch: a camera of the default inventory file
    if named is not None:
        return named
    host, port = parse_host(args.host)
    password = args.password
    if password is None:
        password = os.environ.get(PASSWORD_ENVIRONMENT, "")
    encryption = getattr(args, "encryption", "auto")
    if encryption not in ("auto", "on", "off"):  # XMCAM_ENCRYPTION skips argparse's check
        raise CommandError(
            f"bad encryption {encryption!r} (XMCAM_ENCRYPTION?): expected auto, on or off",
            ExitCode.USAGE,
        )
    return Target(host, port, args.user, password, args.timeout, encryption)


def camera_command(action: CameraAction) -> Callable[[argparse.Namespace], int]:
    """A handler that logs in, runs `action` on the camera and logs out."""

    def handler(args: argparse.Namespace) -> int:
        target = target_of(args)

        async def session() -> int:
            async with connect(
                target.host,
                target.port,
                user=target.user,
                password=target.password,
                timeout=target.timeout,
                encryption=target.encryption,
            ) as camera:
                await check_channel(camera, args)
                return await action(camera, args)

        try:
            return asyncio.run(session())
        except ValueError as error:
            # The client refuses arguments the device makes invalid (a channel it lacks).
            raise CommandError(str(error), ExitCode.USAGE) from None
        except AccountLockedError as error:
            # Which camera locked the account: the one to leave alone for half an hour.
            raise CommandError(
                f"{target.address}: Ret {error.ret} ({error.meaning}): {error.ADVICE}",
                ExitCode.AUTHENTICATION,
            ) from None

    return handler


async def check_channel(camera: AsyncCamera, args: argparse.Namespace) -> None:
    """A usage error, before the command does anything, when its `--channel` names a video
    channel the device does not have (the count its login reply gave, ChannelNum). A command
    whose --channel counts alarm outputs says so with the parser default
    `channel_of="alarm output"` (counted by SystemInfo's AlarmOutChannel)."""
    channel = getattr(args, "channel", None)
    if not isinstance(channel, int):
        return
    what = getattr(args, "channel_of", "channel")
    count: int
    if what == "alarm output":
        count = (await camera.system_info()).alarm_out or 0
    else:
        count = camera.login_info.channel_count or 0
    if count <= 0 or channel < count:  # 0: the device did not say; let it answer
        return
    have = f"1 {what} (0)" if count == 1 else f"{count} {what}s (0 to {count - 1})"
    raise CommandError(f"{what} {channel} does not exist: the camera has {have}", ExitCode.USAGE)


@contextlib.asynccontextmanager
async def closing(events: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """`contextlib.aclosing` for an iterator typed as a plain AsyncIterator: the generator's
    cleanup (unsubscribe, log out) runs as soon as the caller stops reading."""
    try:
        yield events
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
