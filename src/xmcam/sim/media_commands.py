"""The device's media requests, sans I/O: live monitoring (OPMonitor 1413 / 1410), snapshots
(OPSNAP 1560), the recordings search (OPFileQuery 1440) and downloads (OPPlayBack 1424 /
1420), as `docs/simulator.md` and docs/protocol.md §10, §12.2, §14 and §15 describe them.

Theory of operation. A stream is claimed on the connection it will flow on. That is either
the logged-in control connection itself (the single-socket flow) or, in the vendor's flow, a
second connection that never logs in and names the control connection's session in its
header: the claim is accepted because that session is live on another connection, and it
dies with it. A Start (1410) or DownloadStart (1420) on the control connection then finds
the session's claim for that channel or file. A claim goes by its message id, whatever its
Action. A Start on the connection holding its claim gets no JSON reply, as from cameras: the
media follow at once (the `start_reply` quirk answers it). The claims and what the shell must
start and stop are kept by `MediaSessions` (`media_sessions.py`); the handlers here take the
request's context (`context.py`) and return the reply: a body, ready packets (a snapshot), or
None.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from xmcam.protocol import Body, MessageId, Request, Ret
from xmcam.protocol.fields import format_device_time
from xmcam.sim.context import Effect, RequestContext
from xmcam.sim.media import (
    MEDIA_PAYLOAD,
    LiveSource,
    MediaError,
    Packetizer,
    StreamKind,
)
from xmcam.sim.media_sessions import Claim, MediaSessions, StartStream
from xmcam.sim.recordings import KINDS, Recording, query_time

__all__ = [
    "CLAIM_IDS",
    "MEDIA_REQUEST_IDS",
    "MediaReply",
    "claim_for_session",
    "handle_media",
]

log = logging.getLogger("xmcam.sim")

_KILOBYTE: Final = 1024
# A picture larger than this still goes in packets of this size (no client has to take a
# packet of megabytes).
_MAX_SNAPSHOT_PACKET: Final = 1024 * 1024

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

MediaReply = dict[str, Any] | list[bytes] | None
"""A JSON reply body, frames ready to send (a snapshot's packets), or None for silence."""


# ---------------------------------------------------------------------- dispatch


def claim_for_session(context: RequestContext, request: Request, *, live: bool) -> MediaReply:
    """A claim (1413, 1424) on a connection that has not logged in: the vendor's second
    connection, carrying the control connection's session id (`context.session`, docs/protocol.md
    §10, §15). `live` tells whether that session is live on another connection."""
    session = context.session
    if request.message_id == MessageId.MONITOR_CLAIM_REQ and context.quirks.monitor_claim_silent:
        return None  # as the Vatilon H44: the client has to fall back to one socket
    body = request.body
    assert body is not None  # binary packets never reach the claims
    if not live or body.session_id not in (None, session):
        log.info(
            "connection %d: claim for session %#x refused: no such session",
            context.connection,
            session,
        )
        context.effects.append(Effect.CLOSE)
        return _ret(_name_of(request), Ret.ILLEGAL_REQUEST)
    return handle_media(context, request)


def handle_media(context: RequestContext, request: Request) -> MediaReply:
    """The reply to a media request of `context.session`."""
    body = request.body
    assert body is not None
    handler = _HANDLERS[request.message_id]
    try:
        return handler(context, body, request)
    except MediaError as error:
        log.error("connection %d: %s", context.connection, error)
        return _ret(_name_of(request), Ret.ILLEGAL_REQUEST)


def _name_of(request: Request) -> str:
    return _NAMES.get(request.message_id, "")


def _ret(name: str, ret: int) -> dict[str, Any]:
    """A reply body that is its Ret code alone."""
    return {"Name": name, "Ret": ret}


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _channel(context: RequestContext, value: object) -> int | None:
    """A channel number this device has, or None."""
    channel = _whole(value)
    if channel is None or not 0 <= channel < context.profile.channels.video:
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


def _monitor_claim(context: RequestContext, body: Body, request: Request) -> MediaReply:
    media = context.media
    operation = _operation(body, _MONITOR)
    if operation is None:
        return _ret(_MONITOR, Ret.ILLEGAL_REQUEST)
    # A claim is a claim by its message id, whatever its Action: `dvrip` sends "Start" here
    # and real recorders stream to it (alexshpilkin/dvrip: `MonitorClaim` copies the Start).
    parameter = operation[1]
    channel = _channel(context, parameter.get("Channel"))
    stream = StreamKind.from_request(parameter.get("StreamType", "Main"))
    if channel is None or stream is None or stream not in media.library.streams:
        return _ret(_MONITOR, Ret.ILLEGAL_REQUEST)
    if not media.add_claim(Claim(context.connection, context.session, channel, stream=stream)):
        return _ret(_MONITOR, Ret.ILLEGAL_REQUEST)
    log.info(
        "connection %d: claimed channel %d %s for session %#x",
        context.connection,
        channel,
        stream.value,
        context.session,
    )
    return _ret(_MONITOR, Ret.OK)


def _monitor(context: RequestContext, body: Body, request: Request) -> MediaReply:
    media = context.media
    operation = _operation(body, _MONITOR)
    if operation is None:
        return _ret(_MONITOR, Ret.ILLEGAL_REQUEST)
    action, parameter = operation
    stream = StreamKind.from_request(parameter.get("StreamType"))
    if action == "Stop":
        channel = _whole(parameter.get("Channel"))
        for claim in _claims(media, context.session, channel, stream):
            media.stop(claim, close=claim.connection != context.connection)
        return _ret(_MONITOR, Ret.OK)
    if action != "Start":
        return _ret(_MONITOR, context.quirks.unsupported_ret)
    channel = _channel(context, parameter.get("Channel"))
    claims = _claims(media, context.session, channel, None) if channel is not None else []
    # The claim of the stream the Start names, else any of the channel ([MAD] R04: Start
    # naming a channel that no claim has is refused).
    waiting = _newest_first(context, [claim for claim in claims if not claim.started])
    waiting.sort(key=lambda claim: claim.stream != stream)
    if not waiting:
        if not claims:
            return _ret(_MONITOR, Ret.ILLEGAL_REQUEST)
        return _started(context, claims[0], _MONITOR)  # started already: once
    claim = waiting[0]
    _start_live(context, claim)
    return _started(context, claim, _MONITOR)


def _newest_first(context: RequestContext, claims: list[Claim]) -> list[Claim]:
    """Waiting claims in the order a Start takes them: one on the connection the Start came
    on first (the single-socket flow), then the newest: the owner claims just before it
    starts, so an older claim left by anyone else is never the one that gets the media."""
    newest = list(reversed(claims))
    newest.sort(key=lambda claim: claim.connection != context.connection)
    return newest


def _started(context: RequestContext, claim: Claim, name: str) -> MediaReply:
    """The reply to a Start or DownloadStart that found its claim. On the connection holding
    the claim (one socket) real cameras send no JSON, only the media: go2rtc and python-dvr
    read the next packet as media and fail on a reply. On the control connection of the
    vendor's two sockets the Start is answered (the `dvrip` package waits for it)."""
    if claim.connection == context.connection and not context.quirks.start_reply:
        return None
    return _ret(name, Ret.OK)


def _claims(
    media: MediaSessions, session: int, channel: int | None, stream: StreamKind | None
) -> list[Claim]:
    """The session's live claims, of one channel and stream when given."""
    return [
        claim
        for claim in media.claims
        if claim.session == session
        and claim.stream is not None
        and channel in (None, claim.channel)
        and stream in (None, claim.stream)
    ]


def _start_live(context: RequestContext, claim: Claim) -> None:
    assert claim.stream is not None
    library = context.media.library
    source = LiveSource(
        library.clip(claim.stream),
        fps=library.settings.fps,
        audio=library.audio(),
        start_time=context.state.device_time(),
        mid_gop=context.quirks.monitor_mid_gop,
    )
    packetizer = Packetizer(MessageId.MONITOR_DATA, session_id=claim.session, channel=claim.channel)
    packing = context.quirks.media_packing
    context.media.start(StartStream(claim, packetizer, live=source, packing=packing))
    log.info(
        "session %#x: streaming channel %d %s", claim.session, claim.channel, claim.stream.value
    )


# ---------------------------------------------------------------------- snapshot

_SNAPSHOT: Final = "OPSNAP"


def _snapshot(context: RequestContext, body: Body, request: Request) -> MediaReply:
    mode = context.quirks.snapshot
    if mode == "silent":
        return None
    parameter = body.get(_SNAPSHOT)
    channel = _channel(context, parameter.get("Channel", 0) if isinstance(parameter, dict) else 0)
    if channel is None:
        return _ret(_SNAPSHOT, Ret.ILLEGAL_REQUEST)
    if isinstance(mode, int):
        return _ret(_SNAPSHOT, mode)  # 102 on old DVRs, 108 on NVRs (docs/protocol.md §12.2)
    jpeg = context.media.library.snapshot()
    # One packet holding the whole JPEG, EndFlag 1: python-dvr takes the first 1561 packet as
    # the picture (its reader returns a packet that starts FF D8 FF E0/DB as it is), and
    # works with cameras. Cut into 8192-byte packets with the `snapshot_split` quirk.
    size = MEDIA_PAYLOAD if context.quirks.snapshot_split else max(len(jpeg), 1)
    packetizer = Packetizer(
        MessageId.NET_SNAP_RSP,
        session_id=context.session,
        channel=channel,
        first_sequence=request.frame.sequence,
        payload_size=min(size, _MAX_SNAPSHOT_PACKET),
    )
    return list(packetizer.whole(jpeg))


# ---------------------------------------------------------------------- recordings

_FILE_QUERY: Final = "OPFileQuery"
_PLAYBACK: Final = "OPPlayBack"


def _file_query(context: RequestContext, body: Body, request: Request) -> MediaReply:
    query = body.get(_FILE_QUERY)
    if not isinstance(query, dict):
        return _ret(_FILE_QUERY, Ret.ILLEGAL_REQUEST)
    begin, end = query_time(query.get("BeginTime")), query_time(query.get("EndTime"))
    channel = _whole(query.get("Channel", 0))
    kind, events = query.get("Type", "h264"), query.get("Event", "*")
    if begin is None or end is None or channel is None or not isinstance(events, str):
        return _ret(_FILE_QUERY, Ret.ILLEGAL_REQUEST)
    media = context.media
    found = media.catalogue.find(
        channel=channel,
        begin=begin,
        end=end,
        kind=kind if kind in KINDS else "",
        events=events,
        now=context.state.device_time(),
    )
    if not found:
        return _ret(_FILE_QUERY, Ret.NO_FILE_FOUND)
    return {
        "Name": _FILE_QUERY,
        _FILE_QUERY: [_record(media, recording) for recording in found],
        "Ret": Ret.OK,
    }


def _record(media: MediaSessions, recording: Recording) -> dict[str, Any]:
    try:
        size = media.catalogue.size(recording, media.library)
    except MediaError as error:
        log.error("recording %s: %s", recording.name, error)
        size = 0
    return {
        "BeginTime": format_device_time(recording.begin),
        "DiskNo": recording.disk,
        "EndTime": format_device_time(recording.end),
        # In KiB, as hex text, as devices write it (docs/protocol.md §4).
        "FileLength": f"0x{-(-size // _KILOBYTE):08X}",
        "FileName": recording.name,
        "SerialNo": recording.serial,
    }


def _file_name(parameter: dict[str, Any]) -> str | None:
    name = parameter.get("FileName")
    return name if isinstance(name, str) else None


def _playback_claim(context: RequestContext, body: Body, request: Request) -> MediaReply:
    media = context.media
    operation = _operation(body, _PLAYBACK)
    if operation is None:  # any Action: `dvrip` claims with "DownloadStart" (as for 1413)
        return _ret(_PLAYBACK, Ret.ILLEGAL_REQUEST)
    name = _file_name(operation[1])
    now = context.state.device_time()
    recording = media.catalogue.by_name(name, now=now) if name is not None else None
    if recording is None:
        return _ret(_PLAYBACK, Ret.NO_FILE_FOUND)  # as for a search that finds nothing
    claim = Claim(context.connection, context.session, recording.channel, recording=recording)
    if not media.add_claim(claim):
        return _ret(_PLAYBACK, Ret.ILLEGAL_REQUEST)
    log.info("connection %d: claimed %s for session %#x", context.connection, name, context.session)
    return _ret(_PLAYBACK, Ret.OK)


def _playback(context: RequestContext, body: Body, request: Request) -> MediaReply:
    media = context.media
    session = context.session
    operation = _operation(body, _PLAYBACK)
    if operation is None:
        return _ret(_PLAYBACK, Ret.ILLEGAL_REQUEST)
    action, parameter = operation
    name = _file_name(parameter)
    downloads = [
        claim
        for claim in media.claims
        if claim.session == session
        and claim.recording is not None
        and name in (None, claim.recording.name)
    ]
    if action == "DownloadStop":
        for claim in downloads:
            media.stop(claim, close=False)  # the client closes its data connection
        return _ret(_PLAYBACK, Ret.OK)
    if action != "DownloadStart":
        return _ret(_PLAYBACK, context.quirks.unsupported_ret)
    waiting = [claim for claim in downloads if not claim.started and name is not None]
    waiting = _newest_first(context, waiting)
    if not waiting:
        return _ret(_PLAYBACK, Ret.ILLEGAL_REQUEST)
    claim = waiting[0]
    assert claim.recording is not None
    data = media.catalogue.content(claim.recording, media.library)
    packetizer = Packetizer(MessageId.DOWNLOAD_DATA, session_id=session, channel=claim.channel)
    end = context.quirks.download_end
    media.start(StartStream(claim, packetizer, data=data, end=end))
    log.info("session %#x: sending %s (%d bytes)", session, claim.recording.name, len(data))
    return _started(context, claim, _PLAYBACK)


_Handler = Callable[[RequestContext, Body, Request], MediaReply]

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
