"""The pytest plugin that hands users a simulated camera (`xmcam.testing`), used as a user
would: turned on in the top-level conftest.py (`pytest_plugins`), fixtures by name."""

from __future__ import annotations

import pytest

import xmcam
from xmcam.sim import SimulatorThread


def test_the_fixture_is_a_running_seed_camera(xmcam_simulator: SimulatorThread) -> None:
    assert xmcam_simulator.host == "127.0.0.1"
    with xmcam.Camera(xmcam_simulator.host, xmcam_simulator.port, timeout=2) as cam:
        assert cam.system_info().serial == "58e7fa5e6e262535"
    assert xmcam_simulator.simulator.device.login_attempts == 1


async def test_it_serves_asyncio_code_too(xmcam_simulator: SimulatorThread) -> None:
    async with xmcam.connect(xmcam_simulator.host, xmcam_simulator.port, timeout=2) as cam:
        assert (await cam.system_info()).model == "HI3516D_83H50N"


class TestAnotherProfile:
    @pytest.fixture
    def xmcam_profile(self) -> str:
        return "nvr-8ch"

    def test_the_profile_fixture_chooses_the_device(self, xmcam_simulator: SimulatorThread) -> None:
        with xmcam.Camera(xmcam_simulator.host, xmcam_simulator.port, timeout=2) as cam:
            assert cam.login_info.channel_count == 8
