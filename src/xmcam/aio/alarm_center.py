"""The alarm center under asyncio: a TCP server that receives the alarms cameras push to it
(docs/protocol.md §9.4; the wire format is described in `xmcam.protocol.alarm_center`).

Theory of operation. Each accepted connection gets a protocol object holding one core
FrameDecoder with the alarm center's small limits: a length over 64 KiB or a bad head byte is
refused as soon as the header shows it, before its data is buffered. Each whole packet is
read into an AlarmCenterMessage and queued; one worker task hands the queue to the
`on_message` callback in arrival order (or `messages()` yields it), so a slow callback never
stalls reading. Whatever a peer does, only its own connection suffers:

- garbage, an oversized length, a body that is not an alarm, or a packet cut off by EOF:
  counted in `stats.rejected`, the connection closed (a bad body in a good packet is skipped);
- a peer that sends nothing: closed `first_byte_timeout` seconds (2) after it opened or after
  its last message. A camera sends its message as soon as it is connected, so an idle
  connection is someone holding a place;
- a peer that trickles bytes (slowloris): closed when a whole message has not arrived
  `read_timeout` seconds (10) after the connection opened or after its last message;
- a newcomer while `max_connections_per_address` (32) are open from its address, or
  `max_connections` (256) in all: it is accepted, and the connection that has waited longest
  for a message (since it opened or since its last message) is closed for it
  (`stats.evicted`): the oldest idle one under a flood of idle sockets, the oldest
  half-message under a flood of messages that never end. From its own address, a host only
  ever pushes out its own connections; and a camera's push, which arrives whole a moment
  after it connects, is never the one that has waited longest.
  Holding places (the attack that silenced 24 alarms in 25 with 300 idle sockets) is then
  no use: every genuine push gets in and is delivered;
- more than `queue_size` messages waiting for a slow consumer: the oldest is dropped
  (`stats.dropped`, and a warning), so memory stays bounded.

Nothing is ever written back: no known receiver answers, and devices do not wait for it.

The server listens on every interface by default ("0.0.0.0"): cameras push to the address
of this host on their LAN, which is not known in advance (several interfaces, DHCP,
containers). Pass the LAN address as `host` to listen there only. Whoever can reach the
port can push; a push names a camera by serial number, which anyone on the LAN can learn
(discovery gives it), so whoever attributes pushes to cameras must check where they came
from (`message.source`), as the MQTT bridge does.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final

from xmcam.errors import ProtocolError, StateError
from xmcam.protocol.alarm_center import (
    ALARM_CENTER_LIMITS,
    ALARM_CENTER_PORT,
    AlarmCenterMessage,
    parse_alarm_center_message,
)
from xmcam.protocol.codes import MessageId
from xmcam.protocol.framing import FrameDecoder

__all__ = ["AlarmCenterServer", "AlarmCenterStats", "MessageCallback"]

_log: Final = logging.getLogger("xmcam.protocol.alarm_center")

MessageCallback = Callable[[AlarmCenterMessage], Awaitable[None] | None]
"""What `on_message` may be: a plain function, or a coroutine function (awaited in turn)."""

DEFAULT_READ_TIMEOUT: Final = 10.0
DEFAULT_FIRST_BYTE_TIMEOUT: Final = 2.0
DEFAULT_MAX_CONNECTIONS: Final = 256
DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: Final = 32
DEFAULT_QUEUE_SIZE: Final = 4096
_EVICTION_WARNING_EVERY: Final = 1000
_BACKLOG: Final = 1024


@dataclass
class AlarmCenterStats:
    """Counters since the server started."""

    connections: int = 0
    """Connections accepted."""
    messages: int = 0
    """Messages read whole and queued."""
    rejected: int = 0
    """Garbage, oversized or truncated packets, and bodies that are no alarm-center message."""
    timed_out: int = 0
    """Connections closed because no byte (`first_byte_timeout`) or no whole message
    (`read_timeout`) arrived in time."""
    evicted: int = 0
    """Connections closed to make room for a newer one, at either connection cap."""
    dropped: int = 0
    """Messages dropped, oldest first, because the consumer fell `queue_size` behind."""
    callback_errors: int = 0
    """Exceptions raised by `on_message` (logged, never fatal)."""


class _Peer(asyncio.Protocol):
    """One connection from a device."""

    def __init__(self, server: AlarmCenterServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._decoder = FrameDecoder(ALARM_CENTER_LIMITS, media_message_ids=())
        self._timer: asyncio.TimerHandle | None = None
        self.address = "?"
        self.waiting_since = 0.0
        """The loop time it opened or delivered its last message: when its wait began."""

    @property
    def idle(self) -> bool:
        """No byte of a message has come since it opened or since its last message."""
        return self._decoder.buffered == 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        self._server.admit(self)
        self._wait_for_next_message()

    def _wait_for_next_message(self) -> None:
        self.waiting_since = asyncio.get_running_loop().time()
        self._arm_timer()

    def _arm_timer(self) -> None:
        """The deadline of the current wait: the first byte soon, the whole message later."""
        if self._timer is not None:
            self._timer.cancel()
        server = self._server
        limit = min(server.first_byte_timeout, server.read_timeout) if self.idle else None
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(
            self.waiting_since + (limit or server.read_timeout), self._timed_out
        )

    def _timed_out(self) -> None:
        self._timer = None
        self._server.stats.timed_out += 1
        what = "no byte" if self.idle else "no whole message"
        _log.debug("closed %s: %s in time", self.address, what)
        self.abort()

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        was_idle = self.idle
        try:
            frames = self._decoder.feed(data)
        except ProtocolError as error:
            self._reject(error)
            return
        if was_idle and not frames and not self.idle:
            self._arm_timer()  # its first bytes: now the whole message has read_timeout
        for frame in frames:
            if frame.message_id != MessageId.ALARMCENTER_MSG:
                # Receivers in the wild never check the id; neither do we, but say so.
                _log.debug("message id %d from %s read as an alarm", frame.message_id, self.address)
            try:
                message = parse_alarm_center_message(frame.payload, source=self.address)
            except ProtocolError as error:
                self._server.stats.rejected += 1
                _log.debug("skipped a message from %s: %s", self.address, error)
                continue
            self._server.deliver(message)
        if frames:
            self._wait_for_next_message()
        if self._decoder.failure is not None:  # good frames first, then the garbage after them
            self._reject(self._decoder.failure)

    def eof_received(self) -> bool:
        try:
            self._decoder.eof()
        except ProtocolError as error:
            self._reject(error)
        return False  # close our side too

    def _reject(self, error: ProtocolError) -> None:
        self._server.stats.rejected += 1
        _log.debug("closed %s: %s", self.address, error)
        self.abort()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._server.forget(self)


class AlarmCenterServer:
    """Listens for alarm-center pushes from cameras.

    >>> async def show(message: AlarmCenterMessage) -> None:       # doctest: +SKIP
    ...     print(message.serial, message.channel, message.event, message.status)
    >>> async with AlarmCenterServer("0.0.0.0", 15002, on_message=show) as server:  # doctest: +SKIP
    ...     await asyncio.Event().wait()

    Without `on_message`, read the messages with `async for message in server.messages()`.
    `port` is the bound port after `start()` (pass 0 for a free one).
    """

    def __init__(
        self,
        host: str = "0.0.0.0",  # noqa: S104  (devices push from the LAN)
        port: int = ALARM_CENTER_PORT,
        *,
        on_message: MessageCallback | None = None,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        first_byte_timeout: float = DEFAULT_FIRST_BYTE_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_connections_per_address: int = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        if min(read_timeout, first_byte_timeout) <= 0 or queue_size < 1:
            raise ValueError("the timeouts and queue_size must be positive")
        if min(max_connections, max_connections_per_address) < 1:
            raise ValueError("max_connections and max_connections_per_address must be positive")
        self.host = host
        self.port = port
        self.on_message = on_message
        self.read_timeout = read_timeout
        self.first_byte_timeout = first_byte_timeout
        self.max_connections = max_connections
        self.max_connections_per_address = min(max_connections_per_address, max_connections)
        self.queue_size = queue_size
        self.stats = AlarmCenterStats()
        self.peers: set[_Peer] = set()
        self._by_address: dict[str, set[_Peer]] = {}
        self._server: asyncio.Server | None = None
        self._queue: asyncio.Queue[AlarmCenterMessage | None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._iterating = False

    @property
    def serving(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Listen. Raises OSError when the address cannot be bound."""
        if self._server is not None:
            raise StateError("the alarm center is running already")
        loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        # A deep accept queue: under a flood of connections, a camera's is still taken in
        # (and its place made by the caps) rather than left to the kernel's SYN retries.
        self._server = await loop.create_server(
            lambda: _Peer(self), self.host, self.port, reuse_address=True, backlog=_BACKLOG
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self.on_message is not None:
            self._worker = loop.create_task(self._run_callback(self.on_message))
        _log.info("alarm center listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening, close every connection, and end `messages()` after the messages
        already queued."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for peer in list(self.peers):
            peer.abort()
        await server.wait_closed()
        self._enqueue(None)  # the end mark for messages() and the worker
        worker, self._worker = self._worker, None
        if worker is not None:
            # The messages already queued still reach the callback, unless it hangs.
            await asyncio.wait({worker}, timeout=self.read_timeout)
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def __aenter__(self) -> AlarmCenterServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ connections

    def admit(self, peer: _Peer) -> None:
        """Take in a new connection (called by it). At a cap, the connection that has waited
        longest for a message makes room: from the newcomer's address when that address is
        at its cap, else from any."""
        same_address = self._by_address.get(peer.address, set())
        if len(same_address) >= self.max_connections_per_address:
            self._evict(same_address, f"{len(same_address)} connections from {peer.address}")
        elif len(self.peers) >= self.max_connections:
            self._evict(self.peers, f"{len(self.peers)} connections")
        self.stats.connections += 1
        self.peers.add(peer)
        self._by_address.setdefault(peer.address, set()).add(peer)

    def forget(self, peer: _Peer) -> None:
        """A connection has closed (called by it)."""
        self.peers.discard(peer)
        same_address = self._by_address.get(peer.address)
        if same_address is not None:
            same_address.discard(peer)
            if not same_address:
                del self._by_address[peer.address]

    def _evict(self, candidates: set[_Peer], why: str) -> None:
        # The longest wait: under a flood of idle sockets the oldest idle one, under a flood
        # of messages that never end the oldest of those; a camera's push, which is whole a
        # moment after it connects, is the newest. (Idle ones first would pick the camera's,
        # idle for that moment, over old half-messages.)
        victim = min(candidates, key=lambda peer: peer.waiting_since)
        self.stats.evicted += 1
        if self.stats.evicted % _EVICTION_WARNING_EVERY == 1:
            _log.warning(
                "%s open: closed the one from %s that waited longest, for a newer one "
                "(%d closed so far; a flood of connections?)",
                why,
                victim.address,
                self.stats.evicted,
            )
        else:
            _log.debug("%s open: closed one from %s for a newer one", why, victim.address)
        self.forget(victim)  # at once: its connection_lost comes later
        victim.abort()

    # ------------------------------------------------------------------ delivery

    def deliver(self, message: AlarmCenterMessage) -> None:
        """Queue a message for the consumer (called by the connections)."""
        self.stats.messages += 1
        _log.debug(
            "alarm from %s: serial %s channel %s %s %s",
            message.source,
            message.serial,
            message.channel,
            message.event,
            message.status,
        )
        self._enqueue(message)

    def _enqueue(self, item: AlarmCenterMessage | None) -> None:
        # The queue itself is unbounded so that the end mark (None) always fits; messages
        # are held to queue_size here.
        queue = self._queue
        if queue is None:
            return
        if item is not None and queue.qsize() >= self.queue_size:
            queue.get_nowait()
            self.stats.dropped += 1
            _log.warning("alarm center consumer %d messages behind: dropped one", queue.qsize())
        queue.put_nowait(item)

    async def _run_callback(self, callback: MessageCallback) -> None:
        assert self._queue is not None
        queue = self._queue
        while (message := await queue.get()) is not None:
            try:
                result = callback(message)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self.stats.callback_errors += 1
                _log.exception("the alarm center's on_message callback failed")

    async def messages(self) -> AsyncIterator[AlarmCenterMessage]:
        """Each message as it arrives, until the server stops. Only without `on_message`,
        and for one reader at a time."""
        if self.on_message is not None:
            raise StateError("messages() is for a server without on_message")
        if self._queue is None:
            raise StateError("start the alarm center before reading its messages")
        if self._iterating:
            raise StateError("messages() has a reader already")
        self._iterating = True
        queue = self._queue
        try:
            while (message := await queue.get()) is not None:
                yield message
        finally:
            self._iterating = False
