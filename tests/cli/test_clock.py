"""`xmcam time`: get, set and sync the simulated camera's clock."""

from __future__ import annotations

import datetime
import json

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode
from xmcam.cli.clock import parse_time
from xmcam.cli.output import CommandError


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
