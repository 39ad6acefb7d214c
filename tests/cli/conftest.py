"""Fixtures for the command's tests: a simulated camera on 127.0.0.1 (its own event loop, in a
thread, so that `main()` can run its own loop) and a runner that calls `main()` against it."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import NamedTuple

import pytest

from xmcam.cli import main
from xmcam.sim import SimulatorThread


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
