"""`xmcam log`, `storage`, `abilities`, `channels` and `defaults` against the simulated camera:
the log read page after page with no entry lost or repeated, a format that empties the
file search, device strings made safe for the terminal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

import pytest

from tests.cli.conftest import Run
from xmcam.aio import connect
from xmcam.cli import ExitCode
from xmcam.cli.log import log_show
from xmcam.sim import SimulatorThread
from xmcam.sim.maintenance import LOG_PAGE


def _fill_log(sim: SimulatorThread, count: int) -> None:
    def add() -> None:
        for number in range(count):
            sim.simulator.device.device_log.add("SaveConfig", data=f"entry {number}")

    sim.call(add)


def test_the_log_pages_with_no_entry_lost_or_repeated(sim: SimulatorThread, xmcam: Run) -> None:
    _fill_log(sim, 3 * LOG_PAGE + 17)  # four pages and a bit
    result = xmcam("--json", "log")
    assert result.code == ExitCode.SUCCESS, result.err
    entries = [json.loads(line) for line in result.out.splitlines()]
    device_log = sim.simulator.device.device_log
    expected = sim.call(lambda: [entry.position for entry in device_log.entries])
    positions = [entry["position"] for entry in entries]
    # Everything the device held when the pages were read (the session's own logout comes
    # after), each once, in order.
    assert positions == expected[: len(positions)]
    assert len(positions) >= 3 * LOG_PAGE + 17
    assert len(set(positions)) == len(positions)
    texts = [entry["data"] for entry in entries if entry["type"] == "SaveConfig"]
    assert texts == [f"entry {number}" for number in range(3 * LOG_PAGE + 17)]


def test_the_log_by_kind_and_as_lines(sim: SimulatorThread, xmcam: Run) -> None:
    sim.call(lambda: sim.simulator.device.alarm(0, "VideoMotion", "Start"))
    result = xmcam("log", "--type", "Alarm")
    assert result.code == ExitCode.SUCCESS, result.err
    lines = result.out.splitlines()
    assert len(lines) == 1
    assert "EventStart" in lines[0]
    assert "MotionDetect,0" in lines[0]


def test_device_text_in_the_log_is_made_safe(sim: SimulatorThread, xmcam: Run) -> None:
    sim.call(lambda: sim.simulator.device.device_log.add("SaveConfig", data="\x1b[31mred\x07"))
    result = xmcam("log")
    assert result.code == ExitCode.SUCCESS, result.err
    assert "\x1b" not in result.out
    assert "\x07" not in result.out
    assert "red" in result.out


def test_log_clear_empties_the_log(sim: SimulatorThread, xmcam: Run) -> None:
    _fill_log(sim, 10)
    result = xmcam("log", "clear", "--yes")
    assert (result.code, result.out) == (ExitCode.SUCCESS, "log cleared\n"), result.err
    after = xmcam("--json", "log")
    kinds = [json.loads(line)["type"] for line in after.out.splitlines()]
    assert "SaveConfig" not in kinds  # only what came after: the next session's login
    assert kinds == ["LogOut", "LogIn"]


def test_storage_shows_the_partitions(xmcam: Run) -> None:
    result = xmcam("--json", "storage")
    assert result.code == ExitCode.SUCCESS, result.err
    record = json.loads(result.out)
    assert record["disks"] == 1
    (part,) = record["partitions"]
    assert part["total_mb"] == 0xEE5C
    assert part["free_mb"] == 0x2A3C
    assert part["state"] == "ok"
    assert part["type"] == "read-write"
    table = xmcam("storage")
    assert "read-write" in table.out
    assert str(0xEE5C) in table.out


def test_a_format_erases_every_recording(xmcam: Run) -> None:
    before = xmcam("--json", "files", "list", "--from", "yesterday", "--to", "yesterday")
    assert before.code == ExitCode.SUCCESS, before.err
    assert json.loads(before.out)  # one document: the recordings found
    result = xmcam("--json", "storage", "format", "--yes")
    assert result.code == ExitCode.SUCCESS, result.err
    assert json.loads(result.out) == {"formatted": [{"disk": 0, "partition": 0}]}
    after = xmcam("--json", "files", "list", "--from", "yesterday", "--to", "yesterday")
    assert json.loads(after.out) == []
    (part,) = json.loads(xmcam("--json", "storage").out)["partitions"]
    assert part["free_mb"] == part["total_mb"]


def test_formatting_a_disk_the_camera_lacks_is_refused(xmcam: Run) -> None:
    result = xmcam("storage", "format", "--disk", "3", "--yes")
    assert result.code == ExitCode.USAGE
    assert result.err.splitlines()[-1].startswith("xmcam: the device has no disk 3")


def test_abilities_one_and_all(xmcam: Run) -> None:
    one = xmcam("--json", "abilities", "SystemFunction")
    assert one.code == ExitCode.SUCCESS, one.err
    assert isinstance(json.loads(one.out), dict)
    everything = xmcam("--json", "abilities")
    names = set(json.loads(everything.out))
    assert {"SystemFunction", "EncodeCapability", "TalkAudioFormat"} <= names
    tree = xmcam("abilities", "SystemFunction")
    assert tree.out.startswith("SystemFunction:\n  ")
    missing = xmcam("abilities", "NoSuchAbility")
    assert missing.code == ExitCode.DEVICE
    assert missing.err.startswith("xmcam: ")


def test_channels_show_and_rename(xmcam: Run) -> None:
    shown = xmcam("--json", "channels")
    assert shown.code == ExitCode.SUCCESS, shown.err
    renamed = xmcam("channels", "rename", "0", "Front door")
    assert renamed.code == ExitCode.SUCCESS, renamed.err
    titles = json.loads(xmcam("--json", "channels").out)
    assert titles[0] == {"channel": 0, "title": "Front door"}
    assert len(titles) == len(json.loads(shown.out))
    assert xmcam("channels", "rename", "9", "x").code == ExitCode.USAGE


def test_defaults_show_and_restore(sim: SimulatorThread, xmcam: Run) -> None:
    factory = json.loads(xmcam("--json", "defaults", "show", "General.General").out)
    changed = dict(factory, MachineName="changed")
    assert xmcam("config", "set", "General.General", json.dumps(changed)).code == 0
    result = xmcam("--json", "defaults", "restore", "General", "--yes")
    assert result.code == ExitCode.SUCCESS, result.err
    assert json.loads(result.out)["restored"] == ["General"]
    assert json.loads(xmcam("--json", "config", "get", "General.General").out) == factory


async def test_follow_prints_each_new_entry_once(
    sim: SimulatorThread, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(json=True, start=None, stop=None, type="All", follow=True)
    args.interval = 0.05
    async with connect("127.0.0.1", sim.port, password="") as camera:
        task = asyncio.create_task(log_show(camera, args))
        await asyncio.sleep(0.2)
        _fill_log(sim, 3)
        await asyncio.sleep(0.3)
        _fill_log(sim, 2)
        await asyncio.sleep(0.3)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    positions = [entry["position"] for entry in entries]
    assert positions == sorted(set(positions))
    texts = [entry["data"] for entry in entries if entry["type"] == "SaveConfig"]
    assert texts == ["entry 0", "entry 1", "entry 2", "entry 0", "entry 1"]
