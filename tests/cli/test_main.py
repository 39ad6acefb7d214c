"""The `xmcam` entry point: dispatch, help, version, exit codes and error lines."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from xmcam.cli import ExitCode, build_parser, main
from xmcam.errors import (
    AccountLockedError,
    AuthenticationError,
    ConnectionClosedError,
    DeviceError,
    FrameError,
    RequestTimeoutError,
    StateError,
)


def test_no_command_prints_help_and_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == ExitCode.USAGE
    assert "demo" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.startswith("xmcam ")


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (AuthenticationError(203), ExitCode.AUTHENTICATION),
        (AccountLockedError(205), ExitCode.AUTHENTICATION),
        (DeviceError(607), ExitCode.DEVICE),
        (RequestTimeoutError("no reply to SYSINFO_REQ within 5 s"), ExitCode.TIMEOUT),
        (ConnectionClosedError("connection reset"), ExitCode.CONNECTION),
        (FrameError("bad head byte"), ExitCode.PROTOCOL),
        (StateError("not logged in"), ExitCode.FAILURE),
        (ConnectionRefusedError(111, "Connection refused"), ExitCode.CONNECTION),
        (PermissionError(13, "Permission denied", "/root/out.mp4"), ExitCode.FAILURE),
        (KeyboardInterrupt(), 130),
    ],
)
def test_errors_become_one_line_and_a_named_exit_code(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    code: int,
) -> None:
    def failing(args: argparse.Namespace) -> int:
        raise error

    parser = build_parser()
    original = parser.parse_args

    def parse(argv: list[str] | None = None) -> argparse.Namespace:
        args = original(argv)
        args.handler = failing
        return args

    monkeypatch.setattr(parser, "parse_args", parse)
    monkeypatch.setattr("xmcam.cli.build_parser", lambda: parser)
    assert main(["demo"]) == code
    err = capsys.readouterr().err
    if code != 130:
        assert err.startswith("xmcam: ")
        assert err.count("\n") == 1
        assert "Traceback" not in err
    if isinstance(error, AccountLockedError):  # outside `camera_command` (watch) too
        assert err == f"xmcam: Ret 205 (user locked): {AccountLockedError.ADVICE}\n"
    if isinstance(error, OSError) and not isinstance(error, RequestTimeoutError):
        # A file error names the file; only network errors blame the camera.
        assert ("/root/out.mp4: Permission denied" in err) == (error.filename is not None)
        assert ("cannot reach the camera" in err) == (error.filename is None)


def test_device_error_line_names_the_ret_and_its_meaning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build_parser()
    original = parser.parse_args

    def parse(argv: list[str] | None = None) -> argparse.Namespace:
        args = original(argv)
        args.handler = lambda _: (_ for _ in ()).throw(AuthenticationError(203, message_id=1001))
        return args

    monkeypatch.setattr(parser, "parse_args", parse)
    monkeypatch.setattr("xmcam.cli.build_parser", lambda: parser)
    assert main(["demo"]) == ExitCode.AUTHENTICATION
    assert capsys.readouterr().err == "xmcam: Ret 203 (wrong password) in reply to LOGIN_RSP\n"


def test_python_dash_m_runs_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "xmcam", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "HI3516D_83H50N" in result.stdout


def test_broken_pipe_is_quiet() -> None:
    script = (
        "import sys, xmcam.cli\n"
        "sys.stdout.close = lambda: None\n"
        "raise SystemExit(xmcam.cli.main(['demo', '--json']))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert b"Traceback" not in err
    assert process.returncode in (0, ExitCode.FAILURE)


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_all_parsers(child))
    return found


def test_every_command_has_help_with_an_example() -> None:
    parsers = _all_parsers(build_parser())
    names = {parser.prog for parser in parsers}
    for command in ("info", "config get", "config set", "config export", "config import",
                    "alarm-out", "watch", "time", "reboot", "users list", "users add",
                    "users remove", "users passwd", "ptz", "raw", "demo"):  # fmt: skip
        assert f"xmcam {command}" in names
    for parser in parsers:
        assert "example" in parser.format_help(), parser.prog


def test_global_options_are_listed_in_the_help() -> None:
    text = build_parser().format_help()
    for option in ("-H HOST[:PORT]", "--user", "--password", "--timeout", "--json", "--debug",
                   "XMCAM_HOST", "XMCAM_PASSWORD"):  # fmt: skip
        assert option in text


def test_a_reader_gone_before_the_first_line_ends_any_command_quietly() -> None:
    # The central rule in main(), as Unix tools in a pipeline (`xmcam --json demo | head -0`):
    # the pipe is closed before xmcam writes, so its first write fails.
    with subprocess.Popen(
        [sys.executable, "-m", "xmcam", "--json", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        err = process.stderr.read()
        process.wait(timeout=60)
    assert (process.returncode, err) == (ExitCode.SUCCESS, b"")
