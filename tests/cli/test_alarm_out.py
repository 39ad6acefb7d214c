"""`xmcam alarm-out` switches the simulated camera's outputs and shows them."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode
from xmcam.sim import SimulatorThread


def _device_types(sim: SimulatorThread) -> list[str]:
    outputs = sim.simulator.state.get_config("Alarm.AlarmOut")
    return [output["AlarmOutType"] for output in outputs]


@pytest.mark.parametrize(
    ("mode", "device", "meaning"),
    [
        ("on", "MANUAL", "held on, whatever the alarms"),
        ("off", "CLOSE", "held off, whatever the alarms"),
        ("auto", "AUTO", "the camera's alarms switch it; off now"),
    ],
)
def test_alarm_out_sets_every_output(
    xmcam: Run, sim: SimulatorThread, mode: str, device: str, meaning: str
) -> None:
    result = xmcam("alarm-out", mode)
    assert result.code == ExitCode.SUCCESS, result.err
    assert _device_types(sim) == [device]
    # Not `0  off  OPEN` (the config's AlarmOutStatus, "OPEN" whatever the mode): words.
    (line,) = result.out.splitlines()
    assert line == f"alarm output 0: {mode} ({meaning})"


def test_alarm_out_one_channel_as_json(xmcam: Run, sim: SimulatorThread) -> None:
    result = xmcam("--json", "alarm-out", "on", "--channel", "0")
    assert result.code == ExitCode.SUCCESS
    (output,) = json.loads(result.out)
    assert (output["channel"], output["mode"], output["active"]) == (0, "on", True)
    assert _device_types(sim) == ["MANUAL"]


def test_alarm_out_without_a_mode_only_shows(xmcam: Run, sim: SimulatorThread) -> None:
    before = _device_types(sim)
    result = xmcam("alarm-out")
    assert result.code == ExitCode.SUCCESS
    assert _device_types(sim) == before
    assert result.out.startswith("alarm output 0: ")


def test_alarm_out_rejects_an_unknown_mode(xmcam: Run) -> None:
    with pytest.raises(SystemExit) as caught:
        xmcam("alarm-out", "blink")
    assert caught.value.code == ExitCode.USAGE


def test_alarm_out_on_a_channel_the_camera_lacks_fails(xmcam: Run) -> None:
    result = xmcam("alarm-out", "on", "--channel", "7")
    assert result.code != ExitCode.SUCCESS
    assert result.err.startswith("xmcam: ")
    assert result.err.count("\n") == 1
