"""The blocking client's `upgrade()` against the simulator on 127.0.0.1 (xmcam.client.upgrade,
docs/protocol.md §18)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.firmware_images import NEW_VERSION, corrupt, firmware_image, truncated
from tests.waiting import wait_until
from xmcam.client.upgrade import UpgradeProgress
from xmcam.errors import FirmwareImageError, FirmwareMismatchError, PermissionDeniedError
from xmcam.sim import SimulatorThread, load_profile
from xmcam.sync import Camera

OLD_VERSION = load_profile().system_info["SoftWareVersion"]


def simulator(**quirks: object) -> SimulatorThread:
    profile = load_profile().with_quirks(upgrade_step_delay=0.01, reboot_delay=0.1, **quirks)
    return SimulatorThread(profile)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with simulator() as running:
        yield running


def received(sim: SimulatorThread) -> int:
    return sim.call(lambda: sim.simulator.device.upgrade_data_received)


def version(sim: SimulatorThread) -> str | None:
    with Camera(sim.host, sim.port) as cam:
        return cam.system_info().firmware


def test_a_good_image(sim: SimulatorThread, tmp_path: Path) -> None:
    image = firmware_image(size=300_000)
    path = tmp_path / "fw.bin"
    path.write_bytes(image)
    seen: list[UpgradeProgress] = []
    with Camera(sim.host, sim.port) as cam:
        result = cam.upgrade(path, progress=seen.append)
    assert (result.status, result.ret, result.progress) == ("succeeded", 515, 100)
    assert result.rebooting  # the simulator dropped the connection as it rebooted
    assert result.sent == result.size == len(image) == received(sim)
    assert result.description.version == NEW_VERSION
    assert seen[0].stage == "sending"
    assert [item.done for item in seen if item.stage == "flashing"] == [0, 20, 40, 60, 80, 100]
    wait_until(lambda: sim.simulator.reboots == 1 and sim.simulator.listening)
    assert version(sim) == NEW_VERSION


@pytest.mark.parametrize("bad", [corrupt, truncated])
def test_a_bad_file_is_refused_before_a_byte_is_sent(sim: SimulatorThread, bad: object) -> None:
    assert callable(bad)
    with Camera(sim.host, sim.port) as cam, pytest.raises(FirmwareImageError):
        cam.upgrade(bad(firmware_image()))
    assert received(sim) == 0
    assert version(sim) == OLD_VERSION


def test_other_hardware_is_refused_before_a_byte_is_sent(sim: SimulatorThread) -> None:
    image = firmware_image(hardware="XM530_50X50-WG_8M")
    with Camera(sim.host, sim.port) as cam:
        with pytest.raises(FirmwareMismatchError):
            cam.upgrade(image)
        assert received(sim) == 0
        assert sim.call(lambda: sim.simulator.device.upgrading) is None
        # Forced, it goes, and the device itself refuses it, keeping its version.
        result = cam.upgrade(image, force=True)
    assert (result.status, result.ret, result.meaning) == ("failed", 514, "upgrade failed")
    assert received(sim) == len(image)
    assert version(sim) == OLD_VERSION


def test_a_device_that_reboots_without_515() -> None:
    with simulator(upgrade_end="reboot") as sim, Camera(sim.host, sim.port) as cam:
        result = cam.upgrade(firmware_image())
        assert (result.status, result.ret, result.progress) == ("succeeded", None, 100)
        assert "rebooted" in result.detail
        assert result.rebooting


def test_a_device_that_never_confirms() -> None:
    with simulator(upgrade_end="silent") as sim, Camera(sim.host, sim.port) as cam:
        result = cam.upgrade(firmware_image(), wait_timeout=0.5)
        assert (result.status, result.ret, result.progress) == ("unconfirmed", None, 100)
        assert not result.rebooting
        assert result.detail == "sent; the device did not confirm within 0.5 s"


def test_a_connection_that_drops_while_sending() -> None:
    with simulator() as sim:
        sim.faults.drop_after_frames = 6  # the login, SystemInfo, Start, 3 blocks
        with Camera(sim.host, sim.port) as cam:
            result = cam.upgrade(firmware_image(size=1_000_000))
        assert result.status == "failed"
        assert result.ret is None
        assert result.sent < result.size
        assert "the connection ended after" in result.detail
        sim.faults.drop_after_frames = None
        assert version(sim) == OLD_VERSION


def test_an_account_without_the_right() -> None:
    with simulator() as sim:
        with Camera(sim.host, sim.port) as cam:
            cam.add_user("viewer", "pw", "user", authorities=["Monitor_01"])
        with Camera(sim.host, sim.port, user="viewer", password="pw") as cam:
            with pytest.raises(PermissionDeniedError):
                cam.upgrade(firmware_image())
            assert cam.system_info().firmware == OLD_VERSION  # the camera goes on
        assert received(sim) == 0


def test_an_encrypted_session() -> None:
    profile = load_profile("v506").with_quirks(upgrade_step_delay=0.01, reboot_delay=0.1)
    image = firmware_image(hardware=str(profile.system_info["HardWare"]))
    with SimulatorThread(profile) as sim, Camera(sim.host, sim.port) as cam:
        assert cam.login_info.encrypted
        result = cam.upgrade(image)
        assert (result.status, result.ret) == ("succeeded", 515)
