"""One TCP connection to a camera under asyncio: a transport, a core ClientConnection, and
the single outstanding request.

Theory of operation. `Link` is an asyncio BufferedProtocol, so there is no reader task: each
read goes straight into the core, and the core's events are routed as they come. A Reply
completes the waiting request's future; an alarm push goes to the `on_alarm` callback and never
to request matching; a forced logout, EOF or a protocol error ends the link, fails the waiting
request with that error, and calls `on_end` once. Media packets (live video, a snapshot's
JPEG, a download) go to the sink `media_sinks` holds for their message id; a request answered
by such data instead of a reply (a snapshot: the core clears it at EndFlag) completes with
None. A data connection is a Link too: its `connection` joins the control session
(`ClientConnection.for_session`), it sends one claim, and the rest is media. A request that
gets no reply within its deadline (or whose caller is cancelled) leaves the core
DESYNCHRONISED: the link ends there and then, and its owner opens a new one before the next
request.

The transport reads into one buffer per thread, shared by all the links of that thread's event
loop: the core copies whatever it keeps before the loop reads again. A plain Protocol's reads
each allocate a fresh 256 KiB bytes object, which glibc may map and unmap every time: with it,
an alarm pushed to 1,000 watchers took twice the CPU (bench/client_vs_python_dvr.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import Final, TypeVar

from xmcam.client import operations as ops
from xmcam.client import plans
from xmcam.client.encryption import Encryption, LoginPlan
from xmcam.client.models import AlarmEvent
from xmcam.errors import (
    ConnectionClosedError,
    ProtocolError,
    RequestTimeoutError,
    StateError,
    XMCamError,
)
from xmcam.protocol.codes import MessageId, message_name
from xmcam.protocol.connection import (
    ClientConnection,
    ClientState,
    LoginReply,
    MediaPacket,
    NegotiationReply,
    Notification,
    Reply,
)
from xmcam.protocol.framing import Frame

__all__ = ["Link"]

T = TypeVar("T")

_log: Final = logging.getLogger("xmcam.aio")

_CLOSE_WAIT: Final = 1.0  # seconds to let a closing transport finish
_READ_SIZE: Final = 65536  # bytes per read: the shared buffer's size

_thread_buffers: Final = threading.local()


def _read_buffer() -> memoryview:
    """This thread's read buffer. One event loop runs per thread, and it hands the bytes of
    a read to the core (which copies what it keeps) before it reads again."""
    view: memoryview | None = getattr(_thread_buffers, "view", None)
    if view is None:
        view = memoryview(bytearray(_READ_SIZE))
        _thread_buffers.view = view
    return view


class Link(asyncio.BufferedProtocol):
    """A connection to a camera. Make one with `await Link.open(...)`; `call()` and `run()`
    make requests."""

    def __init__(
        self,
        on_alarm: Callable[[AlarmEvent], None],
        on_end: Callable[[Link, XMCamError], None],
        connection: ClientConnection | None = None,
    ) -> None:
        self.connection = connection or ClientConnection()
        self.error: XMCamError | None = None
        self._on_alarm = on_alarm
        self._on_end = on_end
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Reply | None] | None = None
        # Message id -> where its media packets go (none: logged and dropped).
        self.media_sinks: dict[int, Callable[[Frame], None]] = {}
        # Where notifications (upgrade answers and progress) go (none: logged and dropped).
        self.notification_sink: Callable[[Notification], None] | None = None
        self._writable = asyncio.Event()  # cleared while the transport's buffer is full
        self._writable.set()
        self._gone = asyncio.Event()  # the transport has called connection_lost
        self.ended = asyncio.Event()  # the link is unusable (error set)

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        timeout: float,
        on_alarm: Callable[[AlarmEvent], None],
        on_end: Callable[[Link, XMCamError], None],
        *,
        connection: ClientConnection | None = None,
    ) -> Link:
        """Connect within `timeout` seconds; a new client connection unless one is given (a
        data connection joins a session)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, link = await loop.create_connection(
                    lambda: cls(on_alarm, on_end, connection), host, port
                )
        except TimeoutError:
            raise RequestTimeoutError(f"connecting to {host}:{port} timed out") from None
        except OSError as error:
            # asyncio words a refusal "Connect call failed ('10.0.0.5', 34567)": the errno's
            # own text ("Connection refused") says what happened.
            reason = error.strerror or type(error).__name__
            if isinstance(error, ConnectionError) and error.errno:
                reason = os.strerror(error.errno)
            raise ConnectionClosedError(f"cannot connect to {host}:{port}: {reason}") from None
        return link

    @property
    def usable(self) -> bool:
        """Logged in, in step with the device, and nothing outstanding."""
        return (
            self.error is None
            and self.connection.state is ClientState.LOGGED_IN
            and self.connection.pending_request is None
        )

    async def negotiate(self, timeout: float) -> NegotiationReply:
        """The encrypted session's negotiation (nothing secret). RequestTimeoutError ends the
        link: a late answer must meet nothing."""
        reply = await self._exchange(self.connection.negotiate(), timeout)
        assert isinstance(reply, NegotiationReply)  # the core answers a negotiation so
        return reply

    async def login(
        self,
        user: str,
        password: str,
        timeout: float,
        plan: LoginPlan | None = None,
        answer: NegotiationReply | None = None,
    ) -> LoginReply:
        """Log in: one attempt, plain or encrypted as `plan` decides from the negotiation's
        `answer` (plain without a plan). Raises AuthenticationError (or AccountLockedError)
        on refusal, EncryptionRequiredError when a plain login meets firmware that wants the
        encrypted session."""
        plan = plan or LoginPlan(Encryption.OFF)
        wire = plan.login_wire(self.connection, answer, user, password)
        reply = await self._exchange(wire, timeout)
        assert isinstance(reply, LoginReply)  # the core answers a login with a LoginReply
        return plan.finished(reply)

    async def run(self, procedure: ops.Procedure[T], timeout: float) -> T:
        """Drive `procedure` on this link: each call it yields is made in turn, each with its
        deadline, and its result returned. A failure Ret code is raised inside the procedure
        (it may handle it); so is anything else, which also ends the link."""
        return await plans.drive_async(procedure, functools.partial(self.call, timeout=timeout))

    async def call(self, call: ops.Call, timeout: float) -> Reply | None:
        """Send one request; return its reply (None for a call without reply, or one answered
        by media data). Raises the DeviceError of a failure Ret code, RequestTimeoutError,
        ConnectionClosedError."""
        if self.error is not None:
            raise self.error
        wire = self.connection.request(
            call.message_id,
            call.body,
            expect_reply=call.expect_reply,
            answered_by_media=call.answered_by_media,
        )
        if not call.expect_reply:
            self._write(wire)
            return None
        reply = await self._exchange(wire, timeout)
        if reply is not None:
            reply.raise_for_ret()
        return reply

    async def _exchange(self, wire: bytes, timeout: float) -> Reply | None:
        waiter: asyncio.Future[Reply | None] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        pending = self.connection.pending_request
        self._write(wire)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            what = f"no reply to {message_name(pending or 0)} within {timeout:g} s"
            # Desynchronised: a late reply would pass for the next request's answer.
            self.end(ConnectionClosedError(f"connection dropped: {what}"))
            raise RequestTimeoutError(what) from None
        except asyncio.CancelledError:
            self.end(ConnectionClosedError("a request was cancelled before its reply came"))
            raise
        finally:
            self._waiter = None

    def send_audio(self, packet: bytes, *, channel: int = 0) -> None:
        """Send one talk packet (1432, no reply; docs/protocol.md §19). Raises the error the
        link ended with."""
        if self.error is not None:
            raise self.error
        self._write(self.connection.send_data(MessageId.TALK_CU_PU_DATA, packet, channel=channel))

    async def send_data(self, wire: bytes, timeout: float) -> None:
        """Write a packet that has no reply (upgrade data); wait while the transport's buffer
        is full, RequestTimeoutError (the link ends) when it stays full for `timeout`."""
        self._write(wire)
        if self._writable.is_set():
            return
        try:
            async with asyncio.timeout(timeout):
                await self._writable.wait()
        except TimeoutError:
            what = f"the camera took no data for {timeout:g} s"
            self.end(ConnectionClosedError(f"connection dropped: {what}"))
            raise RequestTimeoutError(what) from None
        if self.error is not None:
            raise self.error

    def _write(self, wire: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            raise self.error or ConnectionClosedError("the connection is closed")
        ops.log_sent(self.connection, wire)
        self._transport.write(wire)

    def end(self, error: XMCamError) -> None:
        """End the link with `error` (kept for whoever asks next) and drop the transport."""
        if self.error is not None:
            return
        self.error = error
        if self.connection.state is not ClientState.CLOSED:
            self.connection.request_timed_out()  # refuse further requests
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
            waiter.exception()  # retrieved here: the caller may be gone (cancelled)
        if self._transport is not None:
            self._transport.abort()
        self.ended.set()
        self._on_end(self, error)

    async def close(self, error: XMCamError | None = None) -> None:
        """End the link and wait (briefly) until the transport is really closed."""
        self.end(error or ConnectionClosedError("the connection was closed"))
        if self._transport is not None:
            try:
                async with asyncio.timeout(_CLOSE_WAIT):
                    await self._gone.wait()
            except TimeoutError:  # pragma: no cover - abort() closes at the next loop turn
                _log.warning("a transport took more than %s s to close", _CLOSE_WAIT)

    def pause_reading(self) -> None:
        """Read nothing until `resume_reading()`: a data consumer has fallen behind, and the
        device's sending backs up in TCP instead of in memory."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    # ---------------------------------------------------------------- asyncio.BufferedProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def get_buffer(self, sizehint: int) -> memoryview:
        return _read_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        with _read_buffer()[:nbytes] as data:
            self.data_received(data)

    def data_received(self, data: bytes | memoryview) -> None:
        """Bytes from the device, into the core; its events are routed at once."""
        try:
            events = self.connection.receive_data(data)
        except ProtocolError as error:
            self.end(error)
            return
        for event in events:
            if type(event) is MediaPacket:
                sink = self.media_sinks.get(event.frame.header.message_id)
                if sink is not None:
                    sink(event.frame)
                    continue
            elif type(event) is Notification and self.notification_sink is not None:
                self.notification_sink(event)
                continue
            routed = ops.route(event)
            if isinstance(routed, Reply):
                waiter = self._waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(routed)
            elif isinstance(routed, AlarmEvent):
                self._on_alarm(routed)
            elif isinstance(routed, XMCamError):
                self.end(routed)
        if self.connection.state is ClientState.CLOSED and self.error is None:
            self.end(_deferred_error(self.connection))
        waiter = self._waiter
        if waiter is not None and not waiter.done() and self.connection.pending_request is None:
            waiter.set_result(None)  # answered by media data (a snapshot's last packet)

    def eof_received(self) -> bool:
        self.end(ConnectionClosedError("the camera closed the connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.end(ConnectionClosedError("the connection was lost"))
        self.connection.connection_lost()
        self._writable.set()  # a writer waiting for room finds the link ended
        self._gone.set()


def _deferred_error(connection: ClientConnection) -> XMCamError:
    """The protocol error the core holds back after returning the good frames' events."""
    try:
        connection.receive_data(b"")
    except ProtocolError as error:
        return error
    return StateError("the connection closed itself")  # pragma: no cover - core invariant
