"""Every command of the simulated device, through the core's client role."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.seed import SEED_SYSTEM_INFO
from tests.sim.helpers import ManualClock, Wire, logged_in, make_device
from xmcam.protocol import sofia_hash
from xmcam.sim import PtzCommand, load_profile
from xmcam.sim.context import Effect


@pytest.fixture
def wire() -> Wire:
    return logged_in()


def data(wire: Wire, message_id: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    reply = wire.call(message_id, body)
    assert reply.ok, reply.body
    return reply.body.data


def ret(wire: Wire, message_id: int, body: dict[str, Any] | None = None) -> int | None:
    return wire.call(message_id, body).ret


def test_system_info_is_the_seeds_with_a_live_run_time() -> None:
    clock = ManualClock()
    wire = logged_in(make_device(clock=clock))
    assert data(wire, 1020, {"Name": "SystemInfo"})["SystemInfo"] == SEED_SYSTEM_INFO
    clock.advance(600)
    info = data(wire, 1020, {"Name": "SystemInfo"})["SystemInfo"]
    assert info["DeviceRunTime"] == "0x00001282"  # 0x1278 + 10 minutes


def test_storage_info_and_work_state(wire: Wire) -> None:
    disks = data(wire, 1020, {"Name": "StorageInfo"})["StorageInfo"]
    assert disks[0]["Partition"][0]["DirverType"] == 0  # sic, as real devices spell it
    state = data(wire, 1020, {"Name": "WorkState"})["WorkState"]
    assert state["AlarmState"]["AlarmOut"] == 0
    assert state["ChannelState"] == [{"Bitrate": 2048, "Record": True}]
    assert ret(wire, 1020, {"Name": "OEMInfo"}) == 607


def test_alarm_out_shows_in_work_state(wire: Wire) -> None:
    manual = [{"AlarmOutStatus": "OPEN", "AlarmOutType": "MANUAL"}]
    assert ret(wire, 1040, {"Name": "Alarm.AlarmOut", "Alarm.AlarmOut": manual}) == 100
    state = data(wire, 1020, {"Name": "WorkState"})["WorkState"]
    assert state["AlarmState"]["AlarmOut"] == 1
    assert data(wire, 1042, {"Name": "Alarm.AlarmOut"})["Alarm.AlarmOut"] == manual


def test_abilities(wire: Wire) -> None:
    functions = data(wire, 1360, {"Name": "SystemFunction"})["SystemFunction"]
    assert functions["AlarmFunction"]["MotionDetect"] is True
    assert "EncodeInfo" in data(wire, 1360, {"Name": "EncodeCapability"})["EncodeCapability"]
    assert ret(wire, 1360, {"Name": "Teleport"}) == 607


def test_config_get_set_default(wire: Wire) -> None:
    reply = data(wire, 1042, {"Name": "Camera.Param.[0]"})
    assert reply["Name"] == "Camera.Param.[0]"  # the reply key repeats the exact name
    param = reply["Camera.Param.[0]"]
    param["PictureFlip"] = "0x00000001"
    assert ret(wire, 1040, {"Name": "Camera.Param.[0]", "Camera.Param.[0]": param}) == 100
    assert data(wire, 1042, {"Name": "Camera.Param.[0]"})["Camera.Param.[0]"] == param
    default = data(wire, 1044, {"Name": "Camera.Param.[0]"})["Camera.Param.[0]"]
    assert default["PictureFlip"] == "0x00000000"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Name": "Nope.Nothing", "Nope.Nothing": {}}, 607),
        ({"Name": "General.General", "General.General": {"AutoLogout": "x"}}, 608),
        ({"Name": "General.General"}, 608),
        ({}, 607),
    ],
)
def test_bad_config_writes(wire: Wire, body: dict[str, Any], expected: int) -> None:
    before = data(wire, 1042, {"Name": "General.General"})
    assert ret(wire, 1040, body) == expected
    assert data(wire, 1042, {"Name": "General.General"}) == before


def test_unknown_config_reads(wire: Wire) -> None:
    assert ret(wire, 1042, {"Name": "Nope"}) == 607
    assert ret(wire, 1042, {"Name": ""}) == 607
    assert ret(wire, 1044, {"Name": "Nope"}) == 607


def test_channel_titles() -> None:
    wire = logged_in(make_device(load_profile("nvr-8ch")))
    titles = data(wire, 1048, {"Name": "ChannelTitle"})["ChannelTitle"]
    assert titles[0] == "CAM01"
    assert len(titles) == 8
    assert ret(wire, 1046, {"Name": "ChannelTitle", "ChannelTitle": ["Door"]}) == 100
    assert data(wire, 1048, {"Name": "ChannelTitle"})["ChannelTitle"][:2] == ["Door", "CAM02"]
    assert ret(wire, 1046, {"Name": "ChannelTitle", "ChannelTitle": "Door"}) == 608


def test_time_query_and_set() -> None:
    host_now = datetime(2026, 11, 25, 12, 0, 0)
    device = make_device()
    device.state.wall_clock = lambda: host_now
    wire = logged_in(device)
    assert data(wire, 1452, {"Name": "OPTimeQuery"})["OPTimeQuery"] == "2026-11-25 12:00:00"
    body = {"Name": "OPTimeSetting", "OPTimeSetting": "2026-11-25 13:30:00"}
    assert ret(wire, 1450, body) == 100
    assert device.state.time_offset == timedelta(minutes=90).total_seconds()
    assert data(wire, 1452, {"Name": "OPTimeQuery"})["OPTimeQuery"] == "2026-11-25 13:30:00"
    assert ret(wire, 1450, {"Name": "OPTimeSetting", "OPTimeSetting": "yesterday"}) == 608
    assert ret(wire, 1450, {"Name": "OPTimeSetting", "OPTimeSetting": 20261125}) == 608
    # Read as the client reads a device's time (xmcam.protocol.fields): blanks around it
    # are no reason to refuse it.
    assert (
        ret(wire, 1450, {"Name": "OPTimeSetting", "OPTimeSetting": " 2026-11-25 14:00:00\n"}) == 100
    )
    assert data(wire, 1452, {"Name": "OPTimeQuery"})["OPTimeQuery"] == "2026-11-25 14:00:00"
    assert ret(wire, 1450, {"Name": "OPTeleport", "OPTeleport": {}}) == 102


def test_reboot_is_an_effect_for_the_shell(wire: Wire) -> None:
    assert ret(wire, 1450, {"Name": "OPMachine", "OPMachine": {"Action": "Reboot"}}) == 100
    assert wire.camera.effects == [Effect.REBOOT]
    assert ret(wire, 1450, {"Name": "OPMachine", "OPMachine": {"Action": 0}}) == 608


def test_factory_defaults_by_group(wire: Wire) -> None:
    state = wire.device.state
    state.set_config("General.General", {"MachineName": "Garage"})
    state.set_config("Camera.Param.[0]", {"PictureFlip": "0x00000001"})
    body = {"Name": "OPDefaultConfig", "OPDefaultConfig": {"General": True, "Preview": False}}
    assert ret(wire, 1450, body) == 100
    assert state.get_config("General.General")["MachineName"] == "LocalHost"
    assert state.get_config("Camera.Param.[0]")["PictureFlip"] == "0x00000001"
    # The reset copied the factory's values: changing them again leaves the factory alone.
    state.set_config("General.General", {"MachineName": "Shed"})
    assert state.default_config("General.General")["MachineName"] == "LocalHost"
    assert ret(wire, 1450, body) == 100
    assert state.get_config("General.General")["MachineName"] == "LocalHost"
    assert ret(wire, 1450, {"Name": "OPDefaultConfig", "OPDefaultConfig": True}) == 608


def test_net_alarm_input_raises_and_ends_alarms(wire: Wire) -> None:
    data(wire, 1500, {"Name": ""})
    assert ret(wire, 1506, {"Name": "OPNetAlarm", "OPNetAlarm": {"Event": 0, "State": 1}}) == 100
    assert ret(wire, 1506, {"Name": "OPNetAlarm", "OPNetAlarm": {"Event": 0, "State": 0}}) == 100
    assert [(a["Event"], a["Status"]) for a in wire.alarms] == [
        ("NetAlarm", "Start"),
        ("NetAlarm", "Stop"),
    ]
    assert ret(wire, 1506, {"Name": "OPNetAlarm", "OPNetAlarm": {"State": "on"}}) == 608


def test_ptz_commands_are_logged(wire: Wire) -> None:
    parameter = {"Channel": 0, "Preset": 65535, "Step": 5}
    body = {
        "Name": "OPPTZControl",
        "OPPTZControl": {"Command": "DirectionUp", "Parameter": parameter},
    }
    assert ret(wire, 1400, body) == 100
    stop = dict(parameter, Preset=-1)
    body["OPPTZControl"] = {"Command": "DirectionUp", "Parameter": stop}
    assert ret(wire, 1400, body) == 100
    assert wire.device.state.ptz_log == [
        PtzCommand(0, "DirectionUp", 65535, 5),
        PtzCommand(0, "DirectionUp", -1, 5),
    ]
    bad = dict(parameter, Channel=3)
    assert (
        ret(
            wire, 1400, {"Name": "OPPTZControl", "OPPTZControl": {"Command": "x", "Parameter": bad}}
        )
        == 103
    )
    assert ret(wire, 1400, {"Name": "OPPTZControl", "OPPTZControl": []}) == 103


def test_commands_it_does_not_have_get_102(wire: Wire) -> None:
    # The network keyboard and the config import are not simulated: a clean refusal.
    assert ret(wire, 1550, {"Name": "OPNetKeyboard", "OPNetKeyboard": {}}) == 102
    assert ret(wire, 1540, {"Name": "OPConfigImport"}) == 102


def test_users_and_groups(wire: Wire) -> None:
    authorities = data(wire, 1470)["AuthorityList"]
    assert "Monitor_01" in authorities
    users = data(wire, 1472)["Users"]
    assert {user["Name"] for user in users} == {"admin", "default"}
    groups = data(wire, 1474)["Groups"]
    assert {group["Name"] for group in groups} == {"admin", "user"}

    new_user = {
        "AuthorityList": ["Monitor_01"],
        "Group": "user",
        "Memo": "",
        "Name": "eve",
        "Password": sofia_hash("pw"),
        "Sharable": True,
    }
    assert ret(wire, 1482, {"Name": "User", "User": new_user}) == 100
    assert ret(wire, 1482, {"Name": "User", "User": new_user}) == 112
    assert ret(wire, 1482, {"Name": "User", "User": dict(new_user, Name="x", Group="none")}) == 115
    assert ret(wire, 1482, {"Name": "User", "User": {"Name": ""}}) == 103
    assert Wire(wire.device).login("eve", "pw").ok

    renamed = dict(new_user, Name="eve2", Password="")
    assert ret(wire, 1484, {"User": renamed, "UserName": "eve"}) == 100
    assert Wire(wire.device).login("eve2", "pw").ok  # an empty Password keeps the old one
    assert ret(wire, 1484, {"User": renamed, "UserName": "nobody"}) == 113

    group = {"AuthorityList": ["SysInfo"], "Memo": "viewers", "Name": "viewers"}
    assert ret(wire, 1476, {"Name": "Group", "Group": group}) == 100
    assert ret(wire, 1476, {"Name": "Group", "Group": group}) == 114
    assert ret(wire, 1478, {"Group": dict(group, Name="watchers"), "GroupName": "viewers"}) == 100
    assert ret(wire, 1478, {"Group": group, "GroupName": "nobody"}) == 115
    assert ret(wire, 1480, {"Name": "user"}) == 212  # eve2 and default are in it
    assert ret(wire, 1480, {"Name": "watchers"}) == 100
    assert ret(wire, 1480, {"Name": "watchers"}) == 115

    assert ret(wire, 1486, {"Name": "eve2"}) == 100
    assert ret(wire, 1486, {"Name": "eve2"}) == 113
    assert ret(wire, 1486, {"Name": "admin"}) == 216  # reserved


def test_change_password_stores_only_the_hash(wire: Wire) -> None:
    body = {
        "EncryptType": "MD5",
        "NewPassWord": sofia_hash("new"),
        "PassWord": sofia_hash(""),
        "UserName": "admin",
    }
    assert ret(wire, 1488, body) == 100
    assert wire.device.state.user("admin")["Password"] == sofia_hash("new")  # type: ignore[index]
    assert ret(wire, 1488, body) == 203  # the old password is no longer right
    plain = {"EncryptType": "NONE", "NewPassWord": "plain", "PassWord": "new", "UserName": "admin"}
    assert ret(wire, 1488, plain) == 100
    assert wire.device.state.user("admin")["Password"] == sofia_hash("plain")  # type: ignore[index]
    assert ret(wire, 1488, dict(body, UserName="nobody")) == 113


def test_permissions_follow_the_authority_list() -> None:
    wire = logged_in(user="default", password="tluafed")
    assert ret(wire, 1040, {"Name": "General.General", "General.General": {}}) == 107
    assert ret(wire, 1472) == 107
    assert ret(wire, 1450, {"Name": "OPMachine", "OPMachine": {"Action": "Reboot"}}) == 107
    # Reading config needs the same rights as writing it (changed with issue 12: the
    # account read every config, NetWork.AlarmServer's password included); changing one's
    # own password is allowed.
    assert ret(wire, 1042, {"Name": "General.General"}) == 107
    assert ret(wire, 1042, {"Name": "NetWork.AlarmServer"}) == 107
    assert ret(wire, 1044, {"Name": "NetWork.AlarmServer"}) == 107
    assert ret(wire, 1042, {"Name": "No.Such.Name"}) == 107  # not even whether it exists
    own = {
        "EncryptType": "MD5",
        "NewPassWord": sofia_hash("x"),
        "PassWord": sofia_hash("tluafed"),
        "UserName": "default",
    }
    assert ret(wire, 1488, own) == 100
    other = dict(own, UserName="admin", PassWord=sofia_hash(""))
    assert ret(wire, 1488, other) == 107


def test_config_rights_go_by_the_configs_area() -> None:
    rights = ["NetConfig", "PtzConfig"]
    profile = load_profile().with_password("default", sofia_hash("x"))
    profile = dataclasses.replace(
        profile,
        users=[
            dict(user, AuthorityList=rights) if user["Name"] == "default" else user
            for user in profile.users
        ],
    )
    wire = logged_in(make_device(profile), "default", "x")
    assert ret(wire, 1042, {"Name": "NetWork.NetCommon"}) == 100
    assert ret(wire, 1042, {"Name": "NetWork"}) == 100  # the root: every name under it
    assert ret(wire, 1042, {"Name": "Uart.PTZ"}) == 100
    assert ret(wire, 1042, {"Name": "Uart"}) == 107  # the serial ports' group: CommConfig
    assert ret(wire, 1042, {"Name": "Uart.Comm"}) == 107  # CommConfig, whether it exists or not
    assert ret(wire, 1042, {"Name": "Detect.MotionDetect.[0]"}) == 107  # AlarmConfig
    assert ret(wire, 1042, {"Name": "Camera.Param.[0]"}) == 107  # VideoConfig
    assert ret(wire, 1042, {"Name": "NetWork.NoSuchThing"}) == 607  # its area: it may ask
    common = data(wire, 1042, {"Name": "NetWork.NetCommon"})["NetWork.NetCommon"]
    body = {"Name": "NetWork.NetCommon", "NetWork.NetCommon": common}
    assert ret(wire, 1040, body) == 100  # writes go by the same rights
    assert ret(wire, 1040, {"Name": "General.General", "General.General": {}}) == 107


def test_a_group_cannot_be_renamed_to_another_groups_name(wire: Wire) -> None:
    body = {"GroupName": "user", "Group": {"AuthorityList": [], "Name": "admin"}, "Name": ""}
    assert ret(wire, 1478, body) == 114
    assert [group["Name"] for group in wire.device.state.groups] == ["admin", "user"]
    body["Group"] = {"AuthorityList": [], "Name": "user"}  # its own name: a plain change
    assert ret(wire, 1478, body) == 100


@pytest.mark.parametrize("rights", [["x" * 65], ["Monitor_01"] * 1000])
def test_authority_lists_are_bounded(wire: Wire, rights: list[str]) -> None:
    user = {"AuthorityList": rights, "Group": "user", "Name": "big", "Password": ""}
    assert ret(wire, 1482, {"Name": "", "User": user}) == 103
    group = {"AuthorityList": rights, "Name": "big"}
    assert ret(wire, 1476, {"Name": "", "Group": group}) == 103
    assert wire.device.state.user("big") is None
    assert wire.device.state.group("big") is None
