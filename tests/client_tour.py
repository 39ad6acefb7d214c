"""Every client method, once, against the simulator: one script for both shells.

`method_tour(state)` is a generator that yields `(method name, args, kwargs)` and receives the
method's result (or the XMCamError it raised), asserting as it goes. The asyncio test awaits
each call, the blocking test makes it: the same checks run against both APIs.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import Any

from xmcam.client import operations as ops
from xmcam.client.models import (
    AlarmOutput,
    ConfigProbe,
    ConfigUpdate,
    Disk,
    SystemInfo,
    WorkState,
)
from xmcam.errors import ConfigNotFoundError, XMCamError
from xmcam.sim import DeviceState

Step = tuple[str, tuple[Any, ...], dict[str, Any]]
Tour = Generator[Step, Any, None]


def call(name: str, *args: Any, **kwargs: Any) -> Step:
    return name, args, kwargs


def method_tour(state: DeviceState) -> Tour:
    info = yield call("system_info")
    assert isinstance(info, SystemInfo)
    assert (info.model, info.serial, info.channels) == ("HI3516D_83H50N", "58e7fa5e6e262535", 1)
    assert info.uptime_minutes is not None
    assert info.uptime_minutes >= 0x1278
    # The same request as a Query, and a config get as one: the results the methods give.
    queried = yield call("query", ops.SYSTEM_INFO)
    assert isinstance(queried, SystemInfo)
    assert (queried.serial, queried.channels) == (info.serial, info.channels)
    general = yield call("query", ops.config_query("General.General"))
    assert general == (yield call("get_config", "General.General"))
    disks = yield call("storage_info")
    assert isinstance(disks[0], Disk)
    assert disks[0].total_mb > disks[0].remaining_mb > 0
    work = yield call("work_state")
    assert isinstance(work, WorkState)
    assert work.recording == (True,)
    assert "AlarmFunction" in (yield call("abilities"))
    assert "AudioDataFormat" in (yield call("abilities", "TalkAudioFormat"))
    assert isinstance((yield call("abilities", "NoSuchAbility")), ConfigNotFoundError)

    yield from _config_tour(state)
    yield from _alarm_out_tour(state)
    yield from _time_tour()
    yield from _account_tour(state)

    assert (yield call("channel_titles")) == ["CAM01"]
    assert (yield call("set_channel_titles", ["Front door"])) is None
    assert (yield call("channel_titles")) == ["Front door"]

    yield call("ptz", "up", speed=7, duration=0.01)
    start, stop = state.ptz_log[-2:]
    assert (start.command, start.preset, start.step) == ("DirectionUp", 65535, 7)
    assert (stop.command, stop.preset) == ("DirectionUp", -1)
    yield call("ptz", "ZoomTile", duration=0)
    assert state.ptz_log[-1].command == "ZoomTile"
    yield call("ptz_preset", "set", 3)
    assert (state.ptz_log[-1].command, state.ptz_log[-1].preset) == ("SetPreset", 3)
    yield call("ptz_tour", "start", 1)
    assert state.ptz_log[-1].command == "StartTour"

    assert (yield call("net_alarm", 1)) is None
    assert (yield call("keepalive")) is None
    raw = yield call("request", 1020, {"Name": "SystemInfo"})
    assert raw["SystemInfo"]["HardWare"] == "HI3516D_83H50N"
    assert raw["Ret"] == 100


def _config_tour(state: DeviceState) -> Tour:
    param = yield call("get_config", "Camera.Param.[0]")
    assert param == state.get_config("Camera.Param.[0]")
    assert isinstance((yield call("get_config", "No.Such.Config")), ConfigNotFoundError)
    general = yield call("get_config", "General.General")
    changed = dict(general, MachineName="Porch")
    assert (yield call("set_config", "General.General", changed)) is None
    assert state.get_config("General.General")["MachineName"] == "Porch"
    default = yield call("default_config", "General.General")
    assert default["MachineName"] != "Porch"
    tree = yield call("export_config")
    assert tree["General.General"]["MachineName"] == "Porch"
    assert "Alarm.AlarmOut" in tree
    assert all(value is not None for value in tree.values())
    assert (yield call("export_config", ["General.General", "No.Such"])) == {
        "General.General": changed
    }
    assert (yield call("import_config", {"General.General": general})) == ["General.General"]
    assert state.get_config("General.General") == general
    update = yield call("update_config", "General.General", {"MachineName": "Shed"})
    assert isinstance(update, ConfigUpdate)
    assert (update.written, update.new) == (True, dict(general, MachineName="Shed"))
    assert state.get_config("General.General") == dict(general, MachineName="Shed")
    dry = yield call("update_config", "General.General", general, replace=True, dry_run=True)
    assert (dry.changed, dry.written) == (True, False)
    assert state.get_config("General.General")["MachineName"] == "Shed"
    probe = yield call("probe_config", ["General.*", "Camera.Param", "No.Such"])
    assert isinstance(probe, ConfigProbe)
    assert probe.names == [
        "General.General",
        "General.Location",
        "General.AutoMaintain",
        "Camera.Param.[0]",
    ]
    assert probe.refused == {"General.PwdSafety": 607, "No.Such": 607}
    assert probe.requests == 7  # SystemInfo, then the six names


def _alarm_out_tour(state: DeviceState) -> Tour:
    assert (yield call("alarm_outputs")) == [AlarmOutput(0, "auto", "CLOSE")]
    yield call("set_alarm_out", "on")
    assert state.get_config("Alarm.AlarmOut") == [
        {"AlarmOutStatus": "OPEN", "AlarmOutType": "MANUAL"}
    ]
    assert (yield call("alarm_outputs")) == [AlarmOutput(0, "on", "OPEN")]
    yield call("set_alarm_out", "off", 0)
    assert (yield call("alarm_outputs"))[0].mode == "off"
    yield call("set_alarm_out", "auto")
    assert (yield call("alarm_outputs"))[0].mode == "auto"


def _time_tour() -> Tour:
    assert isinstance((yield call("get_time")), datetime)
    yield call("set_time", datetime(2030, 1, 2, 3, 4, 5))
    device_time = yield call("get_time")
    assert abs((device_time - datetime(2030, 1, 2, 3, 4, 5)).total_seconds()) < 5
    assert (yield call("time_skew")) > 86400
    assert (yield call("sync_time")) > 86400
    assert abs((yield call("time_skew"))) < 5
    yield call("set_time")  # now
    assert abs((yield call("time_skew"))) < 5


def _account_tour(state: DeviceState) -> Tour:
    names = [user.name for user in (yield call("users"))]
    assert "admin" in names
    groups = yield call("groups")
    assert {group.name for group in groups} >= {"admin", "user"}
    rights = yield call("authorities")
    assert "SysInfo" in rights
    yield call("add_user", "alice", "secret", "user", memo="test")
    alice = next(user for user in (yield call("users")) if user.name == "alice")
    user_group = next(group for group in groups if group.name == "user")
    assert (alice.group, alice.memo, alice.authorities) == ("user", "test", user_group.authorities)
    assert "secret" not in repr(alice)
    yield call("change_password", "alice", "secret", "new")
    refused = yield call("change_password", "alice", "secret", "newer")
    assert isinstance(refused, XMCamError)
    yield call("remove_user", "alice")
    assert "alice" not in [user.name for user in (yield call("users"))]
    assert state.user("alice") is None
