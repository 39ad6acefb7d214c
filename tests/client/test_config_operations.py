"""The config procedures against a device that REPLACES what it is sent (as real firmware may:
it wants the whole object back), with every request the client sends recorded:
merge before write, the probe of every known name, identity kept on import, abilities of any
shape. Bytes go through the core's two roles in memory (no sockets)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tests.client.test_operations import drive_with
from xmcam.client import config_names
from xmcam.client import operations as ops
from xmcam.client.models import ConfigChange
from xmcam.errors import DeviceError, NotLoggedInError
from xmcam.protocol import MessageId

_INDEXED = re.compile(r"(.*)\.\[(\d+)\]\Z")

NET_COMMON = {
    "GateWay": "0x0101A8C0",
    "HostIP": "0x6901A8C0",
    "HostName": "LocalHost",
    "HttpPort": 80,
    "MAC": "00:12:41:cb:dd:1d",
    "SN": "09d53d540f99b818",
    "Submask": "0x00FFFFFF",
    "TCPPort": 34567,
}


class ReplacingDevice:
    """A config store that answers 1042 with the value, 1040 by REPLACING the value with the
    one sent (no merge), 1020 SystemInfo, 1360 abilities; unknown names get `missing_ret`.
    Every request body is recorded in `sent`."""

    def __init__(self, config: dict[str, Any], **system: Any) -> None:
        self.config = copy.deepcopy(config)
        self.system = {"VideoInChannel": 1, "DigChannel": 0, "AlarmInChannel": 1, **system}
        self.abilities: dict[str, Any] = {}
        self.rets: dict[str, int] = {}  # name -> Ret to refuse it with
        self.sent: list[tuple[int, dict[str, Any]]] = []

    def body(self, call: ops.Call) -> dict[str, Any]:
        body = dict(call.body)
        self.sent.append((call.message_id, copy.deepcopy(body)))
        name = body.get("Name", "")
        if name in self.rets:
            return {"Name": name, "Ret": self.rets[name]}
        value: Any = None
        if call.message_id == MessageId.SYSINFO_REQ:
            value = self.system
        elif call.message_id == MessageId.ABILITY_GET_REQ:
            value = self.abilities.get(name)
        elif call.message_id == MessageId.CONFIG_GET_REQ:
            value = self._get(name)
        elif call.message_id == MessageId.CONFIG_SET_REQ:
            if self._get(name) is not None:
                self._put(name, copy.deepcopy(body[name]))
                return {"Name": name, "Ret": 100}
        else:
            raise AssertionError(f"unexpected request {call}")
        if value is None:
            return {"Name": name, "Ret": 607, name: None}
        return {"Name": name, "Ret": 100, name: value}

    def _get(self, name: str) -> Any:
        if name in self.config:
            return copy.deepcopy(self.config[name])
        indexed = _INDEXED.fullmatch(name)
        if indexed and isinstance(self.config.get(indexed[1]), list):
            items = self.config[indexed[1]]
            index = int(indexed[2])
            return copy.deepcopy(items[index]) if index < len(items) else None
        return None

    def _put(self, name: str, value: Any) -> None:
        indexed = _INDEXED.fullmatch(name)
        if name not in self.config and indexed:
            self.config[indexed[1]][int(indexed[2])] = value
        else:
            self.config[name] = value

    def run(self, procedure: ops.Procedure[Any]) -> Any:
        return drive_with(procedure, self.body)

    def names_sent(self, message_id: int) -> list[str]:
        return [body["Name"] for sent_id, body in self.sent if sent_id == message_id]

    def written(self) -> list[tuple[str, Any]]:
        return [
            (body["Name"], body[body["Name"]])
            for sent_id, body in self.sent
            if sent_id == MessageId.CONFIG_SET_REQ
        ]


GENERAL = {"MachineName": "LocalHost", "AutoLogout": 0, "VideoOutPut": "Auto"}


# ------------------------------------------------------------------ set: read, merge, write


def test_a_partial_set_sends_the_whole_object_and_the_others_survive() -> None:
    device = ReplacingDevice({"General.General": GENERAL})
    update = device.run(ops.update_config("General.General", {"MachineName": "porch"}))
    expected = dict(GENERAL, MachineName="porch")
    assert device.written() == [("General.General", expected)]
    assert device.config["General.General"] == expected  # nothing lost on a replacing device
    assert update.changes == (ConfigChange(("MachineName",), "LocalHost", "porch"),)
    assert (update.written, update.old, update.new) == (True, GENERAL, expected)


def test_replace_sends_the_value_as_given() -> None:
    device = ReplacingDevice({"General.General": GENERAL})
    update = device.run(
        ops.update_config("General.General", {"MachineName": "porch"}, replace=True)
    )
    assert device.written() == [("General.General", {"MachineName": "porch"})]
    assert {change.kind for change in update.changes} == {"changed", "removed"}


def test_nothing_is_written_when_nothing_changes_or_in_a_dry_run() -> None:
    device = ReplacingDevice({"General.General": GENERAL})
    unchanged = device.run(ops.update_config("General.General", {"MachineName": "LocalHost"}))
    dry = device.run(ops.update_config("General.General", {"AutoLogout": 5}, dry_run=True))
    assert (unchanged.changed, unchanged.written) == (False, False)
    assert (dry.changed, dry.written) == (True, False)
    assert dry.new["AutoLogout"] == 5
    assert device.written() == []
    assert device.names_sent(MessageId.CONFIG_GET_REQ) == ["General.General"] * 2


def test_elements_of_an_array_are_changed_by_index() -> None:
    outputs = [{"AlarmOutStatus": "CLOSE", "AlarmOutType": "AUTO"}] * 3
    device = ReplacingDevice({"Alarm.AlarmOut": outputs})
    device.run(ops.update_config("Alarm.AlarmOut", {"1": {"AlarmOutType": "MANUAL"}}))
    ((_, sent),) = device.written()
    assert [item["AlarmOutType"] for item in sent] == ["AUTO", "MANUAL", "AUTO"]
    assert all(item["AlarmOutStatus"] == "CLOSE" for item in sent)


def test_a_value_that_cannot_be_merged_is_refused_before_any_write() -> None:
    device = ReplacingDevice({"Alarm.AlarmOut": [{"AlarmOutType": "AUTO"}]})
    with pytest.raises(ValueError, match="array of 1"):
        device.run(ops.update_config("Alarm.AlarmOut", {"AlarmOutType": "MANUAL"}))
    with pytest.raises(ValueError, match="no element 4"):
        device.run(ops.update_config("Alarm.AlarmOut", {"4": {}}))
    assert device.written() == []


def test_redacted_placeholders_write_the_device_secret_back() -> None:
    wifi = {"SSID": "home", "Keys": "wifi-secret", "Enable": True}
    device = ReplacingDevice({"NetWork.Wifi": wifi})
    device.run(ops.update_config("NetWork.Wifi", {"Keys": "<redacted>", "SSID": "away"}))
    assert device.written() == [("NetWork.Wifi", dict(wifi, SSID="away"))]


def test_a_refused_read_writes_nothing() -> None:
    device = ReplacingDevice({})
    with pytest.raises(DeviceError) as caught:
        device.run(ops.update_config("No.Such", {"x": 1}))
    assert caught.value.ret == 607
    assert device.written() == []


# ------------------------------------------------------------------ import


def test_import_keeps_this_devices_identity_and_writes_only_what_changed() -> None:
    device = ReplacingDevice({"NetWork.NetCommon": NET_COMMON, "General.General": GENERAL})
    other = dict(
        NET_COMMON,
        HostIP="0x0A01A8C0",
        MAC="00:12:41:00:00:01",
        SN="0000000000000001",
        GateWay="0xFE01A8C0",
        HttpPort=8080,
    )
    written = device.run(
        ops.import_config({"NetWork.NetCommon": other, "General.General": GENERAL})
    )
    assert written == ["NetWork.NetCommon"]  # General.General was the same: not written
    assert device.written() == [("NetWork.NetCommon", dict(NET_COMMON, HttpPort=8080))]


def test_import_with_identity_writes_it() -> None:
    device = ReplacingDevice({"NetWork.NetCommon": NET_COMMON})
    other = dict(NET_COMMON, HostIP="0x0A01A8C0")
    device.run(ops.import_config({"NetWork.NetCommon": other}, include_identity=True))
    assert device.config["NetWork.NetCommon"]["HostIP"] == "0x0A01A8C0"


def test_identity_kept_is_reported() -> None:
    device = ReplacingDevice({"NetWork.NetCommon": NET_COMMON})
    other = dict(NET_COMMON, HostIP="0x0A01A8C0", Extra=1)
    del other["SN"]
    update = device.run(ops.update_config("NetWork.NetCommon", other, keep_identity=True))
    assert update.identity_kept == ("HostIP",)
    assert update.new["HostIP"] == NET_COMMON["HostIP"]
    assert update.new["SN"] == NET_COMMON["SN"]  # left out of the file: the device's stays
    assert update.changes == (ConfigChange(("Extra",), None, 1, "added"),)


# ------------------------------------------------------------------ probe and export


def _known_config() -> dict[str, Any]:
    return {
        "General.General": GENERAL,
        "NetWork.NetCommon": NET_COMMON,
        "Camera.Param": [{"Flip": n} for n in range(4)],
        "Detect.MotionDetect": [{"Enable": n % 2 == 0} for n in range(4)],
        "Alarm.LocalAlarm": [{"Enable": False}, {"Enable": True}],
        "Alarm.AlarmOut": [{"AlarmOutType": "AUTO"}],
    }


def test_export_asks_for_every_known_name_once_per_channel_on_one_exchange() -> None:
    device = ReplacingDevice(_known_config(), VideoInChannel=0, DigChannel=4, AlarmInChannel=2)
    device.rets["Record.[2]"] = 103
    probe = device.run(ops.probe_config())
    asked = device.names_sent(MessageId.CONFIG_GET_REQ)
    assert device.names_sent(MessageId.SYSINFO_REQ) == ["SystemInfo"]
    assert len(asked) == len(set(asked))
    assert "Camera.Param" not in asked
    assert [name for name in asked if name.startswith("Camera.Param.")] == [
        f"Camera.Param.[{n}]" for n in range(4)
    ]
    assert "Alarm.LocalAlarm.[1]" in asked
    assert "Alarm.LocalAlarm.[2]" not in asked
    for entry in config_names.KNOWN_CONFIGS:
        if entry.scope == "device":
            assert entry.name in asked
    assert probe.values["Camera.Param.[3]"] == {"Flip": 3}
    assert probe.values["Alarm.LocalAlarm.[1]"] == {"Enable": True}
    assert probe.values["Alarm.AlarmOut"] == [{"AlarmOutType": "AUTO"}]
    assert len(probe.values) == 2 + 4 + 4 + 2 + 1
    assert probe.refused["Record.[2]"] == 103
    assert probe.refused["AVEnc.Encode"] == 607
    assert probe.requests == len(device.sent) == len(asked) + 1
    assert probe.probed == len(asked)
    assert (probe.video_channels, probe.alarm_inputs) == (4, 2)


def test_every_refusal_is_skipped_and_counted_by_its_ret() -> None:
    device = ReplacingDevice({"A": {"x": 1}, "B": [None], "C": {"": [""]}})
    device.rets |= {"D": 103, "E": 107, "F": 605}
    probe = device.run(ops.probe_config(["A", "B", "C", "D", "E", "F", "G"]))
    assert probe.values == {"A": {"x": 1}}
    assert probe.refused == {"B": 607, "C": 607, "D": 103, "E": 107, "F": 605, "G": 607}
    assert device.names_sent(MessageId.SYSINFO_REQ) == []  # no per-channel name chosen
    assert probe.requests == 7


def test_a_lost_login_ends_the_probe() -> None:
    device = ReplacingDevice({"A": {}, "C": {}})
    device.rets["B"] = 105
    with pytest.raises(NotLoggedInError):
        device.run(ops.probe_config(["A", "B", "C"]))
    assert device.names_sent(MessageId.CONFIG_GET_REQ) == ["A", "B"]


def test_chosen_names_patterns_and_channels() -> None:
    device = ReplacingDevice(_known_config(), VideoInChannel=2)
    probe = device.run(
        ops.probe_config(["General.General", "Camera.Param", "Camera.Param.[1]", "Detect.*"])
    )
    asked = device.names_sent(MessageId.CONFIG_GET_REQ)
    assert asked[:3] == ["General.General", "Camera.Param.[0]", "Camera.Param.[1]"]
    assert all(name.startswith("Detect.") for name in asked[3:])
    assert len(asked) == 3 + 2 * 4  # four Detect names, two channels each
    assert list(probe.values) == [
        "General.General",
        "Camera.Param.[0]",
        "Camera.Param.[1]",
        "Detect.MotionDetect.[0]",
        "Detect.MotionDetect.[1]",
    ]
    with pytest.raises(ValueError, match="Nothing"):
        device.run(ops.probe_config(["Nothing.*"]))


@pytest.mark.parametrize(
    ("system", "counts"),
    [
        ({"VideoInChannel": 1, "AlarmInChannel": 0}, (1, 0)),
        ({"VideoInChannel": 4, "DigChannel": 4}, (8, 1)),
        ({"VideoInChannel": 10**9, "AlarmInChannel": "0x7fffffff"}, (256, 256)),
        ({"VideoInChannel": None, "AlarmInChannel": -3, "DigChannel": None}, (1, 0)),
    ],
)
def test_channel_counts_come_from_system_info_and_are_bounded(
    system: dict[str, Any], counts: tuple[int, int]
) -> None:
    device = ReplacingDevice({})
    device.system = system
    probe = device.run(ops.probe_config(["Camera.Param", "Alarm.LocalAlarm"]))
    assert (probe.video_channels, probe.alarm_inputs) == counts
    assert probe.requests == 1 + sum(counts)


def test_a_refused_system_info_probes_one_channel() -> None:
    device = ReplacingDevice({"Camera.Param": [{"Flip": 0}, {"Flip": 1}]})
    device.rets["SystemInfo"] = 103
    probe = device.run(ops.probe_config(["Camera.Param"]))
    assert list(probe.values) == ["Camera.Param.[0]"]


def test_export_config_returns_the_values() -> None:
    device = ReplacingDevice({"General.General": GENERAL})
    assert device.run(ops.export_config(["General.General", "No.Such"])) == {
        "General.General": GENERAL
    }


# ------------------------------------------------------------------ abilities


@pytest.mark.parametrize(
    ("name", "value"),
    [  # the shapes a real XM530 sends ([BES] command_codes/payloads/1361_*)
        ("SystemFunction", {"AlarmFunction": {"MotionDetect": True}}),
        ("ComProtocol", ["NONE", "GPS", "InteractCmd", "Transparent"]),
        ("DDNSService", ["CN99", "DynDns", "Oray", "NO-IP", "MYQ-SEE"]),
        ("UartProtocol", ["NONE"]),
        ("MultiVstd", "PAL|NTSC"),
        ("MotionArea", {"GridColumn": 7, "GridRow": 7}),
    ],
)
def test_abilities_of_any_shape(name: str, value: Any) -> None:
    device = ReplacingDevice({})
    device.abilities[name] = value
    assert device.run(ops.abilities(name)) == value


def test_a_refused_ability_raises_its_ret() -> None:
    device = ReplacingDevice({})
    device.rets["VencMaxFps"] = 103  # [BES] 1361_VencMaxFps_response
    with pytest.raises(DeviceError) as caught:
        device.run(ops.abilities("VencMaxFps"))
    assert caught.value.ret == 103
