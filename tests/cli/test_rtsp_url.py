"""`xmcam rtsp-url`: the URL XM firmware serves RTSP on, from the camera's NetWork.RTSP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode
from xmcam.cli.rtsp_url import rtsp_url_of
from xmcam.protocol import sofia_hash
from xmcam.sim import SimulatorThread

SECRET = "p&ss w0rd"


def _rtsp(sim: SimulatorThread) -> dict[str, Any]:
    config: dict[str, Any] = sim.state.config["NetWork.RTSP"]
    return config


def test_the_url_real_firmware_takes(xmcam: Run) -> None:
    result = xmcam("rtsp-url")
    assert result.code == ExitCode.SUCCESS, result.err
    # The seed profile's NetWork.RTSP: server on, port 554; the empty password of admin.
    assert result.out == (
        "rtsp://127.0.0.1:554/user=admin&password=&channel=1&stream=0.sdp?real_stream\n"
    )
    assert result.err == ""


def test_the_password_is_in_the_url_on_stdout_only(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XMCAM_PASSWORD", SECRET)
    with SimulatorThread(password=SECRET) as sim:
        address = f"127.0.0.1:{sim.port}"
        result = run_cli("-H", address, "--debug", "-vv", "rtsp-url", "--stream", "extra")
        assert result.code == ExitCode.SUCCESS, result.err
        # `&` and the space would end the field: percent-encoded.
        assert result.out == (
            "rtsp://127.0.0.1:554/user=admin&password=p%26ss%20w0rd&channel=1&stream=1.sdp"
            "?real_stream\n"
        )
        assert "w0rd" not in result.err  # the debug log of every frame never shows it
        hashed = run_cli("-H", address, "--json", "rtsp-url", "--hash")
        assert hashed.code == ExitCode.SUCCESS, hashed.err
        assert json.loads(hashed.out) == {
            "url": f"rtsp://127.0.0.1:554/user=admin&password={sofia_hash(SECRET)}&channel=1"
            "&stream=0.sdp?real_stream",
            "channel": 0,
            "stream": "main",
            "port": 554,
        }


def test_the_port_comes_from_the_camera(xmcam: Run, sim: SimulatorThread) -> None:
    sim.call(_rtsp(sim)["Server"].update, Port=8554)
    result = xmcam("rtsp-url")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out.startswith("rtsp://127.0.0.1:8554/user=admin&")


def test_rtsp_off_says_so_and_exits_1(xmcam: Run, sim: SimulatorThread) -> None:
    sim.call(_rtsp(sim).update, IsServer=False)
    result = xmcam("rtsp-url")
    assert result.code == ExitCode.FAILURE
    assert result.out == ""
    assert result.err.startswith("xmcam: RTSP is off on this camera")
    assert "xmcam config set NetWork.RTSP" in result.err
    assert result.err.count("\n") == 1


def test_a_camera_without_rtsp_says_so(xmcam: Run, sim: SimulatorThread) -> None:
    sim.call(sim.state.config.pop, "NetWork.RTSP")
    result = xmcam("rtsp-url")
    assert result.code == ExitCode.FAILURE
    assert result.err.startswith("xmcam: this camera has no RTSP server: NetWork.RTSP refused")


def test_channels_count_from_1_in_the_url_and_are_checked(run_cli: Run) -> None:
    with SimulatorThread("nvr-8ch") as nvr:
        address = f"127.0.0.1:{nvr.port}"
        result = run_cli("-H", address, "rtsp-url", "--channel", "3")
        assert result.code == ExitCode.SUCCESS, result.err
        assert "&channel=4&stream=0.sdp" in result.out
        beyond = run_cli("-H", address, "rtsp-url", "--channel", "8")
    assert beyond.code == ExitCode.USAGE
    assert beyond.err == ("xmcam: channel 8 does not exist: the camera has 8 channels (0 to 7)\n")


def test_rtsp_url_of_brackets_ipv6_and_escapes_the_login() -> None:
    assert rtsp_url_of("fd00::5", 554, "a/b", "x=y?#", channel=0, stream="main") == (
        "rtsp://[fd00::5]:554/user=a%2Fb&password=x%3Dy%3F%23&channel=1&stream=0.sdp?real_stream"
    )


def test_a_real_cameras_config(run_cli: Run) -> None:
    # The XM530's own NetWork.RTSP reply ([BES], in the xm530 profile): on, port 554.
    with SimulatorThread("xm530") as camera:
        result = run_cli("-H", f"127.0.0.1:{camera.port}", "rtsp-url")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == (
        "rtsp://127.0.0.1:554/user=admin&password=&channel=1&stream=0.sdp?real_stream\n"
    )
