"""`xmcam time`: get, set and sync the simulated camera's clock."""

from __future__ import annotations

import datetime
import json
import random

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode
from xmcam.cli.clock import parse_time, skew_words
from xmcam.cli.output import CommandError
from xmcam.sim import SimulatorThread


def test_time_shows_the_clock_and_the_skew(xmcam: Run) -> None:
    result = xmcam("time")
    assert result.code == ExitCode.SUCCESS, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("device time:")
    datetime.datetime.strptime(lines[0].split(":", 1)[1].strip(), "%Y-%m-%d %H:%M:%S")
    assert lines[1].startswith("skew:")
    assert "this host" in lines[1]


def test_time_set_moves_the_clock(xmcam: Run) -> None:
    result = xmcam("--json", "time", "set", "2021-03-04 05:06:07")
    assert result.code == ExitCode.SUCCESS, result.err
    record = json.loads(result.out)
    device = datetime.datetime.fromisoformat(record["device_time"])
    assert abs(device - datetime.datetime(2021, 3, 4, 5, 6, 7)) < datetime.timedelta(seconds=5)
    assert record["skew_seconds"] < -86400


def test_time_sync_levels_the_clock_and_reports_the_old_skew(xmcam: Run) -> None:
    assert xmcam("time", "set", "2021-03-04 05:06:07").code == ExitCode.SUCCESS
    result = xmcam("--json", "time", "sync")
    assert result.code == ExitCode.SUCCESS, result.err
    record = json.loads(result.out)
    assert record["skew_before_seconds"] < -86400
    assert abs(record["skew_seconds"]) < 5
    human = xmcam("time", "set")
    assert human.out.startswith("clock set\n")


def test_time_sync_never_makes_the_clock_worse(sim: SimulatorThread, xmcam: Run) -> None:
    # The run: skew -0.036 s before a sync, +0.963 s after (the rounded current time
    # was sent, and the device's new second started when it arrived). Twenty syncs, from
    # random offsets, fractions of a second included: each leaves the clock level.
    rng = random.Random(13)
    for _ in range(20):
        offset = rng.choice([rng.uniform(-2, 2), rng.uniform(-1e8, 1e8)])
        sim.call(setattr, sim.state, "time_offset", offset)
        result = xmcam("--json", "time", "sync")
        assert result.code == ExitCode.SUCCESS, result.err
        record = json.loads(result.out)
        assert abs(record["skew_before_seconds"] - offset) <= 0.6
        assert abs(record["skew_seconds"]) <= 0.5, (offset, record)
        # And the simulated clock itself (fractions kept) ticks with this host's.
        assert abs(sim.call(lambda: sim.state.time_offset)) < 0.25


def test_skews_read_as_durations_or_signed_seconds(sim: SimulatorThread, xmcam: Run) -> None:
    behind = -(2 * 365 + 216) * 86400 - 3 * 3600
    sim.call(setattr, sim.state, "time_offset", behind)
    fields = dict(line.split(": ", 1) for line in xmcam("time").out.splitlines())
    assert fields["skew"].strip() == "2 years 216 days behind this host"
    synced = xmcam("time", "sync").out.splitlines()
    assert synced[0] == "clock synced"
    fields = dict(line.split(": ", 1) for line in synced[1:])
    assert fields["skew"].strip() == "level with this host"
    assert fields["skew before"].strip() == "2 years 216 days behind this host"
    assert skew_words(0.4) == "0.4 s ahead"
    assert skew_words(-0.36, "this host") == "0.4 s behind this host"
    assert skew_words(0.04, "this host") == "level with this host"
    assert skew_words(3725) == "1 h 2 min ahead"
    assert skew_words(-86400 - 30) == "1 day behind"


@pytest.mark.parametrize("argv", [("time", "set", "tomorrow"), ("time", "get", "2021-01-01")])
def test_bad_time_arguments_are_usage_errors(xmcam: Run, argv: tuple[str, ...]) -> None:
    result = xmcam(*argv)
    assert result.code == ExitCode.USAGE
    assert result.err.count("\n") == 1


def test_parse_time_converts_a_zone_to_local_time() -> None:
    utc = parse_time("2021-03-04T05:06:07+00:00")
    assert utc.tzinfo is None
    expected = datetime.datetime(2021, 3, 4, 5, 6, 7, tzinfo=datetime.UTC).astimezone()
    assert utc == expected.replace(tzinfo=None)
    with pytest.raises(CommandError):
        parse_time("12:00 noon")
