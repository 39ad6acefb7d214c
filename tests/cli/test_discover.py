"""`xmcam discover` in-process, against simulators on 127.0.0.1 (unicast probes to their UDP
ports stand in for the broadcast)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Run
from xmcam.aio.alarm_center import AlarmCenterServer
from xmcam.aio.discovery import discover
from xmcam.cli import ExitCode, build_parser
from xmcam.cli.session import timeout_given
from xmcam.cli.sim import run_simulator
from xmcam.protocol.alarm_center import AlarmCenterMessage
from xmcam.protocol.discovery import encode_search_reply
from xmcam.sim import SimulatorThread


@pytest.fixture
def cameras() -> Iterator[list[SimulatorThread]]:
    with (
        SimulatorThread(discovery_port=0, serial="front-door") as one,
        SimulatorThread("nvr-8ch", discovery_port=0) as two,
    ):
        yield [one, two]


def target_options(cameras: list[SimulatorThread]) -> list[str]:
    options = ["--bind", "127.0.0.1:0", "--timeout", "0.4"]
    for camera in cameras:
        options += ["--target", f"127.0.0.1:{camera.simulator.discovery_port}"]
    return options


def test_a_table_of_the_devices_found(run_cli: Run, cameras: list[SimulatorThread]) -> None:
    result = run_cli("discover", *target_options(cameras))
    assert result.code == ExitCode.SUCCESS
    header, *rows = result.out.splitlines()
    assert header.split() == [
        "host",
        "MAC",
        "serial",
        "type",
        "firmware",
        "TCP",
        "port",
        "channels",
    ]
    assert len(rows) == 2
    by_serial = {row.split()[2]: row.split() for row in rows}
    door = by_serial["front-door"]
    assert door[0] == "127.0.0.1"
    assert door[3] == "40"
    assert door[4] == "V4.03.R12.G7914927.12012.145902.0020000"
    assert door[5] == str(cameras[0].port)
    assert door[6] == "1"
    nvr = by_serial["9b3a0c72d1f6e804"]
    assert (nvr[1], nvr[5], nvr[6]) == ("00:12:41:d1:f6:e8", str(cameras[1].port), "8")
    assert result.err == ""


def test_json_is_one_array_of_the_devices(run_cli: Run, cameras: list[SimulatorThread]) -> None:
    result = run_cli("discover", "--json", *target_options(cameras))
    assert result.code == ExitCode.SUCCESS
    records = json.loads(result.out)
    assert sorted(record["serial"] for record in records) == ["9b3a0c72d1f6e804", "front-door"]
    door = next(record for record in records if record["serial"] == "front-door")
    assert door["tcp_port"] == cameras[0].port
    assert door["raw"]["TCPPort"] == cameras[0].port
    assert door["source"] == "127.0.0.1"


def test_nothing_found_is_exit_code_one(run_cli: Run, cameras: list[SimulatorThread]) -> None:
    for camera in cameras:
        camera.call(setattr, camera.simulator.discovery, "answer_every", 0)
    result = run_cli("discover", *target_options(cameras), "--repeats", "1")
    assert result.code == ExitCode.FAILURE
    assert result.out == ""
    assert "no devices answered in 0.4 s" in result.err
    # --json: still one document, an empty array, for a script's parser
    as_json = run_cli("discover", *target_options(cameras), "--repeats", "1", "--json")
    assert as_json.code == ExitCode.FAILURE
    assert as_json.out == "[]\n"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--target", "127.0.0.1:0"], "bad port '0'"),
        (["--target", ":5"], "bad address"),
        (["--bind", "127.0.0.1:x"], "bad port 'x'"),
        (["--target", "::1"], "bad address"),
    ],
)
def test_bad_addresses_are_usage_errors(run_cli: Run, options: list[str], message: str) -> None:
    result = run_cli("discover", "--bind", "127.0.0.1:0", *options)
    assert result.code == ExitCode.USAGE
    assert message in result.err


def test_a_bind_that_fails_says_why(run_cli: Run) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        result = run_cli(
            "discover", "--bind", f"127.0.0.1:{port}", "--target", "127.0.0.1:9", "--timeout", "0.1"
        )
    assert result.code == ExitCode.CONNECTION
    assert f"cannot search from 127.0.0.1:{port}" in result.err
    assert "permissions" in result.err


def test_a_flood_of_replies_is_capped_and_said(run_cli: Run) -> None:
    # The attack: a host that answers the probe with replies from 40 invented devices.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as attacker:
        attacker.bind(("127.0.0.1", 0))
        attacker.settimeout(5)
        port = attacker.getsockname()[1]

        def flood() -> None:
            _, client = attacker.recvfrom(100)
            for number in range(40):
                mac = f"02:00:00:00:00:{number:02x}"
                attacker.sendto(encode_search_reply({"MAC": mac, "SN": f"fake{number}"}), client)

        thread = threading.Thread(target=flood)
        thread.start()
        try:
            result = run_cli(
                "discover", "--bind", "127.0.0.1:0", "--target", f"127.0.0.1:{port}",
                "--timeout", "0.5", "--repeats", "1", "--max-devices", "5", "--json",
            )  # fmt: skip
        finally:
            thread.join(timeout=5)
    assert result.code == ExitCode.SUCCESS
    assert [record["serial"] for record in json.loads(result.out)] == [
        f"fake{number}" for number in range(5)
    ]
    # The library's own warning comes first; every line starts "xmcam: ".
    line = next(line for line in result.err.splitlines() if "were dropped" in line)
    dropped = int(line.removeprefix("xmcam: ").split()[0])
    assert 0 < dropped <= 35  # what the socket buffer held of the rest, counted
    assert "beyond the first 5 were dropped (--max-devices)" in result.err


def test_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    from xmcam.cli import main  # noqa: PLC0415

    with pytest.raises(SystemExit):
        main(["discover", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "34569" in text
    assert "permissions" in text
    assert "--max-devices N" in text


async def test_xmcam_sim_answers_searches_and_pushes_to_its_alarm_center(
    capsys: pytest.CaptureFixture[str],
) -> None:
    received: asyncio.Queue[AlarmCenterMessage] = asyncio.Queue()
    async with AlarmCenterServer("127.0.0.1", 0, on_message=received.put_nowait) as center:
        args = build_parser().parse_args(
            ["sim", "--port", "0", "--discovery-port", "0", "--serial", "cli-cam",
             "--alarm-center", f"127.0.0.1:{center.port}", "--alarm-every", "0.05"]
        )  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(run_simulator(args, stop))
        err = ""
        while "answering searches" not in err:
            await asyncio.sleep(0.01)
            err += capsys.readouterr().err
        udp_port = int(err.split("answering searches on UDP 127.0.0.1:")[1].split()[0])
        found = await discover(
            timeout=0.3, targets=[("127.0.0.1", udp_port)], bind=("127.0.0.1", 0)
        )
        message = await asyncio.wait_for(received.get(), 3)
        stop.set()
        assert await task == ExitCode.SUCCESS
    assert [device.serial for device in found] == ["cli-cam"]
    assert (message.serial, message.event, message.status) == ("cli-cam", "VideoMotion", "Start")


@pytest.mark.parametrize(
    "options",
    [["--alarm-center", "127.0.0.1"], ["--alarm-center", "127.0.0.1:0"], ["--serial", ""]],
)
def test_xmcam_sim_refuses_bad_options(options: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sim", *options])


def test_a_name_that_does_not_resolve_is_named(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run blamed the bind address ("cannot search from 0.0.0.0:34569"). The
    # resolver is asked in-process and told the name is unknown: no query leaves the host.
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: str, *args: object, **kwargs: object) -> object:
        if host == "nosuch.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    result = run_cli("discover", "--target", "nosuch.invalid", "--bind", "127.0.0.1:0")
    assert result.code == ExitCode.CONNECTION
    assert result.err == (
        "xmcam: cannot resolve the target 'nosuch.invalid': Name or service not known\n"
    )
    # A name the resolver refuses outright (a label over 63 bytes), and a bind address.
    long_name = "a" * 64 + ".invalid"
    result = run_cli("discover", "--target", long_name, "--bind", "127.0.0.1:0")
    assert result.code == ExitCode.CONNECTION
    assert result.err.startswith(f"xmcam: cannot resolve the target '{long_name}': ")
    result = run_cli("discover", "--target", "127.0.0.1:9", "--bind", "nosuch.invalid:0")
    assert result.err.startswith("xmcam: cannot resolve the bind address 'nosuch.invalid': ")


def timed_search(run_cli: Run, *argv: str) -> tuple[str, float]:
    started = time.monotonic()
    result = run_cli(*argv, "--bind", "127.0.0.1:0", "--target", "127.0.0.1:9")
    assert result.code == ExitCode.FAILURE
    return result.err, time.monotonic() - started


def test_one_timeout_one_meaning(run_cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    # The global --timeout applies when discover's own is not given...
    err, seconds = timed_search(run_cli, "--timeout", "0.3", "discover")
    assert err == "xmcam: no devices answered in 0.3 s\n"
    assert seconds < 1.5  # not the 2 s default
    # ...and discover's own wins when it is.
    err, seconds = timed_search(run_cli, "--timeout", "30", "discover", "--timeout", "0.2")
    assert err == "xmcam: no devices answered in 0.2 s\n"
    assert seconds < 1.5
    # Neither given: the search's default.
    args = build_parser().parse_args(["discover"])
    assert timeout_given(args) is None
    assert timeout_given(build_parser().parse_args(["--timeout", "10", "discover"])) == 10
    with pytest.raises(SystemExit):
        build_parser().parse_args(["discover", "--help"])
    assert "the global --timeout when given" in " ".join(capsys.readouterr().out.split())
