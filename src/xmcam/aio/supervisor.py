"""`watch()`: alarm events from a camera for as long as you like, across network trouble.

Theory of operation. The supervisor holds one AsyncCamera. It connects, subscribes to
alarms and yields them. When the connection ends (EOF, a dead keepalive, a reset, a refused
reconnect), it yields ConnectionEvent("disconnected", error) once, then tries again after
a delay drawn with *full jitter*: uniform in [0, min(maximum, initial * factor**attempt)],
so a fleet of watchers that lost the same switch does not reconnect in lockstep. Once
logged in and subscribed again it yields ConnectionEvent("reconnected"): the gap is
reported, never hidden. The delay starts over only once a connection has lasted `settle`
seconds: a camera that drops every session right after the guard (or two watchers kicking
each other off a single-session camera) is retried ever more slowly, not twice a second.
An authentication failure (wrong password, locked account) is raised at once and never
retried: every retry would count towards the camera's lockout (docs/protocol.md §F2.3).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass

from xmcam.aio.camera import DEFAULT_PORT, AsyncCamera
from xmcam.client.models import AlarmEvent, ConnectionEvent
from xmcam.errors import ProtocolError, TransportError

__all__ = ["Backoff", "watch"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: exponential, capped, with full jitter."""

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    settle: float = 30.0
    """Seconds a connection must last before the next gap starts from `initial` again."""

    def delay(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        """Seconds to wait before reconnect attempt `attempt` (0 for the first)."""
        ceiling = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return draw() * ceiling


async def watch(
    host: str,
    port: int = DEFAULT_PORT,
    *,
    user: str = "admin",
    password: str = "",
    timeout: float = 10.0,
    encryption: str = "auto",
    backoff: Backoff | None = None,
    draw: Callable[[], float] = random.random,
    on_connect: Callable[[AsyncCamera], Awaitable[None]] | None = None,
) -> AsyncGenerator[AlarmEvent | ConnectionEvent, None]:
    """Alarm events from the camera, with ConnectionEvents for every gap, until the caller
    stops (use `contextlib.aclosing()` to stop promptly). Raises AuthenticationError (and
    AccountLockedError) at once, after exactly one login attempt.

        async with contextlib.aclosing(xmcam.watch("192.168.1.10")) as events:
            async for event in events:
                print(event)

    `on_connect`, when given, is awaited with the camera after every login and
    subscription, the first one included, before alarms are read: the place to read state
    the alarms then update (WorkState, since pushes carry no current state) and to keep the
    camera for other requests on the same session. A TransportError or ProtocolError it
    raises counts as a lost connection.
    """
    delays = backoff or Backoff()
    camera = AsyncCamera(
        host, port, user=user, password=password, timeout=timeout, encryption=encryption
    )
    clock = asyncio.get_running_loop().time
    attempt = 0
    failed = False
    try:
        while True:
            connected_at: float | None = None
            try:
                await camera.open()  # logs in; subscribes again if it was subscribed
                if not camera.subscribed:
                    await camera.subscribe()
                connected_at = clock()
                if on_connect is not None:
                    await on_connect(camera)
                if failed:
                    yield ConnectionEvent("reconnected")
                failed = False
                async for event in camera.subscribed_alarms():
                    yield event
            except (TransportError, ProtocolError) as error:
                if not failed:
                    yield ConnectionEvent("disconnected", error)
                failed = True
            if connected_at is not None and clock() - connected_at >= delays.settle:
                attempt = 0
            await asyncio.sleep(delays.delay(attempt, draw))
            attempt += 1
    finally:
        await camera.close()
