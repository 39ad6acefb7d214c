"""What the caller chooses about a camera, shared by both client shells.

`CameraSettings` holds where the camera is, who logs in and the deadlines: plain values the
caller sets (some tests and tools tune `claim_timeout` and `reboot_poll_interval` afterwards).
It holds no connection, no login reply and no hook: each shell keeps its own state (its `Link`,
locks, queues, the last login) in its own `__init__`. It is a base class rather than a field,
so that `cam.host` or `cam.timeout` read the same on both cameras without a copy of each
property in each shell.
"""

from __future__ import annotations

from typing import Protocol, TypedDict

from xmcam.client.encryption import Encryption, LoginPlan, encryption_mode
from xmcam.protocol.header import DEFAULT_PORT

__all__ = ["DEFAULT_PORT", "CameraOptions", "CameraSettings", "Settings", "split_host_port"]


def split_host_port(text: str, port: int | None = None) -> tuple[str, int]:
    """`HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT` as (host, port), the one reading of an
    address for the library and the CLI; a bare IPv6 address (more than one colon) has no
    port. `port`, when given, is used where `text` names none, and must agree with one it
    names. Raises ValueError when malformed."""
    host, port_text = text, ""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"bad host {text!r}: expected [ADDRESS]:PORT")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    if not host:
        raise ValueError(f"bad host {text!r}: the name is empty")
    if not port_text:
        return host, DEFAULT_PORT if port is None else port
    # isdigit() alone lets through digits int() refuses ("²") or reads oddly ("٣").
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port {port_text!r}: expected 1 to 65535")
    if port is not None and port != int(port_text):
        raise ValueError(f"two ports for {text!r}: {port_text} in the host and port={port}")
    return host, int(port_text)


class CameraOptions(TypedDict, total=False):
    """The keyword options of a camera (`AsyncCamera(host, port, **options)`, `connect()`,
    `Camera(...)`)."""

    user: str
    password: str
    timeout: float
    encryption: str


class CameraSettings:
    """Where a camera is, who logs in, and the deadlines. The password is kept to log in
    again after a reconnect and is never shown: not in the repr, not in any log or exception.

    `timeout` is the deadline of every request and of connecting; `claim_timeout` how long a
    media claim on a second connection may go unanswered before the single-socket flow is
    tried (some cameras never answer it); `reboot_poll_interval` the seconds between logins
    while a camera reboots; `encryption` how it logs in: "auto" (the default: find out from
    the device before a password goes out), "on" (the encrypted FunSDK session of newer
    firmware, or nothing) or "off" (a plain login), xmcam.client.encryption."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        user: str = "admin",
        password: str = "",
        timeout: float = 10.0,
        encryption: str = "auto",
    ) -> None:
        self._plan = LoginPlan(encryption_mode(encryption))
        # "HOST:PORT" as the CLI takes it (port None: the default, or the one in `host`).
        self.host, self.port = split_host_port(host, port)
        self.user = user
        self.timeout = timeout
        self.claim_timeout = 2.0
        self.reboot_poll_interval = 1.0
        self._password = password

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r}, port={self.port}, user={self.user!r})"

    @property
    def encryption(self) -> Encryption:
        """How this camera logs in: auto, on or off."""
        return self._plan.mode


class Settings(Protocol):
    """What code that opens connections to a camera reads of its settings (the media code
    opening a data connection); a `CameraSettings` has them."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def timeout(self) -> float: ...

    @property
    def claim_timeout(self) -> float: ...
