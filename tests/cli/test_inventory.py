"""Cameras by name: `xmcam -H porch info` takes porch from the default inventory file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode, main
from xmcam.cli.inventory import inventory_path
from xmcam.sim import SimulatorThread

SECRET = "hunter2"


@pytest.fixture
def locked_sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(password=SECRET) as simulator:
        yield simulator


def _inventory(path: Path, sim: SimulatorThread, **porch: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = "".join(f'{key} = "{value}"\n' for key, value in porch.items())
    path.write_text(
        '[defaults]\nuser = "admin"\n\n'
        f'[[camera]]\nname = "porch"\nhost = "127.0.0.1:{sim.port}"\n{fields}\n'
        # Another camera whose password variable is not set: no concern of `-H porch`.
        '[[camera]]\nname = "yard"\nhost = "127.0.0.1"\npassword_env = "XMCAM_TEST_UNSET"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_CONFIG_HOME", "XMCAM_INVENTORY", "XMCAM_TEST_UNSET", "XMCAM_ENCRYPTION"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_camera_of_the_default_inventory_by_name(
    home: Path, locked_sim: SimulatorThread, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert inventory_path() == home / ".config" / "xmcam" / "cameras.toml"
    monkeypatch.setenv("XMCAM_TEST_PORCH", SECRET)
    _inventory(inventory_path(), locked_sim, password_env="XMCAM_TEST_PORCH")
    result = run_cli("-H", "porch", "info")
    assert result.code == ExitCode.SUCCESS, result.err
    assert "HI3516D_83H50N" in result.out
    assert SECRET not in result.out + result.err


def test_xmcam_inventory_names_another_file_and_explicit_options_win(
    home: Path, locked_sim: SimulatorThread, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _inventory(home / "mine.toml", locked_sim, password="wrong")
    monkeypatch.setenv("XMCAM_INVENTORY", str(path))
    assert inventory_path() == path
    refused = run_cli("-H", "porch", "--timeout", "2", "info")
    assert refused.code == ExitCode.AUTHENTICATION  # the entry's (wrong) password was used
    assert "wrong" not in refused.err.removeprefix("xmcam: Ret 203 (wrong password)")
    result = run_cli("-H", "porch", "-p", SECRET, "info")  # the command line's wins
    assert result.code == ExitCode.SUCCESS, result.err


def test_an_unknown_name_says_which_inventory_was_read(home: Path, run_cli: Run) -> None:
    result = run_cli("-H", "nosuchcamera.invalid", "info")
    assert result.code == ExitCode.CONNECTION
    assert result.err.count("\n") == 1
    assert result.err.startswith(
        "xmcam: unknown camera 'nosuchcamera.invalid': not in the inventory "
        f"{home / '.config' / 'xmcam' / 'cameras.toml'} (no such file), not a host name ("
    )


def test_addresses_and_plain_host_names_do_not_need_the_inventory(
    home: Path, sim: SimulatorThread, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = home / "broken.toml"
    broken.write_text("this is not TOML", encoding="utf-8")
    monkeypatch.setenv("XMCAM_INVENTORY", str(broken))
    assert run_cli("-H", f"127.0.0.1:{sim.port}", "info").code == ExitCode.SUCCESS
    # A name is looked up, so a broken inventory is reported, in one line naming it.
    result = run_cli("-H", "porch", "info")
    assert result.code == ExitCode.USAGE
    assert result.err.startswith(f"xmcam: {broken}: not TOML")


def test_host_help_mentions_inventory_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "name in the inventory ~/.config/xmcam/cameras.toml" in help_text
    assert "XMCAM_INVENTORY" in help_text
