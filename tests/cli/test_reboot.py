"""`xmcam reboot`, with and without waiting for the camera to come back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Run
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
