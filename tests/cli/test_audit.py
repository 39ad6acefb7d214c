"""`xmcam audit` against simulated cameras: the XM530's settings (its real values) fail, are
fixed with --fix and stay fixed; the seed camera's missing settings are unknown; the exit code
says whether anything failed; bad options are usage errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.aio.test_audit import closed_port
from tests.cli.conftest import Result, Run
from xmcam.cli import ExitCode
from xmcam.sim import SimulatorThread


@pytest.fixture
def xm530(run_cli: Run) -> Iterator[Run]:
    with SimulatorThread("xm530") as sim:

        def run(*argv: str) -> Result:
            return run_cli("-H", f"127.0.0.1:{sim.port}", "--timeout", "5", *argv)

        yield run


def test_audit_of_the_xm530_lists_what_phones_home(xm530: Run) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        open_port = listener.getsockname()[1]
        result = xm530("audit", "--ports", f"{open_port},{closed_port()}")
    assert result.code == ExitCode.FAILURE, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["status", "severity", "check", "finding"]
    assert "FAIL    high      cloud            the XMEye cloud (P2P) is on (secu100.net)" in lines
    assert f"FAIL    high      ports            open: {open_port}" in lines
    assert "ok      low       ntp              NTP is on (time.windows.com)" in lines
    assert "6 of 10 checks failed" in lines
    assert "`xmcam audit --fix` turns off or fixes: cloud, cloud-upgrade, push, upnp" in lines
    assert "set a password: xmcam users passwd NAME" in lines


def test_audit_fix_turns_the_settings_off_and_they_stay_off(xm530: Run) -> None:
    result = xm530("audit", "--fix", "--ports", "none")  # stdin is no terminal: no question
    assert result.code == ExitCode.FAILURE, result.err  # the blank passwords remain
    assert "phone app will no longer reach the camera" in result.err
    assert "ok      high      cloud            the XMEye cloud (P2P) is off (fixed)" in result.out
    assert "fixed: cloud, cloud-upgrade, push, upnp" in result.out
    nat = json.loads(xm530("--json", "config", "get", "NetWork.Nat").out)
    assert nat["NatEnable"] is False
    assert nat["Addr"] == "secu100.net"  # the rest of the block kept
    again = json.loads(xm530("--json", "audit", "--ports", "none").out)
    failed = [finding["check"] for finding in again["findings"] if finding["status"] == "fail"]
    assert failed == ["passwords"]


def test_audit_json_has_every_finding_and_no_hash(xm530: Run) -> None:
    result = xm530("--json", "audit", "--ports", "none")
    record = json.loads(result.out)
    assert record["passed"] is False
    passwords = next(item for item in record["findings"] if item["check"] == "passwords")
    assert passwords["detail"] == {"weak": [{"user": "admin", "weakness": "blank"},
                                            {"user": "nameuser", "weakness": "blank"}]}  # fmt: skip
    assert "tlJwpbo6" not in result.out  # the blank password's hash


def test_audit_of_the_seed_camera_says_what_it_cannot_know(xmcam: Run) -> None:
    result = xmcam("audit", "--ports", "none")
    assert result.code == ExitCode.FAILURE, result.err
    assert "?       high      cloud            the camera would not say: Ret 607 " in result.out
    assert "the hidden vendor account 'default' is listed (CVE-2018-17919)" in result.out
    assert "5 unknown" in result.out
    assert "remove the account: xmcam users remove default" in result.out


def test_a_camera_that_passes_exits_0(run_cli: Run) -> None:
    with SimulatorThread("xm530", password="secret") as sim:
        target = ("-H", f"127.0.0.1:{sim.port}", "-p", "secret", "--timeout", "5")
        new_password = ("users", "passwd", "nameuser", "--password-stdin")
        assert run_cli(*target, *new_password, stdin="\nlong-passphrase\n").code == 0
        assert run_cli(*target, "audit", "--fix", "--yes", "--ports", "none").code == 0
        result = run_cli(*target, "audit", "--ports", "none")
    assert result.code == ExitCode.SUCCESS, result.out + result.err
    assert "0 of 9 checks failed" in result.out
    assert "--fix" not in result.out


@pytest.mark.parametrize(
    "option", [("--ports", "abc"), ("--ports", "0"), ("--ports", ""), ("--max-skew", "-1")]
)
def test_bad_options_are_usage_errors(
    run_cli: Run, capsys: pytest.CaptureFixture[str], option: tuple[str, str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        run_cli("-H", "127.0.0.1:1", "audit", *option)
    assert caught.value.code == ExitCode.USAGE
    assert "xmcam audit: error: argument" in capsys.readouterr().err
