"""What a request handler sees of the device: a small context, not the connection.

The connection (`device.py`) builds a `RequestContext` for each request that passed the session
checks and hands it to the handler (`commands.py`, `media_commands.py`). The handler reads and
changes the device through it (its state, profile and quirks, its media sessions, its alarms)
and asks for what only the connection or its shell can do (close, reboot, log out, guard)
by appending an `Effect`. It returns the reply body; the connection encodes it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from xmcam.sim.media_sessions import MediaSessions
from xmcam.sim.profile import Profile, Quirks
from xmcam.sim.state import DeviceState

__all__ = ["DeviceServices", "Effect", "RequestContext"]


class Effect(enum.Enum):
    """What a request asks of its connection or shell besides the reply."""

    CLOSE = "close"  # after writing the replies, close this connection (the shell)
    REBOOT = "reboot"  # after writing the replies, drop every connection and restart (the shell)
    LOGOUT = "logout"  # after building the reply, end the session (the connection stays)
    GUARD = "guard"  # this session gets alarm pushes from now on
    UNGUARD = "unguard"  # ... and no more
    UPGRADE = "upgrade"  # an image's end mark came: report its progress, then reboot (the shell)


class DeviceServices(Protocol):
    """The device-wide services a handler may use beyond the state (`SimulatedDevice` is
    one)."""

    def alarm(self, channel: int, event: str, status: str) -> int:
        """Raise (`Start`) or end (`Stop`) an alarm; how many sessions it is pushed to."""
        ...

    def motion_mask(self, event: str) -> int:
        """One bit per channel where `event` is active."""
        ...

    def uptime_minutes(self) -> int: ...


@dataclass(slots=True)
class RequestContext:
    """One request's view of the device."""

    state: DeviceState
    profile: Profile
    device: DeviceServices
    media: MediaSessions
    user: str | None
    """The account logged in on the connection (None on a connection that has not)."""
    connection: int
    """The connection's number: claims are kept by it."""
    session: int
    """The session the request acts for: the connection's own, or on a second connection
    the session its claim names."""
    effects: list[Effect] = field(default_factory=list)
    """Filled by the handler; the connection applies them after the reply is built."""

    @property
    def quirks(self) -> Quirks:
        return self.profile.quirks
