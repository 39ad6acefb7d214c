"""`xmcam raw`: any message id with any body."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode
from xmcam.cli.output import CommandError
from xmcam.cli.raw import parse_message_id
from xmcam.protocol import sofia_hash


def test_raw_by_number_prints_the_reply(xmcam: Run) -> None:
    result = xmcam("raw", "1020", '{"Name": "SystemInfo"}')
    assert result.code == ExitCode.SUCCESS, result.err
    reply = json.loads(result.out)
    assert reply["Ret"] == 100
    assert reply["SystemInfo"]["HardWare"] == "HI3516D_83H50N"
    assert "\n  " in result.out  # indented for people


def test_raw_by_name_as_json(xmcam: Run) -> None:
    result = xmcam("--json", "raw", "sysinfo_req", '{"Name": "StorageInfo"}')
    assert result.code == ExitCode.SUCCESS, result.err
    (line,) = result.out.splitlines()
    assert json.loads(line)["Ret"] == 100


def test_raw_failure_ret_is_a_device_error(xmcam: Run) -> None:
    result = xmcam("raw", "1042", '{"Name": "No.Such.Config"}')
    assert result.code == ExitCode.DEVICE
    assert result.err.startswith("xmcam: Ret 607")


@pytest.mark.parametrize(
    "argv", [("raw", "nonsense"), ("raw", "1020", "[1]"), ("raw", "1020", "{")]
)
def test_bad_raw_arguments_are_usage_errors(xmcam: Run, argv: tuple[str, ...]) -> None:
    result = xmcam(*argv)
    assert result.code == ExitCode.USAGE
    assert result.err.count("\n") == 1


def test_parse_message_id() -> None:
    assert parse_message_id("0x3fc") == 1020
    assert parse_message_id("SYSINFO_REQ") == 1020
    with pytest.raises(CommandError):
        parse_message_id("70000")


def test_raw_reply_with_password_hashes_shows_none(xmcam: Run) -> None:
    result = xmcam("raw", "1472", "{}")
    assert result.code == ExitCode.SUCCESS, result.err
    assert '"Password": "<redacted>"' in result.out
    assert sofia_hash("") not in result.out
