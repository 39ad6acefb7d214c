"""`xmcam snapshot` against the simulator: the camera's JPEG, the fallback through the live
stream when a recorder refuses or stays silent, atomic writes, standard output."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import MEDIA_STARTS, Run, camera_starting, run_timed
from tests.media_checks import SNAPSHOT, picture_size
from xmcam.cli import ExitCode, main
from xmcam.sim import SimulatorThread, load_profile

FAST = 20  # the simulator's media_pace: 20 times real time


@pytest.fixture(params=[102, 108, "silent"])
def refusing(request: pytest.FixtureRequest) -> Iterator[SimulatorThread]:
    """A recorder that answers OPSNAP with Ret 102 or 108, or not at all."""
    profile = load_profile().with_quirks(snapshot=request.param)
    with SimulatorThread(profile) as simulator:
        simulator.simulator.faults.media_pace = FAST
        yield simulator


def test_snapshot_saves_the_cameras_jpeg(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "front.jpg"
    result = xmcam("snapshot", "-o", str(path))
    assert result.code == ExitCode.SUCCESS, result.err
    assert path.read_bytes() == SNAPSHOT
    assert result.out == f"{path}: {len(SNAPSHOT)} bytes, channel 0\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["front.jpg"]


def test_snapshot_json_and_replacing_a_file(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "front.jpg"
    path.write_bytes(b"old picture")
    result = xmcam("--json", "snapshot", "-o", str(path))
    assert result.code == ExitCode.SUCCESS, result.err
    assert json.loads(result.out) == {"output": str(path), "channel": 0, "bytes": len(SNAPSHOT)}
    assert path.read_bytes() == SNAPSHOT
    assert [entry.name for entry in tmp_path.iterdir()] == ["front.jpg"]  # no temporary left


def test_snapshot_to_standard_output(
    sim: SimulatorThread, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["-H", f"127.0.0.1:{sim.port}", "snapshot", "-o", "-"]) == ExitCode.SUCCESS
    assert capsysbinary.readouterr().out == SNAPSHOT


def test_a_refusing_recorder_gets_a_picture_from_the_stream(
    refusing: SimulatorThread, run_cli: Run, tmp_path: Path
) -> None:
    path = tmp_path / "nvr.jpg"
    address = f"127.0.0.1:{refusing.port}"
    result = run_cli("-H", address, "--timeout", "1", "snapshot", "-o", str(path))
    assert result.code == ExitCode.SUCCESS, result.err
    jpeg = path.read_bytes()
    assert jpeg != SNAPSHOT
    assert jpeg.startswith(b"\xff\xd8")
    assert picture_size(jpeg) == (640, 360)


@pytest.mark.parametrize("how", MEDIA_STARTS)
def test_the_fallback_from_cameras_that_answer_neither_start_nor_claim(
    how: str, run_cli: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A recorder refusing OPSNAP (Ret 108): the picture comes from the live stream, whose
    # Start gets no reply on one socket (issue 17), and whose claim on a second connection
    # may never be answered. The keyframe still comes within the one --timeout.
    caplog.set_level(logging.INFO, logger="xmcam.media")
    path = tmp_path / "nvr.jpg"
    with camera_starting(how, load_profile().with_quirks(snapshot=108)) as simulator:
        result, elapsed = run_timed(
            run_cli, simulator, "--timeout", "2", "snapshot", "-o", str(path)
        )
    assert result.code == ExitCode.SUCCESS, result.err
    assert picture_size(path.read_bytes()) == (640, 360)
    assert elapsed < 2.0
    assert ("; one socket" in caplog.text) == (how != "two sockets")


@pytest.mark.parametrize("ret", [102, 108])
def test_no_fallback_reports_the_refusal_in_one_line(
    ret: int, run_cli: Run, tmp_path: Path
) -> None:
    profile = load_profile().with_quirks(snapshot=ret)
    with SimulatorThread(profile) as simulator:
        address = f"127.0.0.1:{simulator.port}"
        result = run_cli("-H", address, "snapshot", "--no-fallback", "-o", str(tmp_path / "x.jpg"))
    assert result.code == ExitCode.DEVICE
    assert result.err.startswith(f"xmcam: Ret {ret} (")
    assert len(result.err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_is_one_line(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "missing" / "x.jpg"
    result = xmcam("snapshot", "-o", str(path))
    assert result.code == ExitCode.FAILURE
    assert result.err == f"xmcam: cannot write {path}: No such file or directory\n"


def test_help_has_an_example(run_cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli("snapshot", "--help")
    assert "xmcam snapshot -o front.jpg" in capsys.readouterr().out
