"""`xmcam info` against the simulated seed camera."""

from __future__ import annotations

import json

from tests.cli.conftest import Run
from xmcam.cli import ExitCode


def test_info_shows_what_the_camera_is(xmcam: Run) -> None:
    result = xmcam("info")
    assert result.code == ExitCode.SUCCESS
    lines = result.out.splitlines()
    assert "model:" in lines[0]
    assert "HI3516D_83H50N" in lines[0]
    assert any("V4.03.R12.G7914927.12012.145902.0020000" in line for line in lines)
    assert any(line.startswith("serial:") and "58e7fa5e6e262535" in line for line in lines)
    assert any(line.startswith("device type:") and "IPC" in line for line in lines)
    assert result.err == ""


def test_info_json_is_one_object(xmcam: Run) -> None:
    result = xmcam("--json", "info", "--disks")
    assert result.code == ExitCode.SUCCESS
    (line,) = result.out.splitlines()
    record = json.loads(line)
    assert record["system"]["model"] == "HI3516D_83H50N"
    assert record["system"]["raw"]["SerialNo"] == "58e7fa5e6e262535"
    assert record["login"]["channel_count"] == 1
    assert isinstance(record["disks"], list)


def test_json_may_follow_the_command(xmcam: Run) -> None:
    result = xmcam("info", "--json")
    assert json.loads(result.out)["system"]["serial"] == "58e7fa5e6e262535"


def test_info_lists_disks_as_a_table(xmcam: Run) -> None:
    result = xmcam("info", "--disks")
    assert result.code == ExitCode.SUCCESS
    assert "disk" in result.out.split("\n\n")[1].splitlines()[0] or "no disks" in result.out
