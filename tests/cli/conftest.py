"""Fixtures for the command's tests: a simulated camera on 127.0.0.1 (its own event loop, in a
thread, so that `main()` can run its own loop) and a runner that calls `main()` against it."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from xmcam.cli import main
from xmcam.sim import Profile, SimulatorThread, load_profile


class Result(NamedTuple):
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def _no_camera_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XMCAM_HOST", "XMCAM_USER", "XMCAM_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as simulator:
        yield simulator


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """`main(argv)` with `stdin` as standard input; returns the exit code and the output."""

    def run(*argv: str, stdin: str = "") -> Result:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def xmcam(sim: SimulatorThread, run_cli: Run) -> Run:
    """`xmcam -H 127.0.0.1:PORT --timeout 2 ARGS...` against the simulated camera."""

    def run(*argv: str, stdin: str = "") -> Result:
        return run_cli("-H", f"127.0.0.1:{sim.port}", "--timeout", "2", *argv, stdin=stdin)

    return run


MEDIA_STARTS = ("two sockets", "one socket", "claim unanswered")
"""How a simulated camera lets media start (`camera_starting()`)."""


@contextlib.contextmanager
def camera_starting(
    how: str, profile: Profile | None = None, *, pace: float = 20, **options: Any
) -> Iterator[SimulatorThread]:
    """A simulated camera that, as real cameras do, sends no reply to a Start or
    DownloadStart on the socket that holds its claim, only the media; its media start as
    `how` says. "two sockets": the vendor's flow, a claim on a second connection and a Start
    on the control connection, which is answered. "one socket": TCPMaxConn 1 takes no second
    connection, so the claim and the unanswered Start go on one socket. "claim unanswered": a
    claim on a second connection is never answered (the Vatilon H44 of AlexxIT/go2rtc#2198),
    so one socket after it. `pace` is the media's speed (20: twenty times real time)."""
    profile = profile or load_profile()
    if how == "claim unanswered":
        profile = profile.with_quirks(monitor_claim_silent=True)
    with SimulatorThread(profile, **options) as simulator:
        simulator.simulator.faults.media_pace = pace
        if how == "one socket":
            simulator.call(simulator.state.config["NetWork.NetCommon"].update, TCPMaxConn=1)
        yield simulator


def run_timed(run_cli: Run, simulator: SimulatorThread, *argv: str) -> tuple[Result, float]:
    """`xmcam -H <simulator> ARGV...`, and the seconds it took."""
    started = time.monotonic()
    result = run_cli("-H", f"127.0.0.1:{simulator.port}", *argv)
    return result, time.monotonic() - started
