"""Fleets: an inventory of cameras (a TOML file) and one action run over every camera in it.

Theory of operation. `load_inventory()` reads the file once, checks every field and resolves
every password (written in the file, or read from an environment variable) before anything
connects: a typo fails the whole run at once, in one line naming the file, the camera and the
field, instead of failing one camera at a time on the network. `run_fleet()` then gives each
camera its own connection and request deadline, under a semaphore that bounds how many are
open at once, and turns whatever happened into one `CameraResult` per camera, in inventory
order.

A refused login is final for the run. The client never retries one; here, entries naming the
same camera and user run one after the other, and once that login is refused the later
entries are not tried (five failures lock most cameras for 30 minutes, the right password
included).

Passwords never show: not in a repr, an error, a log line or a result.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import ipaddress
import logging
import math
import os
import re
import stat
import time
import tomllib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Generic, NoReturn, TypeVar

from xmcam.aio import AsyncCamera, connect
from xmcam.errors import AuthenticationError, XMCamError
from xmcam.protocol import DEFAULT_PORT

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "CameraEntry",
    "CameraResult",
    "Inventory",
    "InventoryError",
    "current_entry",
    "describe_error",
    "find_camera",
    "load_inventory",
    "run_fleet",
]

T = TypeVar("T")

DEFAULT_TIMEOUT: Final = 10.0
DEFAULT_CONCURRENCY: Final = 8
MAX_TIMEOUT: Final = 86400.0
CANCELLED: Final = "cancelled"

_log: Final = logging.getLogger("xmcam.fleet")

# Names become file names (`fleet config export`) and MQTT topic levels (the bridge): letters,
# digits, "_", "." and "-", starting with a letter or digit. No "/", "+", "#", spaces or dots
# in front (hidden files).
_NAME: Final = re.compile(r"[^\W_][\w.-]{0,63}")
_CAMERA_KEYS: Final = frozenset(
    {
        "name",
        "host",
        "port",
        "user",
        "password",
        "password_env",
        "timeout",
        "alarm_center_addresses",
        "encryption",
    }
)
MAX_ALARM_CENTER_ADDRESSES: Final = 64
_DEFAULT_KEYS: Final = frozenset(
    {"user", "password", "password_env", "port", "timeout", "encryption"}
)
_ENCRYPTION_MODES: Final = ("auto", "on", "off")
_TOP_KEYS: Final = frozenset({"camera", "defaults"})


class InventoryError(ValueError):
    """The inventory file cannot be used. The message is one line naming the file, the camera
    (number and name) and the field; it never holds a password."""


@dataclass(frozen=True)
class CameraEntry:
    """One camera of an inventory, its password resolved. The repr never shows the password."""

    name: str
    host: str
    port: int = DEFAULT_PORT
    user: str = "admin"
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT
    """The deadline of each request (and of connecting), in seconds."""
    alarm_center_addresses: tuple[str, ...] = ()
    """Addresses or networks (`192.168.1.50`, `10.0.0.0/24`) besides its host's that the
    camera's alarm-center pushes may come from (a router's NAT, a second interface). A push
    is attributed to the camera only from one of these or from its host's address."""
    encryption: str = "auto"
    """The encrypted login of newer firmware: "auto", "on" or "off" (xmcam.client.encryption)."""

    @property
    def address(self) -> str:
        """`host:port`, an IPv6 address in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Inventory:
    """The cameras of an inventory file, in the file's order; names are unique."""

    cameras: tuple[CameraEntry, ...]

    def __iter__(self) -> Iterator[CameraEntry]:
        return iter(self.cameras)

    def __len__(self) -> int:
        return len(self.cameras)

    def with_timeout(self, timeout: float | None) -> Inventory:
        """This inventory with every camera's timeout set to `timeout` (None: unchanged)."""
        if timeout is None:
            return self
        return Inventory(tuple(dataclasses.replace(entry, timeout=timeout) for entry in self))


# ------------------------------------------------------------------------ the inventory file


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read and check an inventory file:

        [defaults]                  # optional: applies to every camera
        user = "admin"
        password_env = "XMCAM_PASSWORD"

        [[camera]]
        name = "porch"
        host = "192.168.1.10"       # or "192.168.1.10:34568"
        port = 34567                # default 34567
        password = "..."            # or password_env = "VAR"; neither: empty password
        timeout = 5                 # seconds per request, default 10
        encryption = "on"           # the encrypted login: auto (default), on or off
        alarm_center_addresses = ["192.168.1.1"]  # pushes may also come from here

    Raises InventoryError (one line) for a file that cannot be read or is not TOML, an
    unknown key, a missing or malformed field, both `password` and `password_env`, an
    environment variable that is not set, or a name used twice. Logs a warning (once per
    file) when the file holds passwords and others than its owner may read it."""
    source = os.fspath(path)
    document = _read_toml(source)
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        _fail(source, unknown[0], "unknown key (expected [defaults] and [[camera]] tables)")
    defaults = document.get("defaults", {})
    if not isinstance(defaults, dict):
        _fail(source, "defaults", "must be a table: [defaults]")
    tables = document.get("camera")
    if isinstance(tables, dict) or (tables is not None and not isinstance(tables, list)):
        _fail(source, "camera", "must be an array of tables: [[camera]]")
    if not tables:
        _fail(source, "camera", "no [[camera]] table: the inventory names no camera")
    base = _Fields.read(defaults, f"{source}: [defaults]", _DEFAULT_KEYS)
    cameras = tuple(
        _camera(table, f"{source}: camera {number}", base)
        for number, table in enumerate(tables, start=1)
    )
    _check_unique(source, cameras)
    if base.clear_password or any(_holds_clear_password(table) for table in tables):
        _warn_if_readable(source)
    return Inventory(cameras)


def find_camera(path: str | os.PathLike[str], name: str) -> CameraEntry | None:
    """The camera called `name` in the inventory file at `path`, or None when no camera has
    that name (`xmcam -H porch`). The file, its [defaults] and that camera's table are
    checked as `load_inventory()` checks them, but only this camera's password is resolved:
    another camera's unset password_env does not stop this one. Raises InventoryError."""
    source = os.fspath(path)
    document = _read_toml(source)
    tables = document.get("camera")
    if not isinstance(tables, list):
        return None
    for number, table in enumerate(tables, start=1):
        if isinstance(table, dict) and table.get("name") == name:
            base = _Fields.read(
                document.get("defaults", {}), f"{source}: [defaults]", _DEFAULT_KEYS
            )
            entry = _camera(table, f"{source}: camera {number}", base)
            if base.clear_password or _holds_clear_password(table):
                _warn_if_readable(source)
            return entry
    return None


def _read_toml(source: str) -> dict[str, Any]:
    try:
        text = Path(source).read_bytes().decode("utf-8")
    except OSError as error:
        raise InventoryError(f"{source}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InventoryError(f"{source}: not UTF-8 text, so not TOML") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InventoryError(f"{source}: not TOML: {error}") from None


def _fail(where: str, key: str, problem: str) -> NoReturn:
    raise InventoryError(f"{where}: {key}: {problem}")


@dataclass(frozen=True)
class _Fields:
    """The fields one table of the file gives (None: not given)."""

    user: str | None = None
    password: str | None = None
    port: int | None = None
    timeout: float | None = None
    encryption: str | None = None
    clear_password: bool = False

    @classmethod
    def read(cls, table: Any, where: str, allowed: frozenset[str]) -> _Fields:
        if not isinstance(table, dict):
            raise InventoryError(f"{where}: must be a table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            # Only the key: a misspelt `pasword = "..."` must not print its value.
            _fail(where, unknown[0], f"unknown key (known: {', '.join(sorted(allowed))})")
        user = table.get("user")
        if user is not None and (not isinstance(user, str) or not user):
            _fail(where, "user", "must be a non-empty string")
        port = table.get("port")
        return cls(
            user=user,
            password=_password(table, where),
            port=None if port is None else _port(port, where, "port"),
            timeout=_timeout(table.get("timeout"), where),
            encryption=_encryption(table.get("encryption"), where),
            clear_password=_holds_clear_password(table),
        )


def _holds_clear_password(table: Any) -> bool:
    return isinstance(table, dict) and bool(table.get("password"))


def _password(table: Mapping[str, Any], where: str) -> str | None:
    if "password" in table and "password_env" in table:
        _fail(where, "password", "give password or password_env, not both")
    if "password" in table:
        if not isinstance(table["password"], str):
            _fail(where, "password", "must be a string")  # and never show what it is
        return str(table["password"])
    variable = table.get("password_env")
    if variable is None:
        return None
    if not isinstance(variable, str) or not variable or "=" in variable:
        _fail(where, "password_env", "must be the name of an environment variable")
    value = os.environ.get(variable)
    if value is None:
        _fail(where, "password_env", f"the environment variable {variable} is not set")
    return value


def _port(value: Any, where: str, key: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        _fail(where, key, f"bad port {value!r}: expected 1 to 65535")
    return value


def _timeout(value: Any, where: str) -> float | None:
    if value is None:
        return None
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not 0 < number <= MAX_TIMEOUT or math.isnan(number):
        _fail(where, "timeout", f"bad timeout {value!r}: expected seconds, 0 to {MAX_TIMEOUT:g}")
    return float(number)


def _encryption(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in _ENCRYPTION_MODES:
        return value
    _fail(where, "encryption", f"bad encryption {value!r}: expected auto, on or off")


def _camera(table: Any, where: str, base: _Fields) -> CameraEntry:
    name = table.get("name") if isinstance(table, dict) else None
    if isinstance(name, str) and _NAME.fullmatch(name):
        where = f"{where} ({name})"
    fields = _Fields.read(table, where, _CAMERA_KEYS)
    if name is None:
        _fail(where, "name", "missing")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        _fail(
            where,
            "name",
            "expected 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        )
    host, port = _host(table.get("host"), where)
    if port is not None and fields.port is not None:
        _fail(where, "port", "given twice (in host and in port)")
    return CameraEntry(
        name=name,
        host=host,
        port=port or fields.port or base.port or DEFAULT_PORT,
        user=fields.user or base.user or "admin",
        password=_first(fields.password, base.password, ""),
        timeout=fields.timeout or base.timeout or DEFAULT_TIMEOUT,
        encryption=fields.encryption or base.encryption or "auto",
        alarm_center_addresses=_alarm_center_addresses(table.get("alarm_center_addresses"), where),
    )


def _alarm_center_addresses(value: Any, where: str) -> tuple[str, ...]:
    """IP addresses and networks, written out the standard way (`10.0.0.0/24`, `fd00::5`)."""
    key = "alarm_center_addresses"
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ALARM_CENTER_ADDRESSES:
        _fail(where, key, f"must be a list of up to {MAX_ALARM_CENTER_ADDRESSES} addresses")
    networks = []
    for item in value:
        try:
            network = ipaddress.ip_network(item, strict=False) if isinstance(item, str) else None
        except ValueError:
            network = None
        if network is None:
            _fail(where, key, f"not an IP address or network: {item!r}")
        networks.append(str(network.network_address if network.num_addresses == 1 else network))
    return tuple(networks)


def _first(*values: str | None) -> str:
    return next(value for value in values if value is not None)


def _host(value: Any, where: str) -> tuple[str, int | None]:
    """The host and the port it carries, if any: `HOST`, `HOST:PORT`, `[IPv6]`,
    `[IPv6]:PORT`, or a bare IPv6 address (more than one colon: no port)."""
    if value is None:
        _fail(where, "host", "missing")
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        _fail(where, "host", "must be a host name or address, with no spaces")
    host, port_text = value, None
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            _fail(where, "host", f"bad host {value!r}: expected [ADDRESS]:PORT")
        port_text = rest[1:] if rest else None
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    if not host:
        _fail(where, "host", f"bad host {value!r}: the name is empty")
    if port_text is None:
        return host, None
    return host, _port(port_text, where, "host")


def _check_unique(source: str, cameras: tuple[CameraEntry, ...]) -> None:
    # Case folded: `Porch.json` and `porch.json` are one file on some file systems.
    first: dict[str, int] = {}
    for number, camera in enumerate(cameras, start=1):
        earlier = first.setdefault(camera.name.casefold(), number)
        if earlier != number:
            _fail(
                f"{source}: camera {number} ({camera.name})",
                "name",
                f"already used by camera {earlier}",
            )


_warned: set[str] = set()


def _warn_if_readable(source: str) -> None:
    if os.name != "posix":
        return  # no group/other mode bits to read
    try:
        mode = os.stat(source).st_mode
    except OSError:
        return
    key = os.path.realpath(source)
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and key not in _warned:
        _warned.add(key)
        _log.warning(
            "%s holds passwords and others may read it (mode %03o): chmod 600 %s, "
            "or use password_env",
            source,
            stat.S_IMODE(mode),
            source,
        )


# ------------------------------------------------------------------------ running a fleet


@dataclass(frozen=True)
class CameraResult(Generic[T]):
    """What one camera of a fleet run did: `value` when `ok`, else `error` (one line;
    "cancelled" for a camera the run was cancelled before it finished)."""

    name: str
    ok: bool
    value: T | None
    error: str | None
    seconds: float


_current_entry: Final[contextvars.ContextVar[CameraEntry]] = contextvars.ContextVar(
    "xmcam_fleet_entry"
)


def current_entry() -> CameraEntry:
    """The inventory entry of the camera that run_fleet()'s action is running for (an action
    that writes a file per camera names it after `current_entry().name`). LookupError outside
    an action."""
    return _current_entry.get()


def describe_error(error: BaseException) -> str:
    """One line for a failure, as the `xmcam` command words it: the device's Ret code and its
    meaning, a timeout, a camera that cannot be reached."""
    if isinstance(error, XMCamError):
        text = str(error)
    elif isinstance(error, TimeoutError):
        text = "no answer in time"
    elif isinstance(error, OSError):
        text = f"cannot reach the camera: {error.strerror or error}"
    else:
        text = str(error)
    return " ".join(text.split()) or type(error).__name__


async def run_fleet(
    inventory: Inventory,
    action: Callable[[AsyncCamera], Awaitable[T]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Callable[[CameraResult[T]], None] | None = None,
) -> list[CameraResult[T]]:
    """Log in to every camera (its own connection, at most `concurrency` at once), run
    `action(camera)` on it (an `AsyncCamera`), log out; one result per camera, in inventory
    order. Failures are results, not exceptions. `progress` is called with each result as it
    comes.

    When the run is cancelled (Ctrl-C), the cameras under way are cancelled and their
    connections closed, `progress` gets a "cancelled" result for each camera not done, and
    the CancelledError goes on."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    run: _Run[T] = _Run(action, asyncio.Semaphore(concurrency), progress)
    try:
        async with asyncio.TaskGroup() as group:
            for index, entry in enumerate(inventory.cameras):
                group.create_task(run.camera(index, entry))
    except asyncio.CancelledError:
        now = time.monotonic()
        for index, entry in enumerate(inventory.cameras):
            if index not in run.results:
                seconds = now - run.started.get(index, now)
                run.record(index, CameraResult(entry.name, False, None, CANCELLED, seconds))
        raise
    return [run.results[index] for index in range(len(inventory.cameras))]


class _Run(Generic[T]):
    """The shared state of one run_fleet() call."""

    def __init__(
        self,
        action: Callable[[AsyncCamera], Awaitable[T]],
        semaphore: asyncio.Semaphore,
        progress: Callable[[CameraResult[T]], None] | None,
    ) -> None:
        self.action = action
        self.semaphore = semaphore
        self.progress = progress
        self.results: dict[int, CameraResult[T]] = {}
        self.started: dict[int, float] = {}
        # One lock per account (host, port, user): entries naming the same account run one
        # after the other, so a refused login is known before the next one would be tried.
        self.accounts: dict[tuple[str, int, str], asyncio.Lock] = {}
        self.refused: dict[tuple[str, int, str], str] = {}

    def record(self, index: int, result: CameraResult[T]) -> None:
        self.results[index] = result
        if result.ok:
            _log.info("%s: ok in %.1f s", result.name, result.seconds)
        else:
            _log.info("%s: %s", result.name, result.error)
        if self.progress is not None:
            self.progress(result)

    async def camera(self, index: int, entry: CameraEntry) -> None:
        _current_entry.set(entry)  # each camera runs in its own task, with its own context
        account = (entry.host.casefold(), entry.port, entry.user)
        lock = self.accounts.setdefault(account, asyncio.Lock())
        async with lock, self.semaphore:
            started = self.started[index] = time.monotonic()
            refused_for = self.refused.get(account)
            if refused_for is not None:
                error = f"not tried: the login as {entry.user} was refused for {refused_for}"
                self.record(index, CameraResult(entry.name, False, None, error, 0.0))
                return
            try:
                value = await self._on(entry)
            except Exception as error:
                if isinstance(error, AuthenticationError):
                    self.refused[account] = entry.name
                seconds = time.monotonic() - started
                failure: CameraResult[T] = CameraResult(
                    entry.name, False, None, describe_error(error), seconds
                )
                self.record(index, failure)
            else:
                seconds = time.monotonic() - started
                self.record(index, CameraResult(entry.name, True, value, None, seconds))

    async def _on(self, entry: CameraEntry) -> T:
        async with connect(
            entry.host,
            entry.port,
            user=entry.user,
            password=entry.password,
            timeout=entry.timeout,
            encryption=entry.encryption,
        ) as camera:
            return await self.action(camera)
