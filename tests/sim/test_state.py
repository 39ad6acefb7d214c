"""The device state: config reads and writes by dotted name, shape checks that never change
state on a bad value, and the atomic state file."""

from __future__ import annotations

import json
import math
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from xmcam.sim import DeviceState, StateFileError, load_profile
from xmcam.sim.state import BadConfigValue, StateSaveError, atomic_write_json, carriable, conform


@pytest.fixture
def state() -> DeviceState:
    return DeviceState.from_profile(load_profile("nvr-8ch"))


def test_names_channels_and_roots(state: DeviceState) -> None:
    assert len(state.get_config("Camera.Param")) == 8
    assert state.get_config("Camera.Param.[3]") == state.get_config("Camera.Param")[3]
    assert state.get_config("Camera.Param.[8]") is None
    assert state.get_config("General.General.[0]") is None
    assert len(state.get_config("Alarm.LocalAlarm")) == 4
    detect = state.get_config("Detect")
    assert set(detect) == {"MotionDetect", "BlindDetect", "LossDetect"}
    assert state.get_config("Nope.Nothing") is None
    assert state.get_config("ChannelTitle") == [f"CAM{n:02d}" for n in range(1, 9)]


def test_reads_are_copies(state: DeviceState) -> None:
    value = state.get_config("General.General")
    value["MachineName"] = "changed"
    assert state.get_config("General.General")["MachineName"] == "LocalHost"


def test_a_write_may_leave_fields_out(state: DeviceState) -> None:
    state.set_config("Camera.Param.[2]", {"GainParam": {"Gain": 70}})
    assert state.get_config("Camera.Param.[2]")["GainParam"] == {"AutoGain": 1, "Gain": 70}
    assert state.get_config("Camera.Param.[1]")["GainParam"]["Gain"] == 50


def test_root_writes(state: DeviceState) -> None:
    motion = state.get_config("Detect.MotionDetect")
    motion[0]["Level"] = 6
    state.set_config("Detect", {"MotionDetect": motion})
    assert state.get_config("Detect.MotionDetect.[0]")["Level"] == 6
    with pytest.raises(BadConfigValue):
        state.set_config("Detect", {"Teleport": []})
    with pytest.raises(BadConfigValue):
        state.set_config("Detect", [])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("General.General", []),
        ("General.General", {"Unknown": 1}),
        ("General.General", {"AutoLogout": "ten"}),
        ("General.General", {"AutoLogout": True}),
        ("General.General", {"MachineName": 5}),
        ("General.General", {"MachineName": "x" * 5000}),
        ("Alarm.AlarmOut", [{"AlarmOutType": "MANUAL"}] * 2),
        ("Camera.Param.[0]", {"GainParam": 3}),
        ("NetWork.NetNTP", {"Enable": "yes"}),
        ("Detect.MotionDetect.[0]", {"Region": ["0x0"]}),
    ],
)
def test_bad_values_change_nothing(state: DeviceState, name: str, value: object) -> None:
    before = json.dumps(state.config, sort_keys=True)
    with pytest.raises(BadConfigValue):
        state.set_config(name, value)
    assert json.dumps(state.config, sort_keys=True) == before


def test_unknown_names_raise_key_error(state: DeviceState) -> None:
    for name in ("Nope", "Camera.Param.[99]", "General.General.[0]"):
        with pytest.raises(KeyError):
            state.set_config(name, {})


def test_channel_titles(state: DeviceState) -> None:
    state.set_config("ChannelTitle", ["Door", "Yard"])
    assert state.channel_titles[:3] == ["Door", "Yard", "CAM03"]
    for bad in ("Door", ["x"] * 9, [1], ["x" * 65]):
        with pytest.raises(BadConfigValue):
            state.set_channel_titles(bad)


def test_defaults_and_alarm_mask(state: DeviceState) -> None:
    state.set_config("Alarm.AlarmOut.[0]", {"AlarmOutType": "MANUAL"})
    assert state.alarm_out_mask() == 1
    assert state.default_config("Alarm.AlarmOut.[0]")["AlarmOutType"] == "AUTO"
    assert state.default_config("Nope") is None


def test_conform_scalars() -> None:
    assert conform(1, 2.5, "x") == 2.5
    assert conform(None, "anything", "x") == "anything"
    with pytest.raises(BadConfigValue):
        conform(None, {"a": 1}, "x")
    with pytest.raises(BadConfigValue):
        conform(True, 1, "x")


def test_lenient_conform_takes_what_the_xm530_takes() -> None:
    current = {"Enable": True, "Rows": [["None", 0], ["None", 0]], "Port": 15002}
    new = {"Enable": 0, "Rows": [["Preset", 3]] * 3, "Audio": {"BitRate": 0}}
    # Strict: a number for a boolean, an array of another length, a member it lacks.
    with pytest.raises(BadConfigValue):
        conform(current, new, "x")
    merged = conform(current, new, "x", lenient=True)
    assert merged == {"Enable": False, "Rows": [["Preset", 3]] * 3, "Port": 15002}
    assert conform([["None", 0]] * 4, [], "x", lenient=True) == []
    for misfit in ({"Port": "15002"}, {"Enable": 2}, {"Rows": [["None", "0"]]}, {"Rows": "x"}):
        with pytest.raises(BadConfigValue):
            conform(current, misfit, "x", lenient=True)
    with pytest.raises(BadConfigValue, match="array of 2"):
        conform(current, {"Rows": [["None", 0]] * 5000}, "x", lenient=True)


def test_a_lenient_profile_writes_leniently_and_reloads_its_state(tmp_path: Path) -> None:
    path = tmp_path / "cam.json"
    state = DeviceState.from_profile(load_profile("xm530"), path=path)
    upgrade = state.get_config("NetWork.OnlineUpgrade")
    state.set_config("NetWork.OnlineUpgrade", dict(upgrade, Enable=0))
    users = state.get_config("System.ExUserMap")
    state.set_config("System.ExUserMap", dict(users, User=users["User"][:1]))
    again = DeviceState.from_profile(load_profile("xm530"), path=path)
    assert again.get_config("NetWork.OnlineUpgrade")["Enable"] is False
    assert len(again.get_config("System.ExUserMap")["User"]) == 1
    with pytest.raises(BadConfigValue):
        DeviceState.from_profile(load_profile()).set_config("NetWork.NetDHCP", [])


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "cam.json"
    profile = load_profile()
    state = DeviceState.from_profile(profile, path=path)
    state.set_config("General.General", {"MachineName": "Garage"})
    state.set_channel_titles(["Garage"])
    state.time_offset = 3600.0
    state.save()
    again = DeviceState.from_profile(profile, path=path)
    assert again.get_config("General.General")["MachineName"] == "Garage"
    assert again.channel_titles == ["Garage"]
    assert again.time_offset == 3600.0
    # Nothing is left beside the state file: the temporary file was renamed over it.
    assert [p.name for p in tmp_path.iterdir()] == ["cam.json"]


@pytest.mark.parametrize(
    "content",
    [
        b"{broken",
        b"\xff",
        b"[]",
        b'{"format": 99}',
        b'{"format": 1, "config": []}',
        b'{"format": 1, "config": {"General.General": {"AutoLogout": "x"}}, "users": [], '
        b'"groups": [], "channel_titles": []}',
    ],
)
def test_a_damaged_state_file_is_refused_not_overwritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "cam.json"
    path.write_bytes(content)
    with pytest.raises(StateFileError):
        DeviceState.from_profile(load_profile(), path=path)
    assert path.read_bytes() == content


def test_atomic_write_leaves_the_old_file_when_the_write_fails(tmp_path: Path) -> None:
    path = tmp_path / "cam.json"
    atomic_write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["cam.json"]


def test_temporaries_are_named_as_the_cleanup_at_start_knows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed: list[str] = []
    replace = os.replace

    def spy(source: str, target: Path) -> None:
        renamed.append(Path(source).name)
        replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    for _ in range(20):
        atomic_write_json(tmp_path / "cam.json", {"a": 1})
    assert all(re.fullmatch(r"\.cam\.json\.xmcam-[a-z0-9_]{8}\.tmp", name) for name in renamed)
    assert len(renamed) == 20


def test_a_clock_set_to_the_last_second_never_overflows() -> None:
    now = [datetime(2024, 1, 1, 12, 0, 0)]
    state = DeviceState.from_profile(load_profile(), wall_clock=lambda: now[0])
    state.set_device_time(datetime(9999, 12, 31, 23, 59, 59))
    now[0] += timedelta(hours=1)  # the device's clock runs past the end of the calendar
    assert state.device_time() == datetime.max
    state.set_device_time(datetime(1, 1, 1))
    now[0] -= timedelta(days=2)
    assert state.device_time() == datetime.min


@pytest.mark.parametrize("offset", ["NaN", "Infinity", "-Infinity", "1e300", "true"])
def test_a_state_file_with_an_absurd_clock_offset_is_refused(tmp_path: Path, offset: str) -> None:
    path = tmp_path / "cam.json"
    path.write_text(
        '{"format": 1, "config": {}, "users": [], "groups": [], "channel_titles": [], '
        f'"time_offset": {offset}}}'
    )
    with pytest.raises(StateFileError, match="time_offset"):
        DeviceState.from_profile(load_profile(), path=path)


def test_a_state_file_with_fewer_titles_keeps_one_per_channel(tmp_path: Path) -> None:
    path = tmp_path / "cam.json"
    path.write_text(
        '{"format": 1, "config": {}, "users": [], "groups": [], "channel_titles": ["Door"]}'
    )
    state = DeviceState.from_profile(load_profile("nvr-8ch"), path=path)
    assert len(state.channel_titles) == 8
    assert state.channel_titles[:2] == ["Door", "CAM02"]


def test_a_state_file_in_a_missing_directory_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="no directory"):
        DeviceState.from_profile(load_profile(), path=tmp_path / "nope" / "cam.json")


def test_a_failed_save_is_logged_and_undone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Changed with issue 12: the device used to go on with the change in memory, and
    # acknowledged a write it had not kept.
    directory = tmp_path / "gone"
    directory.mkdir()
    state = DeviceState.from_profile(load_profile(), path=directory / "cam.json")
    directory.rmdir()  # the disk went away under the running simulator
    with pytest.raises(StateSaveError, match="cannot save"):
        state.set_config("General.General", {"MachineName": "Garage"})
    assert state.get_config("General.General")["MachineName"] == "LocalHost"
    assert "cannot save" in caplog.text
    with pytest.raises(StateSaveError):
        state.set_config("Camera.Param.[0]", {"PictureFlip": "0x00000001"})  # an element
    assert state.get_config("Camera.Param.[0]")["PictureFlip"] == "0x00000000"
    with pytest.raises(StateSaveError):
        state.set_channel_titles(["Garage"])
    with pytest.raises(StateSaveError):
        state.set_device_time(datetime(2030, 1, 1))
    assert (state.channel_titles, state.time_offset) == (["CAM01"], 0.0)
    directory.mkdir()  # back: the next write is stored
    state.set_config("General.General", {"MachineName": "Garage"})
    assert (
        DeviceState.from_profile(load_profile(), path=directory / "cam.json").get_config(
            "General.General"
        )["MachineName"]
        == "Garage"
    )


@pytest.mark.parametrize(
    "value",
    [
        {"AutoLogout": math.inf},
        {"AutoLogout": -math.inf},
        {"AutoLogout": math.nan},
        {"MachineName": "\ud800"},
        {"MachineName": "a\udfffb"},
    ],
)
def test_values_json_cannot_carry_are_refused_and_change_nothing(
    tmp_path: Path, value: dict[str, object]
) -> None:
    state = DeviceState.from_profile(load_profile(), path=tmp_path / "cam.json")
    before = state.get_config("General.General")
    with pytest.raises(BadConfigValue, match="JSON cannot carry"):
        state.set_config("General.General", value)
    assert state.get_config("General.General") == before
    assert not (tmp_path / "cam.json").exists()  # nothing was written
    with pytest.raises(BadConfigValue):
        state.set_channel_titles(["\ud800"])


def test_carriable() -> None:
    assert carriable({"a": [1, 2.5, "text", None, True, {"b": "é"}]})
    assert not carriable([1e999])
    assert not carriable({"\ud800": 1})
    assert not carriable({"a": ["\udc00"]})


@pytest.mark.parametrize("value", ["Infinity", "NaN", '"\\ud800"'])
def test_a_state_file_holding_what_json_cannot_carry_is_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "cam.json"
    text = (
        '{"format": 1, "config": {"General.General": {"AutoLogout": %s}}, "users": [], '
        '"groups": [], "channel_titles": []}'
    )
    if value.startswith('"'):
        text = (
            '{"format": 1, "config": {}, "users": [{"Name": %s}], "groups": [], '
            '"channel_titles": []}'
        )
    path.write_text(text % value)
    with pytest.raises(StateFileError):
        DeviceState.from_profile(load_profile(), path=path)
