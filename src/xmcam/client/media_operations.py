"""The client's media operations, without I/O: live streams, snapshots, recordings and
downloads, shared by the asyncio and the blocking client.

Theory of operation. Each media exchange is split the way `xmcam.client.operations` splits the
others: what to send and what a reply means live here, the shells (`xmcam.aio.media`,
`xmcam.sync.media`) only move bytes and keep time.

- A live stream (docs/protocol.md §10) is claimed (1413) on a second TCP connection that joins the
  control session, then started and stopped (1410) on the control connection; the device
  sends 1412 packets on the media connection. When the claim is refused or unanswered, the
  single-socket flow claims and starts on the control connection itself, where media packets
  arrive between the replies. There cameras send no reply to Start, only the media: the
  Start is a call that its first media packet answers (`Call.answered_by_media`), and a
  refusal (a reply with a failure Ret) still fails it at once. Either way the packets'
  payloads go into a `LiveFeed`: the demuxer cuts them into frames, which wait in a bounded
  queue. A consumer too slow for the stream makes the queue overflow; frames are then
  dropped up to the next keyframe (a P-frame without its references is useless) and
  counted, so memory never grows.
- A snapshot (1560) is answered by JPEG packets (1561) ended by EndFlag, or by a JSON refusal
  (docs/protocol.md §12.2). The packets go to a `SnapshotCollector`; `take_snapshot()` falls back
  to the first keyframe of the live stream when `snapshot_falls_back()` says so.
- A file search (1440) is one procedure that pages through the device's 64-record cap.
- A download (docs/protocol.md §15) is a claim (1424) on a data connection, DownloadStart (1420)
  on the control connection, 1426 packets until EndFlag or an empty packet, DownloadStop. On
  one socket, the DownloadStart is answered by its data, as the Start of a live stream is.

The choices between connections are plans (`xmcam.client.plans`), written once for both
shells: `start_live()` and `start_download()` (a second connection, then one socket) and
`take_snapshot()` (OPSNAP, then the live stream). Their steps name what a shell does for them:
`ClaimData`, `StartOnControl`, `ClaimOnControl`, `RunWithSink`, `KeyframeJpeg`.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from xmcam.client import models
from xmcam.client.operations import Call, Procedure, ask
from xmcam.client.plans import Plan
from xmcam.errors import (
    ConnectionClosedError,
    DeviceError,
    PayloadError,
    RequestTimeoutError,
    XMCamError,
)
from xmcam.media.demux import MediaDemuxer
from xmcam.media.frames import MediaFrame, VideoFrame
from xmcam.protocol.codes import SEARCH_EMPTY_RETS, MessageId, Ret, message_name
from xmcam.protocol.connection import Reply
from xmcam.protocol.fields import format_device_time, lenient_int, parse_device_time
from xmcam.protocol.framing import Frame

__all__ = [
    "DOWNLOAD_HIGH_WATER",
    "DOWNLOAD_IDLE_TIMEOUT",
    "FILE_KINDS",
    "FLOWS",
    "MAX_RECORDS",
    "MAX_SNAPSHOT_SIZE",
    "PAGE_SIZE",
    "ClaimData",
    "ClaimOnControl",
    "KeyframeJpeg",
    "LiveFeed",
    "RunWithSink",
    "SnapshotCollector",
    "StartOnControl",
    "check_live_arguments",
    "claim_falls_back",
    "claim_wait",
    "download_claim",
    "download_claim_and_start",
    "download_start",
    "download_stop",
    "file_query",
    "is_last_download_packet",
    "monitor_claim",
    "monitor_claim_and_start",
    "monitor_start",
    "monitor_stop",
    "parse_record",
    "snapshot",
    "snapshot_falls_back",
    "start_download",
    "start_live",
    "start_transfer",
    "take_snapshot",
]

_log: Final = logging.getLogger("xmcam.media")

FLOWS: Final = ("auto", "two", "one")
"""Live-stream flows: "two" = the vendor's two connections, "one" = a single socket, "auto" =
two, falling back to one when the claim is refused or unanswered."""

DOWNLOAD_IDLE_TIMEOUT: Final = 60.0
"""Seconds a download may go without data: archive transfers pause for tens of seconds
(docs/protocol.md §15). The request timeout applies when it is longer."""

DOWNLOAD_HIGH_WATER: Final = 64
"""Download packets (8 KiB each) held for a slow consumer before reading pauses."""

MAX_SNAPSHOT_SIZE: Final = 8 * 1024 * 1024
"""The largest JPEG a snapshot may be: a 4K camera's is about 2 MB, so anything far larger is
a device gone wrong, and it is never held."""

PAGE_SIZE: Final = 64
"""Records per file-search reply at most: the cap real devices apply (docs/protocol.md §14)."""

MAX_RECORDS: Final = 100_000
"""Records one search gathers at most (about a year of 5-minute files): a device that keeps
answering new names cannot keep the search going for ever."""

FILE_KINDS: Final = {"video": "h264", "picture": "jpg"}
"""files(kind=...) -> the search's Type (`h264` covers H.265 too)."""

_STREAM_TYPES: Final = {False: "Main", True: "Extra1"}
_SNAPSHOT_FALLBACK_RETS: Final = frozenset({Ret.UNSUPPORTED_VERSION, Ret.TIMEOUT})  # old DVRs, NVRs
_JPEG_START: Final = b"\xff\xd8"
_JPEG_END: Final = b"\xff\xd9"
_CHANNEL_DIRECTORY: Final = re.compile(r"/(\d{3})/")  # ".../2009-02-16/001/..." is channel 0


def check_live_arguments(channel: int, flow: str, max_queue: int) -> None:
    """Raise ValueError for arguments no stream could start with."""
    if channel < 0:
        raise ValueError(f"channels count from 0, not {channel}")
    if flow not in FLOWS:
        raise ValueError(f"flow must be one of {', '.join(FLOWS)}, not {flow!r}")
    if max_queue < 1:
        raise ValueError(f"max_queue must be at least 1, not {max_queue}")


def claim_wait(claim_timeout: float, timeout: float) -> float:
    """Seconds a claim on a second connection may go unanswered: `claim_timeout`, and at
    most half the request deadline, so that the single-socket flow after it still starts
    within that one deadline (a camera that never answers the claim, such as the Vatilon H44
    of AlexxIT/go2rtc#2198, and a snapshot's fallback that must find a keyframe in it)."""
    return min(claim_timeout, timeout / 2)


def claim_falls_back(error: XMCamError) -> bool:
    """Whether a refused or failed claim on a data connection should be retried on the
    control connection: silence, a closed connection, or any refusal but "no such file"."""
    if isinstance(error, DeviceError):
        return error.ret != Ret.NO_FILE_FOUND
    return isinstance(error, RequestTimeoutError | ConnectionClosedError)


# ------------------------------------------------------------------ starting a transfer


@dataclass(frozen=True, slots=True)
class ClaimData:
    """Open a data connection joining the session of the camera's control connection (opened
    and logged in first when needed), which becomes the transfer's; send `claim` on it and
    wait for its success. The transfer's data packets then come on it."""

    claim: Call


@dataclass(frozen=True, slots=True)
class StartOnControl:
    """Run `procedure` on the transfer's control connection; ConnectionClosedError, and
    nothing sent, when it has ended."""

    procedure: Procedure[None]


@dataclass(frozen=True, slots=True)
class ClaimOnControl:
    """The single-socket flow: the camera's control connection becomes the transfer's and its
    data packets go to the transfer (StateError when that connection already carries such a
    transfer); then `procedure` (the claim and the start) runs on it."""

    procedure: Procedure[None]


def start_transfer(
    flow: str, claim: Call, start: Procedure[None], claim_and_start: Procedure[None]
) -> Plan[str]:
    """Start a live stream or a download in `flow` ("auto", "two" or "one"); return the flow
    it runs in, "two" or "one". "auto" claims on a second connection and falls back to one
    socket when `claim_falls_back()` says so; "two" raises what the claim met instead."""
    if flow != "one":
        try:
            yield ClaimData(claim)
        except XMCamError as error:
            if flow == "two" or not claim_falls_back(error):
                raise
            name = message_name(claim.message_id)
            _log.info("the %s claim on a second connection failed (%s); one socket", name, error)
        else:
            yield StartOnControl(start)
            return "two"
    yield ClaimOnControl(claim_and_start)
    return "one"


def start_live(channel: int, substream: bool, flow: str) -> Plan[str]:
    """Claim and start a live stream (docs/protocol.md §10); the flow it runs in."""
    return start_transfer(
        flow,
        monitor_claim(channel, substream),
        monitor_start(channel, substream),
        monitor_claim_and_start(channel, substream),
    )


def start_download(record: models.RecordFile) -> Plan[str]:
    """Claim and start a download (docs/protocol.md §15); the flow it runs in."""
    return start_transfer(
        "auto",
        download_claim(record),
        download_start(record),
        download_claim_and_start(record),
    )


# ------------------------------------------------------------------ live streams


def _monitor_body(action: str, channel: int, substream: bool) -> dict[str, Any]:
    parameter = {
        "Channel": channel,
        "CombinMode": "NONE",
        "StreamType": _STREAM_TYPES[substream],
        "TransMode": "TCP",
    }
    return {"Name": "OPMonitor", "OPMonitor": {"Action": action, "Parameter": parameter}}


def monitor_claim(channel: int, substream: bool) -> Call:
    """The claim (1413) of a live stream, sent on the media connection."""
    return Call(MessageId.MONITOR_CLAIM_REQ, _monitor_body("Claim", channel, substream))


def monitor_start(channel: int, substream: bool) -> Procedure[None]:
    """Start (1410) on the control connection, after the claim on the media connection."""
    yield from ask(MessageId.MONITOR_REQ, _monitor_body("Start", channel, substream))


def monitor_claim_and_start(channel: int, substream: bool) -> Procedure[None]:
    """The single-socket flow: claim and start on the control connection. The Start is
    answered by the stream's first packet: cameras send no reply to it there ([G2R] reads
    media right after it)."""
    yield from ask(MessageId.MONITOR_CLAIM_REQ, _monitor_body("Claim", channel, substream))
    yield _started_by_media(MessageId.MONITOR_REQ, _monitor_body("Start", channel, substream))


def _started_by_media(message_id: int, body: dict[str, Any]) -> Call:
    """A Start where its media will flow: its reply, or its media when no reply comes first,
    answers it (the call gets None then); a reply with a failure Ret is raised as ever."""
    return Call(message_id, body, answered_by_media=True)


def monitor_stop(channel: int, substream: bool) -> Procedure[None]:
    yield from ask(MessageId.MONITOR_REQ, _monitor_body("Stop", channel, substream))


class LiveFeed:
    """Media packets' payloads in, frames out through a bounded queue.

    Frames are handed out from the first keyframe on: what comes before it (a stream that
    starts mid-GOP) cannot be decoded. When the queue is full, the arriving frame is dropped,
    and so is every frame after it up to the next keyframe that finds room.
    """

    __slots__ = ("_demuxer", "_dropped", "_frames", "_max", "_queue", "_skipping", "bytes")

    def __init__(self, max_queue: int) -> None:
        self._demuxer = MediaDemuxer()
        self._queue: deque[MediaFrame] = deque()
        self._max = max_queue
        self._skipping = True  # until the first keyframe
        self._frames = 0
        self._dropped = 0
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, payload: bytes) -> None:
        """One media packet's payload."""
        self.bytes += len(payload)
        frames = self._demuxer.feed(payload)
        if not frames:
            return
        self._frames += len(frames)
        queue = self._queue
        for frame in frames:
            if self._skipping:
                if not (type(frame) is VideoFrame and frame.keyframe and len(queue) < self._max):
                    self._dropped += 1
                    continue
                self._skipping = False
            elif len(queue) >= self._max:
                self._dropped += 1
                self._skipping = True
                continue
            queue.append(frame)

    def pop(self) -> MediaFrame | None:
        """The oldest frame waiting, or None."""
        return self._queue.popleft() if self._queue else None

    def stats(self) -> models.StreamStats:
        demuxer = self._demuxer
        return models.StreamStats(
            frames=self._frames,
            bytes=self.bytes,
            dropped_frames=self._dropped,
            dropped_bytes=demuxer.dropped_bytes,
            service_blocks=demuxer.service_blocks,
        )


# ------------------------------------------------------------------ snapshots


class SnapshotCollector:
    """The JPEG packets (1561) answering a snapshot request, up to MAX_SNAPSHOT_SIZE."""

    __slots__ = ("_parts", "_size")

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, frame: Frame) -> None:
        self._size += len(frame.payload)
        if self._size <= MAX_SNAPSHOT_SIZE:
            self._parts.append(frame.payload)
        else:
            self._parts.clear()  # never held: result() reports the size

    def result(self) -> bytes:
        """The JPEG. Raises PayloadError when it is too large or not a whole JPEG."""
        if self._size > MAX_SNAPSHOT_SIZE:
            raise PayloadError(
                f"the snapshot has {self._size} bytes, over the limit of {MAX_SNAPSHOT_SIZE}"
            )
        data = b"".join(self._parts)
        if not data.startswith(_JPEG_START):
            raise PayloadError(f"the snapshot is not a JPEG (it starts {data[:4].hex(' ')!r})")
        if not data.rstrip(b"\x00\r\n").endswith(_JPEG_END):
            raise PayloadError("the snapshot JPEG is cut off (no end-of-image marker)")
        return data


def snapshot(channel: int, collector: SnapshotCollector) -> Procedure[bytes]:
    """OPSNAP (1560). The shell routes the answer's data packets to `collector`; the call
    gets None when they are complete (the core clears the request at EndFlag), or a Reply
    when the device answered in JSON."""
    reply: Reply | None = yield Call(
        MessageId.NET_SNAP_REQ, {"Name": "OPSNAP", "OPSNAP": {"Channel": channel}}
    )
    if reply is not None:
        raise PayloadError("the device answered the snapshot request with JSON, not a picture")
    return collector.result()


@dataclass(frozen=True, slots=True)
class RunWithSink:
    """Run `procedure` on the camera's control connection with the packets of `message_id`
    going to `sink` meanwhile; its result comes back."""

    procedure: Procedure[bytes]
    message_id: int
    sink: Callable[[Frame], None]


@dataclass(frozen=True, slots=True)
class KeyframeJpeg:
    """The first keyframe of `channel`'s live stream, decoded to a JPEG (PyAV), within the
    request deadline (RequestTimeoutError)."""

    channel: int


def take_snapshot(channel: int = 0, *, fallback: bool = True) -> Plan[bytes]:
    """A JPEG by OPSNAP; with `fallback`, from the live stream's first keyframe when the
    device refuses (Ret 102, 108), answers no JPEG, or stays silent."""
    collector = SnapshotCollector()
    try:
        jpeg: bytes = yield RunWithSink(
            snapshot(channel, collector), MessageId.NET_SNAP_RSP, collector.add
        )
    except XMCamError as error:
        if not fallback or not snapshot_falls_back(error):
            raise
        _log.info("snapshot: OPSNAP failed (%s); decoding the live stream's keyframe", error)
        jpeg = yield KeyframeJpeg(channel)
    return jpeg


def snapshot_falls_back(error: XMCamError) -> bool:
    """Whether a failed snapshot should be taken from the live stream instead: refused as
    NVRs and old DVRs do (Ret 102, 108), not a JPEG, or no answer at all."""
    if isinstance(error, DeviceError):
        return error.ret in _SNAPSHOT_FALLBACK_RETS
    return isinstance(error, PayloadError | RequestTimeoutError)


# ------------------------------------------------------------------ recordings


def file_query(
    start: datetime, end: datetime, *, channel: int = 0, kind: str = "video", events: str = "*"
) -> Procedure[list[models.RecordFile]]:
    """Every recording overlapping [start, end], sorted by begin time.

    Devices answer at most 64 records per query. While a page is full and brings something
    new, the next query starts at the last record's BeginTime; the record at the boundary
    comes twice, and the file name (unique per recording) keeps it once."""
    if kind not in FILE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FILE_KINDS)}, not {kind!r}")
    found: dict[str, models.RecordFile] = {}
    begin = _local(start)
    while len(found) < MAX_RECORDS:
        page, complete = yield from _file_page(begin, _local(end), channel, kind, events)
        records = [record for item in page if (record := parse_record(item, channel, kind))]
        new = {record.name: record for record in records if record.name not in found}
        found.update(new)
        if complete or len(page) < PAGE_SIZE or not new or not records:
            break
        begin = max(record.begin for record in records)
    return sorted(found.values(), key=lambda record: (record.begin, record.name))


def _file_page(
    begin: datetime, end: datetime, channel: int, kind: str, events: str
) -> Generator[Call, Reply | None, tuple[list[Any], bool]]:
    """One query: the records it listed, and whether the device said the list is complete."""
    body = {
        "Name": "OPFileQuery",
        "OPFileQuery": {
            "BeginTime": format_device_time(begin),
            "EndTime": format_device_time(end),
            "Channel": channel,
            "DriverTypeMask": "0x0000FFFF",
            "Event": events,
            "StreamType": "0x00000000",
            "Type": FILE_KINDS[kind],
        },
    }
    try:
        reply = yield from ask(MessageId.FILESEARCH_REQ, body)
    except DeviceError as error:
        if error.ret in SEARCH_EMPTY_RETS:
            return [], True
        raise
    page = reply.body.get("OPFileQuery")
    if page is None:
        page = reply.body.get("FileList")  # the vendor document's name for it
    if isinstance(page, dict):
        page = [page]
    return (page if isinstance(page, list) else []), reply.ret == Ret.SEARCH_COMPLETE


def _local(when: datetime) -> datetime:
    """Device-local wall time: an aware time is converted to this host's local time."""
    return when.astimezone().replace(tzinfo=None) if when.tzinfo is not None else when


def parse_record(item: object, channel: int, kind: str) -> models.RecordFile | None:
    """A RecordFile from one OPFileQuery entry, or None when its name or times are
    unreadable. The channel comes from the name's `/NNN/` directory (001 = channel 0) and
    is the query's when the name has none."""
    if not isinstance(item, dict):
        return None
    name = item.get("FileName")
    begin = parse_device_time(item.get("BeginTime"))
    end = parse_device_time(item.get("EndTime"))
    if not isinstance(name, str) or not name or begin is None or end is None:
        _log.debug("skipped an unreadable file record")
        return None
    directory = _CHANNEL_DIRECTORY.search(name)
    if directory is not None and int(directory.group(1)) > 0:
        channel = int(directory.group(1)) - 1
    kib = _number(item.get("FileLength"))
    return models.RecordFile(
        name=name,
        channel=channel,
        begin=begin,
        end=end,
        size=kib * 1024,
        disk=_number(item.get("DiskNo")),
        serial=_number(item.get("SerialNo")),
        kind=kind,
        raw=item,
    )


def _number(value: object) -> int:
    """A non-negative count as devices write them (`lenient_int`); 0 when unreadable."""
    return lenient_int(value, minimum=0) or 0


# ------------------------------------------------------------------ downloads


def _playback_body(action: str, record: models.RecordFile) -> dict[str, Any]:
    """An OPPlayBack body naming `record` by its file name and its own times (a wider window
    makes some devices send another file, alexshpilkin/dvrip#9)."""
    begin = record.raw.get("BeginTime")
    end = record.raw.get("EndTime")
    return {
        "Name": "OPPlayBack",
        "OPPlayBack": {
            "Action": action,
            "StartTime": begin if isinstance(begin, str) else format_device_time(record.begin),
            "EndTime": end if isinstance(end, str) else format_device_time(record.end),
            "Parameter": {
                "FileName": record.name,
                "PlayMode": "ByName",
                "StreamType": 0,
                "Value": 0,
                "TransMode": "TCP",
            },
        },
    }


def download_claim(record: models.RecordFile) -> Call:
    """The claim (1424) of a download, sent on the data connection."""
    return Call(MessageId.PLAY_CLAIM_REQ, _playback_body("Claim", record))


def download_start(record: models.RecordFile) -> Procedure[None]:
    yield from ask(MessageId.PLAY_REQ, _playback_body("DownloadStart", record))


def download_claim_and_start(record: models.RecordFile) -> Procedure[None]:
    """The same-socket variant: claim and DownloadStart back to back on the control
    connection (anything in between makes some devices drop the start, docs/protocol.md §15).
    The DownloadStart is answered by the first data packet, as cameras send no reply there."""
    yield from ask(MessageId.PLAY_CLAIM_REQ, _playback_body("Claim", record))
    yield _started_by_media(MessageId.PLAY_REQ, _playback_body("DownloadStart", record))


def download_stop(record: models.RecordFile) -> Procedure[None]:
    yield from ask(MessageId.PLAY_REQ, _playback_body("DownloadStop", record))


def is_last_download_packet(frame: Frame) -> bool:
    """A download ends at the packet with EndFlag, or at an empty packet (docs/protocol.md §15)."""
    return frame.header.end_flag or not frame.payload
