"""The simulator's firmware upgrade (xmcam.sim.upgrade, docs/protocol.md §18): the device side,
sans I/O, with a client on the core wired to a device connection. The pacing of the progress
frames and the reboot are the server's: tests/sim/test_server_upgrade.py, and python-dvr's
`upgrade()` against it in tests/sim/test_third_party.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.firmware_images import NEW_VERSION, corrupt, firmware_image, truncated
from tests.sim.helpers import Wire, logged_in, make_device
from xmcam.protocol import MessageId, Notification, Reply, Ret, sofia_hash
from xmcam.protocol.firmware import BLOCK_SIZE
from xmcam.sim import SimulatedDevice, load_profile
from xmcam.sim.context import Effect
from xmcam.sim.profile import ProfileError, parse_profile
from xmcam.sim.state import StateFileError
from xmcam.sim.upgrade import UpgradeOutcome, UpgradeReceiver

START = {"Name": "OPSystemUpgrade", "OPSystemUpgrade": {"Action": "Start", "Type": "System"}}
ABORT = {"Name": "OPSystemUpgrade", "OPSystemUpgrade": {"Action": "Abort", "Type": "System"}}


def send_image(wire: Wire, image: bytes, *, block: int = BLOCK_SIZE) -> list[Reply]:
    """The blocks and the end mark, as python-dvr sends them; the device's answers."""
    answers: list[Reply] = []
    number = 0
    for start in range(0, len(image), block):
        wire_bytes = wire.client.send_data(
            MessageId.UPGRADE_DATA, image[start : start + block], sequence=number
        )
        for event in wire.send(wire_bytes):
            assert isinstance(event, Notification)  # 1523: answers nothing the client asked
            assert event.body is not None
            answers.append(Reply(MessageId.UPGRADE_DATA, event.frame, event.body))
        number += 1
    end = wire.client.send_data(MessageId.UPGRADE_DATA, b"", end_flag=True, sequence=number)
    assert wire.send(end) == []  # the verdict comes from the shell, in 1524 frames
    return answers


def test_a_good_image_is_taken_block_by_block() -> None:
    wire = logged_in()
    assert wire.call(MessageId.UPGRADE_REQ, START).ret == Ret.OK
    image = firmware_image(size=100_000)
    answers = send_image(wire, image)
    assert len(answers) == -(-len(image) // BLOCK_SIZE)  # one answer per block
    assert {answer.body.data["Ret"] for answer in answers} == {Ret.OK}
    assert {answer.frame.message_id for answer in answers} == {MessageId.UPGRADE_DATA_RSP}
    # Each answer echoes its block's number (the header's sequence).
    assert [answer.frame.sequence for answer in answers] == list(range(len(answers)))
    camera = wire.camera
    assert camera.effects == [Effect.UPGRADE]
    assert camera.upgrade_outcome == UpgradeOutcome(Ret.UPGRADE_SUCCEEDED, NEW_VERSION, "")
    device = wire.device
    assert device.upgrading == camera.number
    assert device.finish_upgrade(camera.upgrade_outcome) == Ret.UPGRADE_SUCCEEDED
    assert device.upgrading is None
    info = wire.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"}).body.data["SystemInfo"]
    assert info["SoftWareVersion"] == NEW_VERSION
    assert device.device_log.entries[-1].kind == "Upgrade"


@pytest.mark.parametrize(
    ("image", "ret"),
    [
        (corrupt(firmware_image()), Ret.UPGRADE_DATA_ERROR),
        (truncated(firmware_image()), Ret.UPGRADE_DATA_ERROR),
        (b"MZ not a zip at all" * 100, Ret.UPGRADE_DATA_ERROR),
        (firmware_image(hardware="XM530_50X50-WG_8M"), Ret.UPGRADE_FAILED),
    ],
    ids=["corrupt", "truncated", "not-a-zip", "other-hardware"],
)
def test_a_bad_image_is_refused_and_the_version_stays(image: bytes, ret: int) -> None:
    wire = logged_in()
    before = load_profile().system_info["SoftWareVersion"]
    assert wire.call(MessageId.UPGRADE_REQ, START).ok
    send_image(wire, image, block=1000)
    outcome = wire.camera.upgrade_outcome
    assert outcome is not None
    assert outcome.ret == ret
    assert outcome.reason
    assert wire.device.finish_upgrade(outcome) == ret
    assert wire.device.state.software_version is None
    info = wire.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"}).body.data["SystemInfo"]
    assert info["SoftWareVersion"] == before


def test_an_image_fed_byte_by_byte_or_whole_is_judged_the_same() -> None:
    image = firmware_image(size=3000)
    for pieces in ([image], [image[i : i + 1] for i in range(len(image))]):
        receiver = UpgradeReceiver("HI3516D_83H50N")
        assert all(receiver.block(piece) for piece in pieces)
        assert receiver.finish().ret == Ret.UPGRADE_SUCCEEDED
        assert receiver.size == len(image)


def test_a_version_that_is_not_text_is_refused() -> None:
    receiver = UpgradeReceiver("HI3516D_83H50N")
    receiver.block(firmware_image(version="V1\n2"))
    assert receiver.finish().ret == Ret.UPGRADE_FAILED
    receiver = UpgradeReceiver("HI3516D_83H50N")
    receiver.block(firmware_image(version=None))
    assert receiver.finish() == UpgradeOutcome(Ret.UPGRADE_SUCCEEDED, None, "")


def test_an_image_without_a_version_keeps_the_old_one() -> None:
    device = make_device()
    assert device.finish_upgrade(UpgradeOutcome(Ret.UPGRADE_SUCCEEDED, None, "")) == 515
    assert device.state.software_version is None


def test_too_many_bytes_are_refused_at_once() -> None:
    device = make_device(load_profile().with_quirks(upgrade_max_size=50_000))
    wire = logged_in(device)
    assert wire.call(MessageId.UPGRADE_REQ, START).ok
    answers = send_image(wire, bytes(100_000), block=BLOCK_SIZE)
    assert [answer.body.data["Ret"] for answer in answers] == [Ret.OK, Ret.UPGRADE_DATA_ERROR]
    assert wire.camera.upgrade is None
    assert wire.camera.effects == []  # the rest and the end mark went nowhere
    assert device.upgrading is None


def test_data_without_a_start_goes_nowhere() -> None:
    wire = logged_in()
    assert wire.send(wire.client.send_data(MessageId.UPGRADE_DATA, b"x" * 100)) == []
    end = wire.client.send_data(MessageId.UPGRADE_DATA, b"", end_flag=True)
    assert wire.send(end) == []
    assert wire.camera.effects == []


def test_data_of_another_session_goes_nowhere() -> None:
    device = make_device()
    first, second = logged_in(device), logged_in(device)
    assert first.call(MessageId.UPGRADE_REQ, START).ok
    # The second connection's client writes the first's session id into its header.
    second.client.session_id = first.client.session_id
    assert second.send(second.client.send_data(MessageId.UPGRADE_DATA, b"x")) == []
    assert first.camera.upgrade is not None
    assert first.camera.upgrade.size == 0


def test_one_upgrade_at_a_time_and_abort() -> None:
    device = make_device()
    first, second = logged_in(device), logged_in(device)
    assert first.call(MessageId.UPGRADE_REQ, START).ret == Ret.OK
    assert second.call(MessageId.UPGRADE_REQ, START).ret == Ret.UPGRADE_NOT_STARTED
    assert second.call(MessageId.UPGRADE_REQ, ABORT).ret == Ret.OK  # not its own: nothing
    assert device.upgrading == first.camera.number
    assert first.call(MessageId.UPGRADE_REQ, ABORT).ret == Ret.OK
    assert device.upgrading is None
    assert first.camera.upgrade is None
    assert second.call(MessageId.UPGRADE_REQ, START).ret == Ret.OK
    second.camera.close()  # cut off half-way: the device is free again
    assert device.upgrading is None


@pytest.mark.parametrize(
    "body",
    [
        {"Name": "OPSystemUpgrade", "OPSystemUpgrade": {"Action": "Flash"}},
        {"Name": "OPSystemUpgrade", "OPSystemUpgrade": {"Action": 1}},
        {"Name": "OPSystemUpgrade", "OPSystemUpgrade": "Start"},
        {"Name": "Other", "Other": {"Action": "Start"}},
    ],
)
def test_a_malformed_start_is_refused(body: dict[str, object]) -> None:
    wire = logged_in()
    assert wire.call(MessageId.UPGRADE_REQ, body).ret == Ret.ILLEGAL_REQUEST
    assert wire.device.upgrading is None


def test_an_account_without_the_right_cannot_upgrade() -> None:
    wire = logged_in()
    user = {
        "AuthorityList": ["Monitor_01"],
        "Group": "user",
        "Memo": "",
        "Name": "viewer",
        "Password": sofia_hash("pw"),
        "Sharable": True,
    }
    assert wire.call(MessageId.ADDUSER_REQ, {"Name": "User", "User": user}).ok
    viewer = logged_in(wire.device, "viewer", "pw")
    refused = viewer.call(MessageId.UPGRADE_REQ, START)
    assert refused.ret == load_profile().quirks.no_permission_ret
    assert viewer.send(viewer.client.send_data(MessageId.UPGRADE_DATA, b"x")) == []


def test_before_login_nothing_is_taken() -> None:
    device = make_device()
    wire = Wire(device)
    request = wire.client.request(MessageId.UPGRADE_REQ, START, before_login=True)
    assert wire.send(request) == []  # silent, as to any request before login
    assert device.upgrading is None


def test_the_version_survives_a_restart_with_a_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    device = SimulatedDevice(load_profile(), state_path=path)
    outcome = UpgradeOutcome(Ret.UPGRADE_SUCCEEDED, NEW_VERSION, "")
    assert device.finish_upgrade(outcome) == Ret.UPGRADE_SUCCEEDED
    assert json.loads(path.read_text())["software_version"] == NEW_VERSION
    again = SimulatedDevice(load_profile(), state_path=path)
    assert again.state.software_version == NEW_VERSION
    wire = logged_in(again)
    info = wire.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"}).body.data["SystemInfo"]
    assert info["SoftWareVersion"] == NEW_VERSION


def test_a_state_that_cannot_be_saved_fails_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "gone" / "state.json"
    path.parent.mkdir()
    device = SimulatedDevice(load_profile(), state_path=path)
    path.parent.rmdir()
    outcome = UpgradeOutcome(Ret.UPGRADE_SUCCEEDED, NEW_VERSION, "")
    assert device.finish_upgrade(outcome) == Ret.UPGRADE_FAILED
    assert device.state.software_version is None


@pytest.mark.parametrize("version", [17, "", "x" * 129])
def test_a_damaged_version_in_the_state_file_is_refused(tmp_path: Path, version: object) -> None:
    path = tmp_path / "state.json"
    SimulatedDevice(load_profile(), state_path=path).state.save()
    data = json.loads(path.read_text())
    data["software_version"] = version
    path.write_text(json.dumps(data))
    with pytest.raises(StateFileError, match="software_version"):
        SimulatedDevice(load_profile(), state_path=path)


def test_the_upgrade_end_quirk_is_checked() -> None:
    assert load_profile().with_quirks(upgrade_end="reboot").quirks.upgrade_end == "reboot"
    with pytest.raises(ProfileError, match="upgrade_end"):
        parse_profile('{"quirks": {"upgrade_end": "never"}}', origin="test")
