"""`xmcam fleet`: every action over five simulated cameras at once (two good ones, an NVR, one
entered with a wrong password, one whose port is closed), in-process through `main()`."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Result, Run
from tests.cli.terminal import answer_on_a_terminal
from tests.test_fleet import closed_port
from tests.waiting import wait_until
from xmcam.cli import ExitCode, main
from xmcam.protocol import sofia_hash
from xmcam.sim import SimulatorThread, load_profile

SECRET = "hunter2"
NAMES = ["cam1", "cam2", "nvr", "wrongpw", "closed"]


class Fleet:
    def __init__(self, sims: dict[str, SimulatorThread], inventory: Path) -> None:
        self.sims = sims
        self.inventory = str(inventory)


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    monkeypatch.setenv("XMCAM_FLEET_TEST_PW", SECRET)
    with contextlib.ExitStack() as stack:
        sims = {
            "cam1": stack.enter_context(SimulatorThread()),
            "cam2": stack.enter_context(SimulatorThread(password=SECRET)),
            "nvr": stack.enter_context(SimulatorThread("nvr-8ch")),
            "wrongpw": stack.enter_context(SimulatorThread(password=SECRET)),
        }
        port = {name: sim.port for name, sim in sims.items()}
        path = tmp_path / "fleet.toml"
        path.write_text(
            f"""
            [defaults]
            timeout = 2

            [[camera]]
            name = "cam1"
            host = "127.0.0.1:{port["cam1"]}"

            [[camera]]
            name = "cam2"
            host = "127.0.0.1"
            port = {port["cam2"]}
            password_env = "XMCAM_FLEET_TEST_PW"

            [[camera]]
            name = "nvr"
            host = "127.0.0.1:{port["nvr"]}"

            [[camera]]
            name = "wrongpw"
            host = "127.0.0.1:{port["wrongpw"]}"
            password = "wrong"

            [[camera]]
            name = "closed"
            host = "127.0.0.1:{closed_port()}"
            """,
            encoding="utf-8",
        )
        path.chmod(0o600)
        yield Fleet(sims, path)


def rows(result: Result) -> dict[str, list[str]]:
    """The table's rows by camera: the cells split on runs of two spaces."""
    lines = result.out.splitlines()
    table = {}
    for line in lines[1:]:
        name, _, rest = line.partition(" ")
        table[name] = [cell.strip() for cell in rest.strip().split("  ") if cell.strip()]
    return table


def test_fleet_info_shows_a_table_and_exits_1_naming_the_failures(
    fleet: Fleet, run_cli: Run
) -> None:
    result = run_cli("fleet", fleet.inventory, "info")
    assert result.code == ExitCode.FAILURE
    assert result.err.splitlines()[-1] == "xmcam: 2 of 5 cameras failed"
    assert result.out.splitlines()[0].split() == ["camera", "model", "firmware", "serial", "result"]
    table = rows(result)
    assert list(table) == NAMES
    assert table["cam1"][0] == "HI3516D_83H50N"
    assert table["cam1"][-1] == "ok"
    assert table["cam2"][-1] == "ok"
    assert table["nvr"][-1] == "ok"
    assert table["nvr"][0] != "HI3516D_83H50N"
    assert table["wrongpw"] == ["Ret 203 (wrong password) in reply to LOGIN_REQ"]
    assert table["closed"] == [f"cannot connect to {_closed_address(fleet)}: Connection refused"]
    # A refused login is tried once, never again.
    assert fleet.sims["wrongpw"].simulator.device.login_attempts == 1


def _closed_address(fleet: Fleet) -> str:
    text = Path(fleet.inventory).read_text(encoding="utf-8")
    return text.rsplit('host = "', 1)[1].split('"')[0]


def test_fleet_json_is_one_array_of_per_camera_objects(fleet: Fleet, run_cli: Run) -> None:
    result = run_cli("fleet", fleet.inventory, "info", "--json")
    assert result.code == ExitCode.FAILURE
    records = json.loads(result.out)
    assert [record["camera"] for record in records] == NAMES
    for record in records:
        assert set(record) == {"camera", "ok", "value", "error", "seconds"}
        assert record["seconds"] >= 0
    assert records[0]["ok"] is True
    assert records[0]["error"] is None
    assert records[0]["value"]["model"] == "HI3516D_83H50N"
    assert records[0]["value"]["serial"]
    assert records[3]["ok"] is False
    assert records[3]["value"] is None
    assert records[3]["error"].startswith("Ret 203")
    # --json before the command, and --concurrency before FILE, work as well.
    again = run_cli("--json", "fleet", "--concurrency", "1", fleet.inventory, "info")
    assert [record["ok"] for record in json.loads(again.out)] == [True, True, True, False, False]


def test_fleet_exits_0_when_every_camera_succeeds(
    fleet: Fleet, run_cli: Run, tmp_path: Path
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        "".join(
            f'[[camera]]\nname = "{name}"\nhost = "127.0.0.1:{fleet.sims[name].port}"\n'
            for name in ("cam1", "nvr")
        ),
        encoding="utf-8",
    )
    result = run_cli("fleet", str(good), "info", "--concurrency", "2")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.err == ""
    assert list(rows(result)) == ["cam1", "nvr"]


def test_fleet_time_sync_levels_every_clock(fleet: Fleet, run_cli: Run) -> None:
    long_ago = datetime.datetime(2020, 1, 1, 12, 0, 0)
    for sim in fleet.sims.values():
        sim.call(sim.state.set_device_time, long_ago)
    check = run_cli("fleet", fleet.inventory, "time", "get", "--json")
    records = {record["camera"]: record for record in json.loads(check.out)}
    assert records["cam1"]["value"]["skew_seconds"] < -86400
    assert records["cam1"]["value"]["device_time"].startswith("2020-01-01T12:00")

    result = run_cli("fleet", fleet.inventory, "time", "sync")
    assert result.code == ExitCode.FAILURE
    assert result.out.splitlines()[0].split() == [
        "camera",
        "skew",
        "before",
        "->",
        "after",
        "result",
    ]
    # Words, not `-81888340.9 s`: the old skew as a duration, the new one level.
    line = result.out.splitlines()[1]
    assert line.split()[0] == "cam1"
    assert " days behind -> level " in line
    for name in ("cam1", "cam2", "nvr"):
        assert abs(fleet.sims[name].state.time_offset) < 0.25
    synced = run_cli("fleet", fleet.inventory, "time", "sync", "--json")
    for record in json.loads(synced.out):
        if record["camera"] not in ("wrongpw", "closed"):
            assert abs(record["value"]["skew_seconds"]) <= 0.5, record
    assert fleet.sims["wrongpw"].state.time_offset < -86400  # never logged in


def test_fleet_config_get_summarises_and_redacts(fleet: Fleet, run_cli: Run) -> None:
    sim = fleet.sims["cam1"]
    ntp = sim.state.get_config("NetWork.NetNTP")
    ntp["Server"]["Password"] = SECRET
    sim.call(sim.state.set_config, "NetWork.NetNTP", ntp)
    result = run_cli("fleet", fleet.inventory, "config", "get", "NetWork.NetNTP")
    assert result.code == ExitCode.FAILURE
    cell = rows(result)["cam1"][0]
    assert cell.startswith("{")
    assert cell.endswith("…")
    assert len(cell) == 60
    as_json = run_cli("fleet", fleet.inventory, "config", "get", "NetWork.NetNTP", "--json")
    value = json.loads(as_json.out)[0]["value"]
    assert value["Server"]["Password"] == "<redacted>"
    assert SECRET not in result.out + as_json.out

    missing = run_cli("fleet", fleet.inventory, "config", "get", "No.Such")
    assert rows(missing)["cam1"] == ["Ret 607 (config does not exist) in reply to CONFIG_GET_REQ"]


def test_fleet_config_export_writes_one_file_per_camera_as_config_export_does(
    fleet: Fleet, run_cli: Run, tmp_path: Path
) -> None:
    directory = tmp_path / "exports"
    result = run_cli("fleet", fleet.inventory, "config", "export", str(directory))
    assert result.code == ExitCode.FAILURE
    assert sorted(path.name for path in directory.iterdir()) == [
        "cam1.json",
        "cam2.json",
        "nvr.json",
    ]
    assert rows(result)["cam1"] == [str(directory / "cam1.json"), "ok"]
    single = tmp_path / "single.json"
    port = fleet.sims["cam1"].port
    assert run_cli("-H", f"127.0.0.1:{port}", "config", "export", str(single)).code == 0
    assert (directory / "cam1.json").read_text(encoding="utf-8") == single.read_text(
        encoding="utf-8"
    )
    tree = json.loads(single.read_text(encoding="utf-8"))
    nvr_tree = json.loads((directory / "nvr.json").read_text(encoding="utf-8"))
    assert len(nvr_tree["AVEnc.VideoColor"]) == 8  # its own configs: eight channels, not one
    assert len(tree["AVEnc.VideoColor"]) == 1

    as_json = run_cli("fleet", fleet.inventory, "config", "export", str(directory), "--json")
    records = json.loads(as_json.out)
    assert records[0]["value"] == {"file": str(directory / "cam1.json"), "names": len(tree)}
    assert records[3]["value"] is None
    assert not list(directory.glob(".*"))  # no temporary file left behind


def test_fleet_config_export_refuses_a_file_for_a_directory(
    fleet: Fleet, run_cli: Run, tmp_path: Path
) -> None:
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    result = run_cli("fleet", fleet.inventory, "config", "export", str(a_file / "sub"))
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("xmcam: cannot use")


def test_fleet_reboot_and_wait(tmp_path: Path, run_cli: Run) -> None:
    quick = load_profile().with_quirks(reboot_delay=0.2)
    with SimulatorThread(quick) as first, SimulatorThread(quick) as second:
        path = tmp_path / "two.toml"
        path.write_text(
            "".join(
                f'[[camera]]\nname = "c{n}"\nhost = "127.0.0.1:{sim.port}"\n'
                for n, sim in enumerate((first, second))
            ),
            encoding="utf-8",
        )
        result = run_cli("fleet", str(path), "reboot", "--wait", "--wait-timeout", "10")
        assert result.code == ExitCode.SUCCESS, result.err
        for cells in rows(result).values():
            assert cells[0].startswith("back after ")
            assert cells[1] == "ok"
        assert first.simulator.reboots == 1
        assert second.simulator.reboots == 1
        quick_reboot = run_cli("fleet", str(path), "reboot", "--json")
        assert [record["value"]["back"] for record in json.loads(quick_reboot.out)] == [
            False,
            False,
        ]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("info",), "xmcam: /nonexistent/fleet.toml: cannot read: No such file or directory"),
        (("--concurrency", "0", "info"), "--concurrency: expected 1 to 1024: '0'"),
        (("info", "--concurrency", "x"), "--concurrency: expected 1 to 1024: 'x'"),
        (("time",), "the following arguments are required: get|sync"),
        (("time", "set"), "invalid choice: 'set'"),
        (("config", "get"), "the following arguments are required: NAME"),
        ((), "the following arguments are required: ACTION"),
    ],
)
def test_fleet_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], expected: str
) -> None:
    try:
        code = main(["fleet", "/nonexistent/fleet.toml", *argv])
    except SystemExit as exit_:  # argparse's own refusals
        code = int(exit_.code or 0)
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert expected in err
    assert err.strip().splitlines()[-1].count(expected) == 1


def test_fleet_bad_inventory_is_a_usage_error_in_one_line(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[camera]]\nname = "x"\nhost = "h"\nprot = 1\n', encoding="utf-8")
    result = run_cli("fleet", str(path), "info")
    assert result.code == ExitCode.USAGE
    # One line, cut (with "…") when the temporary path makes it long.
    assert result.err.count("\n") == 1
    assert result.err.startswith(
        f"xmcam: {path}: camera 1 (x): prot: unknown key "
        "(known: alarm_center_addresses, encryption, host, name, password"
    )
    assert result.out == ""


def test_no_password_or_hash_in_any_output(
    fleet: Fleet, run_cli: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The inventory holds the password in clear, readable by others: a warning, but no secret.
    inventory = Path(fleet.inventory)
    text = inventory.read_text(encoding="utf-8").replace(
        'password = "wrong"', f'password = "{SECRET}x"'
    )
    text = text.replace('password_env = "XMCAM_FLEET_TEST_PW"', f'password = "{SECRET}"')
    inventory.write_text(text, encoding="utf-8")
    inventory.chmod(0o644)
    secrets = (SECRET, sofia_hash(SECRET), sofia_hash(SECRET + "x"))
    outputs = []
    for argv in (
        ("-vv", "--debug", "fleet", fleet.inventory, "info"),
        ("fleet", fleet.inventory, "info", "--json"),
        ("fleet", fleet.inventory, "time", "get"),
        ("fleet", fleet.inventory, "config", "get", "General.General", "--json"),
        ("fleet", fleet.inventory, "config", "export", str(tmp_path / "out")),
    ):
        result = run_cli(*argv)
        assert result.code == ExitCode.FAILURE, result.err
        outputs.append(result.out + result.err)
    everything = "".join(outputs) + caplog.text
    everything += "".join(path.read_text() for path in (tmp_path / "out").iterdir())
    assert "others may read it" in outputs[0]
    assert "LOGIN_REQ" in outputs[0]  # the debug dump of the logins is there, redacted
    for secret in secrets:
        assert secret not in everything


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_counts_done_and_failed_on_a_terminal(
    fleet: Fleet, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    result = run_cli("fleet", fleet.inventory, "info", "--concurrency", "1")
    assert result.code == ExitCode.FAILURE
    shown = terminal.getvalue()
    assert shown.startswith("\r[--------------------] 0/5 done, 0 failed")
    assert "\r[####----------------] 1/5 done, 0 failed" in shown
    assert "[####################] 5/5 done, 2 failed" in shown
    # The bar's line is wiped before the table and the error line.
    last_bar = "[####################] 5/5 done, 2 failed"
    assert shown.endswith(f"\r{' ' * len(last_bar)}\rxmcam: 2 of 5 cameras failed\n")


def test_ctrl_c_shows_the_cameras_not_done_as_cancelled(
    fleet: Fleet, run_cli: Run, tmp_path: Path
) -> None:
    slow = fleet.sims["cam2"]
    path = tmp_path / "two.toml"
    path.write_text(
        f'[[camera]]\nname = "fast"\nhost = "127.0.0.1:{fleet.sims["cam1"].port}"\n'
        f'[[camera]]\nname = "slow"\nhost = "127.0.0.1:{slow.port}"\npassword = "{SECRET}"\n'
        f'[[camera]]\nname = "later"\nhost = "127.0.0.1:{fleet.sims["nvr"].port}"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)

    def interrupt_once_the_slow_camera_waits() -> None:
        with contextlib.suppress(AssertionError):  # interrupt even so: the checks below fail
            wait_until(lambda: slow.simulator.device.login_attempts > 0, 10)
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: asyncio.run cancels the run

    slow.faults.silent_ids.add(1020)  # it logs in, and its SystemInfo never comes
    interrupter = threading.Thread(target=interrupt_once_the_slow_camera_waits)
    interrupter.start()
    try:
        result = run_cli("fleet", str(path), "info", "--concurrency", "1", "--json")
    finally:
        interrupter.join()
    assert result.code == 130
    records = json.loads(result.out)
    assert [record["camera"] for record in records] == ["fast", "slow", "later"]
    assert [record["error"] for record in records] == [None, "cancelled", "cancelled"]
    # The slow camera's connection was closed, not left open.
    wait_until(lambda: slow.simulator.connection_count == 0, 5)


def test_fleet_reboot_asks_on_a_terminal_and_yes_skips_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimulatorThread() as first, SimulatorThread() as second:
        path = tmp_path / "two.toml"
        path.write_text(
            "".join(
                f'[[camera]]\nname = "c{n}"\nhost = "127.0.0.1:{sim.port}"\n'
                for n, sim in enumerate((first, second))
            ),
            encoding="utf-8",
        )
        answer_on_a_terminal(monkeypatch, "n\n")
        assert main(["fleet", str(path), "reboot"]) == ExitCode.FAILURE
        assert f"reboot all 2 cameras of {path}? [y/N]" in capsys.readouterr().err
        assert (first.simulator.reboots, second.simulator.reboots) == (0, 0)
        answer_on_a_terminal(monkeypatch, "n\n")
        assert main(["fleet", str(path), "reboot", "--yes"]) == ExitCode.SUCCESS
        assert "[y/N]" not in capsys.readouterr().err
        wait_until(lambda: (first.simulator.reboots, second.simulator.reboots) == (1, 1))


def test_the_global_timeout_replaces_the_inventory_s(tmp_path: Path, run_cli: Run) -> None:
    # A camera that accepts the connection and never answers: the file gives it 30 s; the
    # global --timeout, typed on the command line, wins (it was silently ignored before).
    with socket.create_server(("127.0.0.1", 0)) as silent:
        path = tmp_path / "slow.toml"
        port = silent.getsockname()[1]
        path.write_text(
            f'[defaults]\ntimeout = 30\n\n[[camera]]\nname = "mute"\nhost = "127.0.0.1:{port}"\n',
            encoding="utf-8",
        )
        path.chmod(0o600)
        started = time.monotonic()
        result = run_cli("--timeout", "0.5", "fleet", str(path), "info")
        assert time.monotonic() - started < 10
    assert result.code == ExitCode.FAILURE
    assert "mute" in result.out


def test_fleet_audit_fixes_each_camera_and_exits_1_when_a_check_failed(
    tmp_path: Path, run_cli: Run
) -> None:
    with SimulatorThread("xm530") as first, SimulatorThread("xm530") as second:
        path = tmp_path / "fleet.toml"
        path.write_text(
            "".join(
                f'[[camera]]\nname = "{name}"\nhost = "127.0.0.1:{sim.port}"\n'
                for name, sim in (("porch", first), ("yard", second))
            ),
            encoding="utf-8",
        )
        result = run_cli("fleet", str(path), "audit", "--fix", "--yes", "--ports", "none")
        record = json.loads(run_cli("fleet", str(path), "--json", "audit", "--ports", "none").out)
    assert result.code == ExitCode.FAILURE, result.err  # the profile's blank passwords
    table = rows(result)
    assert table["porch"] == ["passwords", "cloud, cloud-upgrade, push, upnp", "0", "ok"]
    assert table["yard"] == table["porch"]
    assert [camera["camera"] for camera in record] == ["porch", "yard"]
    findings = record[0]["value"]["findings"]
    assert [item["check"] for item in findings if item["status"] == "fail"] == ["passwords"]
