"""The catalogue of known config names: per-channel expansion, choosing by pattern, identity."""

from __future__ import annotations

import pytest

from xmcam.client import config_names as cn


def test_the_catalogue_has_each_name_once_and_no_suffixes() -> None:
    names = [entry.name for entry in cn.KNOWN_CONFIGS]
    assert len(names) == len(set(names))
    assert all(cn.base_name(name) == name for name in names)


def test_every_name_a_real_camera_answered_is_known() -> None:
    # [BES]: the names an XM530 answered with Ret 100 (readouts left out), per channel as asked.
    answered = {
        "AVEnc.Encode", "AVEnc.EncodeStaticParam", "AVEnc.SmartH264", "AVEnc.SmartH264V2.[0]",
        "AVEnc.VideoWidget", "Alarm.AlarmOut", "Alarm.LocalAlarm.[0]", "BrowserLanguage",
        "Camera.ClearFog", "Camera.Param.[0]", "Camera.ParamEx.[0]", "Detect.BlindDetect.[0]",
        "Detect.HumanDetection.[0]", "Detect.LossDetect.[0]", "Detect.MotionDetect.[0]",
        "General.AutoMaintain", "General.General", "General.Location", "General.PwdSafety",
        "NetWork.AlarmServer", "NetWork.Nat", "NetWork.NetCommon", "NetWork.NetDDNS",
        "NetWork.NetDHCP", "NetWork.NetDNS", "NetWork.NetEmail", "NetWork.NetFTP",
        "NetWork.NetIPFilter", "NetWork.NetNTP", "NetWork.OnlineUpgrade",
        "NetWork.OnvifPwdCheckout", "NetWork.PMS", "NetWork.RTSP", "NetWork.TranCommData",
        "NetWork.Upnp", "NetWork.Wifi", "OEMcfg.Correspondent", "Record.[0]",
        "Simplify.Encode.[0]", "Storage.Snapshot.[0]", "Storage.StorageNotExist",
        "Storage.StoragePosition", "System.ExUserMap", "System.TimeZone", "Uart.Comm",
        "Uart.PTZ", "Uart.RS485", "fVideo.GUISet", "fVideo.Volume",
    }  # fmt: skip
    counts: dict[cn.Scope, int] = {"video": 1, "alarm_in": 1}
    expanded = {name for entry in cn.KNOWN_CONFIGS for name in cn.expand(entry, counts)}
    assert answered <= expanded


def test_expand_once_per_channel_of_the_entrys_kind() -> None:
    counts: dict[cn.Scope, int] = {"video": 3, "alarm_in": 0}
    assert cn.expand(cn.ConfigName("Record", "video"), counts) == [
        "Record.[0]",
        "Record.[1]",
        "Record.[2]",
    ]
    assert cn.expand(cn.ConfigName("Alarm.LocalAlarm", "alarm_in"), counts) == []
    assert cn.expand(cn.ConfigName("General.General"), counts) == ["General.General"]


def test_select_every_name_by_default_and_by_pattern() -> None:
    assert cn.select(None) == list(cn.KNOWN_CONFIGS)
    network = [entry.name for entry in cn.select(["NetWork.*"])]
    assert "NetWork.NetCommon" in network
    assert all(name.startswith("NetWork.") for name in network)
    assert [entry.name for entry in cn.select(["Detect.*Detect"])] == [
        "Detect.MotionDetect",
        "Detect.BlindDetect",
        "Detect.LossDetect",
    ]


def test_select_plain_names_known_or_not_in_order_without_repeats() -> None:
    chosen = cn.select(["Record", "Vendor.Thing", "Record", " General.General "])
    assert chosen == [
        cn.ConfigName("Record", "video"),
        cn.ConfigName("Vendor.Thing"),
        cn.ConfigName("General.General"),
    ]
    assert cn.select(["Camera.Param.[1]"]) == [cn.ConfigName("Camera.Param.[1]")]


@pytest.mark.parametrize("pattern", ["Nothing.*", "", "  "])
def test_select_refuses_a_pattern_that_chooses_nothing(pattern: str) -> None:
    with pytest.raises(ValueError, match="config name"):
        cn.select([pattern])


def test_identity_members() -> None:
    assert ("HostIP",) in cn.identity_members("NetWork.NetCommon")
    assert ("MAC",) in cn.identity_members("NetWork.NetCommon")
    assert ("SN",) in cn.identity_members("NetWork.NetCommon")
    assert cn.identity_members("NetWork.Wifi") == [("HostIP",), ("Submask",), ("GateWay",)]
    assert ("NetCommon", "HostIP") in cn.identity_members("NetWork")
    assert ("Wifi", "HostIP") in cn.identity_members("NetWork")
    assert cn.identity_members("General.General") == []
    assert cn.identity_members("Unknown") == []


def test_base_name_and_known_config() -> None:
    assert cn.base_name("Camera.Param.[12]") == "Camera.Param"
    assert cn.base_name("Camera.Param.[x]") == "Camera.Param.[x]"
    entry = cn.known_config("Detect.MotionDetect.[3]")
    assert entry is not None
    assert entry.scope == "video"
    assert cn.known_config("No.Such") is None
