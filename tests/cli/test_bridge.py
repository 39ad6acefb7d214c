"""`xmcam bridge mqtt`: arguments, the missing extra, and whole runs in a child process
against a real Mosquitto broker and a simulated camera."""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.bridge.conftest import Mosquitto, free_port, running_mosquitto, subscribed
from tests.cli.conftest import Run
from tests.waiting import until
from xmcam.sim import SimulatorThread


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path) as started:
        yield started


def test_without_the_extra_it_names_the_package_to_install(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "aiomqtt", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "xmcam.bridge.mqtt", raising=False)
    result = run_cli("-H", "127.0.0.1", "bridge", "mqtt", "--broker", "mqtt://127.0.0.1")
    assert result.code == 1
    assert result.err.endswith(f"{shlex.quote(sys.executable)} -m pip install aiomqtt\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--broker", "http://127.0.0.1"], "mqtt://"),
        (["--broker", "mqtt://user:hunter2@127.0.0.1:99999"], "bad port"),
        (["--broker", "mqtt://user:hunter2@:1883"], "no host: mqtt://***@:1883"),
        (["--broker", "mqtt://127.0.0.1/x"], "nothing after HOST"),
        (["--broker", "mqtt://127.0.0.1", "--name", "a/b"], "camera name"),
        (["--broker", "mqtt://127.0.0.1", "--prefix", "#"], "topic prefix"),
    ],
)
def test_bad_arguments_are_usage_errors_that_never_show_the_password(
    run_cli: Run, argv: list[str], message: str
) -> None:
    result = run_cli("-H", "127.0.0.1", "bridge", "mqtt", *argv)
    assert result.code == 2
    assert message in result.err
    assert "hunter2" not in result.err + result.out


def test_a_password_in_the_broker_url_is_warned_about(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stopped by a bad prefix before anything connects: the warning comes first.
    argv = ["-H", "127.0.0.1", "bridge", "mqtt", "--prefix", "#"]
    typed = run_cli(*argv, "--broker", "mqtt://bridge:hunter2@127.0.0.1")
    assert typed.err.splitlines()[0] == (
        "xmcam: warning: a password in the broker URL shows in `ps` and in the shell's "
        "history; set XMCAM_MQTT_PASSWORD instead"
    )
    assert "hunter2" not in typed.err
    monkeypatch.setenv("XMCAM_MQTT_PASSWORD", "hunter2")
    hidden = run_cli(*argv, "--broker", "mqtt://bridge@127.0.0.1")
    assert "warning" not in hidden.err


def test_it_needs_a_camera_or_an_inventory(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("bridge", "mqtt", "--broker", "mqtt://127.0.0.1")
    assert result.code == 2
    assert "no camera given" in result.err
    inventory = tmp_path / "cameras.toml"
    inventory.write_text('[[camera]]\nname = "porch"\n')
    result = run_cli(
        "bridge", "mqtt", "--broker", "mqtt://127.0.0.1", "--inventory", str(inventory)
    )
    assert result.code == 2
    assert "cameras.toml" in result.err
    assert "host" in result.err


@pytest.mark.parametrize("text", ["x", "-1", "65536", ":80", "host:"])
def test_the_alarm_center_takes_host_and_port(
    run_cli: Run, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_code:
        run_cli("bridge", "mqtt", "--broker", "mqtt://127.0.0.1", "--alarm-center", text)
    assert exit_code.value.code == 2
    assert "not [HOST:]PORT" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--alarm-center-bind", "127.0.0.1"], "--alarm-center-bind needs --alarm-center PORT"),
        (
            ["--alarm-center", "127.0.0.2:15002", "--alarm-center-bind", "127.0.0.1"],
            "given twice",
        ),
    ],
)
def test_the_alarm_center_bind_address(run_cli: Run, argv: list[str], message: str) -> None:
    result = run_cli("-H", "127.0.0.1", "bridge", "mqtt", "--broker", "mqtt://127.0.0.1", *argv)
    assert result.code == 2
    assert message in result.err


def test_the_alarm_center_listens_where_it_is_told() -> None:
    from xmcam.cli import build_parser  # noqa: PLC0415
    from xmcam.cli.bridge import ALL_INTERFACES, _alarm_center_host  # noqa: PLC0415

    def host(*argv: str) -> str:
        args = build_parser().parse_args(["bridge", "mqtt", "--broker", "mqtt://x", *argv])
        return _alarm_center_host(args)

    assert host("--alarm-center", "15002") == ALL_INTERFACES == "0.0.0.0"  # noqa: S104
    assert host("--alarm-center", "192.0.2.5:15002") == "192.0.2.5"
    assert host("--alarm-center", "15002", "--alarm-center-bind", "192.0.2.5") == "192.0.2.5"
    assert host("--alarm-center", "[::1]:15002", "--alarm-center-bind", "::1") == "::1"


def test_bridge_alone_shows_its_help(run_cli: Run) -> None:
    result = run_cli("bridge")
    assert result.code == 2
    assert "mqtt" in result.err


async def start_bridge(log: IO[bytes], *argv: str) -> asyncio.subprocess.Process:
    """`python -m xmcam ARGV` with its stderr in a file (a pipe nobody reads could fill)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "xmcam", *argv, stdout=asyncio.subprocess.DEVNULL, stderr=log
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_it_bridges_until_a_signal_then_says_offline(
    mosquitto: Mosquitto, stop: signal.Signals, tmp_path: Path
) -> None:
    inventory = tmp_path / "cameras.toml"
    log_path = tmp_path / "bridge.log"
    with (
        SimulatorThread(serial="SN1") as camera,
        SimulatorThread(serial="SN2") as other,
        log_path.open("wb") as log,
    ):
        inventory.write_text(
            "".join(
                f'[[camera]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {sim.port}\n'
                for name, sim in (("porch", camera), ("garage", other))
            )
        )
        async with subscribed(mosquitto.port) as subscriber:
            process = await start_bridge(
                log,
                "-vv",  # every debug line too: still no password
                "bridge",
                "mqtt",
                "--broker",
                f"mqtt://bridge:hunter2@127.0.0.1:{mosquitto.port}",
                "--inventory",
                str(inventory),
                "--alarm-center",
                "127.0.0.1:0",
            )
            try:
                await subscriber.wait_payload("xmcam/porch/availability", "online", timeout=10)
                await subscriber.wait_payload("xmcam/garage/availability", "online")
                camera.trigger_alarm(0, "VideoMotion", "Start")
                await subscriber.wait_payload("xmcam/porch/motion/0", "ON")
                process.send_signal(stop)
                await asyncio.wait_for(process.wait(), 10)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            assert process.returncode == 0
            await subscriber.wait_payload("xmcam/porch/availability", "offline")
            await subscriber.wait_payload("xmcam/garage/availability", "offline")
            await subscriber.wait_payload("xmcam/bridge/availability", "offline")
        assert camera.simulator.session_count == 0  # logged out on the way
    text = log_path.read_text()
    assert f"bridging 2 camera(s) to mqtt://bridge@127.0.0.1:{mosquitto.port}" in text
    assert "camera porch: online (HI3516D_83H50N" in text
    assert "alarm center listening on 127.0.0.1:" in text
    assert "Sending PUBLISH" in text  # the MQTT client's debug lines were on
    assert "hunter2" not in text
    assert "Traceback" not in text


async def test_a_killed_bridge_is_marked_offline_by_its_last_will(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    with SimulatorThread() as camera, (tmp_path / "bridge.log").open("wb") as log:
        async with subscribed(mosquitto.port) as subscriber:
            process = await start_bridge(
                log,
                "-H",
                f"127.0.0.1:{camera.port}",
                "bridge",
                "mqtt",
                "--broker",
                f"mqtt://127.0.0.1:{mosquitto.port}",
                "--name",
                "porch",
            )
            try:
                await subscriber.wait_payload("xmcam/porch/availability", "online", timeout=10)
                await subscriber.wait_payload("xmcam/bridge/availability", "online")
            finally:
                process.kill()
                await process.wait()
            await subscriber.wait_payload("xmcam/bridge/availability", "offline")
            # The camera's own topic still says online (nobody said otherwise); Home
            # Assistant needs both topics, so its entities are unavailable all the same.
            assert subscriber.on("xmcam/porch/availability")[-1] == "online"


# The moments a service manager may stop the bridge at, each told by a line of its log: its
# very first (the -p warning, printed before the MQTT client is even imported), the start of
# the bridging, and the broker's first news (connected, or unreachable when it is down).
MOMENTS = {
    "starting": "xmcam: warning: a password in -p/--password",
    "bridging": "bridging 1 camera(s)",
    "running": "broker mqtt://127.0.0.1:",
}


async def test_a_signal_ends_the_bridge_with_0_every_time(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    # docs/bridge.md: "It runs until SIGINT or SIGTERM; then ... exits with 0". Several
    # rounds of each signal at each moment, as the exit code once depended on the moment.
    await _stop_at_every_moment(mosquitto.port, tmp_path)


async def test_a_signal_ends_the_bridge_with_0_every_time_with_the_broker_down(
    tmp_path: Path,
) -> None:
    await _stop_at_every_moment(free_port(), tmp_path)  # nothing listens there


async def _stop_at_every_moment(broker_port: int, tmp_path: Path) -> None:
    codes: list[tuple[str, str, int | None]] = []
    with SimulatorThread(password="hunter2") as camera:
        for round_number in range(2):
            for stop in (signal.SIGTERM, signal.SIGINT):
                for moment, line in MOMENTS.items():
                    log_path = tmp_path / f"bridge-{round_number}-{stop.name}-{moment}.log"
                    with log_path.open("wb") as log:
                        process = await start_bridge(
                            log,
                            "-H",
                            f"127.0.0.1:{camera.port}",
                            "-p",
                            "hunter2",
                            "bridge",
                            "mqtt",
                            "--broker",
                            f"mqtt://127.0.0.1:{broker_port}",
                            "--name",
                            "porch",
                        )
                        try:
                            await until(lambda: line in log_path.read_text(), 30)  # noqa: B023
                            process.send_signal(stop)
                            await asyncio.wait_for(process.wait(), 30)
                        finally:
                            if process.returncode is None:
                                process.kill()
                                await process.wait()
                    text = log_path.read_text()
                    assert "Traceback" not in text
                    codes.append((stop.name, moment, process.returncode))
    assert codes == [(name, moment, 0) for name, moment, _ in codes]


@pytest.mark.parametrize("text", ["0", "-5", "x", "2592001", "nan"])
def test_the_audit_interval_is_a_positive_number_of_seconds(
    run_cli: Run, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_code:
        run_cli("bridge", "mqtt", "--broker", "mqtt://127.0.0.1", "--audit-interval", text)
    assert exit_code.value.code == 2
    assert "expected 0 to 2592000 seconds (30 days)" in capsys.readouterr().err
