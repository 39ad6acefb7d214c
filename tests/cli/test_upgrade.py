"""`xmcam upgrade FILE` and `xmcam fleet FILE upgrade IMAGE` against the simulator: a good image
changes the simulated camera's version, which survives its restart with a state file; a
corrupt, truncated or other camera's image leaves it unchanged, refused before a byte is sent
or by the camera (exit 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Result, Run
from tests.cli.terminal import answer_on_a_terminal
from tests.firmware_images import NEW_VERSION, corrupt, firmware_image, truncated
from xmcam.cli import ExitCode, main
from xmcam.sim import SimulatorThread, load_profile
from xmcam.sim.profile import Profile

OLD_VERSION = load_profile().system_info["SoftWareVersion"]


def quick(profile: Profile | None = None, **quirks: object) -> Profile:
    profile = profile or load_profile()
    return profile.with_quirks(upgrade_step_delay=0.01, reboot_delay=0.2, **quirks)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


@pytest.fixture
def camera(state: Path) -> Iterator[SimulatorThread]:
    with SimulatorThread(quick(), state_path=state) as simulator:
        yield simulator


@pytest.fixture
def on_camera(camera: SimulatorThread, run_cli: Run) -> Run:
    def run(*argv: str, stdin: str = "") -> Result:
        return run_cli("-H", f"127.0.0.1:{camera.port}", "--timeout", "3", *argv, stdin=stdin)

    return run


def image_file(tmp_path: Path, image: bytes, name: str = "fw.bin") -> str:
    path = tmp_path / name
    path.write_bytes(image)
    return str(path)


def received(camera: SimulatorThread) -> int:
    return camera.call(lambda: camera.simulator.device.upgrade_data_received)


def test_a_good_image_changes_the_version_and_it_survives_a_restart(
    on_camera: Run, run_cli: Run, camera: SimulatorThread, state: Path, tmp_path: Path
) -> None:
    image = image_file(tmp_path, firmware_image(size=400_000))
    code, out, err = on_camera("upgrade", image, "--yes")
    assert code == ExitCode.SUCCESS, err
    assert out == f"upgraded: {OLD_VERSION} -> {NEW_VERSION}\n"
    assert camera.simulator.reboots == 1
    camera.stop()  # the simulator process ends; its --state file is all that is left
    with SimulatorThread(quick(), state_path=state) as restarted:
        code, out, err = run_cli("-H", f"127.0.0.1:{restarted.port}", "--json", "info")
        assert code == ExitCode.SUCCESS, err
        assert json.loads(out)["system"]["firmware"] == NEW_VERSION


def test_json_is_one_document(on_camera: Run, tmp_path: Path) -> None:
    image = firmware_image()
    code, out, err = on_camera("--json", "upgrade", image_file(tmp_path, image), "--yes")
    assert code == ExitCode.SUCCESS, err
    record = json.loads(out)
    assert record["status"] == "succeeded"
    assert record["confirmed"] is True
    assert (record["ret"], record["meaning"]) == (515, "upgrade succeeded")
    assert (record["old_version"], record["new_version"]) == (OLD_VERSION, NEW_VERSION)
    assert record["image"]["bytes"] == len(image)
    assert record["image"]["hardware"] == "HI3516D_83H50N"


@pytest.mark.parametrize("bad", [corrupt, truncated], ids=["corrupt", "truncated"])
def test_a_damaged_file_is_refused_before_anything_is_sent(
    on_camera: Run, camera: SimulatorThread, tmp_path: Path, bad: object
) -> None:
    assert callable(bad)
    path = image_file(tmp_path, bad(firmware_image()))
    code, out, err = on_camera("upgrade", path, "--yes", "--force")  # --force changes nothing
    assert code == ExitCode.PROTOCOL
    assert out == ""
    assert err.startswith(f"xmcam: {path}: refused, nothing was sent: ")
    assert err.count("\n") == 1
    assert received(camera) == 0
    assert camera.simulator.device.login_attempts == 0  # not even a login


def test_a_missing_file(on_camera: Run, tmp_path: Path) -> None:
    code, _, err = on_camera("upgrade", str(tmp_path / "none.bin"), "--yes")
    assert code == ExitCode.FAILURE
    assert "cannot read" in err


def test_another_cameras_image_is_refused_before_anything_is_sent(
    on_camera: Run, camera: SimulatorThread, tmp_path: Path
) -> None:
    path = image_file(tmp_path, firmware_image(hardware="XM530_50X50-WG_8M"))
    code, out, err = on_camera("upgrade", path, "--yes")
    assert (code, out) == (ExitCode.FAILURE, "")
    assert err == (
        f"xmcam: {path} is for XM530_50X50-WG_8M, the camera is HI3516D_83H50N: refused, "
        "nothing was sent (--force sends it anyway)\n"
    )
    assert received(camera) == 0
    assert camera.call(lambda: camera.simulator.device.upgrading) is None
    # Forced, it is sent, and the camera itself refuses it: exit 6, version unchanged.
    code, _, err = on_camera("upgrade", path, "--yes", "--force")
    assert code == ExitCode.DEVICE
    assert "warning: " in err
    assert err.endswith(
        f"the camera refused the image: Ret 514 (upgrade failed); it keeps firmware {OLD_VERSION}\n"
    )
    assert received(camera) > 0
    assert main(["-H", f"127.0.0.1:{camera.port}", "info"]) == 0


@pytest.mark.parametrize(("typed", "done"), [("n\n", False), ("y\n", True)])
def test_on_a_terminal_it_asks_first(
    camera: SimulatorThread,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    typed: str,
    done: bool,
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        answer_on_a_terminal(monkeypatch, typed)
        path = image_file(tmp_path, firmware_image())
        code = main(["-H", f"127.0.0.1:{camera.port}", "upgrade", path])
    _, err = capsys.readouterr()
    assert (
        f"upgrade the camera at 127.0.0.1:{camera.port} (HI3516D_83H50N, firmware "
        f"{OLD_VERSION}) with {path} (for HI3516D_83H50N, version {NEW_VERSION})? [y/N]"
    ) in err
    assert code == (ExitCode.SUCCESS if done else ExitCode.FAILURE)
    assert (received(camera) > 0) == done


def test_a_camera_that_never_confirms_and_keeps_its_version(tmp_path: Path, run_cli: Run) -> None:
    with SimulatorThread(quick(upgrade_end="silent")) as camera:
        path = image_file(tmp_path, firmware_image())
        argv = ("-H", f"127.0.0.1:{camera.port}", "upgrade", path, "--yes")
        code, out, err = run_cli(*argv, "--wait-timeout", "0.3")
        assert code == ExitCode.DEVICE
        assert out == ""
        assert err == (
            "xmcam: the camera did not confirm the upgrade (sent; the device did not confirm "
            f"within 0.3 s) and still reports firmware {OLD_VERSION}\n"
        )


def test_a_camera_that_reboots_without_confirming(tmp_path: Path, run_cli: Run) -> None:
    with SimulatorThread(quick(upgrade_end="reboot")) as camera:
        path = image_file(tmp_path, firmware_image())
        code, out, err = run_cli("-H", f"127.0.0.1:{camera.port}", "upgrade", path, "--yes")
        assert code == ExitCode.SUCCESS, err
        assert out == f"upgraded: {OLD_VERSION} -> {NEW_VERSION}\n"


def test_fleet_upgrades_the_cameras_it_fits_and_skips_the_others(
    tmp_path: Path, run_cli: Run
) -> None:
    with (
        SimulatorThread(quick()) as seed,
        SimulatorThread(quick(load_profile("xm530"))) as other,
    ):
        inventory = tmp_path / "cameras.toml"
        inventory.write_text(
            f'[[camera]]\nname = "seed"\nhost = "127.0.0.1"\nport = {seed.port}\n'
            f'[[camera]]\nname = "other"\nhost = "127.0.0.1"\nport = {other.port}\n'
            'password = ""\n'
        )
        path = image_file(tmp_path, firmware_image())
        code, out, err = run_cli("fleet", str(inventory), "upgrade", path, "--yes", "--json")
        assert code == ExitCode.SUCCESS, err
        records = {record["camera"]: record for record in json.loads(out)}
        assert records["seed"]["ok"] is True
        assert records["seed"]["value"]["status"] == "succeeded"
        assert records["seed"]["value"]["new_version"] == NEW_VERSION
        assert records["other"]["ok"] is True
        assert records["other"]["value"]["status"] == "skipped"
        assert other.call(lambda: other.simulator.device.upgrade_data_received) == 0
        code, out, err = run_cli("fleet", str(inventory), "upgrade", path, "--yes")
        assert code == ExitCode.SUCCESS, err
        assert "skipped: the image is not for its hardware (XM530_50X50-WG_8M)" in out


def test_fleet_refuses_a_damaged_image_before_any_camera(tmp_path: Path, run_cli: Run) -> None:
    inventory = tmp_path / "cameras.toml"
    inventory.write_text('[[camera]]\nname = "a"\nhost = "127.0.0.1"\nport = 1\n')
    path = image_file(tmp_path, corrupt(firmware_image()))
    code, out, err = run_cli("fleet", str(inventory), "upgrade", path, "--yes")
    assert code == ExitCode.PROTOCOL
    assert (out, err.count("\n")) == ("", 1)


def test_fleet_reports_a_refusal_by_the_camera(tmp_path: Path, run_cli: Run) -> None:
    with SimulatorThread(quick(upgrade_max_size=10_000)) as seed:
        inventory = tmp_path / "cameras.toml"
        inventory.write_text(f'[[camera]]\nname = "seed"\nhost = "127.0.0.1"\nport = {seed.port}\n')
        path = image_file(tmp_path, firmware_image())
        code, out, err = run_cli("fleet", str(inventory), "upgrade", path, "--yes")
        assert code == ExitCode.FAILURE
        assert "Ret 513" in out
        assert err.endswith("xmcam: 1 of 1 cameras failed\n")
