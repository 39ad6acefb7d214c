"""The bridge's outgoing messages while they wait for the broker.

Theory of operation. Everything the cameras cause (alarm events, motion edges, availability
changes) goes into one FIFO, in the order it happened, and a single publisher takes it out
one message at a time. A message leaves the outbox for good only once the broker has
acknowledged it (QoS 1): when the connection dies in between, the publisher puts it back at
the head, so a broker outage loses nothing and reorders nothing (a message may arrive twice,
as QoS 1 allows). The publisher keeps up to `window` messages in flight
(`deliver()`): one acknowledgement round trip per message would cap a bridge at a few
thousand messages a second, and MQTT keeps the order of one connection's messages anyway.
The outbox is bounded: past `limit` the oldest message is dropped, counted
(`dropped`) and logged once per outage, since a camera that floods the bridge while the
broker is away must not exhaust its memory; the newest state of every topic survives that
way, as it is always the last message for its topic.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_OUTBOX_LIMIT", "DEFAULT_WINDOW", "Message", "Outbox", "deliver"]

DEFAULT_OUTBOX_LIMIT: Final = 10_000
DEFAULT_WINDOW: Final = 16
"""Messages in flight at once (paho-mqtt's own default allows 20)."""

_log: Final = logging.getLogger("xmcam.bridge")


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message to publish."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 1


class Outbox:
    """A bounded FIFO of messages for the broker that drops its oldest when full."""

    def __init__(self, limit: int = DEFAULT_OUTBOX_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"the outbox holds at least one message, not {limit}")
        self.limit = limit
        self.dropped = 0
        """Messages dropped because the outbox was full, since the start."""
        self._messages: deque[Message] = deque()
        self._ready = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._taken = 0
        self._dropping = False

    def __len__(self) -> int:
        """Messages waiting (not those in flight)."""
        return len(self._messages)

    @property
    def in_flight(self) -> int:
        """Messages taken and neither delivered nor put back yet."""
        return self._taken

    def put(self, message: Message) -> None:
        if len(self._messages) >= self.limit:
            self._messages.popleft()
            self.dropped += 1
            if not self._dropping:
                self._dropping = True
                _log.warning(
                    "the broker is behind: dropping the oldest messages (outbox full at %d)",
                    self.limit,
                )
        self._messages.append(message)
        self._ready.set()
        self._empty.clear()

    def put_back(self, message: Message) -> None:
        """Return a message taken but not delivered to the head, ahead of everything."""
        self._taken -= 1
        self._messages.appendleft(message)
        self._ready.set()
        self._empty.clear()

    async def take(self) -> Message:
        """The oldest message, once there is one; it is the caller's until put back."""
        while not self._messages:
            self._ready.clear()
            await self._ready.wait()
        message = self._messages.popleft()
        self._taken += 1
        if not self._messages and self._dropping:
            self._dropping = False
            _log.warning("the broker caught up; %d message(s) dropped so far", self.dropped)
        return message

    def delivered(self) -> None:
        """Say a message taken reached the broker (for `drained()`)."""
        self._taken -= 1
        if not self._messages and not self._taken:
            self._empty.set()

    async def drained(self) -> None:
        """Wait until every message put so far has been taken and delivered."""
        await self._empty.wait()

    def topics(self) -> set[str]:
        """The topics with a message waiting."""
        return {message.topic for message in self._messages}


async def deliver(
    outbox: Outbox,
    publish: Callable[[Message], Awaitable[None]],
    failed: asyncio.Future[None],
    *,
    window: int = DEFAULT_WINDOW,
) -> None:
    """Publish the outbox's messages, in order, up to `window` at a time, until cancelled.

    `publish` is started in the outbox's order (it must send before its first await) and
    returns once the broker acknowledged. A message counts as delivered once it and every
    message before it were acknowledged. The first failure is set on `failed` (for the
    caller, who then cancels this); on the way out every message not acknowledged goes back
    to the head of the outbox, in its order."""
    in_flight: deque[tuple[Message, asyncio.Task[None]]] = deque()
    slots = asyncio.Semaphore(window)

    def finished(task: asyncio.Task[None]) -> None:
        slots.release()
        if not task.cancelled() and (error := task.exception()) is not None:
            if not failed.done():
                failed.set_exception(error)
            return
        while in_flight and _acknowledged(in_flight[0][1]):
            in_flight.popleft()
            outbox.delivered()

    try:
        while True:
            await slots.acquire()
            message = await outbox.take()
            task = asyncio.ensure_future(publish(message))
            in_flight.append((message, task))
            task.add_done_callback(finished)
    finally:
        tasks = [task for _, task in in_flight]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for message, task in reversed(in_flight):
            if _acknowledged(task):
                outbox.delivered()
            else:
                outbox.put_back(message)


def _acknowledged(task: asyncio.Task[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None
