"""The log, storage, defaults and channel procedures (`xmcam.client.maintenance`) through the
blocking client against the simulator; the asyncio client runs the same procedures (the CLI
tests drive it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xmcam.client.maintenance import DEFAULT_SECTIONS, FormattedPartition
from xmcam.errors import DeviceError
from xmcam.sim import SimulatorThread
from xmcam.sim.maintenance import LOG_PAGE
from xmcam.sync import Camera


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as simulator:
        yield simulator


def test_logs_page_without_loss_or_repeat(sim: SimulatorThread) -> None:
    def add() -> None:
        for number in range(2 * LOG_PAGE + 5):
            sim.simulator.device.device_log.add("SaveConfig", data=str(number))

    sim.call(add)
    with Camera("127.0.0.1", sim.port, password="") as camera:
        entries = camera.logs()
        positions = [entry.position for entry in entries]
        assert positions == sorted(set(positions))
        assert len(entries) >= 2 * LOG_PAGE + 5
        later = camera.logs(position=positions[-1] + 1)
        assert all(entry.position > positions[-1] for entry in later)
        assert [entry.kind for entry in camera.logs(kind="Config")][-1] == "SaveConfig"
        with pytest.raises(ValueError, match="log kind"):
            camera.logs(kind="Nonsense")
        camera.clear_log()
        assert [entry.kind for entry in camera.logs()] == []


def test_format_defaults_and_rename(sim: SimulatorThread) -> None:
    with Camera("127.0.0.1", sim.port, password="") as camera:
        assert camera.format_storage() == [FormattedPartition(0, 0)]
        with pytest.raises(ValueError, match="no disk 2"):
            camera.format_storage(2)
        assert camera.restore_defaults(["General", "Encode"]) in (100, 150, 603)
        with pytest.raises(ValueError, match="sections"):
            camera.restore_defaults(["Everything"])
        titles = camera.rename_channel(0, "Porch")
        assert camera.channel_titles() == titles
        assert titles[0] == "Porch"
        found = camera.all_abilities(["SystemFunction", "NoSuchAbility"])
        assert list(found) == ["SystemFunction"]


def test_an_account_without_dellog_cannot_clear(sim: SimulatorThread) -> None:
    def strip() -> None:
        account = sim.state.user("admin")
        assert account is not None
        account["AuthorityList"] = [a for a in account["AuthorityList"] if a != "DelLog"]

    sim.call(strip)
    with Camera("127.0.0.1", sim.port, password="") as camera:
        with pytest.raises(DeviceError):
            camera.clear_log()
        assert camera.logs()


def test_the_sections_are_the_documented_nine() -> None:
    assert len(DEFAULT_SECTIONS) == 9
