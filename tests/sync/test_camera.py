"""The blocking client against the simulator (in its own thread) on 127.0.0.1: every method,
deadlines, rebuilt connections, one login attempt, PTZ stops and reboots."""

from __future__ import annotations

import contextlib
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

import xmcam
from tests.client_tour import method_tour
from tests.virtual_time import ManualClock
from xmcam.client.models import LoginInfo
from xmcam.errors import (
    AuthenticationError,
    ConnectionClosedError,
    RequestTimeoutError,
    XMCamError,
)
from xmcam.sim import SimulatorThread, load_profile


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as running:
        yield running


def login_attempts(sim: SimulatorThread) -> int:
    return sim.call(lambda: sim.simulator.device.login_attempts)


def test_every_method(sim: SimulatorThread) -> None:
    with xmcam.Camera(sim.host, sim.port) as cam:
        session = cam.login_info.session_id  # the simulator's: random, never 0
        assert session != 0
        assert cam.login_info == LoginInfo(session, 20, 1, "IPC")
        tour = method_tour(sim.state)
        result: Any = None
        with contextlib.suppress(StopIteration):
            while True:
                name, args, kwargs = tour.send(result)
                try:
                    result = getattr(cam, name)(*args, **kwargs)
                except XMCamError as error:
                    result = error
        cam.logout()
        assert sim.call(lambda: sim.simulator.session_count) == 0
    assert login_attempts(sim) == 1


def test_repr_and_errors_hold_no_secret(sim: SimulatorThread) -> None:
    cam = xmcam.Camera(sim.host, sim.port, password="hunter2")
    assert "hunter2" not in repr(cam)
    with pytest.raises(AuthenticationError) as caught:
        cam.open()
    assert "hunter2" not in str(caught.value)
    assert xmcam.sofia_hash("hunter2") not in str(caught.value)
    assert login_attempts(sim) == 1
    with pytest.raises(ConnectionClosedError):
        _ = cam.login_info


def test_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ConnectionClosedError, match="cannot connect"):
        xmcam.Camera("127.0.0.1", port, timeout=1).open()


def test_silent_reply_times_out_and_next_request_rebuilds(sim: SimulatorThread) -> None:
    with xmcam.Camera(sim.host, sim.port, timeout=0.3) as cam:
        sim.faults.silent_ids = {1452}
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError, match="TIMEQUERY_REQ"):
            cam.get_time()
        assert time.monotonic() - started < 1.0
        sim.faults.silent_ids = set()
        assert cam.get_time().year > 2000
        assert login_attempts(sim) == 2


def test_dropped_connection_is_rebuilt_before_the_next_request(sim: SimulatorThread) -> None:
    with xmcam.Camera(sim.host, sim.port) as cam:
        sim.drop_connections()
        assert cam.channel_titles() == ["CAM01"]
        assert login_attempts(sim) == 2


def test_connection_cut_during_a_request_fails_then_recovers(sim: SimulatorThread) -> None:
    with xmcam.Camera(sim.host, sim.port) as cam:
        sim.faults.drop_after_frames = 2  # the login, then the request is cut off
        with pytest.raises(ConnectionClosedError):
            cam.system_info()
        sim.faults.drop_after_frames = None
        assert cam.system_info().model == "HI3516D_83H50N"


def test_idle_longer_than_the_alive_interval_logs_in_again() -> None:
    profile = load_profile().with_alive_interval(1)
    clock = ManualClock()
    with SimulatorThread(profile) as sim:
        camera = xmcam.Camera(sim.host, sim.port)
        camera.clock = clock
        with camera as cam:
            cam.keepalive()
            clock.advance(0.95)
            assert cam.work_state().recording == (True,)
            assert login_attempts(sim) == 1  # still within the AliveInterval: the same session
            clock.advance(1.05)
            assert cam.work_state().recording == (True,)
            assert login_attempts(sim) == 2


def test_ptz_stop_is_retried_once(sim: SimulatorThread) -> None:
    with xmcam.Camera(sim.host, sim.port) as cam:
        sim.faults.drop_after_frames = 4  # negotiation, login, start; the first stop is cut off
        cam.ptz("down", duration=0)
        presets = [entry.preset for entry in sim.state.ptz_log]
        assert presets == [65535, -1, -1]


def test_ptz_stop_is_sent_when_the_move_is_interrupted(
    sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    with xmcam.Camera(sim.host, sim.port) as cam:
        monkeypatch.setattr(time, "sleep", interrupted)
        with pytest.raises(KeyboardInterrupt):
            cam.ptz("left", duration=10)
        assert [entry.preset for entry in sim.state.ptz_log] == [65535, -1]


def test_reboot_waits_until_login_works_again() -> None:
    profile = load_profile().with_quirks(reboot_delay=0.3)
    with SimulatorThread(profile) as sim, xmcam.Camera(sim.host, sim.port) as cam:
        cam.reboot_poll_interval = 0.05
        started = time.monotonic()
        cam.reboot(wait=True, wait_timeout=5)
        assert time.monotonic() - started >= 0.3
        assert sim.simulator.reboots == 1
        assert cam.system_info().model == "HI3516D_83H50N"
        with pytest.raises(RequestTimeoutError):
            cam.reboot(wait=True, wait_timeout=0.1)


def test_request_interrupted_before_its_reply_still_stops_the_move(sim: SimulatorThread) -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with xmcam.Camera(sim.host, sim.port) as cam:
            sim.faults.reply_delay = 0.3
            signal.setitimer(signal.ITIMER_REAL, 0.1)  # Ctrl-C while the start awaits its reply
            with pytest.raises(KeyboardInterrupt):
                cam.ptz("left", duration=10)
            assert [entry.preset for entry in sim.state.ptz_log] == [65535, -1]
            sim.faults.reply_delay = 0
            assert cam.system_info().model == "HI3516D_83H50N"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_ptz_stop_never_retries_a_refused_login(sim: SimulatorThread) -> None:
    with xmcam.Camera(sim.host, sim.port) as cam:
        sim.state.users[0]["Password"] = xmcam.sofia_hash("changed")
        sim.faults.drop_after_frames = 2  # login, then the start is cut off
        with pytest.raises(AuthenticationError):  # the stop's new login is refused
            cam.ptz("right", duration=0)
        assert login_attempts(sim) == 2  # the first, and one refused: no retry


def test_logout_after_the_camera_hung_up_does_not_log_in_again() -> None:
    with SimulatorThread() as sim:
        cam = xmcam.Camera(sim.host, sim.port, timeout=2)
        cam.open()
        sim.drop_connections()
        time.sleep(0.05)
        cam.logout()
        assert sim.simulator.device.login_attempts == 1
