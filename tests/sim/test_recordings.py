"""The simulator's recordings: the catalogue on its own (names, the made-up day, files given
in JSON), then OPFileQuery (1440) and the download flow (1424 / 1420 / 1426) over TCP."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.sim.media_client import DvripSocket
from xmcam.media.demux import MediaDemuxer
from xmcam.media.frames import AudioFrame, PictureFrame, VideoCodec, VideoFrame
from xmcam.protocol import MediaPacket, MessageId
from xmcam.sim import Simulator, load_profile
from xmcam.sim.media import MediaError
from xmcam.sim.recordings import (
    MAX_RECORDS_PER_QUERY,
    Recording,
    load_recordings,
    query_time,
    recording_name,
    synthesised_catalogue,
)

pytestmark = pytest.mark.timeout(30)

NOW = datetime(2026, 11, 25, 10, 8, 41)
DAY = "2026-11-25"
YESTERDAY = "2026-11-24"
REAL_NAME = re.compile(
    r"^/idea0/\d{4}-\d\d-\d\d/\d{3}/\d\d\.\d\d\.\d\d-\d\d\.\d\d\.\d\d\[[AMRH]\]\[@[0-9a-f]+\]\[\d+\]\.(h264|jpg)$"
)


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator(wall_clock=lambda: NOW) as running:
        yield running


def query(
    begin: str = f"{DAY} 00:00:00",
    end: str = f"{DAY} 23:59:59",
    *,
    channel: int = 0,
    kind: str = "h264",
    events: str = "*",
) -> dict[str, Any]:
    body = {
        "BeginTime": begin,
        "EndTime": end,
        "Channel": channel,
        "DriverTypeMask": "0x0000FFFF",
        "Event": events,
        "Type": kind,
    }
    return {"Name": "OPFileQuery", "OPFileQuery": body}


def playback(action: str, name: str) -> dict[str, Any]:
    parameter = {
        "FileName": name,
        "PlayMode": "ByName",
        "StreamType": 0,
        "Value": 0,
        "TransMode": "TCP",
    }
    operation = {
        "Action": action,
        "StartTime": f"{DAY} 00:00:00",
        "EndTime": f"{DAY} 00:09:59",
        "Parameter": parameter,
    }
    return {"Name": "OPPlayBack", "OPPlayBack": operation}


async def records(control: DvripSocket, body: dict[str, Any]) -> list[dict[str, Any]]:
    reply = await control.call(MessageId.FILESEARCH_REQ, body)
    assert reply.ret == 100
    found = reply.body.get("OPFileQuery")
    assert isinstance(found, list)
    return found


async def download(data: DvripSocket) -> list[MediaPacket]:
    """The 1426 packets of a download, up to the one with EndFlag or the empty one."""
    packets = [await data.packet()]
    while not packets[-1].frame.header.current_packet and packets[-1].frame.payload:
        packets.append(await data.packet())
    return packets


def start_on_the_claimed_socket(control: DvripSocket, name: str) -> None:
    """DownloadStart right after the claim on the same connection: cameras send the file's
    packets and no JSON reply."""
    body = playback("DownloadStart", name)
    control.send(control.protocol.request(MessageId.PLAY_REQ, body, expect_reply=False))


# ---------------------------------------------------------------------- the catalogue


def test_file_names_as_devices_write_them() -> None:
    begin, end = datetime(2009, 2, 16, 10, 8, 41), datetime(2009, 2, 16, 10, 23, 30)
    name = recording_name(0, begin, end, "R", "h264", index=0x7CB)
    assert name == "/idea0/2009-02-16/001/10.08.41-10.23.30[R][@7cb][0].h264"
    assert Recording(11, begin, end, "MR", "jpg", serial=3).name == (
        "/idea0/2009-02-16/012/10.08.41-10.23.30[M][@0][3].jpg"
    )


def test_the_made_up_days() -> None:
    catalogue = synthesised_catalogue(date(2026, 11, 25), channels=2)
    assert len(catalogue) == 2 * 2 * (144 + 24)  # yesterday and today, two channels
    assert catalogue.recordings[0].begin == datetime(2026, 11, 24)
    assert all(REAL_NAME.match(recording.name) for recording in catalogue.recordings)
    begin, end = datetime(2026, 11, 25), datetime(2026, 11, 25, 23, 59, 59)
    videos = catalogue.find(channel=1, begin=begin, end=end, kind="h264", events="*")
    assert len(videos) == MAX_RECORDS_PER_QUERY
    assert [video.begin for video in videos] == sorted(video.begin for video in videos)
    assert {video.channel for video in videos} == {1}
    motion = catalogue.find(channel=0, begin=begin, end=end, kind="h264", events="M")
    assert len(motion) == 28
    assert {video.events for video in motion} == {"M"}
    pictures = catalogue.find(channel=0, begin=begin, end=end, kind="jpg", events="AMRH")
    assert len(pictures) == 24
    # Overlapping the window, not inside it: a file running across its start is found.
    moment = datetime(2026, 11, 25, 0, 5)
    (first,) = catalogue.find(channel=0, begin=moment, end=moment, kind="h264", events="*")
    assert (first.begin, first.end) == (datetime(2026, 11, 25), datetime(2026, 11, 25, 0, 9, 59))


def test_nothing_in_the_future() -> None:
    catalogue = synthesised_catalogue(date(2026, 11, 25), channels=1)
    begin, end = datetime(2026, 11, 25, 9), datetime(2026, 11, 25, 23, 59, 59)
    found = catalogue.find(channel=0, begin=begin, end=end, kind="h264", events="*", now=NOW)
    # 09:00 to 09:50: the file of 10:00 runs until 10:09:59, after NOW.
    assert [recording.begin.minute for recording in found] == [0, 10, 20, 30, 40, 50]
    assert all(recording.end <= NOW for recording in found)
    pictures = catalogue.find(channel=0, begin=begin, end=end, kind="jpg", events="*", now=NOW)
    assert [picture.begin.hour for picture in pictures] == [9, 10]  # 10:07:30 is past
    (later,) = [
        recording.name
        for recording in catalogue.find(channel=0, begin=NOW, end=NOW, kind="h264", events="*")
    ]
    assert "10.00.00-10.09.59" in later
    assert catalogue.by_name(later, now=NOW) is None
    assert catalogue.by_name(found[-1].name, now=NOW) == found[-1]
    # Given recordings are all there, whatever the clock says.
    future = Recording(0, NOW + timedelta(days=1), NOW + timedelta(days=1))
    given = load_recordings([future])
    assert given.by_name(future.name, now=NOW) == future


def test_the_epoch_as_clients_spell_it() -> None:
    assert query_time("2000-00-00 00:00:00") == datetime(2000, 1, 1)
    assert query_time("0000-00-00 00:00:00") == datetime(2000, 1, 1)
    assert query_time("2026-11-25 10:08:41") == NOW
    assert query_time("2000-00-01 00:00:00") is None
    assert query_time(None) is None


def test_recordings_from_a_json_file(tmp_path: Path, h265_clip: Path) -> None:
    (tmp_path / "clip.h265").write_bytes(h265_clip.read_bytes())
    items = [
        {"channel": 0, "begin": "2026-11-25 08:00:00", "end": "2026-11-25 08:00:02",
         "events": "A", "kind": "h264", "path": "clip.h265"},
        {"channel": 0, "begin": "2026-11-25 07:00:00", "end": "2026-11-25 07:00:00",
         "kind": "jpg", "name": "/idea0/2026-11-25/001/07.00.00-07.00.00[R][@1][0].jpg"},
    ]  # fmt: skip
    listing = tmp_path / "files.json"
    listing.write_text(json.dumps(items))
    catalogue = load_recordings(listing)
    assert [recording.kind for recording in catalogue.recordings] == ["jpg", "h264"]
    assert catalogue.recordings[1].path == tmp_path / "clip.h265"
    assert catalogue.recordings[1].name.endswith("08.00.00-08.00.02[A][@0][0].h264")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[", "not JSON"),
        ("{}", "a JSON array"),
        ('[{"channel": 0}]', "item 1: channel, begin and end are required"),
        ('[{"channel": -1, "begin": "x", "end": "x"}]', "item 1: channel"),
        ('[{"channel": 0, "begin": "2026-11-25", "end": "x"}]', "item 1: "),
        ('[{"channel": 0, "begin": "2026-11-25 01:00:00", "end": "2026-11-25 00:00:00"}]', "ends"),
        ('[{"channel": 0, "begin": "2026-11-25 01:00:00", "end": "2026-11-25 01:00:00", '
         '"events": "Z"}]', "events"),
        ('[{"channel": 0, "begin": "2026-11-25 01:00:00", "end": "2026-11-25 01:00:00", '
         '"kind": "avi"}]', "kind"),
        ('[{"channel": 0, "begin": "2026-11-25 01:00:00", "end": "2026-11-25 01:00:00", '
         '"path": "nowhere.h264"}]', "no such file"),
        ('[{"channel": 0, "begin": "2026-11-25 01:00:00", "end": "2026-11-25 01:00:00", '
         '"colour": 1}]', "unknown field"),
        ('[{"channel": 0, "begin": "2026-11-25 01:00:00", "end": "2026-11-25 01:00:00"},'
         '{"channel": 0, "begin": "2026-11-25 01:00:00", "end": "2026-11-25 01:00:00"}]',
         "same name"),
    ],
)  # fmt: skip
def test_bad_recordings_files_are_refused_in_one_line(
    tmp_path: Path, content: str, message: str
) -> None:
    listing = tmp_path / "files.json"
    listing.write_text(content)
    with pytest.raises(MediaError, match=re.escape(message)) as refusal:
        load_recordings(listing)
    assert "\n" not in str(refusal.value)
    with pytest.raises(MediaError, match="cannot read"):
        load_recordings(tmp_path / "missing.json")


# ---------------------------------------------------------------------- OPFileQuery


async def test_paging_through_a_day(simulator: Simulator) -> None:
    control = await DvripSocket.logged_in(simulator)
    seen: dict[str, dict[str, Any]] = {}
    begin, pages = f"{YESTERDAY} 00:00:00", []
    while True:  # the client's paging of the wire contract
        page = await records(control, query(begin, f"{YESTERDAY} 23:59:59"))
        pages.append(len(page))
        new = [record for record in page if record["FileName"] not in seen]
        seen.update((record["FileName"], record) for record in page)
        if not new or len(page) < MAX_RECORDS_PER_QUERY:
            break
        begin = page[-1]["BeginTime"]
    assert pages == [64, 64, 18]  # the last record of a page opens the next one
    assert len(seen) == 144
    first = next(iter(seen.values()))
    assert first == {
        "BeginTime": f"{YESTERDAY} 00:00:00",
        "DiskNo": 0,
        "EndTime": f"{YESTERDAY} 00:09:59",
        "FileLength": first["FileLength"],
        "FileName": f"/idea0/{YESTERDAY}/001/00.00.00-00.09.59[R][@0][0].h264",
        "SerialNo": 0,
    }
    assert re.fullmatch(r"0x[0-9A-F]{8}", first["FileLength"])
    assert 200 < int(first["FileLength"], 16) < 400  # KiB: the 4 s clip in its container
    await control.close()


async def test_query_filters_and_refusals(simulator: Simulator) -> None:
    control = await DvripSocket.logged_in(simulator)
    yesterday = (f"{YESTERDAY} 00:00:00", f"{YESTERDAY} 23:59:59")
    motion = await records(control, query(*yesterday, events="M"))
    assert len(motion) == 28
    assert all("[M]" in record["FileName"] for record in motion)
    pictures = await records(control, query(*yesterday, kind="jpg"))
    assert len(pictures) == 24
    assert all(record["FileName"].endswith(".jpg") for record in pictures)
    # Today until NOW (10:08:41): the files that have ended, none to come.
    today = await records(control, query())
    assert len(today) == 60
    assert today[-1]["EndTime"] == f"{DAY} 09:59:59"
    assert len(await records(control, query(events="M"))) == 12
    assert len(await records(control, query(kind="jpg"))) == 11
    nothing = [
        query("2026-11-23 00:00:00", "2026-11-23 23:59:59"),  # before: nothing recorded
        query(f"{DAY} 10:00:00", "2026-11-26 23:59:59"),  # the future: nothing yet
        query(channel=1),  # a channel the camera does not have
        query(kind="avi"),
        query(events="A"),
    ]
    for body in nothing:
        reply = await control.call(MessageId.FILESEARCH_REQ, body)
        assert (reply.body.name, reply.ret, "OPFileQuery" in reply.body.data) == (
            "OPFileQuery",
            119,
            False,
        )
    for bad in (query(begin="yesterday"), {"Name": "OPFileQuery"}):
        assert (await control.call(MessageId.FILESEARCH_REQ, bad)).ret == 103
    await control.close()


async def test_a_search_from_the_epoch(simulator: Simulator) -> None:
    # `dvr find` with no start sends its EPOCH, spelled "2000-00-00 00:00:00".
    control = await DvripSocket.logged_in(simulator)
    page = await records(control, query("2000-00-00 00:00:00", f"{DAY} 23:59:59"))
    assert len(page) == MAX_RECORDS_PER_QUERY
    assert page[0]["BeginTime"] == f"{YESTERDAY} 00:00:00"
    await control.close()


# ---------------------------------------------------------------------- downloads


@pytest.mark.parametrize("action", ["Claim", "DownloadStart"])
async def test_a_download_on_its_own_connection(simulator: Simulator, action: str) -> None:
    control = await DvripSocket.logged_in(simulator)
    (record, *_) = await records(control, query(f"{DAY} 09:00:00"))
    name = record["FileName"]
    data = await control.media_for(simulator)
    # `dvrip` claims with the DownloadStart it then sends: the claim goes by its message id.
    claim = await data.call(MessageId.PLAY_CLAIM_REQ, playback(action, name))
    assert (claim.frame.message_id, claim.ret) == (MessageId.PLAY_CLAIM_RSP, 100)
    assert claim.frame.session_id == control.protocol.session_id
    assert (await control.call(MessageId.PLAY_REQ, playback("DownloadStart", name))).ret == 100
    packets = await download(data)
    headers = [packet.frame.header for packet in packets]
    assert {header.message_id for header in headers} == {MessageId.DOWNLOAD_DATA}
    assert all(header.length <= 8192 for header in headers)
    # The end both kinds of client take: an empty packet with EndFlag 1.
    assert [header.current_packet for header in headers] == [0] * (len(headers) - 1) + [1]
    assert headers[-1].length == 0
    content = b"".join(packet.frame.payload for packet in packets)
    assert -(-len(content) // 1024) == int(record["FileLength"], 16)
    demuxer = MediaDemuxer()
    frames = demuxer.feed(content)
    video = [frame for frame in frames if isinstance(frame, VideoFrame)]
    assert len(video) == 100
    assert sum(isinstance(frame, AudioFrame) for frame in frames) == 100
    assert (video[0].codec, video[0].width, video[0].timestamp) == (
        VideoCodec.H264,
        640,
        datetime(2026, 11, 25, 9, 0),
    )
    assert demuxer.dropped_bytes == 0
    assert (await control.call(MessageId.PLAY_REQ, playback("DownloadStop", name))).ret == 100
    await data.close()
    await control.close()


@pytest.mark.parametrize(("end", "last_flag"), [("empty", 0), ("flag", 1)])
async def test_a_download_on_the_control_connection_ended_as_the_quirk_says(
    end: str, last_flag: int
) -> None:
    profile = load_profile().with_quirks(download_end=end)
    async with Simulator(profile, wall_clock=lambda: NOW) as sim:
        control = await DvripSocket.logged_in(sim)
        (picture, *_) = await records(control, query(kind="jpg"))
        name = picture["FileName"]
        assert (await control.call(MessageId.PLAY_CLAIM_REQ, playback("Claim", name))).ret == 100
        start_on_the_claimed_socket(control, name)
        packets = await download(control)
        flags = [packet.frame.header.current_packet for packet in packets]
        assert flags == [0] * (len(packets) - 1) + [last_flag]
        assert (packets[-1].frame.payload == b"") is (end == "empty")
        (frame,) = MediaDemuxer().feed(b"".join(packet.frame.payload for packet in packets))
        assert isinstance(frame, PictureFrame)
        assert (frame.width, frame.height, frame.timestamp) == (
            640,
            360,
            datetime(2026, 11, 25, 0, 7, 30),
        )
        assert frame.data.startswith(b"\xff\xd8")
        assert (await control.call(MessageId.PLAY_REQ, playback("DownloadStop", name))).ret == 100
        await control.close()


async def test_quirk_start_reply_answers_a_download_start_on_the_claimed_socket() -> None:
    profile = load_profile().with_quirks(start_reply=True)
    async with Simulator(profile, wall_clock=lambda: NOW) as sim:
        control = await DvripSocket.logged_in(sim)
        (picture, *_) = await records(control, query(kind="jpg"))
        name = picture["FileName"]
        assert (await control.call(MessageId.PLAY_CLAIM_REQ, playback("Claim", name))).ret == 100
        reply = await control.call(MessageId.PLAY_REQ, playback("DownloadStart", name))
        assert (reply.frame.message_id, reply.ret) == (MessageId.PLAY_RSP, 100)
        assert control.packets == []  # the reply comes before the file
        packets = await download(control)
        assert (packets[-1].frame.header.current_packet, packets[-1].frame.payload) == (1, b"")
        await control.close()


async def test_a_future_file_cannot_be_claimed(simulator: Simulator) -> None:
    control = await DvripSocket.logged_in(simulator)
    catalogue = simulator.device.media.catalogue
    (later,) = catalogue.find(channel=0, begin=NOW, end=NOW, kind="h264", events="*")
    claim = await control.call(MessageId.PLAY_CLAIM_REQ, playback("Claim", later.name))
    assert claim.ret == 119  # as for a file the device does not have
    await control.close()


async def test_download_refusals(simulator: Simulator) -> None:
    control = await DvripSocket.logged_in(simulator)
    (record, *_) = await records(control, query())
    name = record["FileName"]
    # DownloadStart with no claim; a file the device does not have; another action.
    assert (await control.call(MessageId.PLAY_REQ, playback("DownloadStart", name))).ret == 103
    unknown = playback("Claim", name.replace("001", "009"))
    assert (await control.call(MessageId.PLAY_CLAIM_REQ, unknown)).ret == 119
    assert (await control.call(MessageId.PLAY_REQ, playback("Fast", name))).ret == 102
    # A claim for a session no connection has: 103 and the connection is closed.
    stranger = await DvripSocket.open(simulator, control.protocol.for_session(0x4242))
    refused = await stranger.call(MessageId.PLAY_CLAIM_REQ, playback("Claim", name))
    assert refused.ret == 103
    assert await stranger.closed_by_peer()
    await stranger.close()
    await control.close()


async def test_recordings_given_to_the_simulator(h265_clip: Path) -> None:
    begin = datetime(2026, 11, 25, 9)
    recording = Recording(0, begin, begin + timedelta(seconds=2), "A", "h264", path=h265_clip)
    async with Simulator(recordings=[recording], no_audio=True, wall_clock=lambda: NOW) as sim:
        control = await DvripSocket.logged_in(sim)
        (record,) = await records(control, query())
        assert record["FileName"] == recording.name
        name = recording.name
        assert (await control.call(MessageId.PLAY_CLAIM_REQ, playback("Claim", name))).ret == 100
        start_on_the_claimed_socket(control, name)
        content = b"".join(packet.frame.payload for packet in await download(control))
        frames = MediaDemuxer().feed(content)
        assert len(frames) == 50
        assert all(isinstance(frame, VideoFrame) for frame in frames)
        assert (frames[0].codec, frames[0].width) == (VideoCodec.H265, 320)  # type: ignore[union-attr]
        await control.close()


async def test_a_recorded_file_is_served_as_it_is(tmp_path: Path) -> None:
    container = tmp_path / "real.h264"
    container.write_bytes(b"\x00\x00\x01\xfd\x04\x00\x00\x00\x00\x00\x00\x01" * 3)
    recording = Recording(0, NOW, NOW, "R", "h264", path=container)
    async with Simulator(recordings=[recording], wall_clock=lambda: NOW) as sim:
        control = await DvripSocket.logged_in(sim)
        name = recording.name
        assert (await control.call(MessageId.PLAY_CLAIM_REQ, playback("Claim", name))).ret == 100
        start_on_the_claimed_socket(control, name)
        content = b"".join(packet.frame.payload for packet in await download(control))
        assert content == container.read_bytes()
        await control.close()
