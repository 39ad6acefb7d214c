"""`xmcam users`: list, add, remove and passwd, with passwords that never show."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Run
from tests.cli.terminal import answer_on_a_terminal
from xmcam.cli import ExitCode, main
from xmcam.protocol import sofia_hash
from xmcam.sim import SimulatorThread


def test_users_list_is_a_table(xmcam: Run) -> None:
    result = xmcam("users", "list")
    assert result.code == ExitCode.SUCCESS, result.err
    header, *rows = result.out.splitlines()
    assert header.split()[:2] == ["user", "group"]
    assert any(row.split()[:2] == ["admin", "admin"] for row in rows)
    assert sofia_hash("") not in result.out


def test_users_add_reads_the_password_from_stdin(xmcam: Run) -> None:
    result = xmcam("users", "add", "viewer", "--password-stdin", stdin="hunter2\n")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == "user viewer: added (group user)\n"
    assert "hunter2" not in result.out + result.err
    listed = json.loads(xmcam("--json", "users", "list").out)
    assert "viewer" in [user["name"] for user in listed]
    assert xmcam("-u", "viewer", "-p", "hunter2", "info").code == ExitCode.SUCCESS


def test_users_add_asks_twice_at_a_prompt(xmcam: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return "secret"

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    result = xmcam("users", "add", "guest", "--group", "user", "--memo", "door")
    assert result.code == ExitCode.SUCCESS, result.err
    assert prompts == ["New password for guest: ", "Repeat it: "]
    assert xmcam("-u", "guest", "-p", "secret", "info").code == ExitCode.SUCCESS


def test_users_add_with_two_different_passwords_changes_nothing(
    xmcam: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["secret", "hunter2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    result = xmcam("users", "add", "guest")
    assert result.code == ExitCode.USAGE
    assert result.err == "xmcam: the two passwords differ; nothing changed\n"
    assert "guest" not in xmcam("users", "list").out


def test_users_passwd_and_remove(xmcam: Run) -> None:
    assert xmcam("users", "add", "viewer", "--password-stdin", stdin="secret\n").code == 0
    result = xmcam("users", "passwd", "viewer", "--password-stdin", stdin="secret\nhunter2\n")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == "user viewer: password changed\n"
    assert xmcam("-u", "viewer", "-p", "hunter2", "info").code == ExitCode.SUCCESS
    removed = xmcam("--json", "users", "remove", "viewer")
    assert json.loads(removed.out) == {"user": "viewer", "done": "removed"}
    assert "viewer" not in xmcam("users", "list").out


def test_users_passwd_defaults_to_the_login_user(xmcam: Run) -> None:
    result = xmcam("users", "passwd", "--password-stdin", stdin="\nnew\n")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == "user admin: password changed\n"
    assert xmcam("-p", "new", "info").code == ExitCode.SUCCESS


def test_users_passwd_with_too_little_input_is_a_usage_error(xmcam: Run) -> None:
    result = xmcam("users", "passwd", "--password-stdin", stdin="only-one\n")
    assert result.code == ExitCode.USAGE
    assert "only-one" not in result.err


def _user_names(xmcam: Run) -> list[str]:
    return [user["name"] for user in json.loads(xmcam("--json", "users", "list").out)]


def test_users_remove_asks_on_a_terminal_and_yes_skips_it(
    xmcam: Run,
    sim: SimulatorThread,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert xmcam("users", "add", "viewer", "--password-stdin", stdin="secret\n").code == 0
    address = f"127.0.0.1:{sim.port}"
    answer_on_a_terminal(monkeypatch, "no\n")
    assert main(["-H", address, "users", "remove", "viewer"]) == ExitCode.FAILURE
    assert f"remove user viewer from {address}? [y/N]" in capsys.readouterr().err
    assert "viewer" in _user_names(xmcam)
    answer_on_a_terminal(monkeypatch, "")
    assert main(["-H", address, "users", "remove", "viewer", "--yes"]) == ExitCode.SUCCESS
    out, err = capsys.readouterr()
    assert (out, err) == ("user viewer: removed\n", "")
    assert "viewer" not in _user_names(xmcam)
