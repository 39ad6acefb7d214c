"""A pytest plugin: a simulated XM camera for your own tests, no hardware needed.

Turn it on in your top-level `conftest.py` with `pytest_plugins = ["xmcam.testing"]`
(it is not loaded on its own: a plugin pytest loads by itself would import xmcam before
coverage starts in every project that has xmcam installed), then ask for the fixture by name:

    def test_my_script_reads_the_serial(xmcam_simulator):
        with xmcam.Camera(xmcam_simulator.host, xmcam_simulator.port) as cam:
            assert cam.system_info().serial == "58e7fa5e6e262535"

`xmcam_simulator` is a `xmcam.sim.SimulatorThread`: the simulator of `xmcam sim` with the
default profile (the seed capture's camera: user admin, empty password), on 127.0.0.1 at a
free port, on its own event loop in a thread, so that it serves blocking and asyncio code
alike. It is started before the test and stopped after it. Through it a test can raise an
alarm (`trigger_alarm()`), cut the network (`drop_connections()`), turn fault knobs
(`faults.reply_delay = 2`), and read the device's state (`state.get_config(...)`).

Another profile (`"nvr-8ch"`, or a profile file) is chosen with the `xmcam_profile` fixture:

    @pytest.fixture
    def xmcam_profile():
        return "nvr-8ch"
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from xmcam.sim import Profile, SimulatorThread

__all__ = ["xmcam_profile", "xmcam_simulator"]


@pytest.fixture
def xmcam_profile() -> Profile | str | Path | None:
    """The profile `xmcam_simulator` runs: None for the default (the seed's camera).
    Override this fixture to choose another."""
    return None


@pytest.fixture
def xmcam_simulator(xmcam_profile: Profile | str | Path | None) -> Iterator[SimulatorThread]:
    """A simulated camera on 127.0.0.1, started for the test and stopped after it."""
    with SimulatorThread(xmcam_profile) as simulator:
        yield simulator
