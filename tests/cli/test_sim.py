"""`xmcam sim` as a user runs it: a child process that prints where it listens, serves the
seed's login, and stops cleanly on SIGTERM and Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from tests.seed import SEED_FRAMES
from xmcam.cli import build_parser, main
from xmcam.cli.output import ExitCode
from xmcam.cli.sim import run_simulator
from xmcam.errors import AuthenticationError
from xmcam.protocol import ClientConnection, MessageId
from xmcam.sim import DeviceState, load_profile
from xmcam.sync import Camera

pytestmark = pytest.mark.timeout(60)


def _start(
    *options: str, environment: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str, int]:
    child = subprocess.Popen(
        [sys.executable, "-m", "xmcam", "sim", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1", **(environment or {})),
    )
    assert child.stdout is not None
    first = child.stdout.readline().strip()
    host, _, port = first.removeprefix("listening on ").rpartition(":")
    assert first.startswith("listening on "), first
    return child, host, int(port)


def _stop(child: subprocess.Popen[str], signal_number: int) -> tuple[int, str]:
    child.send_signal(signal_number)
    _, err = child.communicate(timeout=20)
    return child.returncode, err


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_listens_serves_the_seed_login_and_stops_cleanly(
    signal_number: int, tmp_path: Path
) -> None:
    # The seed's camera numbered its sessions from 1; the simulator's own ids are random
    # unless the profile asks for `"session_ids": "sequential"`.
    seed = json.loads(resources.files("xmcam.sim").joinpath("profiles/ipc-seed.json").read_text())
    seed["quirks"]["session_ids"] = "sequential"
    profile = tmp_path / "seed.json"
    profile.write_text(json.dumps(seed), "utf-8")
    child, host, port = _start("--profile", str(profile))
    try:
        assert host == "127.0.0.1"
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(SEED_FRAMES[0].payload)
            expected = SEED_FRAMES[1].payload
            received = b""
            while len(received) < len(expected):
                chunk = sock.recv(4096)
                assert chunk
                received += chunk
            assert received == expected
    finally:
        code, err = _stop(child, signal_number)
    assert code == 0
    assert "simulator stopped" in err
    assert "Traceback" not in err


def _logs_in(port: int, password: str) -> bool:
    try:
        with Camera("127.0.0.1", port, password=password, timeout=5):
            return True
    except AuthenticationError:
        return False


def _command_line(child: subprocess.Popen[str]) -> bytes:
    """What `ps` shows any user of the machine: the process's arguments."""
    return Path(f"/proc/{child.pid}/cmdline").read_bytes()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_a_password_in_the_command_line_is_warned_about_and_the_environment_hides_it() -> None:
    typed, _, port = _start("--password", "hunter2", environment={"XMCAM_SIM_PASSWORD": "other"})
    try:
        assert b"hunter2" in _command_line(typed)  # the exposure the warning is about
        assert _logs_in(port, "hunter2")  # the command line wins over the environment
    finally:
        code, err = _stop(typed, signal.SIGTERM)
    assert code == 0
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [
        "xmcam: warning: a password in --password shows in `ps` and in the shell's history; "
        "set XMCAM_SIM_PASSWORD instead"
    ]

    hidden, _, port = _start(environment={"XMCAM_SIM_PASSWORD": "hunter2"})
    try:
        assert b"hunter2" not in _command_line(hidden)
        assert not _logs_in(port, "")
        assert _logs_in(port, "hunter2")
    finally:
        code, err = _stop(hidden, signal.SIGTERM)
    assert code == 0
    assert "warning" not in err


def test_a_password_disables_the_hidden_default_account() -> None:
    def default_logs_in(port: int) -> bool:
        try:
            with Camera("127.0.0.1", port, user="default", password="tluafed", timeout=5):
                return True
        except AuthenticationError:
            return False

    for options, expected in (((), False), (("--hidden-accounts",), True)):
        child, _, port = _start(*options, environment={"XMCAM_SIM_PASSWORD": "hunter2"})
        try:
            assert default_logs_in(port) is expected, options
            assert _logs_in(port, "hunter2")
        finally:
            code, _ = _stop(child, signal.SIGTERM)
        assert code == 0


def test_fault_options_are_announced() -> None:
    child, _, _ = _start("--reply-delay", "0.5", "--silent-ids", "1020,0x5dc", "--coalesce")
    code, err = _stop(child, signal.SIGTERM)
    assert code == 0
    assert "reply_delay=0.5" in err
    assert "coalesce=True" in err
    assert "1500" in err


def test_a_bad_profile_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["sim", "--port", "0", "--profile", str(broken)]) == ExitCode.USAGE
    assert "not JSON" in capsys.readouterr().err
    assert main(["sim", "--port", "0", "--profile", "no-such-profile"]) == ExitCode.USAGE


def test_bad_silent_ids_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sim", "--silent-ids", "ten"])
    assert exit_info.value.code == 2
    assert "not a list of message ids" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ("--port", "70000"),
        ("--port", "-1"),
        ("--alarm-every", "-1"),
        ("--alarm-every", "nan"),
        ("--reply-delay", "-1"),
        ("--reply-delay", "nan"),
        ("--reply-delay", "inf"),
        ("--drop-after-frames", "0"),
        ("--drop-after-frames", "-3"),
        ("--write-chunk", "0"),
        ("--write-chunk", "-1"),
        ("--silent-ids", "70000"),
        ("--silent-ids", "-1"),
        ("--channels", "x"),
    ],
)
def test_bad_numbers_are_refused(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sim", *argv])
    assert exit_info.value.code == 2
    assert f"argument {argv[0]}" in capsys.readouterr().err


async def test_a_state_that_cannot_be_saved_at_start_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def disk_full(path: Path, data: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("xmcam.sim.state.atomic_write_json", disk_full)
    argv = ["sim", "--port", "0", "--state", str(tmp_path / "cam.json")]
    args = build_parser().parse_args([*argv, "--alarm-center", "127.0.0.1:15002"])
    assert await run_simulator(args) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "xmcam: cannot save the state to" in err
    assert "No space left on device" in err


async def test_run_simulator_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["sim", "--port", "0", "--profile", "nvr-8ch"])
    stop = asyncio.Event()
    task = asyncio.create_task(run_simulator(args, stop))
    while "listening on" not in (out := capsys.readouterr().out):
        await asyncio.sleep(0.01)
    port = int(out.split(":")[-1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(SEED_FRAMES[0].payload)
    reply = await asyncio.wait_for(reader.read(4096), 5)
    assert b'"DeviceType " : "NVR"' in reply
    writer.close()
    await writer.wait_closed()
    stop.set()
    assert await task == ExitCode.SUCCESS


async def test_a_port_in_use_is_a_connection_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = build_parser().parse_args(["sim", "--port", str(port)])
        assert await run_simulator(args) == ExitCode.CONNECTION
    assert "cannot listen" in capsys.readouterr().err


def test_killing_the_simulator_mid_write_never_corrupts_its_state(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    for round_number in range(4):
        child, host, port = _start("--state", str(state))
        try:
            with socket.create_connection((host, port), timeout=5) as sock:
                client = ClientConnection()
                sock.sendall(client.login("admin", ""))
                client.receive_data(sock.recv(4096))
                # Writes without waiting for replies: the kill lands in the middle of them.
                for number in range(200):
                    name = f"round{round_number}-{number}"
                    body = {"Name": "General.General", "General.General": {"MachineName": name}}
                    sock.sendall(client.request(MessageId.CONFIG_SET_REQ, body, expect_reply=False))
                sock.recv(4096)  # at least one write has been answered
        finally:
            child.kill()
            child.communicate(timeout=20)
        saved = DeviceState.from_profile(load_profile(), path=state)
        assert saved.get_config("General.General")["MachineName"].startswith(
            f"round{round_number}-"
        )
        # A kill in the middle of a write may leave its temporary file beside (removed at the
        # next start); never anything else.
        others = [p.name for p in tmp_path.iterdir() if p.name != "state.json"]
        assert all(name.startswith(".state.json.") for name in others)
    DeviceState.from_profile(load_profile(), path=state)
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize("channels", ["0", "257", "-1"])
def test_a_bad_channel_count_is_one_line(capsys: pytest.CaptureFixture[str], channels: str) -> None:
    assert main(["sim", "--port", "0", "--channels", channels]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "channels" in err


def test_a_state_file_in_a_missing_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope" / "state.json"
    assert main(["sim", "--port", "0", "--state", str(missing)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no directory" in err
    assert not missing.parent.exists()


def test_media_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["sim", "--unpaced", "--no-audio", "--video", "a.h264"])
    assert (args.unpaced, args.no_audio, args.video) == (True, True, Path("a.h264"))
    junk = tmp_path / "junk.h264"
    junk.write_bytes(bytes(64))
    assert main(["sim", "--port", "0", "--video", str(junk)]) == ExitCode.USAGE
    error = capsys.readouterr().err
    assert "keyframe" in error
    assert error.count("\n") == 1
    missing = str(tmp_path / "none.json")
    assert main(["sim", "--port", "0", "--recordings", missing]) == ExitCode.USAGE
    assert "cannot read recordings file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sim", "--audio", "a.alaw", "--no-audio"])


def test_unpaced_is_announced() -> None:
    child, _, _ = _start("--unpaced")
    code, err = _stop(child, signal.SIGTERM)
    assert code == 0
    assert "media_pace=0.0" in err


async def test_the_encrypted_session_is_announced_and_overridden(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv, mode in (
        (["--profile", "v506"], "required"),
        (["--profile", "v506", "--encryption", "off"], "off"),
        (["--encryption", "optional"], "optional"),
        ([], "off"),
    ):
        args = build_parser().parse_args(["sim", "--port", "0", *argv])
        stop = asyncio.Event()
        task = asyncio.create_task(run_simulator(args, stop))
        out = err = ""
        while "listening on" not in out:
            await asyncio.sleep(0.01)
            captured = capsys.readouterr()
            out, err = out + captured.out, err + captured.err
        stop.set()
        assert await task == ExitCode.SUCCESS
        assert f"encrypted session {mode};" in err + capsys.readouterr().err


def test_a_bad_encryption_mode_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sim", "--encryption", "sometimes"])
    assert exit_info.value.code == 2
    assert "argument --encryption" in capsys.readouterr().err


def test_a_state_file_made_for_other_channels_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cam.json"
    DeviceState.from_profile(load_profile().with_channels(4), path=path).save()
    kept = path.read_bytes()
    # Restarted without --channels 4: not "AVEnc.VideoColor must be an array of 1".
    assert main(["sim", "--port", "0", "--state", str(path)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err == (
        f"xmcam: {path} was made for 4 video channel(s), and this simulator has 1: use "
        "--channels 4, or another state file (this one is kept as it is)\n"
    )
    assert path.read_bytes() == kept  # nothing lost
    # A file written before the count was kept in it is measured by its arrays.
    data = json.loads(kept)
    del data["channels"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["sim", "--port", "0", "--state", str(path), "--channels", "2"]) == 2
    assert "was made for 4 video channel(s), and this simulator has 2" in capsys.readouterr().err
    # With the count it was made for, it loads.
    state = DeviceState.from_profile(load_profile().with_channels(4), path=path)
    assert len(state.channel_titles) == 4
