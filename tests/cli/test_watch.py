"""`xmcam watch`: one line per alarm, JSON lines, and the gap a dropped connection leaves."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.cli.conftest import Run
from tests.waiting import wait_until
from xmcam.cli import ExitCode
from xmcam.cli.watch import describe_event, event_record
from xmcam.client.models import AlarmEvent, ConnectionEvent
from xmcam.sim import SimulatorThread

DEADLINE = 10.0


def _alarm(sim: SimulatorThread, status: str = "Start") -> int:
    return int(sim.call(sim.simulator.trigger_alarm, 0, "VideoMotion", status))


def _until_delivered(sim: SimulatorThread, stop: threading.Event, status: str = "Start") -> bool:
    """Push one alarm as soon as a watcher is subscribed; False if none came in time."""
    deadline = time.monotonic() + DEADLINE
    while not stop.is_set() and time.monotonic() < deadline:
        if _alarm(sim, status):
            return True
        stop.wait(0.01)
    return False


@pytest.fixture
def in_background() -> Iterator[Callable[[Callable[[threading.Event], None]], None]]:
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(work: Callable[[threading.Event], None]) -> None:
        thread = threading.Thread(target=work, args=(stop,), daemon=True)
        threads.append(thread)
        thread.start()

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=DEADLINE)


def test_watch_prints_one_line_per_alarm(
    xmcam: Run, sim: SimulatorThread, in_background: Callable[..., None]
) -> None:
    def push_two(stop: threading.Event) -> None:
        _until_delivered(sim, stop, "Start")
        _until_delivered(sim, stop, "Stop")

    in_background(push_two)
    result = xmcam("watch", "--count", "2")
    assert result.code == ExitCode.SUCCESS, result.err
    first, second = result.out.splitlines()
    assert "channel 0  VideoMotion  Start" in first
    assert "channel 0  VideoMotion  Stop" in second


def test_watch_json_lines(
    xmcam: Run, sim: SimulatorThread, in_background: Callable[..., None]
) -> None:
    in_background(lambda stop: _until_delivered(sim, stop))
    result = xmcam("--json", "watch", "--count", "1")
    assert result.code == ExitCode.SUCCESS, result.err
    record = json.loads(result.out)
    assert record["type"] == "alarm"
    assert record["channel"] == 0
    assert record["event"] == "VideoMotion"
    assert record["status"] == "Start"


def test_watch_shows_the_gap_and_goes_on(
    xmcam: Run, sim: SimulatorThread, in_background: Callable[..., None]
) -> None:
    def alarm_drop_alarm(stop: threading.Event) -> None:
        if _until_delivered(sim, stop):
            sim.call(sim.simulator.drop_connections)
            # Until the watch has resubscribed and stopped: pushes to the dropped session
            # may count as sent before the simulator notices the drop.
            while not stop.is_set():
                _alarm(sim)
                stop.wait(0.02)

    in_background(alarm_drop_alarm)
    result = xmcam("--json", "watch", "--count", "2")
    assert result.code == ExitCode.SUCCESS, result.err
    kinds = [json.loads(line)["type"] for line in result.out.splitlines()]
    assert kinds[:3] == ["alarm", "disconnected", "reconnected"]
    assert kinds[-1] == "alarm"


def test_watch_with_a_wrong_password_stops_at_once(xmcam: Run, sim: SimulatorThread) -> None:
    result = xmcam("-p", "wrong", "watch")
    assert result.code == ExitCode.AUTHENTICATION
    warning, error = result.err.splitlines()  # -p on the command line: warned first
    assert warning.startswith("xmcam: warning: a password in -p/--password")
    assert error.startswith("xmcam: Ret 203")


@pytest.mark.parametrize("host", ["a" * 70 + ".example", "\udcff"])
def test_watch_on_a_host_name_that_cannot_be_looked_up_is_a_usage_error(
    run_cli: Run, host: str
) -> None:
    result = run_cli("-H", host, "--timeout", "1", "watch")
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("xmcam: ")
    assert result.err.count("\n") == 1


def test_describe_event() -> None:
    alarm = AlarmEvent(1, "VideoLoss", "Start", "2024-01-02 03:04:05", raw={})
    assert describe_event(alarm).endswith(
        "channel 1  VideoLoss  Start  (device time 2024-01-02 03:04:05)"
    )
    gap = ConnectionEvent("disconnected", ConnectionResetError("reset by peer"))
    assert describe_event(gap).endswith("-- disconnected: reset by peer")
    assert event_record(gap)["error"] == "reset by peer"
    assert event_record(ConnectionEvent("reconnected"))["error"] is None


def test_ctrl_c_ends_the_watch_quietly_and_unsubscribes(sim: SimulatorThread) -> None:
    command = [sys.executable, "-m", "xmcam", "-H", f"127.0.0.1:{sim.port}", "watch"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: _alarm(sim), DEADLINE)  # pushed once the watch has subscribed
        assert process.stdout is not None
        assert "VideoMotion" in process.stdout.readline().decode()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=DEADLINE)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert b"Traceback" not in err
    wait_until(lambda: _alarm(sim) == 0, DEADLINE)  # the simulator sees the exit soon


# ------------------------------------------------------------------ a host that never answers


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


def _watch(*argv: str) -> list[str]:
    return [sys.executable, "-m", "xmcam", *argv]


@contextlib.contextmanager
def killed_after(process: subprocess.Popen[Any], seconds: float = 60) -> Iterator[None]:
    """Kill `process` if the test still runs after `seconds` (a read that would wait for a
    line that never comes ends at EOF: the test fails instead of hanging), and when the test
    is done with it, also by a failed assertion."""
    watchdog = threading.Timer(seconds, process.kill)
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()


def test_a_first_connection_that_fails_ends_the_watch() -> None:
    # A real process, so that a watch that retries forever fails the test instead of
    # hanging it.
    port = _closed_port()
    result = subprocess.run(
        _watch("-H", f"127.0.0.1:{port}", "--timeout", "2", "watch"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (ExitCode.CONNECTION, "")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"xmcam: cannot connect to 127.0.0.1:{port}: ")
    assert result.stderr.endswith(" (--retry keeps trying)\n")


def test_retry_waits_for_a_camera_that_comes_up_later() -> None:
    port = _closed_port()
    command = _watch("-H", f"127.0.0.1:{port}", "--json", "watch", "--retry")
    with (
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process,
        killed_after(process),
    ):
        assert process.stdout is not None
        gap = json.loads(process.stdout.readline())
        assert (gap["type"], "Connection refused" in gap["error"]) == ("disconnected", True)
        with SimulatorThread(port=port) as camera:  # the camera has booted
            assert json.loads(process.stdout.readline())["type"] == "reconnected"
            assert _until_delivered(camera, threading.Event())
            assert json.loads(process.stdout.readline())["type"] == "alarm"
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == 143
    assert re.fullmatch(
        r"xmcam: watch stopped by SIGTERM after \d+ s: 1 alarm event\(s\), 1 disconnection\(s\)\n",
        err,
    )


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_ends_the_watch_as_ctrl_c_does(
    sim: SimulatorThread, stop: signal.Signals, code: int
) -> None:
    command = [sys.executable, "-m", "xmcam", "-H", f"127.0.0.1:{sim.port}", "watch"]
    with (
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process,
        killed_after(process),
    ):
        wait_until(lambda: _alarm(sim), DEADLINE)  # pushed once the watch has subscribed
        assert process.stdout is not None
        assert "VideoMotion" in process.stdout.readline()
        process.send_signal(stop)
        _, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == code
    assert re.fullmatch(
        rf"xmcam: watch stopped by {stop.name} after \d+ s: 1 alarm event\(s\), "
        r"0 disconnection\(s\)\n",
        err,
    )
    wait_until(lambda: _alarm(sim) == 0, DEADLINE)  # logged out: nobody to push to
