"""One TCP connection to a camera, blocking: a socket, a core ClientConnection, the sinks of
its media packets, and one request at a time.

Theory of operation. The socket is non-blocking, and the link waits itself, in `poll()`, with
the request's deadline: a request is one `send`, then `poll` + `recv` until its reply has
come (a socket with a timeout would poll before every send and every receive as well). Each
read goes into the core, and the core's events are routed here, once for every connection of
the blocking client: a Reply answers the request; a media packet goes to the sink
`media_sinks` holds for its message id (a single-socket live stream, a snapshot's JPEG, a
download), also while a reply is awaited; an alarm is logged and dropped (this client does
not subscribe); a forced logout ends the link. A request answered by media data instead of a
reply (a snapshot: the core clears it at EndFlag) completes with None.

Every failure of the socket is mapped here too, the same on the control connection and on a
data connection: no reply within the deadline is a RequestTimeoutError, a refused or failed
socket and the peer's EOF a ConnectionClosedError, bad bytes the core's ProtocolError. Any of
them, and anything else that interrupts a request (Ctrl-C), leaves the core out of step with
the device: the link closes itself, keeps the error, and never carries another request. A data
connection is a Link too: its `connection` joins the control session
(`ClientConnection.for_session`), it sends one claim, and the rest is media.
"""

from __future__ import annotations

import logging
import select
import socket
import time
from collections.abc import Callable
from logging import INFO
from typing import Final, TypeVar

from xmcam.client import operations as ops
from xmcam.client.encryption import Encryption, LoginPlan
from xmcam.client.models import AlarmEvent
from xmcam.errors import (
    ConnectionClosedError,
    DeviceError,
    ProtocolError,
    RequestTimeoutError,
    StateError,
    XMCamError,
)
from xmcam.protocol.codes import MessageId, message_name
from xmcam.protocol.connection import (
    ClientConnection,
    ClientEvent,
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

_log: Final = logging.getLogger("xmcam.sync")
_wire_log: Final = ops.wire_log

_READ_SIZE: Final = 65536
_IDLE_READS: Final = 64  # reads of what arrived while idle, at most (4 MiB)
_SEND_WAIT: Final = 5.0  # seconds a talk packet may wait for room in the send buffer
_READABLE: Final = select.POLLIN | select.POLLPRI
_monotonic: Final = time.monotonic


class Link:
    """A connection to a camera. Make one with `Link.open(...)`; `call()` and `run()` make
    requests, `read()` and `read_ready()` read what comes without one."""

    def __init__(
        self,
        sock: socket.socket,
        connection: ClientConnection,
        name: str = "connection",
        *,
        clock: Callable[[], float] = _monotonic,
    ) -> None:
        sock.setblocking(False)
        self.connection = connection
        self.clock = clock
        """The clock the session is timed by (`last_reply`, `ready()`); deadlines of reads
        stay in real seconds."""
        self.name = name
        """What the link is, in messages: "connection" or "data connection"."""
        self.error: XMCamError | None = None
        """Why the link ended, once it has."""
        self.last_reply = clock()
        """When the last reply came (on `clock`): keepalives are due from it."""
        # Message id -> where its media packets go (none: logged and dropped).
        self.media_sinks: dict[int, Callable[[Frame], None]] = {}
        # Where notifications (upgrade answers and progress) go (none: logged and dropped).
        self.notification_sink: Callable[[Notification], None] | None = None
        self._socket: socket.socket | None = sock
        self._fileno = sock.fileno()
        self._poll = select.poll()
        self._poll.register(sock, _READABLE)

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        timeout: float,
        connection: ClientConnection | None = None,
        *,
        name: str = "connection",
        clock: Callable[[], float] = _monotonic,
    ) -> Link:
        """Connect within `timeout` seconds; a new client connection unless one is given (a
        data connection joins a session)."""
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError:
            raise RequestTimeoutError(f"connecting to {host}:{port} timed out") from None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise ConnectionClosedError(f"cannot connect to {host}:{port}: {reason}") from None
        return cls(sock, connection or ClientConnection(), name, clock=clock)

    def __repr__(self) -> str:
        state = "ended" if self.error is not None else self.connection.state.name.lower()
        return f"<Link {self.name} fd={self._fileno} {state}>"

    def fileno(self) -> int:
        """The socket's file descriptor (for `poll()`), kept after the link ended."""
        return self._fileno

    @property
    def logged_in(self) -> bool:
        """Open, logged in, and in step with the device."""
        return self.error is None and self.connection.state is ClientState.LOGGED_IN

    # ---------------------------------------------------------------- requests

    def negotiate(self, timeout: float) -> NegotiationReply:
        """The encrypted session's negotiation (nothing secret). RequestTimeoutError ends the
        link: a late answer must meet nothing."""
        reply = self._exchange(self.connection.negotiate(), timeout)
        assert isinstance(reply, NegotiationReply)  # the core answers a negotiation so
        return reply

    def login(
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
        reply = self._exchange(plan.login_wire(self.connection, answer, user, password), timeout)
        assert isinstance(reply, LoginReply)  # the core answers a login with a LoginReply
        return plan.finished(reply)

    def run(self, procedure: ops.Procedure[T], timeout: float) -> T:
        """Drive `procedure` on this link: each call it yields is made in turn, each with its
        deadline, and its result returned. A failure Ret code is raised inside the procedure
        (it may handle it); anything else ends the link and leaves the procedure there."""
        # Written out rather than through `plans.drive`: this is every request's path, and the
        # general driver costs 0.8 µs more per request (bench/client_vs_python_dvr.py).
        try:
            step = procedure.send(None)
            while True:
                try:
                    reply = self.call(step, timeout)
                except DeviceError as error:
                    step = procedure.throw(error)
                else:
                    step = procedure.send(reply)
        except StopIteration as stop:
            result: T = stop.value
            return result

    def call(self, call: ops.Call, timeout: float) -> Reply | None:
        """Make one call; its reply (None for a call without reply, or one answered by media
        data). Raises the DeviceError of a failure Ret code (the link goes on),
        RequestTimeoutError, ConnectionClosedError or ProtocolError (the link has ended)."""
        if self._socket is None:
            raise self.error or ConnectionClosedError(f"the {self.name} is closed")
        wire = self.connection.request(
            call.message_id,
            call.body,
            expect_reply=call.expect_reply,
            answered_by_media=call.answered_by_media,
        )
        reply = self._exchange(wire, timeout, call.expect_reply)
        if reply is not None:
            reply.raise_for_ret()
        return reply

    def ask(self, message_id: int, name: str, timeout: float) -> Reply:
        """Make the request `{"Name": name}` (an `ops.Query`'s) as `call()` makes a call; its
        reply."""
        if self._socket is None:
            raise self.error or ConnectionClosedError(f"the {self.name} is closed")
        reply = self._exchange(self.connection.named_request(message_id, name), timeout)
        if reply is None:  # only media answers a request so, and no Query asks for media
            raise StateError(f"{message_name(message_id)} was answered without a reply")
        reply.raise_for_ret()
        return reply

    def _exchange(self, wire: bytes, timeout: float, expect_reply: bool = True) -> Reply | None:
        """Send a request and read until its reply (None: answered by media data, or none
        expected). Every request passes here: the usual case (the whole request sent at once,
        the reply in one read) takes no detour."""
        sock = self._socket
        assert sock is not None  # checked by the caller
        connection = self.connection
        logging_frames = _wire_log.isEnabledFor(INFO)  # -v: a line each; -vv: the hex too
        sent_at = _monotonic()
        try:
            if logging_frames:
                ops.log_sent(connection, wire)
            self._send(sock, wire, sent_at + timeout)
            if not expect_reply:
                return None
            poll = self._poll.poll
            wait = timeout
            while True:
                if not poll(wait * 1000):
                    raise TimeoutError
                data = self._receive()
                if data is not None:
                    events = connection.receive_data(data)
                    if len(events) == 1 and type(events[0]) is Reply and not logging_frames:
                        reply: Reply | None = events[0]  # the usual read: the reply alone
                    else:
                        reply = self._route_all(events)
                    if reply is not None or connection.pending_request is None:
                        # When it was sent: the device saw the session in use no earlier.
                        self.last_reply = self.clock()
                        return reply
                wait = max(sent_at + timeout - _monotonic(), 0)
        except TimeoutError:
            pending = message_name(self.connection.pending_request or 0)
            timed_out = RequestTimeoutError(f"no reply to {pending} within {timeout:g} s")
            # Desynchronised: a late reply would pass for the next request's answer.
            self.close(ConnectionClosedError(f"connection dropped: {timed_out}"))
            raise timed_out from None
        except BaseException as error:
            # Any other way out (a transport or protocol error, Ctrl-C) leaves the request
            # outstanding: the connection cannot carry another one.
            self.close(error if isinstance(error, XMCamError) else None)
            raise

    def send_data(self, wire: bytes, timeout: float) -> None:
        """Send a packet that has no reply (upgrade data) within `timeout` (RequestTimeoutError
        when the camera takes nothing for that long: the link ends); then read, without
        blocking, what came meanwhile (notifications to their sink)."""
        sock = self._socket
        if sock is None:
            raise self.error or ConnectionClosedError(f"the {self.name} is closed")
        if _wire_log.isEnabledFor(INFO):
            ops.log_sent(self.connection, wire)
        try:
            self._send(sock, wire, _monotonic() + timeout)
        except TimeoutError:
            raise self._end(
                RequestTimeoutError(f"the camera took no data for {timeout:g} s")
            ) from None
        self.read_ready(_IDLE_READS)

    def _send(self, sock: socket.socket, wire: bytes, deadline: float) -> None:
        try:
            try:
                sent = sock.send(wire)
            except BlockingIOError:
                sent = 0
            if sent < len(wire):  # a large request and a full send buffer: wait for room
                sock.settimeout(max(deadline - _monotonic(), 0.001))
                try:
                    sock.sendall(memoryview(wire)[sent:])
                finally:
                    sock.setblocking(False)
        except TimeoutError:
            raise
        except OSError as error:
            raise self._failed("sending", error) from None

    def send_audio(self, packet: bytes, *, channel: int = 0) -> None:
        """Send one talk packet (1432, no reply; docs/protocol.md §19). Raises what ends the
        link (it has ended before, or the socket fails)."""
        sock = self._socket
        if sock is None:
            raise self.error or ConnectionClosedError(f"the {self.name} is closed")
        wire = self.connection.send_data(MessageId.TALK_CU_PU_DATA, packet, channel=channel)
        if _wire_log.isEnabledFor(INFO):
            ops.log_sent(self.connection, wire)
        try:
            self._send(sock, wire, _monotonic() + _SEND_WAIT)
        except TimeoutError:
            raise self._end(ConnectionClosedError("the camera stopped taking audio")) from None

    # ---------------------------------------------------------------- reading

    def read(self, deadline: float) -> Reply | None:
        """Wait until bytes arrive (TimeoutError at `deadline`), read them, route them; the
        reply among them, if any."""
        if not self._poll.poll(max(deadline - _monotonic(), 0) * 1000):
            raise TimeoutError
        data = self._receive()
        if data is None:  # readable, yet nothing to read (it happens): nothing yet
            return None
        return self._feed(data)

    def read_ready(self, max_reads: int) -> None:
        """Read what has arrived, without blocking, `max_reads` reads at most: its media to
        their sinks. Raises what ends the connection."""
        poll = self._poll.poll
        for _ in range(max_reads):
            if not poll(0):
                return
            data = self._receive()
            if data is None:
                return
            self._feed(data)

    def ready(self) -> bool:
        """Whether the link can carry the next request: logged in, used within the session's
        AliveInterval (the device may have expired it since), and not closed by the device
        while it was idle (what arrived meanwhile is read and routed first)."""
        connection = self.connection
        return (
            self._socket is not None
            and connection.state is ClientState.LOGGED_IN
            and self.clock() - self.last_reply < connection.alive_interval
            and (not self._poll.poll(0) or self.still_open(_IDLE_READS))
        )

    def still_open(self, max_reads: int) -> bool:
        """Read what arrived while idle (as `read_ready()`); whether the connection is still
        open and logged in. A connection the device closed meanwhile is ended here."""
        try:
            self.read_ready(max_reads)
        except XMCamError as error:
            _log.info("the idle %s failed: %s", self.name, error)
            return False
        return self.logged_in

    def _receive(self) -> bytes | None:
        sock = self._socket
        if sock is None:
            raise self.error or ConnectionClosedError("the connection is closed")
        try:
            data = sock.recv(_READ_SIZE)
        except BlockingIOError:
            return None
        except OSError as error:
            raise self._failed("receiving", error) from None
        if not data:
            raise self._end(ConnectionClosedError(f"the camera closed the {self.name}"))
        return data

    def _feed(self, data: bytes) -> Reply | None:
        """Bytes into the core; media to their sinks, the reply back; raises what ends the
        connection (bad bytes, a forced logout)."""
        try:
            events = self.connection.receive_data(data)
        except ProtocolError as error:
            raise self._end(error) from None
        return self._route_all(events)

    def _route_all(self, events: list[ClientEvent]) -> Reply | None:
        reply = None
        for event in events:
            routed = self._route(event)
            if routed is not None:
                reply = routed
        return reply

    def _route(self, event: ClientEvent) -> Reply | None:
        if type(event) is MediaPacket:
            sink = self.media_sinks.get(event.frame.header.message_id)
            if sink is not None:
                sink(event.frame)
                return None
        elif type(event) is Notification and self.notification_sink is not None:
            self.notification_sink(event)
            return None
        routed = ops.route(event)
        if isinstance(routed, Reply):
            return routed
        if isinstance(routed, XMCamError):
            raise self._end(routed)
        if isinstance(routed, AlarmEvent):
            _log.debug("dropped an alarm (the blocking client does not subscribe): %s", routed)
        return None

    # ---------------------------------------------------------------- the end

    def close(self, error: XMCamError | None = None) -> None:
        """End the link with `error` (kept for whoever asks next) and close the socket."""
        self._end(error or ConnectionClosedError(f"the {self.name} was closed"))

    def _failed(self, doing: str, error: OSError) -> XMCamError:
        """The library's error for a socket's (the one place they are mapped): the link ends
        with it."""
        return self._end(ConnectionClosedError(f"{doing} failed: {_reason(error)}"))

    def _end(self, error: XMCamError) -> XMCamError:
        sock, self._socket = self._socket, None
        if sock is not None:
            self.error = error
            self.connection.connection_lost()
            sock.close()
        return error


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__
