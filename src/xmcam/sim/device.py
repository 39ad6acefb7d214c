"""The simulated device, sans I/O: logins, sessions, lockout, expiry, alarms and the dispatch
of commands to their handlers (`xmcam.sim.commands`, `xmcam.sim.media_commands`).

`SimulatedDevice` is the one device; `CameraConnection` is one TCP connection to it. The
server shell feeds a connection the bytes it reads and writes back what `receive()` returns;
it asks the device which connections to close (`expired()`), and writes alarm pushes
(`alarm()`) to the connections they are for. Nothing here knows a socket or a clock of its
own: time comes from the injected `clock` (monotonic seconds), so tests need not wait.

A device whose profile offers the encrypted FunSDK session answers the negotiation and the
1010 probe before login, reads encrypted logins, and seals its replies to an encrypted session
(`encryption.py`, through the core's device role); one that requires it ignores plain logins
and drops requests that come in clear for an encrypted id.

A handler never sees the connection: the connection hands it a `RequestContext` (`context.py`)
and applies the effects it asks for (log out, guard, unguard) once the reply is built; the
effects for the shell (close, reboot) go on to `CameraConnection.effects`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from xmcam.protocol import (
    DEVICE_LIMITS,
    Body,
    DeviceConnection,
    LoginRequest,
    MessageId,
    Request,
    Ret,
    SessionIdStyle,
    format_device_time,
    format_session_id,
    password_matches,
)
from xmcam.sim.alarms import ActiveAlarms, AlarmRecord
from xmcam.sim.commands import handle
from xmcam.sim.context import Effect, RequestContext
from xmcam.sim.encryption import SessionKeys, plain_login_ignored
from xmcam.sim.maintenance import (
    DeviceLog,
    handle_maintenance,
    is_maintenance,
    record_alarm,
    record_login,
    record_request,
)
from xmcam.sim.media_commands import (
    CLAIM_IDS,
    MEDIA_REQUEST_IDS,
    MediaReply,
    claim_for_session,
    handle_media,
)
from xmcam.sim.media_sessions import MediaSessions
from xmcam.sim.profile import Profile
from xmcam.sim.state import DeviceState

__all__ = ["AlarmRecord", "CameraConnection", "Effect", "SimulatedDevice"]

log = logging.getLogger("xmcam.sim")

# CVE-2024-3765 (docs/protocol.md §3, §22.16): 1009 let anyone in on vulnerable firmware. The
# simulator gives it nothing, logged in or not.
_NEVER_ANSWERED: Final = frozenset({1009})
_MAX_TRACKED_LOGIN_NAMES: Final = 1024
# Session ids a random one never takes: 0 is "no session", 99999 the id FunSDK clients put
# in their negotiation before login (docs/protocol.md §2.3, §6.3).
_RESERVED_SESSION_IDS: Final = frozenset({0, 99999})


@dataclass
class _LoginFailures:
    count: int = 0
    locked_until: float = 0.0


class CameraConnection:
    """One client connection to the simulated device."""

    def __init__(self, device: SimulatedDevice, number: int, peer_host: str = "127.0.0.1") -> None:
        self.device = device
        self.number = number
        self.protocol = DeviceConnection(limits=DEVICE_LIMITS, terminator=device.quirks.terminator)
        self.guarded = False
        self.last_activity = device.clock()
        # When the pre-login clock started: at accept (or at a logout). Nothing the client
        # sends before it logs in moves it.
        self.unauthenticated_since = self.last_activity
        self.effects: list[Effect] = []  # for the shell: CLOSE and REBOOT
        self.frames_received = 0
        self.omit_terminator = False
        self.keys = SessionKeys(device.profile.encryption)  # a fresh RSA key, made on first use
        # The client's address: for the log, and a media claim is honoured only from the
        # address its session logged in from.
        self.peer_host = peer_host
        self.login_type = ""

    @property
    def session_id(self) -> int | None:
        return self.protocol.session_id

    def receive(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Bytes from the client in; the frames to send back out. Raises ProtocolError for
        bytes that break the protocol: the shell then closes this connection only."""
        out: list[bytes] = []
        for event in self.protocol.receive_data(data):
            self.frames_received += 1
            self.last_activity = self.device.clock()
            if isinstance(event, LoginRequest):
                out.append(self._login(event))
            else:
                # Checked against the session as it is now: a login or logout earlier in
                # the same read changes it.
                out.extend(self._request(self.protocol.restamp(event)))
        return out

    def _login(self, request: LoginRequest) -> bytes:
        device = self.device
        if device.profile.encryption.required and not request.encrypted:
            device.login_attempts += 1  # seen, but never checked: it counts for no lockout
            log.info(
                "connection %d: a plain login, answered with nothing: this firmware wants the "
                "encrypted session",
                self.number,
            )
            return plain_login_ignored(request, device.quirks.terminator)
        return device.login(self, request)

    def _request(self, request: Request) -> list[bytes]:
        if request.message_id in _NEVER_ANSWERED or request.reply_id is None:
            return []
        if self.protocol.expects_encryption(request.message_id) and not request.encrypted:
            log.info(
                "connection %d: %s in clear inside an encrypted session: dropped",
                self.number,
                request.message_id,
            )
            return []
        if request.body is None:
            return []  # binary data (talk audio, upgrade data): nothing to answer here
        if not request.authenticated:
            return self._before_login(request, request.body)
        if not request.session_matches:
            return []  # another connection's session id: silently ignored ([MAD] R10)
        context = self._context(self.protocol.session_id or 0)
        device_log = self.device.device_log
        if request.message_id in MEDIA_REQUEST_IDS:
            replies = self._media_replies(request, handle_media(context, request), context.session)
        elif is_maintenance(request):
            replies = [self.reply(request, handle_maintenance(context, request, device_log))]
        else:
            body = handle(context, request)
            record_request(device_log, request, body)
            replies = [] if body is None else [self.reply(request, body)]
        self._apply(context.effects)
        return replies

    def _before_login(self, request: Request, body: Body) -> list[bytes]:
        if request.is_negotiation and self.device.quirks.negotiation_silent:
            return []
        answer = self.keys.answer(self.protocol, request)
        if answer is not None:  # the negotiation or the probe of the encrypted session
            return [answer]
        if request.message_id in CLAIM_IDS:  # a media connection names a live session
            session = request.frame.session_id
            context = self._context(session)
            owner = self.device.session_owner(session, besides=self)
            # Only from the address the session logged in from: anyone else who learnt or
            # guessed the id must not have its media.
            live = owner is not None and owner.peer_host == self.peer_host
            if owner is not None and not live:
                log.warning(
                    "connection %d: claim for session %#x from %s refused: the session "
                    "logged in from %s",
                    self.number,
                    session,
                    self.peer_host,
                    owner.peer_host,
                )
            replies = self._media_replies(
                request, claim_for_session(context, request, live=live), session
            )
            self._apply(context.effects)
            return replies
        # Real devices ignore requests before login (docs/protocol.md §6.1, [MAD] R03).
        if self.device.quirks.unauthenticated == "silent":
            return []
        return [self.reply(request, {"Name": body.name or "", "Ret": Ret.NOT_LOGGED_IN})]

    def _context(self, session: int) -> RequestContext:
        device = self.device
        return RequestContext(
            state=device.state,
            profile=device.profile,
            device=device,
            media=device.media,
            user=self.protocol.user,
            connection=self.number,
            session=session,
        )

    def _apply(self, effects: list[Effect]) -> None:
        """Carry out what a handler asked for, once its reply is built (a logout's reply
        still carries the session id)."""
        for effect in effects:
            if effect is Effect.LOGOUT:
                self.logout()
            elif effect is Effect.GUARD:
                self.guarded = True  # a repeated guard changes nothing ([MAD] R07)
            elif effect is Effect.UNGUARD:
                self.guarded = False
            else:
                self.effects.append(effect)

    def _media_replies(self, request: Request, reply: MediaReply, session: int) -> list[bytes]:
        if isinstance(reply, list):
            return reply
        return [] if reply is None else [self.reply(request, reply, session=session)]

    def reply(self, request: Request, body: dict[str, Any], *, session: int | None = None) -> bytes:
        """The reply frame to a request; with `session`, one for that session (a claim on
        a second connection, which has not logged in, answers for the session it names)."""
        quirks = self.device.quirks
        style = quirks.session_id_style_by_reply.get(request.reply_id or 0, quirks.session_id_style)
        terminator = b"" if self.omit_terminator else None
        if "SessionID" in body and body["SessionID"] is None:
            # A reply the firmware writes without a SessionID (a profile's fixed reply).
            content = {key: value for key, value in body.items() if key != "SessionID"}
            return self.protocol.reply_verbatim(
                request,
                content,
                session_id=(self.session_id or 0) if session is None else session,
                terminator=terminator,
            )
        if session is None or session == self.session_id:
            content = self._spelled(body, style)
            return self.protocol.reply(
                request, content, session_id_style=style, terminator=terminator
            )
        content = dict(body)
        content.setdefault("SessionID", format_session_id(session, style))
        return self.protocol.reply_verbatim(
            request, self._spelled(content, style), session_id=session, terminator=terminator
        )

    def push(self, message_id: int, body: dict[str, Any]) -> bytes:
        style = self.device.quirks.session_id_style
        terminator = b"" if self.omit_terminator else None
        return self.protocol.push(
            message_id, self._spelled(body, style), session_id_style=style, terminator=terminator
        )

    def _spelled(self, body: dict[str, Any], style: SessionIdStyle) -> dict[str, Any]:
        """The body with top-level keys spelled as this firmware spells them (`" SessionID "`
        in vendor examples, docs/protocol.md §22.1)."""
        spellings = self.device.quirks.key_spellings
        if not spellings:
            return body
        content = dict(body)
        if "SessionID" in spellings and "SessionID" not in content:
            content["SessionID"] = format_session_id(self.protocol.session_id or 0, style)
        return {spellings.get(key, key): value for key, value in content.items()}

    def logout(self) -> None:
        self.device.end_session(self)

    def close(self) -> None:
        """The connection is gone: forget its session."""
        self.device.end_session(self)
        self.device.media.connection_closed(self.number)
        self.device.connections.pop(self.number, None)


class SimulatedDevice:
    """One simulated camera or recorder, shared by all its connections."""

    def __init__(
        self,
        profile: Profile,
        *,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] | None = None,
        random_bits: Callable[[int], int] = secrets.randbits,
    ) -> None:
        self.profile = profile
        self.quirks = profile.quirks
        self.clock = clock
        self.state = DeviceState.from_profile(profile, path=state_path, wall_clock=wall_clock)
        self.connections: dict[int, CameraConnection] = {}
        self.started_at = clock()
        self.login_attempts = 0
        self.alarms = ActiveAlarms()
        self._pushes: list[tuple[CameraConnection, bytes]] = []
        self._dropped: list[CameraConnection] = []
        self._failures: OrderedDict[str, _LoginFailures] = OrderedDict()
        self._next_connection = 0
        self._next_session = profile.quirks.first_session_id
        self._random_bits = random_bits  # the source of random session ids
        self.media = MediaSessions(profile, self.state)
        self.device_log = DeviceLog(self.state.device_time)
        self.device_log.add("RecoverTime", data=format_device_time(self.state.device_time()))
        # Told of every alarm (the server's alarm-center push).
        self.on_alarm: Callable[[AlarmRecord], object] | None = None

    # ------------------------------------------------------------------ connections

    @property
    def max_connections(self) -> int:
        common = self.state.config.get("NetWork.NetCommon")
        value = common.get("TCPMaxConn") if isinstance(common, dict) else None
        return value if isinstance(value, int) and value > 0 else 10

    def open_connection(self, peer_host: str = "127.0.0.1") -> CameraConnection | None:
        """A new connection from `peer_host`, or None when TCPMaxConn connections are open
        already and every one of them has logged in (or streams).

        When they are all taken, a connection that has not logged in makes room: the oldest
        from the address holding the most such connections (collect it with
        `take_dropped()` and close it). Sockets that never log in then cannot keep a client
        that does out, however many they are and however often they come back."""
        if len(self.connections) >= self.max_connections:
            victim = self._droppable()
            if victim is None:
                return None
            log.warning(
                "connection %d from %s dropped to make room for one from %s: TCPMaxConn "
                "connections are open and it has not logged in",
                victim.number,
                victim.peer_host,
                peer_host,
            )
            victim.close()
            self._dropped.append(victim)
        self._next_connection += 1
        connection = CameraConnection(self, self._next_connection, peer_host)
        self.connections[connection.number] = connection
        return connection

    def _droppable(self) -> CameraConnection | None:
        waiting = [
            connection
            for connection in self.connections.values()
            if connection.session_id is None and not self.media.streams_on(connection.number)
        ]
        if not waiting:
            return None
        per_address: dict[str, int] = {}
        for connection in waiting:
            per_address[connection.peer_host] = per_address.get(connection.peer_host, 0) + 1
        # The busiest address first, its oldest connection first (numbers count up).
        return min(
            waiting, key=lambda connection: (-per_address[connection.peer_host], connection.number)
        )

    def take_dropped(self) -> list[CameraConnection]:
        """Connections dropped to make room for new ones since the last call: the shell
        closes their sockets."""
        dropped, self._dropped = self._dropped, []
        return dropped

    def session_owner(self, session: int, *, besides: CameraConnection) -> CameraConnection | None:
        """The connection other than `besides` that holds this session, if any."""
        return next(
            (
                other
                for other in self.connections.values()
                if other is not besides and other.session_id == session
            ),
            None,
        )

    @property
    def session_count(self) -> int:
        return sum(
            1 for connection in self.connections.values() if connection.session_id is not None
        )

    def expired(self) -> list[CameraConnection]:
        """Connections to close now: sessions silent for too many AliveIntervals, and
        connections that never logged in within the unauthenticated timeout."""
        now = self.clock()
        session_limit = self.quirks.session_expiry_intervals * self.profile.alive_interval
        late: list[CameraConnection] = []
        for connection in self.connections.values():
            if connection.session_id is None:
                if self.media.streams_on(connection.number):
                    continue  # a stream's connection lives as long as the session it serves
                # From accept: frames before login (ignored keepalives, claims) buy no time.
                since, limit = connection.unauthenticated_since, self.quirks.unauthenticated_timeout
            elif self.media.holds(connection.number):
                continue  # so does a control connection that claimed a stream itself
            else:
                since, limit = connection.last_activity, session_limit
            if now - since > limit:
                late.append(connection)
        return late

    def end_session(self, connection: CameraConnection) -> None:
        user = connection.protocol.user
        if connection.session_id is not None and user is not None:
            record_login(
                self.device_log, "LogOut", user, connection.login_type, connection.peer_host
            )
        if connection.session_id is not None:
            connection.unauthenticated_since = self.clock()  # the pre-login clock starts again
        self.media.session_ended(connection.number, connection.session_id)
        connection.protocol.logout()
        connection.guarded = False

    # ------------------------------------------------------------------ login

    def login(self, connection: CameraConnection, request: LoginRequest) -> bytes:
        self.login_attempts += 1
        quirks = self.quirks
        now = self.clock()
        failures = self._failures_of(request.user)
        if failures.locked_until > now:
            # A lock refuses the right password too, as on real devices.
            log.info(
                "login refused: account %r is locked for another %.0f s",
                request.user,
                failures.locked_until - now,
            )
            return self._refuse(connection, request, quirks.locked_ret)
        account = self.state.user(request.user)
        if account is not None and request.user in self.profile.disabled_accounts:
            log.warning("login refused: hidden account %r is disabled", request.user)
            account = None
        if account is None:
            ret = quirks.unknown_user_ret
        elif not password_matches(
            request.password, request.encrypt_type, str(account.get("Password", ""))
        ):
            ret = quirks.wrong_password_ret
        else:
            self._failures.pop(request.user, None)
            return self._accept(connection, request)
        failures.count += 1
        if failures.count >= quirks.max_failed_logins:
            failures.locked_until = now + quirks.lockout_seconds
            failures.count = 0
            log.warning(
                "account %r locked for %.0f s (real firmware: about 30 minutes, docs/protocol.md "
                "6.1) after %d failed logins",
                request.user,
                quirks.lockout_seconds,
                quirks.max_failed_logins,
            )
        return self._refuse(connection, request, ret)

    def _failures_of(self, user: str) -> _LoginFailures:
        failures = self._failures.get(user)
        if failures is None:
            failures = self._failures[user] = _LoginFailures()
            while len(self._failures) > _MAX_TRACKED_LOGIN_NAMES:
                # The oldest unknown name goes: a storm of made-up names must not make the
                # table forget (and so unlock) a real account.
                names = (name for name in self._failures if self.state.user(name) is None)
                victim = next(names, None)
                if victim is None:
                    break
                del self._failures[victim]
        return failures

    def _accept(self, connection: CameraConnection, request: LoginRequest) -> bytes:
        session_id = connection.session_id
        if session_id is None:  # a second login on a connection keeps its session ([MAD] R01)
            session_id = self._new_session_id()
        fields = dict(self.profile.login_reply)
        fields["Ret"] = Ret.OK
        log.info(
            "connection %d: %r logged in, session %#x", connection.number, request.user, session_id
        )
        connection.login_type = request.login_type
        record_login(
            self.device_log, "LogIn", request.user, request.login_type, connection.peer_host
        )
        return connection.protocol.accept_login(
            request, session_id, fields, session_id_style=self.quirks.session_id_style
        )

    def _new_session_id(self) -> int:
        """The next session's id: random (`Quirks.session_ids`), or counting up."""
        live = {connection.session_id for connection in self.connections.values()}
        if self.quirks.session_ids == "sequential":
            session_id = self._next_session
            self._next_session = (self._next_session + 1) & 0x7FFFFFFF or 1
            return session_id
        while True:
            session_id = self._random_bits(32)
            if session_id not in _RESERVED_SESSION_IDS and session_id not in live:
                return session_id

    def _refuse(self, connection: CameraConnection, request: LoginRequest, ret: int) -> bytes:
        return connection.protocol.reject_login(
            request, {"Name": "", "Ret": ret}, session_id_style=self.quirks.session_id_style
        )

    def is_locked(self, user: str) -> bool:
        failures = self._failures.get(user)
        return failures is not None and failures.locked_until > self.clock()

    # ------------------------------------------------------------------ alarms

    def take_pushes(self) -> list[tuple[CameraConnection, bytes]]:
        """The frames the device sends unasked (alarms) since the last call, each with the
        connection it goes to."""
        pushes, self._pushes = self._pushes, []
        return pushes

    def alarm(self, channel: int = 0, event: str = "VideoMotion", status: str = "Start") -> int:
        """Raise (or end) an alarm: a 1504 push for every guarded session (collect them with
        `take_pushes()`). Returns how many sessions it goes to."""
        record = self.alarms.change(channel, event, status, self.state.device_time())
        record_alarm(self.device_log, channel, event, status)
        if self.on_alarm is not None:
            self.on_alarm(record)
        info = {
            "Channel": channel,
            "Event": event,
            "StartTime": record.start_time,
            "Status": status,
        }
        body = {"AlarmInfo": info, "Name": "AlarmInfo"}
        receivers = [
            connection
            for connection in self.connections.values()
            if connection.guarded and connection.session_id is not None
        ]
        self._pushes.extend(
            (connection, connection.push(MessageId.ALARM_REQ, body)) for connection in receivers
        )
        return len(receivers)

    def motion_mask(self, event: str) -> int:
        return self.alarms.mask(event)

    def uptime_minutes(self) -> int:
        return int((self.clock() - self.started_at) // 60)

    def session_id_style(self) -> SessionIdStyle:
        return self.quirks.session_id_style
