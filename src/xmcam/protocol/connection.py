"""Per-connection protocol state for both roles: the client and the device.

Theory of operation. DVRIP has no request id: sequence numbers are each side's own counter
and devices do not reliably echo them (docs/protocol.md §2.3). So a connection allows exactly one
outstanding request, and a reply is the frame whose message id is the request's id + 1. The
messages a device sends on its own are the alarm push (1504), the rare forced logout (1004),
notifications (end of playback 1423, upgrade progress 1524 and acknowledgements 1523) and, on
media connections, media data; those become their own events and never complete a request,
with one exception: a Start sent where its media will flow (the single-socket flow) is
answered by its first media packet when no reply comes first, as cameras send none there.
Two replies are not JSON: a snapshot (1561) arrives as JPEG packets until EndFlag, or as a
JSON error; a config or log export (1543, 1545) is a zip. A frame that answers nothing (for
example a reply that arrives after the caller gave up waiting) is reported as UnexpectedFrame.

Neither class does any I/O. Methods that send return the bytes to write; `receive_data()`
takes the bytes read and returns events. Time never enters: when a reply does not come in
time, the shell calls `request_timed_out()` and the connection becomes DESYNCHRONISED,
because a late reply could otherwise pass for the answer to the next request
(docs/protocol.md §F2.5). A desynchronised connection refuses new requests; rebuild it.

A ProtocolError from the peer's bytes is raised by `receive_data()` (after returning the
events of the frames before the bad bytes) and closes the connection state for good.

Both classes also speak the encrypted FunSDK session (`xmcam.protocol.crypto`, docs/protocol.md
§6.3): the client negotiates (`negotiate()`), logs in encrypted (`login_encrypted()`) and from
then on seals and opens the bodies of every encrypted message id itself; the device answers
the negotiation (`accept_negotiation()`), reads encrypted logins, and seals its replies and
pushes once such a login is accepted. The events carry decrypted frames, so a shell that logs
`event.frame` logs the bodies in clear (redacted as always), never the keys.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from xmcam.errors import (
    EncryptedBodyError,
    EncryptionRequiredError,
    ProtocolError,
    StateError,
    error_for_ret,
)
from xmcam.protocol.auth import DEFAULT_LOGIN_TYPE, EncryptType, login_body, sofia_hash
from xmcam.protocol.codes import (
    MEDIA_ANSWERS,
    MEDIA_MESSAGE_IDS,
    SUCCESS_RETS,
    MessageId,
    Ret,
    message_name,
    reply_id,
)
from xmcam.protocol.crypto import (
    FUNSDK_LOGIN_TYPE,
    NEGOTIATION_SESSION_ID,
    NOT_ENCRYPTED_IDS,
    DeviceKeyPair,
    EncryptionOffer,
    SessionCipher,
    bootstrap_cipher,
    encrypted_login_plaintext,
    is_sealed,
    negotiation_body,
    new_communicate_key,
    offer_body,
    read_encrypted_login,
    read_offer,
    with_payload,
)
from xmcam.protocol.framing import Frame, FrameDecoder, encode_frame
from xmcam.protocol.header import (
    CLIENT_VERSION,
    DEFAULT_LIMITS,
    DEVICE_LIMITS,
    DEVICE_LIMITS_BEFORE_LOGIN,
    DEVICE_VERSION,
    FUNSDK_MARKER,
    HEAD_FLAG,
    HEADER,
    Limits,
)
from xmcam.protocol.payload import (
    CLIENT_TERMINATOR,
    DEVICE_TERMINATOR,
    Body,
    SessionIdStyle,
    decode_body,
    encode_body,
    format_session_id,
)

__all__ = [
    "DEFAULT_ALIVE_INTERVAL",
    "AlarmMessage",
    "ClientConnection",
    "ClientEvent",
    "ClientState",
    "DeviceConnection",
    "DeviceEvent",
    "ForcedLogout",
    "LoginReply",
    "LoginRequest",
    "MediaPacket",
    "NegotiationReply",
    "Notification",
    "Reply",
    "Request",
    "UnexpectedFrame",
    "session_id_style_of",
]

EventT = TypeVar("EventT")

DEFAULT_ALIVE_INTERVAL: Final = 20
"""Keepalive period when a login reply has no usable AliveInterval (python-dvr#17)."""


def session_id_style_of(text: object) -> SessionIdStyle | None:
    """The spelling style of a SessionID string as a device wrote it, or None if unknown."""
    if not isinstance(text, str):
        return None
    if text[:2] in ("0x", "0X"):
        digits = len(text) - 2
        if digits == 8:
            return SessionIdStyle.PADDED
        if digits == 10:
            return SessionIdStyle.FUNSDK
        return SessionIdStyle.SHORT
    return SessionIdStyle.BARE if len(text) == 8 else None


class _DeferredFailure:
    """Holds a protocol error met after good frames, to raise on the next receive."""

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: ProtocolError | None = None


def _events_until_failure(
    state: _DeferredFailure, frames: list[Frame], make_event: Callable[[Frame], EventT]
) -> list[EventT]:
    """One event per frame. A frame whose body breaks the protocol ends the list: the events
    before it are returned, and the error is raised now if there are none, else next time."""
    if state.error is not None:
        raise state.error.with_traceback(None)
    events: list[EventT] = []
    for frame in frames:
        try:
            events.append(make_event(frame))
        except ProtocolError as error:
            state.error = error  # the stream is broken from here on, however it was cut
            if not events:
                raise
            break
    return events


# ----------------------------------------------------------------------------- client role


class ClientState(enum.Enum):
    NOT_LOGGED_IN = "not logged in"
    LOGGING_IN = "logging in"
    LOGGED_IN = "logged in"
    DESYNCHRONISED = "desynchronised"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True, init=False)
class Reply:
    """The answer to the outstanding request."""

    request_id: int
    frame: Frame
    body: Body

    def __init__(self, request_id: int, frame: Frame, body: Body) -> None:
        # The client makes a Reply per request. The __init__ a frozen dataclass generates
        # sets each field through object.__setattr__; the fields' slot setters do the same
        # work for half the cost.
        _set_reply_request_id(self, request_id)
        _set_reply_frame(self, frame)
        _set_reply_body(self, body)

    @property
    def ret(self) -> int | None:
        return self.body.ret

    @property
    def payload(self) -> bytes:
        """The reply's raw data: the bytes themselves for binary replies (a config export's
        zip), the JSON text otherwise."""
        return self.frame.payload

    @property
    def ok(self) -> bool:
        """True when the Ret code is a success code. A reply without Ret counts as success
        (some firmware leaves it out of plain acknowledgements); one whose Ret is there but
        unreadable (`"0xCB"`, `203.0`, `true`) does not."""
        if "Ret" not in self.body.data:
            return True
        return self.body.ret in SUCCESS_RETS

    def raise_for_ret(self) -> None:
        """Raise the DeviceError subclass for a failure Ret code; do nothing on success."""
        ret = self.body.data.get("Ret")
        if type(ret) is int and ret in SUCCESS_RETS:
            return  # the usual reply, success in every subclass's sense of `ok`
        if not self.ok:
            ret = self.body.ret
            if ret is None:
                context = "(the reply had no Ret)"
                if "Ret" in self.body.data:
                    context = "(the reply's Ret was unreadable)"
                raise error_for_ret(Ret.UNKNOWN_ERROR, message_id=self.request_id, context=context)
            raise error_for_ret(ret, message_id=self.request_id)


@dataclass(frozen=True, slots=True)
class LoginReply(Reply):
    """The answer to a login, with its fields read. Only `ret` is trusted on failure: failed
    logins may carry garbage fields (docs/protocol.md §6.1)."""

    session_id: int = 0
    alive_interval: int = DEFAULT_ALIVE_INTERVAL
    channel_count: int | None = None
    extra_channel_count: int | None = None
    device_type: str | None = None
    data_use_aes: bool = False
    encrypted: bool = False
    """The login was the encrypted one (`login_encrypted()`)."""

    @property
    def ok(self) -> bool:
        """True only for a success Ret code: a login reply without one did not log in."""
        return self.body.ret in SUCCESS_RETS

    def raise_for_ret(self) -> None:
        """As Reply.raise_for_ret; EncryptionRequiredError for a plain login answered with an
        empty reply, which is how firmware that wants the encrypted session answers one (our
        reading of AlexxIT/go2rtc#2246: go2rtc drops a reply's last two bytes and reports
        "unexpected end of JSON input" for what is left)."""
        if not self.body.data and not self.encrypted:
            raise EncryptionRequiredError(
                "it answered the plain login with an empty reply", message_id=MessageId.LOGIN_REQ
            )
        Reply.raise_for_ret(self)


@dataclass(frozen=True, slots=True)
class NegotiationReply(Reply):
    """The answer to the pre-login negotiation (1413 → 1414). `offer` is the device's key and
    its ids in clear when it offers the encrypted session; None when it answered in clear
    (firmware without the session takes the 1413 for a claim and refuses it)."""

    offer: EncryptionOffer | None = None


@dataclass(frozen=True, slots=True)
class AlarmMessage:
    """An alarm pushed by the device (1504) on a guarded session."""

    frame: Frame
    body: Body


@dataclass(frozen=True, slots=True)
class MediaPacket:
    """A packet of binary data: live video, playback, download, talk or snapshot data."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class ForcedLogout:
    """The device ended the session (1004)."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class Notification:
    """A message a device sends unasked besides alarms: end of playback (1423), upgrade
    progress (1524, Ret = percent) and upgrade data acknowledgements (1523). `body` is None
    when the payload is not a JSON object."""

    frame: Frame
    body: Body | None


@dataclass(frozen=True, slots=True)
class UnexpectedFrame:
    """A frame that answers no outstanding request, e.g. a reply that came too late."""

    frame: Frame


ClientEvent = Reply | AlarmMessage | MediaPacket | Notification | ForcedLogout | UnexpectedFrame

# The slot setters of Reply's fields, for its __init__.
_set_reply_request_id: Final = vars(Reply)["request_id"].__set__
_set_reply_frame: Final = vars(Reply)["frame"].__set__
_set_reply_body: Final = vars(Reply)["body"].__set__

_NO_MEDIA_ANSWER: Final[frozenset[int]] = frozenset()
# Encoded `{"Name": ...}` bodies kept per connection, at most (a config export asks ~80 names).
_NAMED_BODIES: Final = 128
# Unasked messages other than alarms (docs/protocol.md §3, §15, §18).
_NOTIFICATION_IDS: Final = frozenset(
    {MessageId.PLAY_EOF, MessageId.UPGRADE_DATA_RSP, MessageId.UPGRADE_PROGRESS}
)
# Replies whose data is binary rather than JSON: the config and log exports (a zip).
_BINARY_REPLY_IDS: Final = frozenset({MessageId.CONFIG_EXPORT_RSP, MessageId.LOG_EXPORT_RSP})
# Login reply values outside these ranges are garbage, not configuration.
_ALIVE_INTERVAL_RANGE: Final = range(1, 3601)
_CHANNEL_COUNT_RANGE: Final = range(1025)


class ClientConnection:
    """The client side of one DVRIP connection.

    Sequence numbers count up per connection from `first_sequence`; every sending method
    takes an explicit `sequence=` too. (The seed capture's client numbers its packets
    0, 0, 0, 1, 2, 0: no per-connection counter reproduces that, and devices do not check.)
    Bodies end with `terminator`, `\\n` by default as in the seed.

    >>> connection = ClientConnection()
    >>> wire = connection.login("admin", "")          # bytes to send
    >>> events = connection.receive_data(reply_bytes)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        limits: Limits = DEFAULT_LIMITS,
        session_id_style: SessionIdStyle | None = None,
        first_sequence: int = 0,
        terminator: bytes = CLIENT_TERMINATOR,
    ) -> None:
        self._decoder = FrameDecoder(limits)
        self._receiver = _DeferredFailure()
        self._limits = limits
        self._terminator = terminator
        self._style_override = session_id_style
        self._style = session_id_style or SessionIdStyle.PADDED
        self._sequence = first_sequence
        self.state = ClientState.NOT_LOGGED_IN
        self.session_id = 0
        self.alive_interval = DEFAULT_ALIVE_INTERVAL
        self._pending: int | None = None
        # Set once the outstanding request's answer has begun as binary data (a snapshot's
        # JPEG): its later parts are data whatever byte they start with, since a JPEG part
        # starts with `{` about once in 256.
        self._binary_answer = False
        # The media message ids that answer the outstanding request as well as its reply does
        # (`request(..., answered_by_media=True)`); empty for every other request.
        self._media_answers: frozenset[int] = _NO_MEDIA_ANSWER
        self._session_id_key: tuple[int, SessionIdStyle] | None = None
        self._session_id_text_cached = ""
        # The encrypted session: what the negotiation offered, the cipher of the login in
        # flight, and the session's cipher once that login succeeded.
        self._negotiating = False
        self._offer: EncryptionOffer | None = None
        self._login_cipher: SessionCipher | None = None
        self._cipher: SessionCipher | None = None
        # The last frame sealed: its wire bytes, and its header's fields and body in clear.
        self._last_sealed: bytes | None = None
        self._last_plain: tuple[int, bytes, int, int, int] | None = None
        # Name -> the encoded body {"Name": name, "SessionID": ...} (`_named_body`).
        self._named_bodies: dict[str, bytes] = {}

    @classmethod
    def for_session(
        cls, session_id: int, *, session_cipher: SessionCipher | None = None, **options: Any
    ) -> ClientConnection:
        """A connection that joins a session logged in on another connection, as media and
        download sockets do (docs/protocol.md §6.1: "sessions are per TCP connection; data
        sockets reuse the control session's id"). In an encrypted session pass the control
        connection's `session_cipher`: its key covers the session's every connection."""
        connection = cls(**options)
        connection.session_id = session_id
        connection.state = ClientState.LOGGED_IN
        connection._cipher = None if session_cipher is None else session_cipher.copy()
        return connection

    @property
    def session_cipher(self) -> SessionCipher | None:
        """The cipher of an encrypted session (None in a plain one). Never log it."""
        return self._cipher

    @property
    def encrypted(self) -> bool:
        """Whether this connection is logged in to an encrypted session."""
        return self._cipher is not None

    @property
    def offer(self) -> EncryptionOffer | None:
        """What the negotiation's answer offered, from when it came until the encrypted
        login it served was answered."""
        return self._offer

    @property
    def pending_request(self) -> int | None:
        """The message id of the request awaiting its reply, or None."""
        return self._pending

    @property
    def session_id_style(self) -> SessionIdStyle:
        """How this connection spells its SessionID in bodies: as configured, else as the
        device spelled it in the login reply."""
        return self._style

    def login(
        self,
        user: str,
        password: str,
        *,
        encrypt_type: EncryptType = EncryptType.MD5,
        login_type: str = DEFAULT_LOGIN_TYPE,
        sequence: int | None = None,
    ) -> bytes:
        """The login request (1000) to send. A second login on a logged-in connection is
        allowed: devices accept it and keep the session (docs/protocol.md §6.1)."""
        self._check_can_send(MessageId.LOGIN_REQ, expect_reply=True, logged_in_only=False)
        data = encode_body(
            login_body(user, password, encrypt_type=encrypt_type, login_type=login_type),
            self._terminator,
        )
        wire = encode_frame(
            MessageId.LOGIN_REQ, data, session_id=0, sequence=self._next_sequence(sequence)
        )
        self._pending = MessageId.LOGIN_REQ
        self._media_answers = _NO_MEDIA_ANSWER
        self.state = ClientState.LOGGING_IN
        self._login_cipher = None
        return wire

    def negotiate(self, *, sequence: int | None = None) -> bytes:
        """The pre-login negotiation (1413, header session 99999, 0x63 in byte 12): the device
        answers with a NegotiationReply, whose `offer` says whether it offers the encrypted
        session. It asks for nothing secret, so it may go to any device first."""
        self._check_can_send(MessageId.MONITOR_CLAIM_REQ, expect_reply=True, logged_in_only=False)
        if self.state is not ClientState.NOT_LOGGED_IN:
            raise StateError(
                f"the negotiation comes before the login, not while {self.state.value}"
            )
        wire = encode_frame(
            MessageId.MONITOR_CLAIM_REQ,
            encode_body(negotiation_body(), self._terminator),
            session_id=NEGOTIATION_SESSION_ID,
            sequence=self._next_sequence(sequence),
            total_packets=FUNSDK_MARKER,
        )
        self._pending = MessageId.MONITOR_CLAIM_REQ
        self._negotiating = True
        self._binary_answer = False
        return wire

    def login_encrypted(
        self,
        user: str,
        password: str,
        *,
        login_type: str = FUNSDK_LOGIN_TYPE,
        communicate_key: bytes | None = None,
        sequence: int | None = None,
    ) -> bytes:
        """The encrypted login (1000, 0x63 in byte 12) under the key the negotiation offered:
        UserName, the password's Sofia hash and a fresh CommunicateKey, each RSA-encrypted,
        the JSON wrapped by the bootstrap key. When its reply says Ret 100, every message id
        the device did not list as clear is sealed and opened under the CommunicateKey.
        `communicate_key` is for tests; leave it out. Raises ValueError for a user name too
        long for the device's key."""
        self._check_can_send(MessageId.LOGIN_REQ, expect_reply=True, logged_in_only=False)
        offer = self._offer
        if offer is None:
            raise StateError("an encrypted login needs a negotiation that offered a key first")
        key = new_communicate_key() if communicate_key is None else communicate_key
        cipher = SessionCipher(key, offer.not_encrypted)
        public = offer.public_key
        plaintext = encrypted_login_plaintext(
            public.encrypt_hex(user.encode("utf-8")),
            public.encrypt_hex(sofia_hash(password).encode("ascii")),
            public.encrypt_hex(key),
            login_type,
        )
        number = self._next_sequence(sequence)
        self._last_plain = (MessageId.LOGIN_REQ, plaintext, 0, number, FUNSDK_MARKER)
        wire = encode_frame(
            MessageId.LOGIN_REQ,
            bootstrap_cipher().seal(plaintext),
            session_id=0,
            sequence=number,
            total_packets=FUNSDK_MARKER,
        )
        self._pending = MessageId.LOGIN_REQ
        self.state = ClientState.LOGGING_IN
        self._login_cipher = cipher
        self._last_sealed = wire
        return wire

    @property
    def last_plaintext(self) -> bytes | None:
        """The last frame sent encrypted, as it was before encryption (header and JSON), for
        a debug log that shows bodies: run it through `redacted_hex_dump()` like any frame."""
        if self._last_plain is None:
            return None
        message_id, body, session_id, sequence, marker = self._last_plain
        return encode_frame(
            message_id, body, session_id=session_id, sequence=sequence, total_packets=marker
        )

    def plain_view(self, wire: bytes) -> bytes:
        """`wire` as a debug log should show it: the last frame this connection sealed, as it
        was before sealing (`last_plaintext`); any other frame as it is."""
        plain = self.last_plaintext if wire is self._last_sealed else None
        return wire if plain is None else plain

    def request(
        self,
        message_id: int,
        body: Mapping[str, Any] | None = None,
        *,
        expect_reply: bool = True,
        sequence: int | None = None,
        session_id_style: SessionIdStyle | None = None,
        add_session_id: bool = True,
        before_login: bool = False,
        answered_by_media: bool = False,
    ) -> bytes:
        """A request to send. The body gets this session's SessionID unless it has one or
        `add_session_id` is false. With `expect_reply`, the request becomes the outstanding
        one; without, it is fire-and-forget (unguard, talk start: many devices never answer).
        `before_login` allows the few requests made before logging in (the 1010 capability
        probe, FunSDK's 1413 negotiation).

        With `answered_by_media`, the first packet of the media the request starts
        (`MEDIA_ANSWERS`: 1412 for a Start 1410, 1422 or 1426 for 1420) answers it as its
        reply would: it comes out as a MediaPacket and the request is no longer outstanding.
        That is a Start or DownloadStart on the connection that holds its claim, which
        cameras never answer in JSON. A reply that comes before the media still answers it
        (with a failure Ret: the device refused). A reply that comes after the media answers
        nothing: an UnexpectedFrame, unless a request with the same reply id (the Stop) is
        outstanding by then, which takes it as its own reply (DVRIP cannot tell them apart;
        either way the connection stays in step, since the device answers nothing twice).
        """
        if self._pending is not None or self.state is not ClientState.LOGGED_IN:
            self._check_can_send(
                message_id, expect_reply=expect_reply, logged_in_only=not before_login
            )
        if (
            expect_reply
            and message_id not in _ANSWERED_IDS
            and _reply_id_or_none(message_id) is None
        ):
            raise ValueError(f"{message_name(message_id)} has no reply to wait for")
        media_answers = _NO_MEDIA_ANSWER
        if answered_by_media:
            media_answers = MEDIA_ANSWERS.get(message_id, _NO_MEDIA_ANSWER)
            if not (expect_reply and media_answers):
                raise ValueError(f"{message_name(message_id)} cannot be answered by media")
        if (
            type(body) is dict
            and len(body) == 1
            and type(name := body.get("Name")) is str
            and add_session_id
            and session_id_style is None
        ):
            data = self._named_body(name)  # the usual body: {"Name": ...} alone
        else:
            content = dict(body or {})
            if add_session_id and "SessionID" not in content:
                content["SessionID"] = self._session_id_text(session_id_style or self._style)
            data = encode_body(content, self._terminator)
        number = self._next_sequence(sequence)
        cipher = self._cipher
        if cipher is not None and message_id not in cipher.clear_ids:
            self._last_plain = (message_id, data, self.session_id, number, 0)
            wire = encode_frame(
                message_id, cipher.seal(data), session_id=self.session_id, sequence=number
            )
            self._last_sealed = wire
        else:
            wire = encode_frame(message_id, data, session_id=self.session_id, sequence=number)
        if expect_reply:
            self._pending = message_id
            self._binary_answer = False
            self._media_answers = media_answers
        return wire

    def named_request(self, message_id: int, name: str) -> bytes:
        """`request(message_id, {"Name": name})`: a request with that body alone, which most
        are (every config get, info, ability, keepalive). In a logged-in plain session with
        nothing outstanding, the request of a known id is put together here directly, the
        body's bytes kept per name (`_named_body`); anything else goes through `request()`
        and its checks."""
        if (
            self._pending is not None
            or self.state is not ClientState.LOGGED_IN
            or self._cipher is not None
            or message_id not in _ANSWERED_IDS
        ):
            return self.request(message_id, {"Name": name})
        data = self._named_body(name)
        sequence = self._sequence
        try:
            head = HEADER.pack(HEAD_FLAG, CLIENT_VERSION, 0, 0, self.session_id, sequence,
                               0, 0, message_id, len(data))  # fmt: skip
        except struct.error:  # a sequence out of range (`first_sequence`): request() says so
            return self.request(message_id, {"Name": name})
        self._sequence = (sequence + 1) & 0xFFFFFFFF
        self._pending = message_id
        self._binary_answer = False
        self._media_answers = _NO_MEDIA_ANSWER
        return head + data

    def _session_id_text(self, style: SessionIdStyle) -> str:
        """This session's SessionID as `style` spells it, formatted once per session."""
        key = (self.session_id, style)
        if key != self._session_id_key:
            self._session_id_text_cached = format_session_id(self.session_id, style)
            self._session_id_key = key
            self._named_bodies.clear()  # they hold the SessionID text
        return self._session_id_text_cached

    def _named_body(self, name: str) -> bytes:
        """The body `{"Name": name}` with this session's SessionID, encoded. Most requests
        have that body alone (every config get, info, ability, keepalive), so the bytes are
        kept per name while the SessionID text stays the same, `_NAMED_BODIES` names at most:
        the writer runs once per name instead of once per request."""
        session_text = self._session_id_text(self._style)
        encoded = self._named_bodies.get(name)
        if encoded is None:
            if len(self._named_bodies) >= _NAMED_BODIES:
                self._named_bodies.clear()
            body = {"Name": name, "SessionID": session_text}
            encoded = self._named_bodies[name] = encode_body(body, self._terminator)
        return encoded

    def send_data(
        self,
        message_id: int,
        payload: bytes | bytearray | memoryview,
        *,
        channel: int = 0,
        end_flag: bool = False,
        sequence: int | None = None,
    ) -> bytes:
        """A binary data packet (talk audio, upgrade data) for this session. No reply.
        `sequence`: the header's number, when the data numbers its packets itself (upgrade
        blocks carry their block number, docs/protocol.md §18)."""
        if self.state is not ClientState.LOGGED_IN:
            raise StateError(f"cannot send data while {self.state.value}")
        return encode_frame(
            message_id,
            payload,
            session_id=self.session_id,
            sequence=self._next_sequence(sequence),
            total_packets=channel,
            current_packet=1 if end_flag else 0,
        )

    def request_timed_out(self) -> None:
        """The outstanding request got no reply in time. The connection is desynchronised
        from now on: a late reply could pass for the next request's answer."""
        self._pending = None
        if self.state is not ClientState.CLOSED:
            self.state = ClientState.DESYNCHRONISED

    def connection_lost(self) -> None:
        """The transport is gone. Nothing more may be sent."""
        self._pending = None
        self.state = ClientState.CLOSED

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[ClientEvent]:
        """Take bytes from the device; return the events they complete.

        A ProtocolError closes the connection. When good frames came before the bad bytes,
        their events are returned first and the error is raised by the next call.
        """
        receiver = self._receiver
        try:
            frames = self._decoder.feed(data)
            if len(frames) == 1 and receiver.error is None:
                # The usual read: one frame. The same as below, without the general loop.
                try:
                    events: list[ClientEvent] = [self._event_for(frames[0])]
                except ProtocolError as error:
                    receiver.error = error
                    raise
            else:
                events = _events_until_failure(receiver, frames, self._event_for)
        except ProtocolError:
            self.connection_lost()
            raise
        if receiver.error is not None or self._decoder.failure is not None:
            self.connection_lost()  # the error comes next call; nothing more may be sent now
        return events

    def _event_for(self, frame: Frame) -> ClientEvent:
        pending = self._pending
        message_id = frame.header.message_id
        cipher = self._cipher
        if cipher is not None and message_id not in cipher.clear_ids:
            frame = cipher.open_frame(frame)
        # A request is only made outstanding when it has a reply id, which is its id + 1.
        if pending is None or message_id != pending + 1:
            return self._unasked(frame)
        if self._negotiating:
            return self._negotiation_finished(frame)
        if message_id in MEDIA_MESSAGE_IDS and (
            self._binary_answer or not _looks_like_json(frame.payload)
        ):
            # A snapshot (1560) is answered by JPEG data ended by EndFlag, or by a JSON error
            # such as Ret 108 (docs/protocol.md §12.2).
            self._binary_answer = not frame.header.end_flag
            if frame.header.end_flag:
                self._pending = None
            return MediaPacket(frame)
        self._pending = None
        if message_id in _BINARY_REPLY_IDS and not _looks_like_json(frame.payload):
            return Reply(pending, frame, Body({}))
        body = decode_body(frame.payload, self._limits)
        if pending == MessageId.LOGIN_REQ:
            return self._login_finished(frame, body)
        if pending == MessageId.LOGOUT_REQ:
            self.state = ClientState.NOT_LOGGED_IN
            self.session_id = 0
            self._cipher = None
        return Reply(pending, frame, body)

    def _unasked(self, frame: Frame) -> ClientEvent:
        """The event for a frame that answers no outstanding request."""
        message_id = frame.message_id
        if message_id in self._media_answers and self._pending is not None:
            # The media a Start began: the device's answer, where it sends no reply.
            self._pending = None
            return MediaPacket(frame)
        if message_id in MEDIA_MESSAGE_IDS:
            return MediaPacket(frame)
        if message_id == MessageId.ALARM_REQ:
            return AlarmMessage(frame, frame.body(self._limits))
        if message_id in _NOTIFICATION_IDS:
            notice = frame.body(self._limits) if _looks_like_json(frame.payload) else None
            return Notification(frame, notice)
        if message_id == MessageId.FORCELOGOUT_REQ:
            self.connection_lost()
            return ForcedLogout(frame)
        return UnexpectedFrame(frame)

    def _negotiation_finished(self, frame: Frame) -> NegotiationReply:
        self._pending = None
        self._negotiating = False
        if not is_sealed(frame.payload):
            body = decode_body(frame.payload, self._limits)
            return NegotiationReply(MessageId.MONITOR_CLAIM_REQ, frame, body)
        what = "the negotiation's answer (1414)"
        plain = bootstrap_cipher().open(frame.payload, what)
        try:
            body = decode_body(plain, self._limits)
        except ProtocolError as error:
            raise EncryptedBodyError(f"{what} decrypts to garbage ({error})") from None
        self._offer = read_offer(body)
        return NegotiationReply(
            MessageId.MONITOR_CLAIM_REQ, with_payload(frame, plain), body, offer=self._offer
        )

    def _login_finished(self, frame: Frame, body: Body) -> LoginReply:
        cipher, self._login_cipher = self._login_cipher, None
        encrypted = cipher is not None
        if encrypted:
            self._offer = None  # its key served this login; a new login negotiates again
        if body.ret not in SUCCESS_RETS:
            self.state = ClientState.NOT_LOGGED_IN
            self.session_id = 0
            self._cipher = None
            return LoginReply(MessageId.LOGIN_REQ, frame, body, encrypted=encrypted)
        session_id = body.session_id
        if session_id is None:
            session_id = frame.session_id
        alive = _int_in(body.get("AliveInterval"), _ALIVE_INTERVAL_RANGE)
        if alive is None:
            alive = DEFAULT_ALIVE_INTERVAL
        if self._style_override is None:
            self._style = session_id_style_of(body.get("SessionID")) or self._style
        self.session_id = session_id
        self.alive_interval = alive
        self.state = ClientState.LOGGED_IN
        self._cipher = cipher
        device_type = body.get("DeviceType")
        return LoginReply(
            MessageId.LOGIN_REQ,
            frame,
            body,
            session_id=session_id,
            alive_interval=alive,
            channel_count=_int_in(body.get("ChannelNum"), _CHANNEL_COUNT_RANGE),
            extra_channel_count=_int_in(body.get("ExtraChannel"), _CHANNEL_COUNT_RANGE),
            device_type=device_type if isinstance(device_type, str) else None,
            data_use_aes=body.get("DataUseAES") is True,
            encrypted=encrypted,
        )

    def _check_can_send(self, message_id: int, *, expect_reply: bool, logged_in_only: bool) -> None:
        if self.state in (ClientState.CLOSED, ClientState.DESYNCHRONISED):
            raise StateError(f"connection is {self.state.value}: open a new one")
        if logged_in_only and self.state is not ClientState.LOGGED_IN:
            raise StateError(f"cannot send {message_name(message_id)} while {self.state.value}")
        if self._pending is not None and expect_reply:
            raise StateError(
                f"cannot send {message_name(message_id)}: {message_name(self._pending)} "
                "is still awaiting its reply (one outstanding request per connection)"
            )

    def _next_sequence(self, explicit: int | None) -> int:
        if explicit is not None:
            return explicit
        sequence = self._sequence
        self._sequence = (sequence + 1) & 0xFFFFFFFF
        return sequence


def _int_in(value: object, allowed: range) -> int | None:
    """`value` when it is a whole number in `allowed`, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value in allowed:
        return value
    return None


def _looks_like_json(payload: bytes) -> bool:
    """Whether a payload that may be binary starts like a JSON object."""
    return payload.lstrip(b" \t\r\n\x00")[:1] == b"{"


# ----------------------------------------------------------------------------- device role


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """A client asks to log in. The fields are as sent; `password` is the PassWord field,
    a Sofia hash under MD5 (a secret either way: never log it)."""

    frame: Frame
    body: Body
    user: str
    password: str
    encrypt_type: str
    login_type: str
    encrypted: bool = False
    """An encrypted login: `user` and `password` are its RSA blocks decrypted."""
    communicate_key: bytes = b""
    """The session key an encrypted login brings (a secret: never log it)."""

    def __repr__(self) -> str:  # the password field and the key must never reach a log
        return (
            f"LoginRequest(user={self.user!r}, encrypt_type={self.encrypt_type!r}, "
            f"login_type={self.login_type!r}, encrypted={self.encrypted})"
        )


@dataclass(frozen=True, slots=True)
class Request:
    """A client request other than login.

    `authenticated` is whether the connection had logged in; `session_matches` whether the
    header's session id (and the body's SessionID, when present) name this connection's
    session. A device never executes a request that fails either check. `body` is None for
    binary data packets (talk audio, upgrade data).
    """

    frame: Frame
    body: Body | None
    authenticated: bool
    session_matches: bool
    encrypted: bool = False
    """The body came encrypted under the session's key (and `frame` holds it decrypted)."""

    @property
    def message_id(self) -> int:
        return self.frame.message_id

    @property
    def is_negotiation(self) -> bool:
        """A FunSDK negotiation: a 1413 with the 0x63 marker in byte 12 or session 99999 in
        its header. Firmware without the encrypted session takes it for a claim."""
        header = self.frame.header
        return header.message_id == MessageId.MONITOR_CLAIM_REQ and (
            header.total_packets == FUNSDK_MARKER or header.session_id == NEGOTIATION_SESSION_ID
        )

    @property
    def reply_id(self) -> int | None:
        """The id a reply to this request would carry, or None when the message has no reply
        (an odd id the peer chose: a reply, an acknowledgement, or garbage). A device stays
        silent to those."""
        return _reply_id_or_none(self.frame.message_id)


def _reply_id_or_none(message_id: int) -> int | None:
    try:
        return reply_id(message_id)
    except ValueError:
        return None


# The known requests that have a reply: a set lookup per request (other ids ask `reply_id`).
_ANSWERED_IDS: Final = frozenset(
    int(known) for known in MessageId if _reply_id_or_none(known) is not None
)


DeviceEvent = LoginRequest | Request


class DeviceConnection:
    """The device side of one DVRIP connection, as the simulator uses it.

    The device decides who may log in; this class keeps the session, checks that requests
    belong to it, and writes replies the way the seed's camera does: version 1, the request's
    sequence number echoed, `\\n\\0` after the JSON.

    Until the client has logged in, its bytes are held to `limits_before_login` (a few KiB);
    from the login on, to `limits`. The bytes of one `receive_data()` call are cut under the
    limits in force when it began: a client cannot know its session id before the login
    reply, so nothing it sends with the login needs more.
    """

    def __init__(
        self,
        *,
        limits: Limits = DEVICE_LIMITS,
        limits_before_login: Limits = DEVICE_LIMITS_BEFORE_LOGIN,
        terminator: bytes = DEVICE_TERMINATOR,
    ) -> None:
        self._decoder = FrameDecoder(limits_before_login)
        self._receiver = _DeferredFailure()
        self._limits = limits
        self._limits_before_login = limits_before_login
        self._terminator = terminator
        self.session_id: int | None = None
        self.user: str | None = None
        self._push_sequence = 0
        # The encrypted session: this connection's key pair and ids in clear once a
        # negotiation was answered, and the session's cipher once an encrypted login was
        # accepted.
        self._key_pair: DeviceKeyPair | None = None
        self._clear_ids: frozenset[int] = NOT_ENCRYPTED_IDS
        self._cipher: SessionCipher | None = None

    @property
    def logged_in(self) -> bool:
        return self.session_id is not None

    @property
    def encrypted(self) -> bool:
        """Whether the session was opened by an encrypted login."""
        return self._cipher is not None

    def expects_encryption(self, message_id: int) -> bool:
        """Whether requests with this id must come encrypted in this connection's session (a
        device drops those that come in clear)."""
        cipher = self._cipher
        return cipher is not None and message_id not in cipher.clear_ids

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[DeviceEvent]:
        """Take bytes from the client; return its requests. Raises ProtocolError on bytes
        that break the protocol (bad framing or a body that is not a JSON object); the
        requests before the bad bytes are returned first, and the next call raises."""
        return _events_until_failure(self._receiver, self._decoder.feed(data), self._event_for)

    def _event_for(self, frame: Frame) -> DeviceEvent:
        message_id = frame.message_id
        if message_id in MEDIA_MESSAGE_IDS:
            return Request(frame, None, self.logged_in, self._session_matches(frame, None))
        if message_id == MessageId.LOGIN_REQ and is_sealed(frame.payload):
            return self._encrypted_login(frame)
        cipher = self._cipher
        if cipher is not None and message_id not in cipher.clear_ids and is_sealed(frame.payload):
            frame = cipher.open_frame(frame)
            body = frame.body(self._decoder.limits)
            return Request(
                frame, body, self.logged_in, self._session_matches(frame, body), encrypted=True
            )
        body = frame.body(self._decoder.limits)
        if message_id == MessageId.LOGIN_REQ:
            return LoginRequest(
                frame,
                body,
                user=_text(body.get("UserName")),
                password=_text(body.get("PassWord")),
                encrypt_type=_text(body.get("EncryptType")),
                login_type=_text(body.get("LoginType")),
            )
        return Request(frame, body, self.logged_in, self._session_matches(frame, body))

    def _encrypted_login(self, frame: Frame) -> LoginRequest:
        key_pair = self._key_pair
        if key_pair is None:
            raise EncryptedBodyError("an encrypted login came without a negotiation before it")
        what = "the encrypted login"
        plain = bootstrap_cipher().open(frame.payload, what)
        try:
            body = decode_body(plain, self._limits)
        except ProtocolError as error:
            raise EncryptedBodyError(f"{what} decrypts to garbage ({error})") from None
        login = read_encrypted_login(body, key_pair)
        return LoginRequest(
            with_payload(frame, plain),
            body,
            user=login.user,
            password=login.password,
            encrypt_type=_text(body.get("EncryptType")),
            login_type=_text(body.get("LoginType")),
            encrypted=True,
            communicate_key=login.communicate_key,
        )

    def _session_matches(self, frame: Frame, body: Body | None) -> bool:
        if self.session_id is None or frame.session_id != self.session_id:
            return False
        if body is None or "SessionID" not in body.data:
            return True
        return body.session_id == self.session_id

    def restamp(self, request: Request) -> Request:
        """`request` checked again against the session as it is now.

        `receive_data()` checks every request of a read when it decodes the read. A shell that
        logs the client in or out while handling one event of a read (a login and the first
        commands in one TCP segment, or a logout followed by more) must check the later
        requests of that read again with this, or they are judged by the session as it was.
        """
        return Request(
            request.frame,
            request.body,
            self.logged_in,
            self._session_matches(request.frame, request.body),
            request.encrypted,
        )

    def accept_negotiation(
        self,
        request: Request,
        key_pair: DeviceKeyPair,
        fields: Mapping[str, Any],
        *,
        not_encrypted: frozenset[int] = NOT_ENCRYPTED_IDS,
    ) -> bytes:
        """The 1414 answer to a negotiation (`request.is_negotiation`): `fields` (Bits,
        EncryptAlgo, ...) with this connection's public key and the ids left in clear,
        wrapped by the bootstrap key. An encrypted login on this connection is then read with
        `key_pair`."""
        body = offer_body(fields, key_pair.public, not_encrypted)
        payload = bootstrap_cipher().seal(encode_body(body, b"\n"))
        self._key_pair = key_pair
        self._clear_ids = frozenset(not_encrypted)
        return encode_frame(
            MessageId.MONITOR_CLAIM_RSP,
            payload,
            session_id=request.frame.session_id,
            sequence=request.frame.sequence,
            version=DEVICE_VERSION,
        )

    def accept_login(
        self,
        request: LoginRequest,
        session_id: int,
        reply_fields: Mapping[str, Any],
        *,
        session_id_style: SessionIdStyle = SessionIdStyle.PADDED,
    ) -> bytes:
        """Log the connection in and return the login reply. `reply_fields` are the reply's
        members besides SessionID (Ret, AliveInterval, ChannelNum, `"DeviceType "`, ...)."""
        wire = self._reply_bytes(request.frame, dict(reply_fields), session_id, session_id_style)
        self.session_id = session_id  # only once the reply could be built
        self.user = request.user
        # The login reply itself goes in clear; the session's messages from now on do not.
        self._cipher = (
            SessionCipher(request.communicate_key, self._clear_ids) if request.encrypted else None
        )
        self._decoder.limits = self._limits
        return wire

    def reject_login(
        self,
        request: LoginRequest,
        reply_fields: Mapping[str, Any],
        *,
        session_id_style: SessionIdStyle = SessionIdStyle.PADDED,
    ) -> bytes:
        """The reply to a refused login. The connection stays logged out (or as it was)."""
        return self._reply_bytes(request.frame, dict(reply_fields), 0, session_id_style)

    def logout(self) -> None:
        """End the session (after a logout request, or when it expired)."""
        self.session_id = None
        self.user = None
        self._cipher = None
        self._decoder.limits = self._limits_before_login

    def _sealed(self, message_id: int, data: bytes) -> bytes:
        """A body as this session sends it: encrypted when the id is, else as it is."""
        cipher = self._cipher
        if cipher is None or message_id in cipher.clear_ids:
            return data
        return cipher.seal(data)

    def reply(
        self,
        request: Request,
        body: Mapping[str, Any],
        *,
        session_id_style: SessionIdStyle = SessionIdStyle.PADDED,
        terminator: bytes | None = None,
    ) -> bytes:
        """The reply to a request: message id + 1, the request's sequence echoed, the body
        with this session's SessionID added unless it has one. Raises StateError for a
        request that has no reply (`request.reply_id` is None)."""
        if request.reply_id is None:
            raise StateError(f"{message_name(request.message_id)} has no reply to send")
        return self._reply_bytes(
            request.frame, dict(body), self.session_id or 0, session_id_style, terminator
        )

    def push(
        self,
        message_id: int,
        body: Mapping[str, Any],
        *,
        session_id_style: SessionIdStyle = SessionIdStyle.PADDED,
        terminator: bytes | None = None,
    ) -> bytes:
        """A message the device sends on its own, such as an alarm (1504). `terminator`
        overrides the connection's for this message."""
        if self.session_id is None:
            raise StateError(f"cannot push {message_name(message_id)}: not logged in")
        content = dict(body)
        content.setdefault("SessionID", format_session_id(self.session_id, session_id_style))
        sequence = self._push_sequence
        self._push_sequence = (sequence + 1) & 0xFFFFFFFF
        data = encode_body(content, self._terminator if terminator is None else terminator)
        return encode_frame(
            message_id,
            self._sealed(message_id, data),
            session_id=self.session_id,
            sequence=sequence,
            version=DEVICE_VERSION,
        )

    def reply_verbatim(
        self,
        request: Request,
        body: Mapping[str, Any],
        *,
        session_id: int,
        terminator: bytes | None = None,
    ) -> bytes:
        """The reply to a request with `body` as its whole body (no SessionID added) and
        `session_id` in its header: for a device that writes the SessionID member itself,
        spelled its own way, or answers for another connection's session (a stream claimed
        on a second connection, which never logs in). Raises StateError for a request that
        has no reply."""
        if request.reply_id is None:
            raise StateError(f"{message_name(request.message_id)} has no reply to send")
        data = encode_body(body, self._terminator if terminator is None else terminator)
        return encode_frame(
            request.reply_id,
            self._sealed(request.reply_id, data),
            session_id=session_id,
            sequence=request.frame.sequence,
            version=DEVICE_VERSION,
        )

    def _reply_bytes(
        self,
        request_frame: Frame,
        content: dict[str, Any],
        session_id: int,
        style: SessionIdStyle,
        terminator: bytes | None = None,
    ) -> bytes:
        content.setdefault("SessionID", format_session_id(session_id, style))
        answer_id = reply_id(request_frame.message_id)
        data = encode_body(content, self._terminator if terminator is None else terminator)
        return encode_frame(
            answer_id,
            self._sealed(answer_id, data),
            session_id=session_id,
            sequence=request_frame.sequence,
            version=DEVICE_VERSION,
        )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
