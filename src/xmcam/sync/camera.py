"""The blocking client: `Camera`, on a plain socket with timeouts. No thread, no event loop.

Theory of operation. A Camera holds one socket and one core ClientConnection. Each request
is written and then read for until its reply arrives, with the request's deadline on every
read; alarms and late replies met on the way are logged and dropped (this client does not
subscribe to alarms; use the asyncio client for that). A timeout leaves the connection
desynchronised, so it is closed and the next request opens a new one and logs in again
(one attempt; an AuthenticationError is raised, never retried). With no thread there is no
keepalive timer: before each request the camera checks, without blocking, whether the
device closed the connection while it was idle, and reconnects when it was idle for longer
than the session's AliveInterval. Call `keepalive()` yourself to hold a session open.
Media packets read on this connection (a single-socket live stream, a snapshot's JPEG) go to
the sink `_media_sinks` holds for their message id; a request answered by such data instead
of a reply (a snapshot: the core clears it at EndFlag) completes with None.

The methods are procedures from `xmcam.client.operations`, shared with the asyncio client.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Final, TypeVar

from xmcam.client import media_operations as mops
from xmcam.client import operations as ops
from xmcam.client.models import (
    AlarmOutput,
    ConfigProbe,
    ConfigUpdate,
    Disk,
    Group,
    RecordFile,
    SystemInfo,
    User,
    WorkState,
)
from xmcam.errors import (
    AuthenticationError,
    ConnectionClosedError,
    DeviceError,
    ProtocolError,
    RequestTimeoutError,
    TransportError,
    XMCamError,
)
from xmcam.protocol.codes import message_name
from xmcam.protocol.connection import (
    ClientConnection,
    ClientEvent,
    ClientState,
    LoginReply,
    MediaPacket,
    NegotiationReply,
    Reply,
)
from xmcam.protocol.framing import Frame
from xmcam.sync import media

__all__ = ["DEFAULT_PORT", "Camera"]

T = TypeVar("T")

DEFAULT_PORT: Final = ops.DEFAULT_PORT
_READ_SIZE: Final = 65536
_IDLE_READS: Final = 64  # reads of what arrived while idle, at most (4 MiB)

_log: Final = logging.getLogger("xmcam.sync")


class Camera(ops.CameraBase):
    """A camera, blocking. `with xmcam.Camera(host, password=...) as cam: cam.system_info()`.
    Not thread-safe: one thread per Camera.

    `clock` is the monotonic clock (seconds) the session is timed by: when the last reply
    came, when a keepalive is due, when an idle session has lapsed. A test can pass one it
    turns by hand. The reads' timeouts stay in real seconds: the socket keeps those.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        user: str = "admin",
        password: str = "",
        timeout: float = 10.0,
        encryption: str = "auto",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        super().__init__(
            host, port, user=user, password=password, timeout=timeout, encryption=encryption
        )

    def _init_shell(self) -> None:
        self._socket: socket.socket | None = None
        self._idle_poll = select.poll()  # watches the socket while idle (no fd set to build)
        self._socket_timeout: float | None = None  # the socket's timeout as last set
        self._connection = ClientConnection()
        self._last_reply = 0.0
        # Message id -> where its media packets go (none: logged and dropped).
        self._media_sinks: dict[int, Callable[[Frame], None]] = {}

    # ---------------------------------------------------------------- opening and closing

    def open(self) -> Camera:
        """Connect and log in (one attempt). Returns the camera."""
        self._rebuild()
        return self

    def close(self) -> None:
        sock, self._socket = self._socket, None
        self._connection.connection_lost()
        if sock is not None:
            self._idle_poll = select.poll()  # forgets the old socket
            sock.close()

    def __enter__(self) -> Camera:
        return self.open()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _rebuild(self) -> None:
        """Connect and log in: one login per call, encrypted or plain as the camera's
        `encryption` and the device decide (xmcam.client.encryption)."""
        self._connect()
        plan = self._plan
        try:
            answer: NegotiationReply | None = None
            if plan.negotiates():
                try:
                    reply = self._exchange(
                        self._connection.negotiate(),
                        timeout=plan.negotiation_deadline(self.timeout),
                    )
                except RequestTimeoutError:
                    plan.negotiation_timed_out()
                    self._connect()  # the late answer must meet nothing
                else:
                    assert isinstance(reply, NegotiationReply)  # the core answers it so
                    answer = reply
            wire = plan.login_wire(self._connection, answer, self.user, self._password)
            login = self._exchange(wire)
            assert isinstance(login, LoginReply)  # the core answers a login with a LoginReply
            plan.finished(login)
        except BaseException:
            self.close()
            raise
        self._login = ops.login_info(login)

    def _connect(self) -> None:
        """A new connection (socket and core), not logged in."""
        self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError:
            raise RequestTimeoutError(f"connecting to {self.host}:{self.port} timed out") from None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise ConnectionClosedError(
                f"cannot connect to {self.host}:{self.port}: {reason}"
            ) from None
        self._socket = sock
        self._socket_timeout = sock.gettimeout()
        self._idle_poll.register(sock, select.POLLIN)
        self._connection = ClientConnection()

    def _usable(self) -> bool:
        connection = self._connection
        if self._socket is None or connection.state is not ClientState.LOGGED_IN:
            return False
        idle = self.clock() - self._last_reply
        return idle < connection.alive_interval and not self._closed_while_idle()

    def _closed_while_idle(self) -> bool:
        """Read what arrived while idle, without blocking; True if the device hung up. A
        live stream on this connection keeps data coming: the reads are bounded, and what
        is left waits for the next reader."""
        assert self._socket is not None
        try:
            for _ in range(_IDLE_READS):
                if not self._idle_poll.poll(0):
                    break
                data = self._socket.recv(_READ_SIZE)
                if not data:
                    return True
                for event in self._connection.receive_data(data):
                    self._route(event)
        except (OSError, XMCamError) as error:
            _log.info("the idle connection failed: %s", error)
            return True
        return self._connection.state is not ClientState.LOGGED_IN

    # ---------------------------------------------------------------- moving calls

    def _run(self, procedure: ops.Procedure[T]) -> T:
        self._ensure_usable()
        return self._drive(procedure)

    def _ensure_usable(self) -> None:
        """Log in again if the connection is gone or was idle too long."""
        if not self._usable():
            self._rebuild()

    def _drive(self, procedure: ops.Procedure[T]) -> T:
        outcome: Reply | DeviceError | None = None
        while not isinstance(step := ops.advance(procedure, outcome), ops.Finished):
            try:
                outcome = self._call(step)
            except DeviceError as error:
                outcome = error
        return step.value

    def _call(self, call: ops.Call) -> Reply | None:
        wire = self._connection.request(call.message_id, call.body, expect_reply=call.expect_reply)
        if not call.expect_reply:
            self._send(wire)
            return None
        reply = self._exchange(wire)
        if reply is not None:
            reply.raise_for_ret()
        return reply

    def _exchange(self, wire: bytes, *, timeout: float | None = None) -> Reply | None:
        """Send a request and read until its reply (within `timeout`, the camera's unless
        given); the connection is closed on any failure but a device's refusal."""
        pending = self._connection.pending_request
        try:
            self._send(wire)
            reply = self._read_reply(None if timeout is None else time.monotonic() + timeout)
        except TimeoutError:
            self.close()  # desynchronised: a late reply would answer the next request
            seconds = self.timeout if timeout is None else timeout
            raise RequestTimeoutError(
                f"no reply to {message_name(pending or 0)} within {seconds:g} s"
            ) from None
        except BaseException:
            # Any other way out (a transport or protocol error, Ctrl-C) leaves the request
            # outstanding: the connection cannot carry another one.
            self.close()
            raise
        self._last_reply = self.clock()
        return reply

    def _send(self, wire: bytes) -> None:
        if self._socket is None:
            raise ConnectionClosedError("the connection is closed")
        ops.log_sent(self._connection, wire)
        try:
            self._socket.sendall(wire)
        except OSError as error:
            raise ConnectionClosedError(f"sending failed: {error.strerror}") from None

    def _read_reply(self, deadline: float | None) -> Reply | None:
        """Read until the reply comes (None: the request was answered by media data), each
        read bounded by `deadline`. None: the deadline is `timeout` from now, and the first
        read waits that long (the socket usually has that timeout already: no call to set
        it)."""
        assert self._socket is not None
        if deadline is None:
            deadline = time.monotonic() + self.timeout
            wait = self.timeout
        else:
            wait = deadline - time.monotonic()
        while True:
            wait = max(wait, 0.001)
            if wait != self._socket_timeout:
                self._socket.settimeout(wait)
                self._socket_timeout = wait
            try:
                data = self._socket.recv(_READ_SIZE)
            except TimeoutError:
                raise
            except OSError as error:
                raise ConnectionClosedError(f"receiving failed: {error.strerror}") from None
            if not data:
                raise ConnectionClosedError("the camera closed the connection")
            reply = None
            for event in self._connection.receive_data(data):
                routed = self._route(event)
                if routed is not None:
                    reply = routed
            if reply is not None or self._connection.pending_request is None:
                return reply
            wait = deadline - time.monotonic()

    def _route(self, event: ClientEvent) -> Reply | None:
        """Hand one event on: media to its sink, a Reply back; raises what ends the
        connection (a forced logout); alarms and late replies are logged and dropped."""
        if type(event) is MediaPacket:
            sink = self._media_sinks.get(event.frame.header.message_id)
            if sink is not None:
                sink(event.frame)
                return None
        routed = ops.route(event)
        if isinstance(routed, XMCamError):
            raise routed
        return routed if isinstance(routed, Reply) else None

    # ---------------------------------------------------------------- media

    def live(
        self,
        channel: int = 0,
        *,
        substream: bool = False,
        flow: str = "auto",
        max_queue: int = 256,
    ) -> media.LiveStream:
        """A live stream of MediaFrames; use it with `with` (Stop is sent on exit).
        `flow`: "two" (the vendor's media connection), "one" (the control connection), or
        "auto" (two, then one when the claim is refused or unanswered)."""
        return media.LiveStream(self, channel, substream=substream, flow=flow, max_queue=max_queue)

    def snapshot(self, channel: int = 0, *, fallback: bool = True) -> bytes:
        """A JPEG (OPSNAP); with `fallback`, decoded from the live stream's first keyframe
        when the device refuses or stays silent (needs the `media` extra)."""
        return media.snapshot(self, channel, fallback=fallback)

    def files(
        self,
        start: datetime,
        end: datetime,
        *,
        channel: int = 0,
        kind: str = "video",
        events: str = "*",
    ) -> list[RecordFile]:
        """Recordings ("video" or "picture") overlapping [start, end], paged past the
        device's 64-record cap, each once, sorted by begin time."""
        return self._run(mops.file_query(start, end, channel=channel, kind=kind, events=events))

    def download(self, record: RecordFile) -> Generator[bytes, None, None]:
        """A recording's bytes (DVRIP media container: feed them to MediaDemuxer).
        DownloadStop is sent when the iteration ends or the iterator is closed."""
        return media.download(self, record)

    # ---------------------------------------------------------------- the methods

    def request(self, message_id: int, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Any request with a JSON body; the reply's body. Raises on a failure Ret code."""
        return self._run(ops.raw_request(message_id, body))

    def keepalive(self) -> None:
        self._run(ops.keepalive())

    def system_info(self) -> SystemInfo:
        return self._run(ops.system_info())

    def storage_info(self) -> list[Disk]:
        return self._run(ops.storage_info())

    def work_state(self) -> WorkState:
        return self._run(ops.work_state())

    def abilities(self, name: str = "SystemFunction") -> Any:
        """An ability by name: an object, an array or a string, as the device has it."""
        return self._run(ops.abilities(name))

    def get_config(self, name: str) -> Any:
        """A config by dotted name (`Camera.Param.[0]`). ConfigNotFoundError if unknown."""
        return self._run(ops.get_config(name))

    def set_config(self, name: str, value: Any) -> None:
        self._run(ops.set_config(name, value))

    def default_config(self, name: str) -> Any:
        return self._run(ops.default_config(name))

    def update_config(
        self,
        name: str,
        value: Any,
        *,
        replace: bool = False,
        keep_identity: bool = False,
        dry_run: bool = False,
    ) -> ConfigUpdate:
        """Read, merge `value` in (a partial object is enough), write back whole."""
        return self._run(
            ops.update_config(
                name, value, replace=replace, keep_identity=keep_identity, dry_run=dry_run
            )
        )

    def probe_config(self, names: Iterable[str] | None = None) -> ConfigProbe:
        """Which config names the device has, with their values, on one connection."""
        return self._run(ops.probe_config(names))

    def export_config(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        return self._run(ops.export_config(names))

    def import_config(
        self, tree: Mapping[str, Any], *, include_identity: bool = False
    ) -> list[str]:
        return self._run(ops.import_config(tree, include_identity=include_identity))

    def alarm_outputs(self) -> list[AlarmOutput]:
        return self._run(ops.alarm_outputs())

    def set_alarm_out(self, mode: str, channel: int | None = None) -> None:
        """ "on", "off" or "auto", for one output or (None) all."""
        self._run(ops.set_alarm_out(mode, channel))

    def get_time(self) -> datetime:
        return self._run(ops.get_time())

    def set_time(self, when: datetime | None = None) -> None:
        self._run(ops.set_time(when or datetime.now()))

    def time_skew(self) -> float:
        """Device time minus host time, in seconds."""
        return self._run(ops.time_skew(datetime.now))

    def sync_time(self) -> float:
        """Set the device's clock to this host's; return the skew before, in seconds."""
        return self._run(ops.sync_time(datetime.now))

    def users(self) -> list[User]:
        return self._run(ops.users())

    def groups(self) -> list[Group]:
        return self._run(ops.groups())

    def authorities(self) -> list[str]:
        return self._run(ops.authorities())

    def add_user(
        self,
        name: str,
        password: str,
        group: str = "user",
        *,
        authorities: Sequence[str] | None = None,
        memo: str = "",
    ) -> None:
        self._run(ops.add_user(name, password, group, authorities=authorities, memo=memo))

    def remove_user(self, name: str) -> None:
        self._run(ops.remove_user(name))

    def change_password(self, user: str, old: str, new: str) -> None:
        self._run(ops.change_password(user, old, new))

    def channel_titles(self) -> list[str]:
        return self._run(ops.channel_titles())

    def set_channel_titles(self, titles: Sequence[str]) -> None:
        self._run(ops.set_channel_titles(titles))

    def ptz_preset(self, action: str, number: int, *, channel: int = 0) -> None:
        """ "set", "goto" or "clear" preset `number`."""
        self._run(ops.ptz_preset(action, number, channel=channel))

    def ptz_tour(self, action: str, tour: int = 0, *, channel: int = 0) -> None:
        """ "start" or "stop" a preset tour."""
        self._run(ops.ptz_tour(action, tour, channel=channel))

    def net_alarm(self, state: int) -> None:
        self._run(ops.net_alarm(state))

    def ptz(self, command: str, *, channel: int = 0, speed: int = 5, duration: float = 0.5) -> None:
        """Move for `duration` seconds, then stop. The stop is always sent, even on
        KeyboardInterrupt, and retried once if it fails."""
        start, stop = ops.ptz_move(command, channel=channel, speed=speed)
        try:
            self._run(ops.perform(start))
            time.sleep(duration)
        finally:
            try:
                self._run(ops.perform(stop))
            except AuthenticationError:
                raise  # the stop's new login was refused: another try would count towards a lockout
            except XMCamError as error:
                _log.warning("PTZ stop failed (%s); sending it once more", error)
                self._run(ops.perform(stop))

    def logout(self) -> None:
        """End the session on the device and close the connection. A connection that is
        already gone is just closed: logging in again only to log out would be silly."""
        try:
            if self._usable():
                self._drive(ops.logout())
        finally:
            self.close()

    def reboot(self, wait: bool = False, wait_timeout: float = 180.0) -> None:
        """Reboot the device. With `wait`, return once it has gone down and a login works
        again (RequestTimeoutError after `wait_timeout` seconds)."""
        deadline = time.monotonic() + wait_timeout
        with contextlib.suppress(ConnectionClosedError):  # it may drop us before replying
            self._run(ops.reboot())
        if wait:
            self._wait_until_back(deadline)

    def _wait_until_back(self, deadline: float) -> None:
        if self._socket is not None:
            # Nothing should come now but the end of the connection.
            with contextlib.suppress(TimeoutError, TransportError, ProtocolError):
                self._read_reply(deadline)
        while time.monotonic() < deadline:
            try:
                self._rebuild()
            except TransportError:
                time.sleep(min(self.reboot_poll_interval, max(deadline - time.monotonic(), 0)))
            else:
                return
        raise RequestTimeoutError("the camera did not come back from its reboot")
