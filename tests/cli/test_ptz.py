"""`xmcam ptz`: moves that always stop, presets and tours, on the simulator's PTZ log."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode
from xmcam.sim import PtzCommand, SimulatorThread


def _commands(sim: SimulatorThread) -> list[PtzCommand]:
    return list(sim.state.ptz_log)


def test_a_move_starts_and_stops(xmcam: Run, sim: SimulatorThread) -> None:
    result = xmcam("ptz", "left", "--speed", "3", "--duration", "0.05")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == "channel 0: moved left at speed 3 for 0.05 s, stopped\n"
    start, stop = _commands(sim)
    assert (start.command, start.step, start.preset) == ("DirectionLeft", 3, 65535)
    assert (stop.command, stop.preset) == ("DirectionLeft", -1)


@pytest.mark.parametrize("action", ["set", "goto", "clear"])
def test_presets(xmcam: Run, sim: SimulatorThread, action: str) -> None:
    result = xmcam("--json", "ptz", "preset", action, "3")
    assert result.code == ExitCode.SUCCESS, result.err
    assert json.loads(result.out) == {"channel": 0, "preset": 3, "action": action}
    expected = {"set": "SetPreset", "goto": "GotoPreset", "clear": "ClearPreset"}[action]
    (command,) = _commands(sim)
    assert (command.command, command.preset) == (expected, 3)


def test_tour_number_defaults_to_0(xmcam: Run, sim: SimulatorThread) -> None:
    result = xmcam("ptz", "tour", "start")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == "channel 0: tour 0: start\n"
    (command,) = _commands(sim)
    assert command.command == "StartTour"


@pytest.mark.parametrize(
    "argv",
    [
        ("ptz", "preset", "jump", "1"),
        ("ptz", "preset", "set"),
        ("ptz", "preset", "set", "999"),
        ("ptz", "left", "extra"),
    ],
)
def test_bad_ptz_words_are_usage_errors(xmcam: Run, argv: tuple[str, ...]) -> None:
    result = xmcam(*argv)
    assert result.code == ExitCode.USAGE
    assert result.err.count("\n") == 1


@pytest.mark.parametrize("argv", [("ptz", "sideways"), ("ptz", "up", "--speed", "11")])
def test_bad_ptz_options_are_argparse_errors(xmcam: Run, argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as caught:
        xmcam(*argv)
    assert caught.value.code == ExitCode.USAGE
