"""The alarm center under asyncio: a TCP server that receives the alarms cameras push to it
(PROTOCOL.md §9.4; the wire format is described in `xmcam.protocol.alarm_center`).

Theory of operation. Each accepted connection gets a protocol object holding one core
FrameDecoder with the alarm center's small limits: a length over 64 KiB or a bad head byte is
refused as soon as the header shows it, before its data is buffered. Each whole packet is
read into an AlarmCenterMessage and queued; one worker task hands the queue to the
`on_message` callback in arrival order (or `messages()` yields it), so a slow callback never
stalls reading. Whatever a peer does, only its own connection suffers:

- garbage, an oversized length, a body that is not an alarm, or a packet cut off by EOF:
  counted in `stats.rejected`, the connection closed (a bad body in a good packet is skipped);
- a peer that sends nothing, or trickles bytes (slowloris): closed when a whole message has
  not arrived `read_timeout` seconds after the connection opened or after its last message;
- more than `max_connections` open at once: the newcomer is closed at once (`stats.refused`);
- more than `queue_size` messages waiting for a slow consumer: the oldest is dropped
  (`stats.dropped`, and a warning), so memory stays bounded.

Nothing is ever written back: no known receiver answers, and devices do not wait for it.
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
DEFAULT_MAX_CONNECTIONS: Final = 256
DEFAULT_QUEUE_SIZE: Final = 4096


@dataclass
class AlarmCenterStats:
    """Counters since the server started."""

    connections: int = 0
    """Connections accepted (refused ones not included)."""
    messages: int = 0
    """Messages read whole and queued."""
    rejected: int = 0
    """Garbage, oversized or truncated packets, and bodies that are no alarm-center message."""
    timed_out: int = 0
    """Connections closed because a whole message did not arrive in time."""
    refused: int = 0
    """Connections closed at once because `max_connections` were open."""
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

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        server = self._server
        if len(server.peers) >= server.max_connections:
            server.stats.refused += 1
            _log.warning("refused %s: %d connections open already", self.address, len(server.peers))
            transport.abort()
            return
        server.stats.connections += 1
        server.peers.add(self)
        self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._server.read_timeout, self._timed_out)

    def _timed_out(self) -> None:
        self._timer = None
        self._server.stats.timed_out += 1
        _log.debug("closed %s: no whole message in %.1f s", self.address, self._server.read_timeout)
        self.abort()

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        try:
            frames = self._decoder.feed(data)
        except ProtocolError as error:
            self._reject(error)
            return
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
            self._arm_timer()
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
        self._server.peers.discard(self)


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
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        if read_timeout <= 0 or max_connections < 1 or queue_size < 1:
            raise ValueError("read_timeout, max_connections and queue_size must be positive")
        self.host = host
        self.port = port
        self.on_message = on_message
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.queue_size = queue_size
        self.stats = AlarmCenterStats()
        self.peers: set[_Peer] = set()
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
        self._server = await loop.create_server(
            lambda: _Peer(self), self.host, self.port, reuse_address=True
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
