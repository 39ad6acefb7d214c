"""The media operations without I/O: request bodies, the live feed's bounded queue, the
snapshot collector, file-search paging and record parsing, the fallback rules. (The shells
run all of this against the simulator in tests/aio/test_media.py and tests/sync/test_media.py.)"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from xmcam.client import media_operations as mops
from xmcam.client import operations as ops
from xmcam.client.models import RecordFile, StreamStats
from xmcam.errors import (
    ConnectionClosedError,
    DeviceError,
    PayloadError,
    ProtocolError,
    RequestTimeoutError,
    error_for_ret,
)
from xmcam.media.frames import (
    AudioFrame,
    VideoFrame,
    encode_audio_frame,
    encode_video_frame,
)
from xmcam.protocol.codes import MessageId
from xmcam.protocol.connection import Reply
from xmcam.protocol.framing import Frame
from xmcam.protocol.header import Header
from xmcam.protocol.payload import Body

KEY = encode_video_frame(b"\x00\x00\x00\x01\x65key", keyframe=True, width=640, height=360)
P = encode_video_frame(b"\x00\x00\x00\x01\x41p", keyframe=False)
AUDIO = encode_audio_frame(b"\xd5" * 320)


def kinds(feed: mops.LiveFeed) -> str:
    """What the feed hands out, as letters: K keyframe, P other video, A audio."""
    letters = []
    while (frame := feed.pop()) is not None:
        if isinstance(frame, VideoFrame):
            letters.append("K" if frame.keyframe else "P")
        else:
            assert isinstance(frame, AudioFrame)
            letters.append("A")
    return "".join(letters)


# ------------------------------------------------------------------ the live feed


def test_feed_starts_at_the_first_keyframe() -> None:
    feed = mops.LiveFeed(16)
    stream = P + AUDIO + P + KEY + P + AUDIO + P
    feed.add(stream[:7])  # a cut in the middle of a frame header
    feed.add(stream[7:])
    assert kinds(feed) == "KPAP"
    assert feed.stats() == StreamStats(
        frames=7, bytes=len(stream), dropped_frames=3, dropped_bytes=0, service_blocks=0
    )


def test_feed_overflow_drops_up_to_the_next_keyframe_that_fits() -> None:
    feed = mops.LiveFeed(2)
    feed.add(KEY + P + P + AUDIO + KEY + P)
    # K P fill the queue; the next P overflows, and everything is dropped up to a keyframe
    # with room: the second K finds the queue still full, so it goes too.
    assert len(feed) == 2
    assert feed.stats().dropped_frames == 4
    assert kinds(feed) == "KP"
    feed.add(P + AUDIO + KEY + P + AUDIO)
    assert kinds(feed) == "KP"  # P and A dropped (still skipping), K and P fit, A overflows
    assert feed.stats().dropped_frames == 7
    feed.add(P)
    assert kinds(feed) == ""  # skipping since the overflow: a P-frame alone is useless
    feed.add(KEY)
    assert kinds(feed) == "K"
    assert (feed.stats().frames, feed.stats().dropped_frames) == (13, 8)


def test_feed_queue_never_exceeds_its_bound() -> None:
    feed = mops.LiveFeed(5)
    for _ in range(50):
        feed.add(KEY + P + P + P + AUDIO)
        assert len(feed) <= 5
    stats = feed.stats()
    assert stats.frames == 250
    assert stats.frames - stats.dropped_frames == len(feed) == 5


def test_feed_counts_garbage_bytes() -> None:
    feed = mops.LiveFeed(4)
    feed.add(b"\x11" * 10 + KEY)
    assert kinds(feed) == "K"
    assert feed.stats().dropped_bytes == 10


# ------------------------------------------------------------------ arguments and bodies


@pytest.mark.parametrize(
    ("channel", "flow", "max_queue", "message"),
    [(-1, "auto", 1, "channels count from 0"), (0, "three", 1, "flow must be"),
     (0, "one", 0, "max_queue must be")],
)  # fmt: skip
def test_live_arguments_are_checked(channel: int, flow: str, max_queue: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mops.check_live_arguments(channel, flow, max_queue)


def test_monitor_bodies_are_the_contract() -> None:
    claim = mops.monitor_claim(2, substream=True)
    assert claim.message_id == MessageId.MONITOR_CLAIM_REQ
    assert claim.body == {
        "Name": "OPMonitor",
        "OPMonitor": {
            "Action": "Claim",
            "Parameter": {
                "Channel": 2,
                "CombinMode": "NONE",
                "StreamType": "Extra1",
                "TransMode": "TCP",
            },
        },
    }
    calls = list(calls_of(mops.monitor_claim_and_start(0, substream=False)))
    assert [(call.message_id, call.body["OPMonitor"]["Action"]) for call in calls] == [
        (MessageId.MONITOR_CLAIM_REQ, "Claim"),
        (MessageId.MONITOR_REQ, "Start"),
    ]
    assert calls[1].body["OPMonitor"]["Parameter"]["StreamType"] == "Main"
    # On one socket the Start is answered by its media (cameras send no reply there); on
    # the vendor's control connection, and for the claim and the Stop, a reply is awaited.
    assert [call.answered_by_media for call in calls] == [False, True]
    (start,) = calls_of(mops.monitor_start(0, substream=False))
    assert (start.body, start.answered_by_media) == (calls[1].body, False)
    (stop,) = calls_of(mops.monitor_stop(0, substream=False))
    assert stop.body["OPMonitor"]["Action"] == "Stop"
    assert not stop.answered_by_media


def test_playback_bodies_name_the_file_with_its_own_times() -> None:
    record = mops.parse_record(RAW_RECORD, 0, "video")
    assert record is not None
    claim = mops.download_claim(record)
    assert claim.message_id == MessageId.PLAY_CLAIM_REQ
    assert claim.body == {
        "Name": "OPPlayBack",
        "OPPlayBack": {
            "Action": "Claim",
            "StartTime": "2009-02-16 10:08:41",
            "EndTime": "2009-02-16 10:23:30",
            "Parameter": {
                "FileName": RAW_RECORD["FileName"],
                "PlayMode": "ByName",
                "StreamType": 0,
                "Value": 0,
                "TransMode": "TCP",
            },
        },
    }
    actions = [
        (call.message_id, call.body["OPPlayBack"]["Action"], call.answered_by_media)
        for call in calls_of(mops.download_claim_and_start(record))
    ]
    assert actions == [
        (MessageId.PLAY_CLAIM_REQ, "Claim", False),
        (MessageId.PLAY_REQ, "DownloadStart", True),
    ]
    (start,) = calls_of(mops.download_start(record))
    assert (start.body["OPPlayBack"]["Action"], start.answered_by_media) == ("DownloadStart", False)
    (stop,) = calls_of(mops.download_stop(record))
    assert stop.body["OPPlayBack"]["Action"] == "DownloadStop"
    # A record built by hand (no raw times) is named by its parsed times.
    bare = RecordFile(record.name, 0, record.begin, record.end, 0, 0, 0, "video", raw={})
    assert mops.download_claim(bare).body["OPPlayBack"]["StartTime"] == "2009-02-16 10:08:41"


def test_a_start_on_one_socket_takes_its_media_for_its_answer() -> None:
    record = mops.parse_record(RAW_RECORD, 0, "video")
    assert record is not None
    for procedure in (
        mops.monitor_claim_and_start(0, substream=False),
        mops.download_claim_and_start(record),
    ):
        claim = ops.advance(procedure, None)
        assert isinstance(claim, ops.Call)
        start = ops.advance(procedure, reply(claim.message_id, {"Ret": 100}))
        assert isinstance(start, ops.Call)
        assert start.answered_by_media
        # The shell hands the call None when the media came first: started all the same.
        assert ops.advance(procedure, None) == ops.Finished(None)


def test_last_download_packet() -> None:
    assert mops.is_last_download_packet(data_frame(MessageId.DOWNLOAD_DATA, b"x", end=True))
    assert mops.is_last_download_packet(data_frame(MessageId.DOWNLOAD_DATA, b""))
    assert not mops.is_last_download_packet(data_frame(MessageId.DOWNLOAD_DATA, b"x"))


def test_the_claim_on_a_second_connection_leaves_half_the_deadline_to_one_socket() -> None:
    assert mops.claim_wait(2.0, 10.0) == 2.0
    assert mops.claim_wait(2.0, 2.0) == 1.0
    assert mops.claim_wait(0.3, 0.5) == 0.25


def test_fallback_rules() -> None:
    assert mops.claim_falls_back(RequestTimeoutError("silent"))
    assert mops.claim_falls_back(ConnectionClosedError("closed"))
    assert mops.claim_falls_back(error_for_ret(103))
    assert not mops.claim_falls_back(error_for_ret(119))  # no such file: no use trying again
    assert not mops.claim_falls_back(ProtocolError("bad bytes"))
    assert mops.snapshot_falls_back(error_for_ret(102))
    assert mops.snapshot_falls_back(error_for_ret(108))
    assert mops.snapshot_falls_back(PayloadError("not a JPEG"))
    assert mops.snapshot_falls_back(RequestTimeoutError("silent"))
    assert not mops.snapshot_falls_back(error_for_ret(107))
    assert not mops.snapshot_falls_back(ConnectionClosedError("closed"))


# ------------------------------------------------------------------ snapshots

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"


def collect(parts: list[bytes]) -> bytes:
    collector = mops.SnapshotCollector()
    for index, part in enumerate(parts):
        collector.add(data_frame(MessageId.NET_SNAP_RSP, part, end=index == len(parts) - 1))
    procedure = mops.snapshot(0, collector)
    call = next(procedure)
    assert call == ops.Call(MessageId.NET_SNAP_REQ, {"Name": "OPSNAP", "OPSNAP": {"Channel": 0}})
    result = ops.advance(procedure, None)
    assert isinstance(result, ops.Finished)
    assert isinstance(result.value, bytes)
    return result.value


def test_snapshot_collects_jpeg_parts() -> None:
    assert collect([JPEG[:8192], JPEG[8192:]]) == JPEG
    assert collect([JPEG + b"\x00\n"]) == JPEG + b"\x00\n"  # padding after EOI is allowed


@pytest.mark.parametrize(
    ("parts", "message"),
    [([b"GIF89a"], "not a JPEG"), ([JPEG[:-2]], "cut off"), ([], "not a JPEG")],
)
def test_snapshot_that_is_no_jpeg(parts: list[bytes], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        collect(parts)


def test_snapshot_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mops, "MAX_SNAPSHOT_SIZE", 1000)
    collector = mops.SnapshotCollector()
    for _ in range(5):
        collector.add(data_frame(MessageId.NET_SNAP_RSP, JPEG[:400]))
    held = [part for slot in gc.get_referents(collector) for part in gc.get_referents(slot)]
    assert not [part for part in held if isinstance(part, bytes)]  # nothing held past the limit
    with pytest.raises(PayloadError, match="2000 bytes, over the limit of 1000"):
        collector.result()


def test_snapshot_answered_in_json_is_no_picture() -> None:
    procedure = mops.snapshot(0, mops.SnapshotCollector())
    next(procedure)
    with pytest.raises(PayloadError, match="JSON"):
        ops.advance(procedure, reply(MessageId.NET_SNAP_REQ, {"Name": "OPSNAP", "Ret": 100}))


# ------------------------------------------------------------------ records and paging

RAW_RECORD: dict[str, Any] = {
    "BeginTime": "2009-02-16 10:08:41",
    "DiskNo": 0,
    "EndTime": "2009-02-16 10:23:30",
    "FileLength": "0x0000B000",
    "FileName": "/idea0/2009-02-16/003/10.08.41-10.23.30[R][@7cb][0].h264",
    "SerialNo": 7,
}


def test_record_parsed_from_the_protocol_example() -> None:
    record = mops.parse_record(RAW_RECORD, 0, "video")
    assert record == RecordFile(
        name=RAW_RECORD["FileName"],
        channel=2,  # the /003/ directory
        begin=datetime(2009, 2, 16, 10, 8, 41),
        end=datetime(2009, 2, 16, 10, 23, 30),
        size=0xB000 * 1024,
        disk=0,
        serial=7,
        kind="video",
        raw=RAW_RECORD,
    )
    assert "raw" not in repr(record)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"FileLength": 1024, "DiskNo": "0x1"}, (1024 * 1024, 1, 5)),
        ({"FileLength": "12", "SerialNo": True}, (12 * 1024, 0, 5)),
        ({"FileLength": "0xZZ", "DiskNo": -3}, (0, 0, 5)),
        ({"FileLength": None, "FileName": "/idea0/x/000/a.h264"}, (0, 0, 5)),
        ({"FileLength": "9" * 30, "FileName": "a.jpg"}, (0, 0, 5)),
        # Read as every other field now is (xmcam.protocol.fields.lenient_int): a float with
        # no fraction and a hex number with blanks around were 0 here.
        ({"FileLength": 12.0, "DiskNo": " 0x2 "}, (12 * 1024, 2, 5)),
        ({"FileLength": "1_000", "DiskNo": "٣"}, (0, 0, 5)),
    ],
)
def test_record_numbers_read_leniently(
    changes: dict[str, Any], expected: tuple[int, int, int]
) -> None:
    record = mops.parse_record({**RAW_RECORD, **changes}, 5, "picture")
    assert record is not None
    channel = 2 if "FileName" not in changes else 5  # the query's, when the name has none
    assert (record.size, record.disk, record.channel) == (*expected[:2], channel)


@pytest.mark.parametrize(
    "item",
    [
        "not an object",
        {**RAW_RECORD, "FileName": ""},
        {**RAW_RECORD, "FileName": None},
        {**RAW_RECORD, "BeginTime": "0000-00-00 00:00:00"},
        {**RAW_RECORD, "EndTime": 20090216},
    ],
)
def test_unreadable_record_is_skipped(item: object) -> None:
    assert mops.parse_record(item, 0, "video") is None


def records(start: datetime, count: int, *, step: int = 60) -> list[dict[str, Any]]:
    """`count` device records a minute apart from `start`."""
    items = []
    for index in range(count):
        begin = start + timedelta(seconds=index * step)
        end = begin + timedelta(seconds=step)
        items.append(
            {
                "BeginTime": begin.strftime("%Y-%m-%d %H:%M:%S"),
                "EndTime": end.strftime("%Y-%m-%d %H:%M:%S"),
                "DiskNo": 0,
                "SerialNo": 0,
                "FileLength": "0x00000010",
                "FileName": f"/idea0/{begin:%Y-%m-%d}/001/{begin:%H.%M.%S}-{end:%H.%M.%S}.h264",
            }
        )
    return items


class FakeDevice:
    """Answers file queries from a catalogue the way the contract says (for the paging
    rules alone: the shells' tests use the simulator)."""

    def __init__(self, catalogue: list[dict[str, Any]], ret: int = 100) -> None:
        self.catalogue = catalogue
        self.ret = ret
        self.queries: list[dict[str, Any]] = []

    def answer(self, call: ops.Call) -> Reply | DeviceError:
        query = call.body["OPFileQuery"]
        self.queries.append(query)
        page = [
            item
            for item in self.catalogue
            if item["EndTime"] >= query["BeginTime"] and item["BeginTime"] <= query["EndTime"]
        ][: mops.PAGE_SIZE]
        if not page:
            return error_for_ret(119)
        return reply(call.message_id, {"Name": "OPFileQuery", "OPFileQuery": page, "Ret": self.ret})


def run_query(device: FakeDevice, **options: Any) -> list[RecordFile]:
    start = options.pop("start", datetime(2026, 1, 1))
    end = options.pop("end", datetime(2026, 1, 2))
    procedure = mops.file_query(start, end, **options)
    outcome: Reply | DeviceError | None = None
    while not isinstance(step := ops.advance(procedure, outcome), ops.Finished):
        assert step.message_id == MessageId.FILESEARCH_REQ
        outcome = device.answer(step)
    return step.value


def test_paging_across_the_64_boundary_without_duplicates() -> None:
    device = FakeDevice(records(datetime(2026, 1, 1, 8), 150))
    found = run_query(device)
    assert len(found) == 150
    assert len({record.name for record in found}) == 150
    assert [record.begin for record in found] == sorted(record.begin for record in found)
    # Each next page starts at the last record's BeginTime.
    assert [query["BeginTime"] for query in device.queries] == [
        "2026-01-01 00:00:00",
        "2026-01-01 09:03:00",  # the 09:02 record overlaps it and comes again
        "2026-01-01 10:05:00",
    ]
    assert device.queries[0] == {
        "BeginTime": "2026-01-01 00:00:00",
        "EndTime": "2026-01-02 00:00:00",
        "Channel": 0,
        "DriverTypeMask": "0x0000FFFF",
        "Event": "*",
        "StreamType": "0x00000000",
        "Type": "h264",
    }


def test_exactly_one_full_page() -> None:
    device = FakeDevice(records(datetime(2026, 1, 1, 8), 64))
    assert len(run_query(device)) == 64
    assert len(device.queries) == 2  # the second brings nothing new


def test_a_page_that_makes_no_progress_ends_the_search() -> None:
    same = records(datetime(2026, 1, 1, 8), 1) * 64  # one name, 64 times
    device = FakeDevice(same)
    assert len(run_query(device)) == 1
    assert len(device.queries) == 2  # the second page brought nothing new


def test_search_complete_ret_ends_paging() -> None:
    device = FakeDevice(records(datetime(2026, 1, 1, 8), 100), ret=110)
    assert len(run_query(device)) == 64
    assert len(device.queries) == 1


def test_nothing_found_is_an_empty_list() -> None:
    device = FakeDevice([])
    assert run_query(device, kind="picture", channel=3, events="M") == []
    assert device.queries[0]["Type"] == "jpg"
    assert (device.queries[0]["Channel"], device.queries[0]["Event"]) == (3, "M")


def test_other_refusals_are_raised() -> None:
    procedure = mops.file_query(datetime(2026, 1, 1), datetime(2026, 1, 2))
    next(procedure)
    with pytest.raises(DeviceError) as caught:
        ops.advance(procedure, error_for_ret(107))
    assert caught.value.ret == 107


@pytest.mark.parametrize(
    "body",
    [
        {"Name": "OPFileQuery", "Ret": 100},
        {"Name": "OPFileQuery", "OPFileQuery": "nonsense", "Ret": 100},
        {"Name": "OPFileQuery", "FileList": [RAW_RECORD], "Ret": 100},
        {"Name": "OPFileQuery", "OPFileQuery": RAW_RECORD, "Ret": 100},
    ],
)
def test_odd_reply_shapes(body: dict[str, Any]) -> None:
    procedure = mops.file_query(datetime(2009, 1, 1), datetime(2010, 1, 1))
    next(procedure)
    result = ops.advance(procedure, reply(MessageId.FILESEARCH_REQ, body))
    assert isinstance(result, ops.Finished)
    expected = 1 if isinstance(body.get("OPFileQuery", body.get("FileList")), list | dict) else 0
    assert len(result.value) == expected


def test_aware_times_are_sent_as_local_wall_time() -> None:
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    procedure = mops.file_query(start, start + timedelta(hours=1))
    call = next(procedure)
    assert call.body["OPFileQuery"]["BeginTime"] == start.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    procedure.close()


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind must be one of video, picture"):
        next(mops.file_query(datetime(2026, 1, 1), datetime(2026, 1, 2), kind="audio"))


# ------------------------------------------------------------------ helpers


def calls_of(procedure: ops.Procedure[None]) -> Iterator[ops.Call]:
    """The calls a procedure makes when every call is answered with success."""
    outcome: Reply | None = None
    while not isinstance(step := ops.advance(procedure, outcome), ops.Finished):
        yield step
        outcome = reply(step.message_id, {"Ret": 100})


def reply(request_id: int, body: dict[str, Any]) -> Reply:
    return Reply(request_id, Frame(Header(request_id + 1, 0), b""), Body(body))


def data_frame(message_id: int, payload: bytes, *, end: bool = False) -> Frame:
    header = Header(message_id, len(payload), current_packet=1 if end else 0)
    return Frame(header, payload)
