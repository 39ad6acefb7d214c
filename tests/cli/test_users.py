"""`xmcam users`: list, add, remove and passwd, with passwords that never show."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

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
    monkeypatch.setattr("xmcam.cli.users.stdin_is_terminal", lambda: True)
    result = xmcam("users", "add", "guest", "--group", "user", "--memo", "door")
    assert result.code == ExitCode.SUCCESS, result.err
    assert prompts == ["New password for guest: ", "Repeat it: "]
    assert xmcam("-u", "guest", "-p", "secret", "info").code == ExitCode.SUCCESS


def test_users_add_with_two_different_passwords_changes_nothing(
    xmcam: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["secret", "hunter2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("xmcam.cli.users.stdin_is_terminal", lambda: True)
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


# ------------------------------------------------------------------ without a terminal

NO_TERMINAL = (
    "xmcam: no terminal to ask for the password: give it on standard input with --password-stdin\n"
)


@pytest.mark.parametrize("argv", [["users", "add", "bob"], ["users", "passwd", "bob"]])
def test_without_a_terminal_nothing_is_asked(argv: list[str]) -> None:
    # A script: stdin is not a terminal and the process has none to open (a new session).
    # Nothing listens on port 1: the password is read (or refused) before any connection.
    result = subprocess.run(
        [sys.executable, "-m", "xmcam", "-H", "127.0.0.1:1", *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        start_new_session=True,
    )
    assert (result.returncode, result.stdout, result.stderr) == (ExitCode.USAGE, "", NO_TERMINAL)


def _read_until(fd: int, wanted: bytes, seen: bytearray) -> None:
    """Read the terminal's output into `seen` until `wanted` shows, or the child is gone."""
    deadline = time.monotonic() + 30
    while wanted not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"never saw {wanted!r}: {bytes(seen)!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return
        if not chunk:
            return
        seen += chunk


def test_ctrl_d_at_the_prompt_is_one_line() -> None:
    # A real terminal (a pseudo-terminal, the child's controlling one), and a real Ctrl-D
    # typed at getpass's prompt.
    argv = [sys.executable, "-m", "xmcam", "-H", "127.0.0.1:1", "users", "add", "bob"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: become xmcam at once
        os.execve(sys.executable, argv, dict(os.environ))  # noqa: S606  (no shell needed)
    seen = bytearray()
    try:
        _read_until(fd, b"New password for bob: ", seen)
        os.write(fd, b"\x04")  # Ctrl-D: end of input
        _read_until(fd, b"\x00never", seen)  # everything, until the child is gone
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    text = bytes(seen).decode()
    assert os.waitstatus_to_exitcode(status) == ExitCode.USAGE, text
    assert text.endswith(
        "\r\nxmcam: no password typed (end of input); in a script use --password-stdin\r\n"
    )
    assert "Traceback" not in text
    assert "Warning" not in text


def test_users_add_name_has_help(run_cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli("users", "add", "--help")
    assert "the new user's name" in capsys.readouterr().out


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
