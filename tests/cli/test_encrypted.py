"""The command against new firmware: `xmcam sim --profile v506` logs in only over the
encrypted FunSDK session. The CLI tour (the demo's steps and the media commands) runs as with
any camera; `--encryption off` fails in one line that says what the camera wants."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Result, Run
from tests.test_encrypted_logins import dumped_text
from xmcam.cli.output import ExitCode
from xmcam.sim import SimulatorThread

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def v506() -> Iterator[SimulatorThread]:
    with SimulatorThread("v506", alarm_every=0.5) as simulator:
        yield simulator


@pytest.fixture
def new_camera(v506: SimulatorThread, run_cli: Run) -> Run:
    def run(*argv: str) -> Result:
        return run_cli("-H", f"127.0.0.1:{v506.port}", "--timeout", "5", *argv)

    return run


def logins(sim: SimulatorThread) -> int:
    return sim.call(lambda: sim.simulator.device.login_attempts)


def ok(result: Result) -> str:
    assert result.code == ExitCode.SUCCESS, result.err
    return result.out


def test_the_tour_over_the_encrypted_session(
    new_camera: Run, v506: SimulatorThread, tmp_path: Path
) -> None:
    assert "firmware:         V5.06.R02.000999WP.00000.140f24.0000000" in ok(new_camera("info"))
    assert "alarm output 0: on (" in ok(new_camera("alarm-out", "on"))
    assert "alarm output 0: off (" in ok(new_camera("alarm-out", "off"))
    assert "VideoMotion  Start" in ok(new_camera("watch", "--count", "1"))
    changed = ok(new_camera("config", "set", "General.General", '{"MachineName": "porch"}'))
    assert '"LocalHost" → "porch"' in changed
    assert json.loads(ok(new_camera("config", "get", "General.General")))["MachineName"] == "porch"
    assert "device time:" in ok(new_camera("time"))
    assert "admin" in ok(new_camera("users", "list"))
    assert "stopped" in ok(new_camera("ptz", "left", "--duration", "0.05"))
    raw = json.loads(ok(new_camera("raw", "1020", '{"Name": "SystemInfo"}')))
    assert raw["SystemInfo"]["HardWare"] == "IPC_XM210_X2-WR-T_S38"
    assert "15624 bytes" in ok(new_camera("snapshot", "-o", str(tmp_path / "front.jpg")))
    video = ok(new_camera("stream", "-o", str(tmp_path / "front.h265"), "--duration", "1"))
    assert "H.265 640x360" in video
    assert (tmp_path / "front.h265").read_bytes()[:4] == b"\x00\x00\x00\x01"
    # From yesterday: today's first file ends at 00:09:59, and a run just after midnight
    # (CI once did) would find nothing yet of today.
    listing = ok(new_camera("files", "list", "--from", "yesterday"))
    assert "00.00.00-00.09.59" in listing
    ok(new_camera("files", "download", "1", "-o", f"{tmp_path}/"))
    assert any(path.suffix == ".h264" for path in tmp_path.iterdir())
    # Every command was one connection attempt with one login, all encrypted.
    assert logins(v506) == 14


def test_encryption_off_fails_in_one_clear_line(new_camera: Run, v506: SimulatorThread) -> None:
    result = new_camera("--encryption", "off", "info")
    assert result.code == ExitCode.DEVICE
    assert result.err == (
        "xmcam: the camera wants an encrypted session: it answered the plain login with an "
        "empty reply (try --encryption auto)\n"
    )
    assert result.out == ""
    assert logins(v506) == 1


def test_encryption_on_against_older_firmware(run_cli: Run) -> None:
    with SimulatorThread() as old:
        result = run_cli("-H", f"127.0.0.1:{old.port}", "--encryption", "on", "info")
        assert result.code == ExitCode.DEVICE
        assert result.err == (
            "xmcam: the camera does not offer the encrypted session: it refused the negotiation "
            "(Ret 103) (try --encryption auto, or off)\n"
        )
        assert old.call(lambda: old.simulator.device.login_attempts) == 0


def test_the_environment_chooses_and_is_checked(
    new_camera: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XMCAM_ENCRYPTION", "off")
    # The default is read when the parser is built: main() builds it on every call.
    assert new_camera("info").code == ExitCode.DEVICE
    monkeypatch.setenv("XMCAM_ENCRYPTION", "on")
    assert new_camera("info").code == ExitCode.SUCCESS
    monkeypatch.setenv("XMCAM_ENCRYPTION", "sometimes")
    result = new_camera("info")
    assert result.code == ExitCode.USAGE
    assert "bad encryption 'sometimes' (XMCAM_ENCRYPTION?)" in result.err


def test_the_debug_option_shows_decrypted_bodies(new_camera: Run) -> None:
    result = new_camera("--debug", "info")
    assert result.code == ExitCode.SUCCESS
    text = dumped_text(result.err.replace("\\x0a", "\n"))  # the log's lines, one each
    assert '"SoftWareVersion" : "V5.06.R02' in text
    assert '"CommunicateKey":"' + "*" * 256 + '"' in text


def test_a_fleet_inventory_chooses_per_camera(
    run_cli: Run, v506: SimulatorThread, tmp_path: Path
) -> None:
    with SimulatorThread() as old:
        inventory = tmp_path / "cameras.toml"
        inventory.write_text(
            '[defaults]\nencryption = "on"\n'
            f'[[camera]]\nname = "new"\nhost = "127.0.0.1:{v506.port}"\n'
            f'[[camera]]\nname = "old"\nhost = "127.0.0.1:{old.port}"\nencryption = "auto"\n'
            f'[[camera]]\nname = "strict"\nhost = "127.0.0.1:{old.port}"\n',
            encoding="utf-8",
        )
        result = run_cli("--json", "fleet", str(inventory), "info")
        records = {record["camera"]: record for record in json.loads(result.out)}
        assert records["new"]["ok"]
        assert records["old"]["ok"]
        assert not records["strict"]["ok"]
        assert "does not offer the encrypted session" in records["strict"]["error"]
        bad = tmp_path / "bad.toml"
        bad.write_text('[[camera]]\nname = "x"\nhost = "h"\nencryption = "yes"\n', "utf-8")
        refused = run_cli("fleet", str(bad), "info")
        assert refused.code == ExitCode.USAGE
        assert "encryption: bad encryption 'yes': expected auto, on or off" in refused.err
