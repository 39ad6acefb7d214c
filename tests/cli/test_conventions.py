"""The conventions every command follows, checked by walking the parser (so that a command
added later is covered without a line here): global options anywhere, what --json prints, help
for every option, examples that work in zsh and fish, one-line messages starting "xmcam:"."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.cli.conftest import Run
from xmcam import Camera
from xmcam.cli import ExitCode, build_parser, main
from xmcam.cli.parsing import JSON_DOCUMENT, JSON_LINES, all_parsers, json_help
from xmcam.cli.sim import run_simulator
from xmcam.errors import DeviceError
from xmcam.sim import SimulatorThread

# --------------------------------------------------------------------- the walk


def _leaves() -> list[argparse.ArgumentParser]:
    """Every command that runs something (a parser without subcommands of its own)."""
    return [
        parser
        for parser in all_parsers(build_parser())
        if getattr(parser, "subcommands", None) is None
    ]


def _argv(parser: argparse.ArgumentParser) -> list[str]:
    """The words after `xmcam` that name this parser's command (a positional before a
    subcommand, as fleet's FILE, shows in `prog` as its metavar: given as "x")."""
    return ["x" if word.isupper() else word for word in parser.prog.split()[1:]]


def test_the_walk_finds_nested_commands() -> None:
    names = {parser.prog for parser in _leaves()}
    assert {"xmcam info", "xmcam config get", "xmcam fleet FILE time", "xmcam bridge mqtt"} <= names


# --------------------------------------------------------------------- global options anywhere


def test_global_options_after_the_command(xmcam: Run, sim: SimulatorThread) -> None:
    # The fixture's -H points at the simulator; here only the one after the command does.
    result = xmcam("info", "-H", f"127.0.0.1:{sim.port}", "--json", "--timeout", "2")
    assert result.code == ExitCode.SUCCESS, result.err
    assert json.loads(result.out)["system"]["serial"]


def test_a_value_after_the_command_wins(run_cli: Run, sim: SimulatorThread) -> None:
    result = run_cli("-H", "127.0.0.1:9", "info", "-H", f"127.0.0.1:{sim.port}", "-u", "admin")
    assert result.code == ExitCode.SUCCESS, result.err
    # and one before the command stays when the command gives none
    kept = run_cli("-H", f"127.0.0.1:{sim.port}", "--timeout", "2", "info", "-u", "admin")
    assert kept.code == ExitCode.SUCCESS, kept.err


def test_every_command_takes_the_global_options_after_it() -> None:
    parser = build_parser()
    global_options = {
        tuple(action.option_strings): action.help
        for action in parser._actions
        if action.option_strings and action.dest not in ("help", "version")
    }
    assert ("-H", "--host") in global_options
    assert ("--json",) in global_options
    for leaf in _leaves():
        taken = {option: action for action in leaf._actions for option in action.option_strings}
        for options, help_text in global_options.items():
            if options == ("--json",) and not json_help(leaf):
                continue  # refused by this command (bridge)
            found = [taken[option] for option in options if option in taken]
            assert found, f"{leaf.prog} does not take {options[-1]}"
            # Either the global one (SUPPRESS: no overwrite of a value given before the
            # command) or the command's own by that name (`sim --host`, `discover --timeout`).
            for action in found:
                if action.help == help_text and options != ("--json",):
                    assert action.default is argparse.SUPPRESS, (leaf.prog, options)


# --------------------------------------------------------------------- --json means one thing


def test_every_command_says_what_json_prints_or_refuses_it() -> None:
    for leaf in _leaves():
        text = json_help(leaf)
        if not text:  # refused: a usage error before or after the command
            with pytest.raises(SystemExit) as caught:
                main([*_argv(leaf), "--json"])
            assert caught.value.code == ExitCode.USAGE, leaf.prog
            assert main(["--json", *_argv(leaf), *_required_words(leaf)]) == ExitCode.USAGE
            continue
        assert text in (JSON_DOCUMENT, JSON_LINES) or "one JSON document" in text, (
            f"{leaf.prog}: --json help {text!r}"
        )


def _required_words(parser: argparse.ArgumentParser) -> list[str]:
    """Enough arguments for the parser to accept the command line."""
    words: list[str] = []
    for action in parser._actions:
        if action.required and action.option_strings:
            words += [action.option_strings[0], "x"]
    return words


def test_streams_are_json_lines() -> None:
    modes = {leaf.prog: json_help(leaf) for leaf in _leaves()}
    for stream in ("xmcam watch", "xmcam demo", "xmcam config import", "xmcam files download"):
        assert modes[stream] == JSON_LINES
    for one_shot in ("xmcam info", "xmcam files list", "xmcam config names", "xmcam discover"):
        assert modes[one_shot] == JSON_DOCUMENT


@pytest.mark.parametrize(
    "argv",
    [
        ("info",),
        ("config", "get", "General.General"),
        ("config", "names", "--names", "General.General,No.Such"),
        ("users", "list"),
        ("alarm-out",),
        ("time",),
        ("files", "list", "--from", "2000-01-01", "--to", "2000-01-02"),
    ],
)
def test_one_shot_commands_print_one_json_document(xmcam: Run, argv: tuple[str, ...]) -> None:
    result = xmcam(*argv, "--json")
    assert result.code == ExitCode.SUCCESS, result.err
    document = json.loads(result.out)  # the whole output, not line by line
    assert result.out.count("\n") == 1
    if argv[0] == "files":
        assert document == []  # nothing found is an empty array, not no output


def test_sim_json_prints_where_it_listens(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["sim", "--port", "0", "--json"])

    async def start_and_stop() -> int:
        stop = asyncio.Event()
        stop.set()
        return await run_simulator(args, stop)

    assert asyncio.run(start_and_stop()) == ExitCode.SUCCESS
    record = json.loads(capsys.readouterr().out)
    assert record["host"] == "127.0.0.1"
    assert record["listening"] == f"127.0.0.1:{record['port']}"


# --------------------------------------------------------------------- exit codes


def test_files_download_without_names_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("-H", "127.0.0.1:9", "files", "download")
    assert result.code == ExitCode.USAGE


# --------------------------------------------------------------------- messages


def test_log_lines_start_with_xmcam(xmcam: Run) -> None:
    result = xmcam("-v", "info")
    assert result.code == ExitCode.SUCCESS
    lines = result.err.splitlines()
    assert lines
    assert all(line.startswith("xmcam: ") for line in lines), lines


def test_a_failed_ptz_stop_retry_is_not_a_warning(
    sim: SimulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="xmcam")
    with Camera("127.0.0.1", sim.port, timeout=2) as camera, pytest.raises(DeviceError) as caught:
        camera.ptz("left", channel=4, duration=0.05)  # the simulated camera has 1 channel
    assert "Ret 103" in str(caught.value)
    retries = [record for record in caplog.records if "once more" in record.getMessage()]
    assert retries
    assert all(record.levelno < logging.WARNING for record in retries)


def test_verbose_is_one_line_per_request_and_reply_without_secrets(xmcam: Run) -> None:
    result = xmcam("-v", "-p", "", "info")
    assert result.code == ExitCode.SUCCESS
    assert re.search(
        r"^xmcam: -> SYSINFO_REQ SystemInfo session 0x[0-9a-f]{8} seq \d+: \d+ bytes$",
        result.err,
        re.MULTILINE,
    )
    assert re.search(
        r"^xmcam: <- SYSINFO_RSP SystemInfo session 0x[0-9a-f]{8} seq \d+: \d+ bytes, Ret 100$",
        result.err,
        re.MULTILINE,
    )
    assert "0000   ff" not in result.err  # the hex is -vv
    assert "PassWord" not in result.err
    hex_dump = xmcam("-vv", "info").err
    assert "0000   ff 0" in hex_dump
    assert "\\x0a" not in hex_dump  # the dump's rows on their own lines


# --------------------------------------------------------------------- the same verbs


def test_fleet_time_get_and_its_hidden_alias(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    get = parser.parse_args(["fleet", "f.toml", "time", "get"])
    alias = parser.parse_args(["fleet", "f.toml", "time", "check"])
    assert get.time_action == alias.time_action == "get"
    fleet_time = next(leaf for leaf in _leaves() if leaf.prog == "xmcam fleet FILE time")
    assert "check" not in fleet_time.format_help()
    assert "get|sync" in fleet_time.format_help()
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(["fleet", "f.toml", "time", "nosuch"])
    assert caught.value.code == ExitCode.USAGE
    error = capsys.readouterr().err
    assert "invalid choice" in error
    assert "check" not in error


# --------------------------------------------------------------------- help and examples


def test_every_option_and_positional_has_help() -> None:
    missing = [
        f"{parser.prog} {action.option_strings or action.dest}"
        for parser in all_parsers(build_parser())
        for action in parser._actions
        if not action.help and not isinstance(action, argparse._SubParsersAction)
    ]
    assert missing == []


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _unquoted_globs(line: str) -> list[str]:
    """The glob characters zsh and fish would expand (or fail on: `no matches found`) in a
    command line, outside its quotes and after a `#` comment's start."""
    command = _QUOTED.sub("", line).split(" #")[0]
    return re.findall(r"[\[\]*?]", command)


def test_the_glob_check_sees_a_bare_bracket() -> None:
    assert _unquoted_globs("xmcam config get Camera.Param.[0]")
    assert not _unquoted_globs("xmcam config get 'Camera.Param.[0]'  # [0]: the first")


def test_examples_work_in_zsh_and_fish() -> None:
    for parser in all_parsers(build_parser()):
        for line in (parser.epilog or "").splitlines():
            if "xmcam " in line:
                assert not _unquoted_globs(line), f"{parser.prog}: {line!r}"


# --------------------------------------------------------------------- channels checked up front


def _with_channel() -> list[argparse.ArgumentParser]:
    return [
        leaf
        for leaf in _leaves()
        if any("--channel" in action.option_strings for action in leaf._actions)
    ]


def _minimal_argv(parser: argparse.ArgumentParser, tmp: str) -> list[str]:
    """A command line this parser takes: each positional's first choice (or "1"), each
    required option with a value (a file under `tmp` for an output)."""
    words = _argv(parser)
    for action in parser._actions:
        if action.option_strings:
            if action.required:
                words += [action.option_strings[0], f"{tmp}/out.mkv"]
        elif action.nargs not in ("*", "?", argparse.SUPPRESS):
            words.append(str(next(iter(action.choices))) if action.choices else "1")
        elif action.nargs == "*" and action.dest == "names":
            words.append("1")
    return words


def test_every_channel_option_is_checked_up_front(
    xmcam: Run, sim: SimulatorThread, tmp_path: object
) -> None:
    leaves = _with_channel()
    assert {"xmcam ptz", "xmcam snapshot", "xmcam stream", "xmcam files list"} <= {
        leaf.prog for leaf in leaves
    }
    for leaf in leaves:
        result = xmcam(*_minimal_argv(leaf, str(tmp_path)), "--channel", "4")
        assert result.code == ExitCode.USAGE, (leaf.prog, result.err)
        if "alarm-out" in leaf.prog:  # its --channel counts alarm outputs
            assert result.err == (
                "xmcam: alarm output 4 does not exist: the camera has 1 alarm output (0)\n"
            )
        else:
            assert result.err == (
                "xmcam: channel 4 does not exist: the camera has 1 channel (0)\n"
            ), leaf.prog
    assert list(tmp_path.iterdir()) == []  # type: ignore[attr-defined]


def test_the_channel_message_counts_an_nvrs_channels(run_cli: Run) -> None:
    with SimulatorThread("nvr-8ch") as nvr:
        result = run_cli("-H", f"127.0.0.1:{nvr.port}", "snapshot", "-o", "-", "--channel", "8")
    assert result.code == ExitCode.USAGE
    assert result.err == "xmcam: channel 8 does not exist: the camera has 8 channels (0 to 7)\n"


# --------------------------------------------------------------------- Ctrl-C


def _interrupted(argv: list[str], ready: str) -> tuple[int, str]:
    """Run `xmcam ARGV` in its own process, send SIGINT once `ready` shows on its stderr or
    stdout (or after a second), and return its exit code and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "xmcam", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert process.stdout is not None
    assert process.stderr is not None
    stream = process.stdout if ready.startswith("stdout:") else process.stderr
    wanted = ready.removeprefix("stdout:")
    line = stream.readline()
    while wanted not in line:
        line = stream.readline()
        assert line, "the command ended before it was ready"
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    return process.returncode, err


def test_ctrl_c_exits_130(sim: SimulatorThread) -> None:
    code, err = _interrupted(["-H", f"127.0.0.1:{sim.port}", "-v", "watch"], "xmcam: <- GUARD_RSP")
    assert code == 130, err
    assert "Traceback" not in err


def test_sim_documents_its_exit_0_on_ctrl_c() -> None:
    code, err = _interrupted(["sim", "--port", "0"], "stdout:listening on")
    assert code == 0, err
    sim_help = next(leaf for leaf in _leaves() if leaf.prog == "xmcam sim").format_help()
    assert "Ctrl-C or SIGTERM stops it with exit 0" in " ".join(sim_help.split())


def test_every_stderr_line_of_a_command_starts_with_xmcam(xmcam: Run) -> None:
    for argv in (("config", "names", "--names", "General.General,No.Such"),
                 ("files", "list", "--from", "2000-01-01", "--to", "2000-01-02"),
                 ("ptz", "left", "--channel", "4"), ("-v", "time")):  # fmt: skip
        result = xmcam(*argv)
        lines = result.err.splitlines()
        assert lines, argv
        assert all(line.startswith("xmcam: ") for line in lines), (argv, lines)
