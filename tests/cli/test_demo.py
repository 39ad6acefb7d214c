"""`xmcam demo`: the tour against the in-process simulator runs end to end, quickly, and shows
no secret."""

from __future__ import annotations

import io
import json
import re
import time

import pytest

from xmcam.cli import ExitCode, main
from xmcam.cli.demo import run_demo
from xmcam.protocol import sofia_hash
from xmcam.sim import Simulator


def test_demo_runs_the_whole_tour_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    assert main(["demo"]) == 0
    assert time.monotonic() - started < 5.0  # one second of it is live video in real time
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("xmcam demo: a simulated camera on 127.0.0.1:")
    port = lines[0].split("127.0.0.1:")[1].split(",")[0]
    steps = [line[2:38].strip() for line in lines if line.startswith("  ")]
    assert steps == [
        "login",
        "xmcam info",
        "xmcam alarm-out on",
        "xmcam watch",
        "xmcam alarm-out off",
        "xmcam config set General.General …",
        "xmcam config set General.General …",
        "xmcam audit",
        "xmcam snapshot -o front.jpg",
        "xmcam stream -o front.mp4",
        "xmcam files list --from yesterday",
        "xmcam discover",
    ]
    # The session id is the simulator's random one.
    assert re.search(rf"admin on 127\.0\.0\.1:{port}: session 0x[0-9a-f]{{8}}, IPC, 1 channel", out)
    assert "HI3516D_83H50N, firmware V4.03.R12.G7914927.12012.145902.0020000" in out
    assert "channel 0: on" in out
    assert "VideoMotion on channel 0: Start" in out
    assert "channel 0: off" in out
    assert "MachineName: 'LocalHost' → 'xmcam-demo'" in out
    assert "MachineName: back to 'LocalHost'" in out
    assert "3 of 9 checks failed (ntp, passwords, default-account), 5 this camera" in out
    assert "a JPEG of 15,624 bytes" in out
    assert "25 frames of H.264 640x360 at 25 fps, 1 keyframe(s), 0 dropped" in out
    assert "recordings since yesterday" in out
    assert f"serial 58e7fa5e6e262535, MAC 00:12:31:6e:26:25, TCP port {port}" in out
    assert lines[-1].startswith("Done in ")
    assert sofia_hash("") not in out


def test_demo_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "demo"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["step"] for record in records][1:5] == [
        "xmcam info",
        "xmcam alarm-out on",
        "xmcam watch",
        "xmcam alarm-out off",
    ]
    assert records[1]["system_info"]["model"] == "HI3516D_83H50N"
    assert records[3]["alarm"]["event"] == "VideoMotion"
    assert records[5]["new"] == "xmcam-demo"
    assert records[6]["restored"] == "LocalHost"
    steps = {record["step"]: record for record in records}
    assert steps["xmcam stream -o front.mp4"]["width"] == 640
    assert steps["xmcam stream -o front.mp4"]["stats"]["dropped_frames"] == 0
    assert steps["xmcam files list --from yesterday"]["recordings"] > 64
    assert steps["xmcam discover"]["discovered"]["serial"] == "58e7fa5e6e262535"
    audit = steps["xmcam audit"]["audit"]
    assert audit["passed"] is False
    assert len(audit["findings"]) == 9
    assert audit["findings"][0]["check"] == "cloud"
    assert records[-1]["step"] == "done"
    assert main(["demo", "--json"]) == 0


def test_run_demo_writes_to_the_given_stream() -> None:
    stream = io.StringIO()
    assert run_demo(stream) == 0
    assert stream.getvalue().startswith("xmcam demo")


def test_an_alarm_that_never_comes_is_one_error_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("xmcam.cli.demo.ALARM_DEADLINE", 0.2)
    monkeypatch.setattr(Simulator, "trigger_alarm", lambda self, *args: 0)  # pushes nothing
    assert main(["demo"]) == ExitCode.FAILURE
    assert capsys.readouterr().err == "xmcam: the simulated alarm did not arrive in time\n"
