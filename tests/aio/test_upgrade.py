"""The asyncio client's `upgrade()` against the simulator on 127.0.0.1, on a virtual-time loop
(xmcam.client.upgrade, docs/protocol.md §18)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

import xmcam
from tests import virtual_time
from tests.firmware_images import NEW_VERSION, corrupt, firmware_image
from xmcam.client.upgrade import UpgradeProgress
from xmcam.errors import FirmwareImageError, FirmwareMismatchError
from xmcam.sim import Simulator, load_profile

OLD_VERSION = load_profile().system_info["SoftWareVersion"]


def run(test: Callable[[Simulator], Awaitable[None]], **quirks: object) -> None:
    async def main() -> None:
        profile = load_profile().with_quirks(upgrade_step_delay=0.5, reboot_delay=2, **quirks)
        async with Simulator(profile) as sim:
            await test(sim)

    virtual_time.run(main())


async def version(sim: Simulator) -> str | None:
    async with xmcam.connect(sim.host, sim.port) as cam:
        return (await cam.system_info()).firmware


async def back(sim: Simulator) -> None:
    while not (sim.reboots == 1 and sim.listening):
        await asyncio.sleep(0.1)


def test_a_good_image_and_the_camera_goes_on() -> None:
    async def test(sim: Simulator) -> None:
        seen: list[UpgradeProgress] = []
        async with xmcam.connect(sim.host, sim.port) as cam:
            result = await cam.upgrade(firmware_image(size=500_000), progress=seen.append)
            assert (result.status, result.ret, result.progress) == ("succeeded", 515, 100)
            assert result.rebooting
            assert result.sent == result.size == sim.device.upgrade_data_received
            flashing = [item.done for item in seen if item.stage == "flashing"]
            assert flashing == [0, 20, 40, 60, 80, 100]
            await back(sim)
            # The same camera object logs in again by itself.
            assert (await cam.system_info()).firmware == NEW_VERSION

    run(test)


def test_refusals_before_a_byte_is_sent() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            with pytest.raises(FirmwareImageError):
                await cam.upgrade(corrupt(firmware_image()))
            with pytest.raises(FirmwareMismatchError):
                await cam.upgrade(firmware_image(hardware="NBD80S10S-KL"))
            assert sim.device.upgrade_data_received == 0
            assert sim.device.upgrading is None
            result = await cam.upgrade(firmware_image(hardware="NBD80S10S-KL"), force=True)
            assert (result.status, result.ret) == ("failed", 514)
        assert await version(sim) == OLD_VERSION

    run(test)


def test_a_device_that_never_confirms_is_waited_for_a_bounded_time() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            started = asyncio.get_running_loop().time()
            result = await cam.upgrade(firmware_image(), wait_timeout=60)
            waited = asyncio.get_running_loop().time() - started
            assert (result.status, result.progress) == ("unconfirmed", 100)
            assert 60 <= waited < 70
            # The camera goes on afterwards (this one never installed the image).
            assert (await cam.system_info()).firmware == OLD_VERSION

    run(test, upgrade_end="silent")


def test_a_device_that_reboots_without_515() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            result = await cam.upgrade(firmware_image())
            assert (result.status, result.ret) == ("succeeded", None)

    run(test, upgrade_end="reboot")


def test_a_connection_that_drops_while_sending() -> None:
    async def test(sim: Simulator) -> None:
        sim.faults.drop_after_frames = 5
        async with xmcam.connect(sim.host, sim.port) as cam:
            # Larger than what the sockets' buffers take: the writing meets the drop.
            result = await cam.upgrade(firmware_image(size=12_000_000))
            assert result.status == "failed"
            assert result.sent < result.size
            assert "the connection ended after" in result.detail

    run(test)
