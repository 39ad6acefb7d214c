"""The asyncio client's media against the simulator on 127.0.0.1: live streams in both flows
(and the fallback between them), Stop on every way out, the bounded queue, keepalives during
a stream, snapshots and their fallback, the recordings search and downloads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

import xmcam
from tests.media_checks import (
    EXTRA_UNITS,
    MAIN_UNITS,
    SNAPSHOT,
    Connections,
    assert_gop_order,
    connections,
    picture_size,
    refuse_starts,
)
from tests.waiting import until
from xmcam.aio import AsyncCamera
from xmcam.client import media_operations as mops
from xmcam.client.models import RecordFile
from xmcam.errors import (
    ConnectionClosedError,
    DeviceError,
    InvalidRequestError,
    RequestTimeoutError,
    StateError,
)
from xmcam.media.demux import MediaDemuxer
from xmcam.media.frames import MediaFrame, VideoFrame
from xmcam.sim import Simulator, load_profile
from xmcam.sim.profile import Profile

# The simulator runs on the test's loop, whose clock skips idle waits: the paced streams, the
# keepalives and the deadlines below take no real time.
pytestmark = pytest.mark.virtual_time


@contextlib.asynccontextmanager
async def camera(
    profile: Profile | None = None, *, paced: bool = False, timeout: float = 3.0
) -> AsyncIterator[tuple[Simulator, AsyncCamera]]:
    async with Simulator(profile or load_profile()) as sim:
        sim.faults.media_pace = 1.0 if paced else 0.0
        async with xmcam.connect(sim.host, sim.port, timeout=timeout) as cam:
            cam.claim_timeout = 0.3
            yield sim, cam


async def take(stream: AsyncIterator[MediaFrame], count: int) -> list[MediaFrame]:
    frames = []
    async for frame in stream:
        frames.append(frame)
        if len(frames) == count:
            break
    return frames


def idle(sim: Simulator) -> bool:
    """Nothing streams: no claim, no media connection."""
    state = connections(sim)
    return state.claims == 0 and state.media == 0


# ---------------------------------------------------------------------- live streams


async def test_two_connection_flow() -> None:
    async with camera() as (sim, cam):
        async with cam.live(max_queue=10_000) as stream:
            assert stream.flow == "two"
            assert connections(sim).media == 1  # the vendor's second connection
            frames = await take(stream, 300)
            # The control connection still answers while the stream runs.
            assert (await cam.system_info()).channels == 1
            requests = connections(sim).control_requests
        first = frames[0]
        assert isinstance(first, VideoFrame)
        assert first.keyframe
        assert (first.codec, first.width, first.height, first.fps) == (2, 640, 360, 25)
        assert_gop_order(frames, MAIN_UNITS)
        assert sum(isinstance(frame, VideoFrame) for frame in frames) > 100
        stats = stream.stats
        assert stats.frames >= 300
        assert stats.bytes > 0
        assert (stats.dropped_frames, stats.dropped_bytes) == (0, 0)
        # Stop went out on the control connection, and nothing is left open.
        await until(lambda: idle(sim))
        assert connections(sim).control_requests == (requests[0] + 1,)
        assert "flow='two'" in repr(stream)


async def test_single_socket_fallback_when_the_claim_goes_unanswered() -> None:
    profile = load_profile().with_quirks(monitor_claim_silent=True)
    async with camera(profile) as (sim, cam):
        async with cam.live() as stream:
            assert stream.flow == "one"
            assert connections(sim) == Connections((4,), 0, 1)  # negotiation, login, claim, start
            frames = await take(stream, 200)
            # Replies and media share the socket: a request in between still works.
            assert len(await cam.channel_titles()) == 1
            frames += await take(stream, 50)
        assert_gop_order(frames, MAIN_UNITS)
        await until(lambda: idle(sim))
        assert connections(sim).control_requests == (6,)  # ... the titles, the Stop
        assert (await cam.system_info()).channels == 1  # the connection lives on


async def test_flow_two_without_an_answer_to_the_claim() -> None:
    profile = load_profile().with_quirks(monitor_claim_silent=True)
    async with camera(profile) as (sim, cam):
        with pytest.raises(RequestTimeoutError, match="MONITOR_CLAIM_REQ"):
            await cam.live(flow="two").start()
        await until(lambda: idle(sim))


async def test_flow_one_asked_for() -> None:
    async with camera() as (sim, cam):
        async with cam.live(flow="one") as stream:
            assert stream.flow == "one"
            assert connections(sim).media == 0
            frames = await take(stream, 100)
            with pytest.raises(StateError, match="already carries"):
                await cam.live(flow="one").start()
        assert_gop_order(frames, MAIN_UNITS)
        await until(lambda: idle(sim))


async def test_fallback_when_the_device_takes_no_second_connection() -> None:
    async with camera() as (_sim, cam):
        await cam.set_config("NetWork.NetCommon", {"TCPMaxConn": 1})
        async with cam.live() as stream:
            assert stream.flow == "one"
            await take(stream, 10)


async def test_sub_stream() -> None:
    async with camera() as (_sim, cam):
        async with cam.live(substream=True, max_queue=1000) as stream:
            frames = await take(stream, 100)
        first = frames[0]
        assert isinstance(first, VideoFrame)
        assert (first.width, first.height) == (352, 288)
        assert_gop_order(frames, EXTRA_UNITS)


async def test_a_stream_that_starts_mid_gop_is_handed_out_from_its_keyframe() -> None:
    profile = load_profile().with_quirks(monitor_mid_gop=True)
    async with camera(profile) as (_sim, cam), cam.live(max_queue=1000) as stream:
        frames = await take(stream, 100)
        first = frames[0]
        assert isinstance(first, VideoFrame)
        assert first.keyframe
        assert_gop_order(frames, MAIN_UNITS)
        assert stream.stats.dropped_bytes > 0  # the tail of a frame
        assert stream.stats.dropped_frames > 0  # the rest of the GOP


async def test_channel_out_of_range_is_refused() -> None:
    async with camera() as (sim, cam):
        for flow in ("auto", "two", "one"):
            with pytest.raises(InvalidRequestError) as caught:
                await cam.live(3, flow=flow).start()
            assert caught.value.ret == 103
            await until(lambda: idle(sim))
        assert (await cam.system_info()).channels == 1


async def test_stop_is_sent_when_the_consumer_is_cancelled() -> None:
    async with camera(paced=True) as (sim, cam):
        started = asyncio.Event()

        async def consume() -> None:
            async with cam.live() as stream:
                async for _frame in stream:
                    started.set()

        task = asyncio.create_task(consume())
        await started.wait()
        requests = connections(sim).control_requests
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: idle(sim))
        assert connections(sim).control_requests == (requests[0] + 1,)  # the Stop


async def test_stop_is_sent_when_iteration_fails() -> None:
    async with camera(paced=True) as (sim, cam):
        requests: list[tuple[int, ...]] = []

        async def failing_loop(flow: str) -> None:
            async with cam.live(flow=flow) as stream:
                await take(stream, 1)
                requests.append(connections(sim).control_requests)
                raise ZeroDivisionError

        for flow in ("two", "one"):
            with pytest.raises(ZeroDivisionError):
                await failing_loop(flow)
            await until(lambda: idle(sim))
            assert connections(sim).control_requests == (requests[-1][0] + 1,)


async def test_overflow_drops_frames_up_to_a_keyframe() -> None:
    async with camera() as (_sim, cam):
        async with cam.live(max_queue=8) as stream:
            frames = []
            async for frame in stream:
                frames.append(frame)
                await asyncio.sleep(0.002)  # slower than the unpaced simulator
                if len(frames) == 60:
                    break
        stats = stream.stats
        assert stats.dropped_frames > 0
        assert stats.frames - stats.dropped_frames >= len(frames)
        assert_gop_order(frames, MAIN_UNITS)


async def test_keepalive_goes_on_during_a_stream() -> None:
    # The session expires after one silent AliveInterval of 1 s; keepalives every 0.5 s.
    profile = load_profile().with_alive_interval(1).with_quirks(session_expiry_intervals=1.0)
    async with camera(profile, paced=True) as (sim, cam):
        async with cam.live() as stream:
            requests = connections(sim).control_requests[0]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 1.6
            async for _frame in stream:
                if loop.time() > deadline:
                    break
            assert connections(sim).control_requests[0] >= requests + 3
            assert connections(sim).media == 1
        assert stream.stats.frames > 30  # 25 fps for 1.6 s, audio besides


async def test_a_dead_media_connection_ends_the_iteration() -> None:
    async with camera(paced=True) as (sim, cam):
        async with cam.live() as stream:
            await take(stream, 1)
            media = [
                number for number, link in sim.device.connections.items() if not link.session_id
            ]
            sim.links[media[0]].close()
            with pytest.raises(ConnectionClosedError, match="media connection ended"):
                async for _frame in stream:
                    pass
        assert (await cam.system_info()).channels == 1


async def test_a_dead_control_connection_ends_the_iteration() -> None:
    async with camera(paced=True) as (sim, cam):
        for flow in ("two", "one"):
            async with cam.live(flow=flow) as stream:
                await take(stream, 1)
                sim.drop_connections()
                with pytest.raises(ConnectionClosedError, match="connection ended"):
                    await take(stream, 1_000_000)
            await until(lambda: idle(sim))


async def test_iterating_without_a_block_and_closing_twice() -> None:
    async with camera() as (sim, cam):
        stream = cam.live()
        frames = await take(stream, 5)  # the first frame starts the stream
        assert len(frames) == 5
        await stream.close()
        await stream.close()
        assert [frame async for frame in stream] == []
        await until(lambda: idle(sim))


async def test_live_arguments_are_checked() -> None:
    async with camera() as (_sim, cam):
        with pytest.raises(ValueError, match="flow"):
            cam.live(flow="udp")


# ---------------------------------------------------------------------- unanswered starts


@pytest.mark.parametrize("answered", [False, True], ids=["unanswered", "answered"])
async def test_one_socket_whether_or_not_the_start_is_answered(answered: bool) -> None:
    # Cameras send no reply to a Start or DownloadStart on the socket that holds the claim,
    # only the media, which count as started; the `start_reply` quirk answers them, as some
    # camera may: the same then.
    profile = load_profile().with_quirks(start_reply=answered)
    async with camera(profile) as (sim, cam):
        async with cam.live(flow="one") as stream:
            frames = await take(stream, 100)
            assert len(await cam.channel_titles()) == 1
            frames += await take(stream, 20)
        assert_gop_order(frames, MAIN_UNITS)
        await until(lambda: idle(sim))
        # The negotiation, the login, the claim, the Start, the titles, the Stop.
        assert connections(sim).control_requests == (6,)
        record = (await all_of_yesterday(sim, cam))[0]
        await cam.set_config("NetWork.NetCommon", {"TCPMaxConn": 1})
        data = b"".join([chunk async for chunk in cam.download(record)])
        assert abs(len(data) - record.size) < 1024
        await until(lambda: idle(sim))
        assert len(connections(sim).control_requests) == 1  # the one connection, in step
        assert (await cam.system_info()).channels == 1


@pytest.mark.parametrize("stop_before_it", [False, True])
async def test_a_start_reply_after_the_media_leaves_the_connection_in_step(
    stop_before_it: bool,
) -> None:
    # Replies come 0.5 s late, the media at once: the Start's reply arrives after its media,
    # while another request waits, or while the Stop (the same message id) does.
    profile = load_profile().with_quirks(start_reply=True)
    async with camera(profile) as (sim, cam):
        sim.faults.reply_delay = 0.5
        loop = asyncio.get_running_loop()
        async with cam.live(flow="one") as stream:
            started = loop.time()
            frames = await take(stream, 50)
            if not stop_before_it:
                assert len(await cam.channel_titles()) == 1
                assert loop.time() - started > 0.5  # the late reply came meanwhile
                frames += await take(stream, 50)
        assert_gop_order(frames, MAIN_UNITS)
        assert (await cam.system_info()).channels == 1
        assert (await cam.get_config("General.General"))["MachineName"] == "LocalHost"
        await until(lambda: idle(sim))
        assert len(connections(sim).control_requests) == 1  # never dropped and rebuilt


async def test_a_refused_start_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_starts(monkeypatch, 103)
    async with camera(timeout=3.0) as (sim, cam):
        record = (await all_of_yesterday(sim, cam))[0]
        loop = asyncio.get_running_loop()
        for flow in ("one", "two"):
            started = loop.time()
            with pytest.raises(InvalidRequestError) as caught:
                await cam.live(flow=flow).start()
            assert caught.value.ret == 103
            assert loop.time() - started < 1.0  # not the request deadline of 3 s
        await cam.set_config("NetWork.NetCommon", {"TCPMaxConn": 1})
        started = loop.time()
        with pytest.raises(InvalidRequestError):
            await anext(aiter(cam.download(record)))
        assert loop.time() - started < 1.0
        assert (await cam.system_info()).channels == 1
        assert len(connections(sim).control_requests) == 1


@pytest.mark.parametrize("quirk", ["default", "monitor_claim_silent"])
async def test_a_stream_starts_within_one_timeout(quirk: str) -> None:
    # The claim on a second connection waits half the deadline at most, so a camera that
    # never answers it (the Vatilon H44) streams from one socket within that deadline:
    # a snapshot's fallback finds its keyframe in it.
    profile = load_profile().with_quirks(snapshot=108)
    if quirk != "default":
        profile = profile.with_quirks(monitor_claim_silent=True)
    async with camera(profile, timeout=1.0) as (sim, cam):
        cam.claim_timeout = 2.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with cam.live() as stream:
            await take(stream, 1)
            assert loop.time() - started < 1.0
            assert stream.flow == ("two" if quirk == "default" else "one")
        jpeg = await cam.snapshot()
        assert picture_size(jpeg) == (640, 360)
        await until(lambda: idle(sim))


# ---------------------------------------------------------------------- snapshots


async def test_snapshot() -> None:
    async with camera() as (_sim, cam):
        assert await cam.snapshot() == SNAPSHOT
        assert await cam.snapshot(fallback=False) == SNAPSHOT
        assert (await cam.system_info()).channels == 1  # the connection is in step


@pytest.mark.parametrize("refusal", [102, 108, "silent"])
async def test_snapshot_fallback(refusal: int | str) -> None:
    profile = load_profile().with_quirks(snapshot=refusal)
    async with camera(profile, timeout=0.5) as (sim, cam):
        jpeg = await cam.snapshot()
        assert jpeg[:2] == b"\xff\xd8"
        assert jpeg != SNAPSHOT
        assert picture_size(jpeg) == (640, 360)
        await until(lambda: idle(sim))
        expected = RequestTimeoutError if refusal == "silent" else DeviceError
        with pytest.raises(expected) as caught:
            await cam.snapshot(fallback=False)
        if isinstance(refusal, int):
            assert isinstance(caught.value, DeviceError)
            assert caught.value.ret == refusal


async def test_snapshot_of_a_channel_that_is_not_there() -> None:
    async with camera() as (_sim, cam):
        with pytest.raises(InvalidRequestError):
            await cam.snapshot(5)


# ---------------------------------------------------------------------- recordings


def yesterday(sim: Simulator) -> datetime:
    """The start of the device's yesterday: a whole day recorded (today's files come as the
    day goes on, nothing is in the future)."""
    today = datetime.combine(sim.state.device_time().date(), datetime.min.time())
    return today - timedelta(days=1)


async def all_of_yesterday(
    sim: Simulator, cam: AsyncCamera, kind: str = "video"
) -> list[RecordFile]:
    day = yesterday(sim)
    return await cam.files(day, day + timedelta(days=1) - timedelta(seconds=1), kind=kind)


def catalogued(sim: Simulator, kind: str) -> int:
    """The files of `kind` the device recorded yesterday."""
    day = yesterday(sim).date()
    recordings = sim.device.media.catalogue.recordings
    return sum(item.kind == kind and item.begin.date() == day for item in recordings)


async def test_files_page_past_the_cap_without_duplicates() -> None:
    async with camera() as (sim, cam):
        before = connections(sim).control_requests[0]
        found = await all_of_yesterday(sim, cam)
        assert len(found) == catalogued(sim, "h264") == 144  # ten-minute files
        assert len({record.name for record in found}) == 144
        assert [record.begin for record in found] == sorted(record.begin for record in found)
        # 64 records, then 64 from the last one's BeginTime (one of them again), then 18.
        assert connections(sim).control_requests[0] == before + 3
        first = found[0]
        assert (first.channel, first.kind, first.disk) == (0, "video", 0)
        assert first.size > 0
        assert first.end > first.begin


async def test_files_none_found() -> None:
    async with camera() as (_sim, cam):
        assert await cam.files(datetime(2001, 1, 1), datetime(2001, 1, 2)) == []
        assert await cam.files(datetime(2001, 1, 1), datetime(2001, 1, 2), kind="picture") == []


async def test_files_of_pictures() -> None:
    async with camera() as (sim, cam):
        found = await all_of_yesterday(sim, cam, kind="picture")
        assert len(found) == catalogued(sim, "jpg") > 0
        assert all(record.kind == "picture" and record.name.endswith(".jpg") for record in found)


@pytest.mark.parametrize("end", ["flag", "empty"])
async def test_download(end: str) -> None:
    profile = load_profile().with_quirks(download_end=end)
    async with camera(profile) as (sim, cam):
        record = (await all_of_yesterday(sim, cam))[5]
        recording = sim.device.media.catalogue.by_name(record.name)
        assert recording is not None
        expected = sim.device.media.catalogue.content(recording, sim.device.media.library)
        chunks = [chunk async for chunk in cam.download(record)]
        assert b"".join(chunks) == expected
        assert max(len(chunk) for chunk in chunks) <= 8192
        assert abs(len(expected) - record.size) < 1024  # the device counts KiB
        frames = MediaDemuxer().feed(b"".join(chunks))
        assert isinstance(frames[0], VideoFrame)
        await until(lambda: idle(sim))


async def test_download_on_one_socket_when_no_second_connection_is_allowed() -> None:
    async with camera() as (sim, cam):
        record = (await all_of_yesterday(sim, cam))[0]
        await cam.set_config("NetWork.NetCommon", {"TCPMaxConn": 1})
        data = b"".join([chunk async for chunk in cam.download(record)])
        assert len(data) > 100_000
        await until(lambda: idle(sim))
        assert (await cam.system_info()).channels == 1


async def test_download_with_a_slow_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mops, "DOWNLOAD_HIGH_WATER", 4)  # reading pauses after 4 packets
    async with camera() as (sim, cam):
        record = (await all_of_yesterday(sim, cam))[1]
        chunks = []
        async for chunk in cam.download(record):
            chunks.append(chunk)
            await asyncio.sleep(0.002)
        assert len(chunks) > 8
        assert abs(sum(map(len, chunks)) - record.size) < 1024


async def test_download_stopped_early_and_an_unknown_file() -> None:
    async with camera() as (sim, cam):
        record = (await all_of_yesterday(sim, cam))[2]
        requests = connections(sim).control_requests[0]
        async with contextlib.aclosing(cam.download(record)) as chunks:
            async for _chunk in chunks:
                break
        await until(lambda: idle(sim))
        assert connections(sim).control_requests[0] == requests + 2  # start, stop
        missing = RecordFile("/idea0/none.h264", 0, record.begin, record.end, 0, 0, 0, "video", {})
        with pytest.raises(DeviceError) as caught:
            async for _chunk in cam.download(missing):
                pass
        assert caught.value.ret == 119
        await until(lambda: idle(sim))
