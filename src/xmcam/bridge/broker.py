"""Where the MQTT broker is: `mqtt://[USER[:PASSWORD]@]HOST[:PORT]`.

The password is kept for logging in and shown nowhere else: not in the repr, not in an
error, not in a log line (`BrokerAddress.display` is the URL without it). A password may
also come from the environment (`XMCAM_MQTT_PASSWORD`), which `ps` does not show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote, urlsplit

__all__ = ["DEFAULT_MQTT_PORT", "PASSWORD_ENVIRONMENT", "BrokerAddress", "parse_broker_url"]

DEFAULT_MQTT_PORT: Final = 1883
PASSWORD_ENVIRONMENT: Final = "XMCAM_MQTT_PASSWORD"  # noqa: S105  (a variable name)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int = DEFAULT_MQTT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """The URL for people: the user name shows, the password never does."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.username}@" if self.username else ""
        return f"mqtt://{user}{host}:{self.port}"


def parse_broker_url(
    text: str, *, environment: dict[str, str] | os._Environ[str] | None = None
) -> BrokerAddress:
    """The broker a `mqtt://` URL names; ValueError (never quoting the password) when
    malformed. Without a password in the URL, XMCAM_MQTT_PASSWORD is used when set."""
    if not text.startswith("mqtt://"):
        raise ValueError("the broker is given as mqtt://[USER[:PASSWORD]@]HOST[:PORT]")
    parts = urlsplit(text)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"the broker URL has nothing after HOST[:PORT]: {_safe(text)}")
    host = parts.hostname
    if not host:
        raise ValueError(f"the broker URL names no host: {_safe(text)}")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(f"bad port in the broker URL (1 to 65535): {_safe(text)}")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is None and username is not None:
        password = (environment if environment is not None else os.environ).get(
            PASSWORD_ENVIRONMENT
        )
    return BrokerAddress(host, port or DEFAULT_MQTT_PORT, username, password)


def _safe(text: str) -> str:
    """The URL with whatever sits between `://` and `@` cut out (it may hold a password)."""
    scheme, _, rest = text.partition("://")
    _, at, location = rest.rpartition("@")
    return f"{scheme}://{'***@' if at else ''}{location}"
