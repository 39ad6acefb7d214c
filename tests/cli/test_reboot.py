"""`xmcam reboot`, with and without waiting for the camera to come back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Run
from tests.cli.terminal import answer_on_a_terminal
from tests.waiting import wait_until
from xmcam.cli import ExitCode, main
from xmcam.sim import SimulatorThread, load_profile


@pytest.fixture
def quick_sim() -> Iterator[SimulatorThread]:
    profile = load_profile().with_quirks(reboot_delay=0.2)
    with SimulatorThread(profile) as simulator:
        yield simulator


def test_reboot_returns_at_once(xmcam: Run) -> None:
    result = xmcam("reboot")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == "rebooting\n"


def test_reboot_wait_returns_once_the_camera_is_back(
    quick_sim: SimulatorThread, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"127.0.0.1:{quick_sim.port}"
    assert main(["-H", address, "--json", "reboot", "--wait", "--wait-timeout", "10"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["rebooted"] is True
    assert record["back"] is True
    assert main(["-H", address, "info"]) == 0


@pytest.mark.parametrize(("typed", "rebooted"), [("n\n", False), ("", False), ("y\n", True)])
def test_on_a_terminal_reboot_asks_first(
    sim: SimulatorThread,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    typed: str,
    rebooted: bool,
) -> None:
    answer_on_a_terminal(monkeypatch, typed)
    code = main(["-H", f"127.0.0.1:{sim.port}", "reboot"])
    out, err = capsys.readouterr()
    assert f"reboot the camera at 127.0.0.1:{sim.port}? [y/N]" in err
    if rebooted:
        wait_until(lambda: sim.simulator.reboots == 1)
        assert (code, out) == (ExitCode.SUCCESS, "rebooting\n")
    else:  # asked before connecting: not even a login
        assert sim.simulator.reboots == 0
        assert code == ExitCode.FAILURE
        assert err.endswith("xmcam: not confirmed; nothing was done (--yes skips the question)\n")


@pytest.mark.parametrize("yes", ["--yes", "-y"])
def test_yes_skips_the_question_on_a_terminal(
    sim: SimulatorThread,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    yes: str,
) -> None:
    answer_on_a_terminal(monkeypatch, "n\n")
    assert main(["-H", f"127.0.0.1:{sim.port}", "reboot", yes]) == ExitCode.SUCCESS
    assert "[y/N]" not in capsys.readouterr().err
    wait_until(lambda: sim.simulator.reboots == 1)


def test_without_a_terminal_nothing_is_asked(xmcam: Run, sim: SimulatorThread) -> None:
    result = xmcam("reboot", stdin="n\n")  # a script: its command line is the decision
    assert result.code == ExitCode.SUCCESS, result.err
    assert "[y/N]" not in result.err
    wait_until(lambda: sim.simulator.reboots == 1)
