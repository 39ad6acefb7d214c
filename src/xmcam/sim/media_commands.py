"""The device's media requests, sans I/O: live monitoring (OPMonitor 1413 / 1410), snapshots
(OPSNAP 1560), the recordings search (OPFileQuery 1440) and downloads (OPPlayBack 1424 /
1420), as `docs/simulator.md` and PROTOCOL.md §10, §12.2, §14 and §15 describe them.

Theory of operation. A stream is claimed on the connection it will flow on. That is either
the logged-in control connection itself (the single-socket flow) or, in the vendor's flow, a
second connection that never logs in and names the control connection's session in its
header: the claim is accepted because that session is live on another connection, and it
dies with it. A Start (1410) or DownloadStart (1420) on the control connection then finds
the session's claim for that channel or file. What the shell must do about it comes out of
`MediaSessions.take_actions()` as `StartStream` and `StopStream`, the way alarms come out of
`SimulatedDevice.take_pushes()`: the sans-I/O side decides, the shell (`streaming.py`) paces
and writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from xmcam.protocol import Body, MessageId, Request, encode_body, encode_frame, format_session_id
from xmcam.protocol.codes import reply_id
from xmcam.sim.commands import Effect
from xmcam.sim.media import LiveSource, MediaError, MediaLibrary, Packetizer, StreamKind
from xmcam.sim.recordings import (
    KINDS,
    TIME_FORMAT,
    Catalogue,
    Recording,
    synthesised_catalogue,
)

if TYPE_CHECKING:
    from xmcam.sim.device import CameraConnection, SimulatedDevice

__all__ = [
    "CLAIM_IDS",
    "MEDIA_REQUEST_IDS",
    "Claim",
    "MediaAction",
    "MediaSessions",
    "StartStream",
    "StopStream",
    "claim_for_session",
    "handle_media",
]

log = logging.getLogger("xmcam.sim")

OK: Final = 100
ILLEGAL_REQUEST: Final = 103
NO_RECORDS: Final = 119  # no file found; also an unknown file name in a playback claim
_DEVICE_VERSION: Final = 1
_MAX_CLAIMS_PER_CONNECTION: Final = 16
_KILOBYTE: Final = 1024

CLAIM_IDS: Final = frozenset({MessageId.MONITOR_CLAIM_REQ, MessageId.PLAY_CLAIM_REQ})
MEDIA_REQUEST_IDS: Final = frozenset(
    {
        *CLAIM_IDS,
        MessageId.MONITOR_REQ,
        MessageId.PLAY_REQ,
        MessageId.FILESEARCH_REQ,
        MessageId.NET_SNAP_REQ,
    }
)


@dataclass(eq=False)
class Claim:
    """A stream claimed on a connection: live (`stream`) or a download (`recording`)."""

    connection: int
    session: int
    channel: int
    stream: StreamKind | None = None
    recording: Recording | None = None
    started: bool = False


@dataclass(frozen=True, eq=False)
class StartStream:
    """Start writing a stream to the claim's connection: a live source, paced, or a file's
    bytes as fast as the socket takes them."""

    claim: Claim
    packetizer: Packetizer
    live: LiveSource | None = None
    data: bytes = b""
    end_flag: bool = True  # a download ends with EndFlag; else with an empty packet


@dataclass(frozen=True, eq=False)
class StopStream:
    """Stop the claim's stream; with `close`, close the connection it flowed on too."""

    claim: Claim
    close: bool


MediaAction = StartStream | StopStream


class MediaSessions:
    """A device's claims and the media they stream: its clips, snapshot and recordings."""

    def __init__(self, device: SimulatedDevice) -> None:
        self.device = device
        self.library = MediaLibrary(device.profile.media)
        self.claims: list[Claim] = []
        self._actions: list[MediaAction] = []
        self._catalogue: Catalogue | None = None

    @property
    def catalogue(self) -> Catalogue:
        """The recordings: given ones, or a day of them made up for the device's today."""
        if self._catalogue is None:
            today = self.device.state.device_time().date()
            self._catalogue = synthesised_catalogue(today, self.device.profile.channels.video)
        return self._catalogue

    @catalogue.setter
    def catalogue(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue

    def take_actions(self) -> list[MediaAction]:
        """What the shell must start and stop since the last call."""
        actions, self._actions = self._actions, []
        return actions

    def holds(self, connection: CameraConnection) -> bool:
        """Whether a stream is claimed on this connection (it lives as long as its session,
        whatever it sends)."""
        return any(claim.connection == connection.number for claim in self.claims)

    def session_ended(self, connection: CameraConnection) -> None:
        """The connection's session ends (logout, or the connection is gone): so do its
        streams, and the second connections they flowed on are closed."""
        session = connection.session_id
        if session is None:
            return
        for claim in [claim for claim in self.claims if claim.session == session]:
            self.stop(claim, close=claim.connection != connection.number)

    def connection_closed(self, connection: CameraConnection) -> None:
        for claim in [claim for claim in self.claims if claim.connection == connection.number]:
            self.stop(claim, close=False)

    def stop(self, claim: Claim, *, close: bool) -> None:
        self.claims.remove(claim)
        self._actions.append(StopStream(claim, close))

    def add_claim(self, claim: Claim) -> bool:
        """Record a claim (a repeated one replaces the old); False when the connection has
        claimed too many streams already."""
        for old in self.claims:
            if (old.connection, old.channel, old.stream, old.recording) == (
                claim.connection,
                claim.channel,
                claim.stream,
                claim.recording,
            ):
                self.stop(old, close=False)
                break
        if sum(1 for old in self.claims if old.connection == claim.connection) >= (
            _MAX_CLAIMS_PER_CONNECTION
        ):
            return False
        self.claims.append(claim)
        return True

    def start(self, action: StartStream) -> None:
        action.claim.started = True
        self._actions.append(action)


# ---------------------------------------------------------------------- dispatch


def claim_for_session(connection: CameraConnection, request: Request) -> list[bytes]:
    """A claim (1413, 1424) on a connection that has not logged in: the vendor's second
    connection, carrying the control connection's session id (PROTOCOL.md §10, §15)."""
    device = connection.device
    session = request.frame.session_id
    if request.message_id == MessageId.MONITOR_CLAIM_REQ and device.quirks.monitor_claim_silent:
        return []  # as the Vatilon H44: the client has to fall back to one socket
    body = request.body
    assert body is not None  # binary packets never reach the claims
    if not _session_is_live(device, session, connection) or body.session_id not in (
        None,
        session,
    ):
        log.info(
            "connection %d: claim for session %#x refused: no such session",
            connection.number,
            session,
        )
        connection.effects.append(Effect.CLOSE)
        return [_reply(connection, request, _fail(_name_of(request), ILLEGAL_REQUEST), session)]
    return handle_media(connection, request, session)


def handle_media(
    connection: CameraConnection, request: Request, session: int | None = None
) -> list[bytes]:
    """The reply frames for a media request of `session` (this connection's own session by
    default)."""
    if session is None:
        session = connection.session_id or 0
    body = request.body
    assert body is not None
    handler = _HANDLERS[request.message_id]
    try:
        reply = handler(connection, body, session, request)
    except MediaError as error:
        log.error("connection %d: %s", connection.number, error)
        reply = _fail(_name_of(request), ILLEGAL_REQUEST)
    if isinstance(reply, list):
        return reply
    return [] if reply is None else [_reply(connection, request, reply, session)]


def _session_is_live(device: SimulatedDevice, session: int, asking: CameraConnection) -> bool:
    return any(
        other is not asking and other.session_id == session for other in device.connections.values()
    )


def _name_of(request: Request) -> str:
    return _NAMES.get(request.message_id, "")


def _reply(
    connection: CameraConnection, request: Request, body: dict[str, Any], session: int
) -> bytes:
    """A JSON reply; on a second connection (not logged in) it carries the claimed session."""
    if connection.session_id == session:
        return connection.reply(request, body)
    quirks = connection.device.quirks
    answer = reply_id(request.message_id)
    style = quirks.session_id_style_by_reply.get(answer, quirks.session_id_style)
    content = dict(body)
    content.setdefault("SessionID", format_session_id(session, style))
    terminator = b"" if connection.omit_terminator else quirks.terminator
    return encode_frame(
        answer,
        encode_body(connection._spelled(content, style), terminator),
        session_id=session,
        sequence=request.frame.sequence,
        version=_DEVICE_VERSION,
    )


def _fail(name: str, ret: int) -> dict[str, Any]:
    return {"Name": name, "Ret": ret}


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _channel(device: SimulatedDevice, value: object) -> int | None:
    """A channel number this device has, or None."""
    channel = _whole(value)
    if channel is None or not 0 <= channel < device.profile.channels.video:
        return None
    return channel


def _operation(body: Body, name: str) -> tuple[str, dict[str, Any]] | None:
    """(Action, Parameter) of an OPMonitor or OPPlayBack body, or None when malformed."""
    operation = body.get(name)
    if not isinstance(operation, dict):
        return None
    action, parameter = operation.get("Action"), operation.get("Parameter", {})
    if not isinstance(action, str) or not isinstance(parameter, dict):
        return None
    return action, parameter


# ---------------------------------------------------------------------- live monitoring

_MONITOR: Final = "OPMonitor"

Reply = dict[str, Any] | list[bytes] | None


def _monitor_claim(
    connection: CameraConnection, body: Body, session: int, request: Request
) -> Reply:
    device = connection.device
    media = device.media
    operation = _operation(body, _MONITOR)
    if operation is None or operation[0] != "Claim":
        return _fail(_MONITOR, ILLEGAL_REQUEST)
    parameter = operation[1]
    channel = _channel(device, parameter.get("Channel"))
    stream = StreamKind.from_request(parameter.get("StreamType", "Main"))
    if channel is None or stream is None or stream not in media.library.streams:
        return _fail(_MONITOR, ILLEGAL_REQUEST)
    if not media.add_claim(Claim(connection.number, session, channel, stream=stream)):
        return _fail(_MONITOR, ILLEGAL_REQUEST)
    log.info(
        "connection %d: claimed channel %d %s for session %#x",
        connection.number,
        channel,
        stream.value,
        session,
    )
    return _fail(_MONITOR, OK)


def _monitor(connection: CameraConnection, body: Body, session: int, request: Request) -> Reply:
    device = connection.device
    operation = _operation(body, _MONITOR)
    if operation is None:
        return _fail(_MONITOR, ILLEGAL_REQUEST)
    action, parameter = operation
    stream = StreamKind.from_request(parameter.get("StreamType"))
    if action == "Stop":
        channel = _whole(parameter.get("Channel"))
        for claim in _claims(device, session, channel, stream):
            device.media.stop(claim, close=claim.connection != connection.number)
        return _fail(_MONITOR, OK)
    if action != "Start":
        return _fail(_MONITOR, device.quirks.unsupported_ret)
    channel = _channel(device, parameter.get("Channel"))
    claims = _claims(device, session, channel, None) if channel is not None else []
    # The claim of the stream the Start names, else any of the channel ([MAD] R04: Start
    # naming a channel that no claim has is refused).
    waiting = [claim for claim in claims if not claim.started]
    waiting.sort(key=lambda claim: claim.stream != stream)
    if not waiting:
        return _fail(_MONITOR, OK if claims else ILLEGAL_REQUEST)  # started already: once
    claim = waiting[0]
    _start_live(device, claim)
    return _fail(_MONITOR, OK)


def _claims(
    device: SimulatedDevice, session: int, channel: int | None, stream: StreamKind | None
) -> list[Claim]:
    """The session's live claims, of one channel and stream when given."""
    return [
        claim
        for claim in device.media.claims
        if claim.session == session
        and claim.stream is not None
        and channel in (None, claim.channel)
        and stream in (None, claim.stream)
    ]


def _start_live(device: SimulatedDevice, claim: Claim) -> None:
    assert claim.stream is not None
    library = device.media.library
    source = LiveSource(
        library.clip(claim.stream),
        fps=library.settings.fps,
        audio=library.audio(),
        start_time=device.state.device_time(),
        mid_gop=device.quirks.monitor_mid_gop,
    )
    packetizer = Packetizer(MessageId.MONITOR_DATA, session_id=claim.session, channel=claim.channel)
    device.media.start(StartStream(claim, packetizer, live=source))
    log.info(
        "session %#x: streaming channel %d %s", claim.session, claim.channel, claim.stream.value
    )


# ---------------------------------------------------------------------- snapshot

_SNAPSHOT: Final = "OPSNAP"


def _snapshot(connection: CameraConnection, body: Body, session: int, request: Request) -> Reply:
    device = connection.device
    mode = device.quirks.snapshot
    if mode == "silent":
        return None
    parameter = body.get(_SNAPSHOT)
    channel = _channel(device, parameter.get("Channel", 0) if isinstance(parameter, dict) else 0)
    if channel is None:
        return _fail(_SNAPSHOT, ILLEGAL_REQUEST)
    if isinstance(mode, int):
        return _fail(_SNAPSHOT, mode)  # 102 on old DVRs, 108 on NVRs (PROTOCOL.md §12.2)
    packetizer = Packetizer(
        MessageId.NET_SNAP_RSP,
        session_id=session,
        channel=channel,
        first_sequence=request.frame.sequence,
    )
    return list(packetizer.whole(device.media.library.snapshot()))


# ---------------------------------------------------------------------- recordings

_FILE_QUERY: Final = "OPFileQuery"
_PLAYBACK: Final = "OPPlayBack"


def _time(value: object) -> datetime | None:
    try:
        return datetime.strptime(value, TIME_FORMAT) if isinstance(value, str) else None
    except ValueError:
        return None


def _file_query(connection: CameraConnection, body: Body, session: int, request: Request) -> Reply:
    device = connection.device
    query = body.get(_FILE_QUERY)
    if not isinstance(query, dict):
        return _fail(_FILE_QUERY, ILLEGAL_REQUEST)
    begin, end = _time(query.get("BeginTime")), _time(query.get("EndTime"))
    channel = _whole(query.get("Channel", 0))
    kind, events = query.get("Type", "h264"), query.get("Event", "*")
    if begin is None or end is None or channel is None or not isinstance(events, str):
        return _fail(_FILE_QUERY, ILLEGAL_REQUEST)
    media = device.media
    found = media.catalogue.find(
        channel=channel, begin=begin, end=end, kind=kind if kind in KINDS else "", events=events
    )
    if not found:
        return _fail(_FILE_QUERY, NO_RECORDS)
    return {
        "Name": _FILE_QUERY,
        _FILE_QUERY: [_record(media, recording) for recording in found],
        "Ret": OK,
    }


def _record(media: MediaSessions, recording: Recording) -> dict[str, Any]:
    try:
        size = media.catalogue.size(recording, media.library)
    except MediaError as error:
        log.error("recording %s: %s", recording.name, error)
        size = 0
    return {
        "BeginTime": recording.begin.strftime(TIME_FORMAT),
        "DiskNo": recording.disk,
        "EndTime": recording.end.strftime(TIME_FORMAT),
        # In KiB, as hex text, as devices write it (PROTOCOL.md §4).
        "FileLength": f"0x{-(-size // _KILOBYTE):08X}",
        "FileName": recording.name,
        "SerialNo": recording.serial,
    }


def _file_name(parameter: dict[str, Any]) -> str | None:
    name = parameter.get("FileName")
    return name if isinstance(name, str) else None


def _playback_claim(
    connection: CameraConnection, body: Body, session: int, request: Request
) -> Reply:
    media = connection.device.media
    operation = _operation(body, _PLAYBACK)
    if operation is None or operation[0] != "Claim":
        return _fail(_PLAYBACK, ILLEGAL_REQUEST)
    name = _file_name(operation[1])
    recording = media.catalogue.by_name(name) if name is not None else None
    if recording is None:
        return _fail(_PLAYBACK, NO_RECORDS)
    claim = Claim(connection.number, session, recording.channel, recording=recording)
    if not media.add_claim(claim):
        return _fail(_PLAYBACK, ILLEGAL_REQUEST)
    log.info("connection %d: claimed %s for session %#x", connection.number, name, session)
    return _fail(_PLAYBACK, OK)


def _playback(connection: CameraConnection, body: Body, session: int, request: Request) -> Reply:
    device = connection.device
    operation = _operation(body, _PLAYBACK)
    if operation is None:
        return _fail(_PLAYBACK, ILLEGAL_REQUEST)
    action, parameter = operation
    name = _file_name(parameter)
    downloads = [
        claim
        for claim in device.media.claims
        if claim.session == session
        and claim.recording is not None
        and name in (None, claim.recording.name)
    ]
    if action == "DownloadStop":
        for claim in downloads:
            device.media.stop(claim, close=False)  # the client closes its data connection
        return _fail(_PLAYBACK, OK)
    if action != "DownloadStart":
        return _fail(_PLAYBACK, device.quirks.unsupported_ret)
    waiting = [claim for claim in downloads if not claim.started and name is not None]
    if not waiting:
        return _fail(_PLAYBACK, ILLEGAL_REQUEST)
    claim = waiting[0]
    assert claim.recording is not None
    media = device.media
    data = media.catalogue.content(claim.recording, media.library)
    packetizer = Packetizer(MessageId.DOWNLOAD_DATA, session_id=session, channel=claim.channel)
    end_flag = device.quirks.download_end == "flag"
    media.start(StartStream(claim, packetizer, data=data, end_flag=end_flag))
    log.info("session %#x: sending %s (%d bytes)", session, claim.recording.name, len(data))
    return _fail(_PLAYBACK, OK)


_Handler = Callable[["CameraConnection", Body, int, Request], Reply]

_HANDLERS: Final[dict[int, _Handler]] = {
    MessageId.MONITOR_CLAIM_REQ: _monitor_claim,
    MessageId.MONITOR_REQ: _monitor,
    MessageId.NET_SNAP_REQ: _snapshot,
    MessageId.FILESEARCH_REQ: _file_query,
    MessageId.PLAY_CLAIM_REQ: _playback_claim,
    MessageId.PLAY_REQ: _playback,
}
_NAMES: Final[dict[int, str]] = {
    MessageId.MONITOR_CLAIM_REQ: _MONITOR,
    MessageId.MONITOR_REQ: _MONITOR,
    MessageId.NET_SNAP_REQ: _SNAPSHOT,
    MessageId.FILESEARCH_REQ: _FILE_QUERY,
    MessageId.PLAY_CLAIM_REQ: _PLAYBACK,
    MessageId.PLAY_REQ: _PLAYBACK,
}
