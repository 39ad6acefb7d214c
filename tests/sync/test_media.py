"""The blocking client's media against the simulator (in its own thread) on 127.0.0.1: live
streams in both flows (and the fallback between them), Stop on every way out, the bounded
queue, the keepalives the iterator sends, snapshots and their fallback, the recordings search
and downloads."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
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
from tests.virtual_time import ManualClock
from tests.waiting import wait_until
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
from xmcam.sim import SimulatorThread, load_profile
from xmcam.sim.profile import Profile
from xmcam.sync.media import LiveStream


@contextlib.contextmanager
def camera(
    profile: Profile | None = None,
    *,
    paced: bool = False,
    timeout: float = 3.0,
    clock: ManualClock | None = None,
) -> Iterator[tuple[SimulatorThread, xmcam.Camera]]:
    """A simulator in its thread and a camera logged in to it. With `clock`, both keep their
    sessions' time on it (the test turns it): keepalives and expiries without real waiting."""
    with SimulatorThread(profile or load_profile(), clock=clock) as sim:
        sim.simulator.faults.media_pace = 1.0 if paced else 0.0
        camera = xmcam.Camera(sim.host, sim.port, timeout=timeout)
        camera.clock = clock or time.monotonic
        with camera as cam:
            cam.claim_timeout = 0.3
            yield sim, cam


def state(sim: SimulatorThread) -> Connections:
    return sim.call(connections, sim.simulator)


def idle(sim: SimulatorThread) -> bool:
    now = state(sim)
    return now.claims == 0 and now.media == 0


def take(stream: Iterable[MediaFrame], count: int) -> list[MediaFrame]:
    frames = []
    for frame in stream:
        frames.append(frame)
        if len(frames) == count:
            break
    return frames


# ---------------------------------------------------------------------- live streams


def test_two_connection_flow() -> None:
    with camera() as (sim, cam), cam.live(max_queue=10_000) as stream:
        assert stream.flow == "two"
        assert state(sim).media == 1
        frames = take(stream, 300)
        assert cam.system_info().channels == 1
        requests = state(sim).control_requests
        stream.close()
        first = frames[0]
        assert isinstance(first, VideoFrame)
        assert first.keyframe
        assert (first.codec, first.width, first.height, first.fps) == (2, 640, 360, 25)
        assert_gop_order(frames, MAIN_UNITS)
        assert (stream.stats.dropped_frames, stream.stats.dropped_bytes) == (0, 0)
        wait_until(lambda: idle(sim))
        assert state(sim).control_requests == (requests[0] + 1,)  # the Stop
        assert "flow='two'" in repr(stream)


def test_single_socket_fallback_when_the_claim_goes_unanswered() -> None:
    profile = load_profile().with_quirks(monitor_claim_silent=True)
    with camera(profile) as (sim, cam):
        with cam.live(max_queue=10_000) as stream:
            assert stream.flow == "one"
            assert state(sim) == Connections((4,), 0, 1)  # negotiation, login, claim, start
            frames = take(stream, 200)
            # Media met while waiting for this reply goes to the stream, not astray.
            assert len(cam.channel_titles()) == 1
            frames += take(stream, 50)
        assert_gop_order(frames, MAIN_UNITS)
        wait_until(lambda: idle(sim))
        assert state(sim).control_requests == (6,)  # ... the titles, the Stop
        assert cam.system_info().channels == 1


def test_flow_two_without_an_answer_to_the_claim() -> None:
    profile = load_profile().with_quirks(monitor_claim_silent=True)
    with camera(profile) as (sim, cam):
        with pytest.raises(RequestTimeoutError, match="MONITOR_CLAIM_REQ"):
            cam.live(flow="two").start()
        wait_until(lambda: idle(sim))


def test_flow_one_asked_for() -> None:
    with camera() as (sim, cam):
        with cam.live(flow="one", max_queue=1000) as stream:
            assert stream.flow == "one"
            assert state(sim).media == 0
            frames = take(stream, 100)
            with pytest.raises(StateError, match="already carries"):
                cam.live(flow="one").start()
        assert_gop_order(frames, MAIN_UNITS)
        wait_until(lambda: idle(sim))


def test_fallback_when_the_device_takes_no_second_connection() -> None:
    with camera() as (_sim, cam):
        cam.set_config("NetWork.NetCommon", {"TCPMaxConn": 1})
        with cam.live() as stream:
            assert stream.flow == "one"
            take(stream, 10)


def test_sub_stream() -> None:
    with camera() as (_sim, cam):
        with cam.live(substream=True, max_queue=1000) as stream:
            frames = take(stream, 100)
        first = frames[0]
        assert isinstance(first, VideoFrame)
        assert (first.width, first.height) == (352, 288)
        assert_gop_order(frames, EXTRA_UNITS)


def test_a_stream_that_starts_mid_gop_is_handed_out_from_its_keyframe() -> None:
    profile = load_profile().with_quirks(monitor_mid_gop=True)
    with camera(profile) as (_sim, cam), cam.live(max_queue=1000) as stream:
        frames = take(stream, 100)
        first = frames[0]
        assert isinstance(first, VideoFrame)
        assert first.keyframe
        assert_gop_order(frames, MAIN_UNITS)
        assert stream.stats.dropped_bytes > 0
        assert stream.stats.dropped_frames > 0


def test_channel_out_of_range_is_refused() -> None:
    with camera() as (sim, cam):
        for flow in ("auto", "two", "one"):
            with pytest.raises(InvalidRequestError) as caught:
                cam.live(3, flow=flow).start()
            assert caught.value.ret == 103
            wait_until(lambda: idle(sim))
        assert cam.system_info().channels == 1


def test_stop_is_sent_on_ctrl_c_in_the_loop() -> None:
    with camera(paced=True) as (sim, cam):
        requests: list[tuple[int, ...]] = []

        def interrupted_loop(flow: str) -> None:
            with cam.live(flow=flow) as stream:
                take(stream, 1)
                requests.append(state(sim).control_requests)
                raise KeyboardInterrupt

        for flow in ("two", "one"):
            with pytest.raises(KeyboardInterrupt):
                interrupted_loop(flow)
            wait_until(lambda: idle(sim))
            assert state(sim).control_requests == (requests[-1][0] + 1,)


def test_overflow_drops_frames_up_to_a_keyframe() -> None:
    with camera() as (_sim, cam), cam.live(max_queue=8) as stream:
        frames = []
        for frame in stream:
            frames.append(frame)
            time.sleep(0.002)  # slower than the unpaced simulator
            if len(frames) == 60:
                break
        stats = stream.stats
        assert stats.dropped_frames > 0
        assert stats.frames - stats.dropped_frames >= len(frames)
        assert_gop_order(frames, MAIN_UNITS)


@pytest.mark.parametrize("flow", ["two", "one"])
def test_the_iterator_sends_keepalives(flow: str) -> None:
    # The session expires after one silent AliveInterval of 1 s: only keepalives sent by the
    # iterator every 0.5 s hold it while the loop runs. The clock moves one frame's time at
    # 25 fps for every frame taken.
    profile = load_profile().with_alive_interval(1).with_quirks(session_expiry_intervals=1.0)
    clock = ManualClock()
    with camera(profile, clock=clock) as (sim, cam), cam.live(flow=flow) as stream:
        requests = state(sim).control_requests[0]
        for _frame in stream:
            clock.advance(1 / 25)
            if clock() > 1.6:
                break
        assert state(sim).control_requests[0] >= requests + 3
        assert stream.stats.frames > 30


def test_a_dead_media_connection_ends_the_iteration() -> None:
    with camera(paced=True) as (sim, cam):
        with cam.live() as stream:
            take(stream, 1)

            def close_media() -> None:
                simulator = sim.simulator
                media = [n for n, c in simulator.device.connections.items() if not c.session_id]
                simulator.links[media[0]].close()

            sim.call(close_media)
            with pytest.raises(ConnectionClosedError, match="closed the data connection"):
                take(stream, 1_000_000)
        assert cam.system_info().channels == 1


def test_a_dead_control_connection_ends_the_iteration() -> None:
    with camera(paced=True) as (sim, cam):
        for flow in ("two", "one"):
            with cam.live(flow=flow) as stream:
                take(stream, 1)
                sim.call(sim.simulator.drop_connections)
                with pytest.raises(ConnectionClosedError, match="closed the"):
                    take(stream, 1_000_000)
            wait_until(lambda: idle(sim))
            assert cam.system_info().channels == 1  # logged in again


def test_a_new_login_ends_a_stream_of_the_old_session() -> None:
    with camera(paced=True) as (_sim, cam), cam.live() as stream:
        take(stream, 1)
        cam.close()
        cam.open()
        with pytest.raises(ConnectionClosedError, match="this stream began on has ended"):
            take(stream, 1_000_000)


def test_next_frame_with_a_timeout() -> None:
    with camera(paced=True) as (sim, cam):
        stream = cam.live()
        assert isinstance(stream.next_frame(2.0), VideoFrame)  # starts the stream
        sim.simulator.faults.media_pace = 0.01  # a frame every 4 s
        assert frames_until_timeout(stream) < 100  # after what had arrived already
        stream.close()
        stream.close()
        assert list(stream) == []
        wait_until(lambda: idle(sim))


def frames_until_timeout(stream: LiveStream) -> int:
    """How many frames came before a wait of 0.2 s for the next one timed out."""
    for count in range(1000):
        try:
            stream.next_frame(0.2)
        except RequestTimeoutError:
            return count
    raise AssertionError("frames kept coming")


# ---------------------------------------------------------------------- unanswered starts


@pytest.mark.parametrize("answered", [False, True], ids=["unanswered", "answered"])
def test_one_socket_whether_or_not_the_start_is_answered(answered: bool) -> None:
    # Cameras send no reply to a Start or DownloadStart on the socket that holds the claim,
    # only the media, which count as started; the `start_reply` quirk answers them, as some
    # camera may: the same then.
    profile = load_profile().with_quirks(start_reply=answered)
    with camera(profile) as (sim, cam):
        with cam.live(flow="one", max_queue=10_000) as stream:
            frames = take(stream, 100)
            assert len(cam.channel_titles()) == 1
            frames += take(stream, 20)
        assert_gop_order(frames, MAIN_UNITS)
        wait_until(lambda: idle(sim))
        # The negotiation, the login, the claim, the Start, the titles, the Stop.
        assert state(sim).control_requests == (6,)
        record = all_of_yesterday(sim, cam)[0]
        cam.set_config("NetWork.NetCommon", {"TCPMaxConn": 1})
        data = b"".join(cam.download(record))
        assert abs(len(data) - record.size) < 1024
        wait_until(lambda: idle(sim))
        assert len(state(sim).control_requests) == 1  # the one connection, in step
        assert cam.system_info().channels == 1


@pytest.mark.parametrize("stop_before_it", [False, True])
def test_a_start_reply_after_the_media_leaves_the_connection_in_step(
    stop_before_it: bool,
) -> None:
    # Replies come 0.2 s late, the media at once: the Start's reply arrives after its media,
    # while another request waits, or while the Stop (the same message id) does.
    profile = load_profile().with_quirks(start_reply=True)
    with camera(profile) as (sim, cam):
        sim.simulator.faults.reply_delay = 0.2
        with cam.live(flow="one", max_queue=10_000) as stream:
            started = time.monotonic()
            frames = take(stream, 50)
            if not stop_before_it:
                assert len(cam.channel_titles()) == 1
                assert time.monotonic() - started > 0.2  # the late reply came meanwhile
                frames += take(stream, 50)
        assert_gop_order(frames, MAIN_UNITS)
        assert cam.system_info().channels == 1
        assert cam.get_config("General.General")["MachineName"] == "LocalHost"
        wait_until(lambda: idle(sim))
        assert len(state(sim).control_requests) == 1  # never dropped and rebuilt


def test_a_refused_start_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_starts(monkeypatch, 103)
    with camera(timeout=3.0) as (sim, cam):
        record = all_of_yesterday(sim, cam)[0]
        for flow in ("one", "two"):
            started = time.monotonic()
            with pytest.raises(InvalidRequestError) as caught:
                cam.live(flow=flow).start()
            assert caught.value.ret == 103
            assert time.monotonic() - started < 1.0  # not the request deadline of 3 s
        cam.set_config("NetWork.NetCommon", {"TCPMaxConn": 1})
        started = time.monotonic()
        with pytest.raises(InvalidRequestError):
            next(cam.download(record))
        assert time.monotonic() - started < 1.0
        assert cam.system_info().channels == 1
        assert len(state(sim).control_requests) == 1


@pytest.mark.parametrize("quirk", ["default", "monitor_claim_silent"])
def test_a_stream_starts_within_one_timeout(quirk: str) -> None:
    # The claim on a second connection waits half the deadline at most, so a camera that
    # never answers it (the Vatilon H44) streams from one socket within that deadline:
    # a snapshot's fallback finds its keyframe in it.
    profile = load_profile().with_quirks(snapshot=108)
    if quirk != "default":
        profile = profile.with_quirks(monitor_claim_silent=True)
    with camera(profile, timeout=1.0) as (sim, cam):
        cam.claim_timeout = 2.0
        started = time.monotonic()
        with cam.live(max_queue=10_000) as stream:
            take(stream, 1)
            assert time.monotonic() - started < 1.0
            assert stream.flow == ("two" if quirk == "default" else "one")
        jpeg = cam.snapshot()
        assert picture_size(jpeg) == (640, 360)
        wait_until(lambda: idle(sim))


# ---------------------------------------------------------------------- snapshots


def test_snapshot() -> None:
    with camera() as (_sim, cam):
        assert cam.snapshot() == SNAPSHOT
        assert cam.snapshot(fallback=False) == SNAPSHOT
        assert cam.system_info().channels == 1


@pytest.mark.parametrize("refusal", [102, 108, "silent"])
def test_snapshot_fallback(refusal: int | str) -> None:
    profile = load_profile().with_quirks(snapshot=refusal)
    with camera(profile, timeout=0.5) as (sim, cam):
        jpeg = cam.snapshot()
        assert jpeg != SNAPSHOT
        assert picture_size(jpeg) == (640, 360)
        wait_until(lambda: idle(sim))
        expected = RequestTimeoutError if refusal == "silent" else DeviceError
        with pytest.raises(expected) as caught:
            cam.snapshot(fallback=False)
        if isinstance(refusal, int):
            assert isinstance(caught.value, DeviceError)
            assert caught.value.ret == refusal


# ---------------------------------------------------------------------- recordings


def all_of_yesterday(
    sim: SimulatorThread, cam: xmcam.Camera, kind: str = "video"
) -> list[RecordFile]:
    """A whole day of files: the device's yesterday (nothing of today is in the future)."""
    today = datetime.combine(sim.state.device_time().date(), datetime.min.time())
    day = today - timedelta(days=1)
    return cam.files(day, today - timedelta(seconds=1), kind=kind)


def test_files_page_past_the_cap_without_duplicates() -> None:
    with camera() as (sim, cam):
        before = state(sim).control_requests[0]
        found = all_of_yesterday(sim, cam)
        assert len(found) == 144
        assert len({record.name for record in found}) == 144
        assert [record.begin for record in found] == sorted(record.begin for record in found)
        assert state(sim).control_requests[0] == before + 3
        assert cam.files(datetime(2001, 1, 1), datetime(2001, 1, 2)) == []
        assert all(record.kind == "picture" for record in all_of_yesterday(sim, cam, "picture"))


def expected_content(sim: SimulatorThread, record: RecordFile) -> bytes:
    def content() -> bytes:
        media = sim.simulator.device.media
        recording = media.catalogue.by_name(record.name)
        assert recording is not None
        return media.catalogue.content(recording, media.library)

    return sim.call(content)


@pytest.mark.parametrize("end", ["flag", "empty"])
def test_download(end: str) -> None:
    profile = load_profile().with_quirks(download_end=end)
    with camera(profile) as (sim, cam):
        record = all_of_yesterday(sim, cam)[5]
        chunks = list(cam.download(record))
        assert b"".join(chunks) == expected_content(sim, record)
        assert max(len(chunk) for chunk in chunks) <= 8192
        assert isinstance(MediaDemuxer().feed(b"".join(chunks))[0], VideoFrame)
        wait_until(lambda: idle(sim))


def test_download_on_one_socket_when_no_second_connection_is_allowed() -> None:
    with camera() as (sim, cam):
        record = all_of_yesterday(sim, cam)[0]
        cam.set_config("NetWork.NetCommon", {"TCPMaxConn": 1})
        assert b"".join(cam.download(record)) == expected_content(sim, record)
        wait_until(lambda: idle(sim))
        assert cam.system_info().channels == 1


def test_download_stopped_early_and_an_unknown_file() -> None:
    with camera() as (sim, cam):
        record = all_of_yesterday(sim, cam)[2]
        requests = state(sim).control_requests[0]
        chunks = cam.download(record)
        next(chunks)
        chunks.close()  # as leaving a for loop early does, when the iterator is dropped
        wait_until(lambda: idle(sim))
        assert state(sim).control_requests[0] == requests + 2  # start, stop
        missing = RecordFile("/idea0/none.h264", 0, record.begin, record.end, 0, 0, 0, "video", {})
        with pytest.raises(DeviceError) as caught:
            list(cam.download(missing))
        assert caught.value.ret == 119
        wait_until(lambda: idle(sim))


def test_download_keeps_the_session_alive() -> None:
    profile = load_profile().with_alive_interval(1).with_quirks(session_expiry_intervals=1.0)
    clock = ManualClock()
    with camera(profile, clock=clock) as (sim, cam):
        record = all_of_yesterday(sim, cam)[3]
        requests = state(sim).control_requests[0]
        total = 0
        for chunk in cam.download(record):
            total += len(chunk)
            clock.advance(0.05)  # a slow consumer: 30 packets take 1.5 s
        assert total == len(expected_content(sim, record))
        assert state(sim).control_requests[0] >= requests + 4  # start, keepalives, stop
