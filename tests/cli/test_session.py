"""Global options, where the camera is, and how failures end: one line, a named exit code."""

from __future__ import annotations

import socket

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode
from xmcam.cli.output import CommandError
from xmcam.cli.session import Target, parse_host
from xmcam.protocol import sofia_hash
from xmcam.sim import SimulatorThread


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("camera.local", ("camera.local", 34567)),
        ("192.168.1.10:8000", ("192.168.1.10", 8000)),
        ("[::1]:34568", ("::1", 34568)),
        ("[::1]", ("::1", 34567)),
        ("fe80::1", ("fe80::1", 34567)),
    ],
)
def test_parse_host(text: str, expected: tuple[str, int]) -> None:
    assert parse_host(text) == expected


@pytest.mark.parametrize(
    "text", [":34567", "host:0", "host:65536", "host:x", "[::1", "[::1]x", "host:²", "host:٣٤"]
)
def test_parse_host_refuses_malformed_addresses(text: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_host(text)
    assert caught.value.code == ExitCode.USAGE


def test_target_repr_leaves_the_password_out() -> None:
    target = Target("::1", 34567, "admin", "hunter2", 5.0)
    assert "hunter2" not in repr(target)
    assert target.address == "[::1]:34567"


def test_no_host_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("info")
    assert result.code == ExitCode.USAGE
    assert result.err == "xmcam: no camera given: use -H HOST[:PORT] or set XMCAM_HOST\n"


def test_host_user_and_password_come_from_the_environment(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SimulatorThread(password="hunter2") as sim:
        monkeypatch.setenv("XMCAM_HOST", f"127.0.0.1:{sim.port}")
        monkeypatch.setenv("XMCAM_USER", "admin")
        monkeypatch.setenv("XMCAM_PASSWORD", "hunter2")
        result = run_cli("info")
    assert result.code == ExitCode.SUCCESS, result.err
    assert "HI3516D_83H50N" in result.out


PASSWORD_WARNING = (
    "xmcam: warning: a password in -p/--password shows in `ps` and in the shell's history; "
    "set XMCAM_PASSWORD instead"
)


def test_wrong_password_exits_5_with_one_line(xmcam: Run, sim: SimulatorThread) -> None:
    result = xmcam("-p", "wrong", "info")
    assert result.code == ExitCode.AUTHENTICATION
    warning, error = result.err.splitlines()  # the warning for -p, then the one error line
    assert warning == PASSWORD_WARNING
    assert error.startswith("xmcam: Ret 203 (wrong password)")
    assert result.out == ""
    assert "wrong" not in error.removeprefix("xmcam: Ret 203 (wrong password)")


def test_a_locked_account_says_for_how_long_and_where(xmcam: Run, sim: SimulatorThread) -> None:
    for _ in range(5):  # the simulator locks the account as real firmware does
        assert xmcam("-p", "wrong", "info").code == ExitCode.AUTHENTICATION
    assert sim.call(lambda: sim.simulator.device.is_locked("admin"))
    result = xmcam("info")  # the right password, refused while the lock lasts
    assert result.code == ExitCode.AUTHENTICATION
    assert result.err.count("\n") == 1
    assert result.err == (
        f"xmcam: 127.0.0.1:{sim.port}: Ret 205 (user locked): the account is locked after "
        "failed logins: wait about 30 minutes from the last try (on some firmware: the user "
        "name is unknown)\n"
    )


def test_options_go_before_the_command(xmcam: Run) -> None:
    result = xmcam("-p", "hunter2", "-u", "nobody", "info")
    assert result.code == ExitCode.AUTHENTICATION
    assert result.err.count("\n") == 2  # the warning for -p, then the one error line
    assert "hunter2" not in result.err


def test_a_password_on_the_command_line_is_warned_about(
    run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `ps` shows other users of the machine, while the command runs.
    with SimulatorThread(password="hunter2") as sim:
        camera = ["-H", f"127.0.0.1:{sim.port}", "--timeout", "2"]
        typed = run_cli(*camera, "-p", "hunter2", "info")
        assert typed.code == ExitCode.SUCCESS
        assert typed.err == PASSWORD_WARNING + "\n"
        assert "hunter2" not in typed.err
        monkeypatch.setenv("XMCAM_PASSWORD", "hunter2")
        from_environment = run_cli(*camera, "info")
        assert (from_environment.code, from_environment.err) == (ExitCode.SUCCESS, "")
        # The command line still wins over the environment, and an empty one hides nothing.
        empty = run_cli(*camera, "-p", "", "info")
        assert empty.code == ExitCode.AUTHENTICATION
        assert "warning" not in empty.err


def test_connection_refused_exits_3(run_cli: Run) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli("-H", f"127.0.0.1:{port}", "--timeout", "2", "info")
    assert result.code == ExitCode.CONNECTION
    assert result.err.startswith("xmcam: ")
    assert result.err.count("\n") == 1


def test_a_request_with_no_answer_exits_4(xmcam: Run, sim: SimulatorThread) -> None:
    sim.simulator.faults.silent_ids.add(1020)
    result = xmcam("--timeout", "0.3", "info")
    assert result.code == ExitCode.TIMEOUT
    assert result.err.startswith("xmcam: ")
    assert result.err.count("\n") == 1


@pytest.mark.parametrize("value", ["0", "-1", "soon", "1e9"])
def test_bad_timeout_is_a_usage_error(run_cli: Run, value: str) -> None:
    with pytest.raises(SystemExit) as caught:
        run_cli("-H", "127.0.0.1", "--timeout", value, "info")
    assert caught.value.code == ExitCode.USAGE


def test_debug_logs_frames_in_hex_without_the_password_hash(xmcam: Run) -> None:
    result = xmcam("-p", "", "--debug", "info")
    assert result.code == ExitCode.SUCCESS
    assert "xmcam: -> LOGIN_REQ " in result.err
    assert "0000   ff 0" in result.err
    assert sofia_hash("") not in result.err


def test_without_debug_nothing_is_logged(xmcam: Run) -> None:
    assert xmcam("info").err == ""
