"""The audit's plan, driven against a scripted device in memory (the core's device role, a
virtual clock, no sockets): what each setting means, what `fix` writes and reads back, how
passwords are judged without a hash ever reaching a finding, and what a refusal gives."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.client.test_operations import drive_with
from xmcam.client import audit as aud
from xmcam.client import operations as ops
from xmcam.client import plans
from xmcam.protocol.auth import sofia_hash
from xmcam.protocol.codes import MessageId
from xmcam.protocol.fields import format_device_time, parse_device_time

# The XM530's own values ([BES] command_codes/payloads/1043_*: tests/data/xm530).
XM530_CONFIGS: dict[str, Any] = {
    "NetWork.Nat": {"Addr": "secu100.net", "DnsServer1": "0xBC007C70", "DnsServer2": "0xEC845436",
                    "NatEnable": True, "Port": 8765, "XMeyeMTU": 1280},
    "NetWork.OnlineUpgrade": {"AutoCheck": True, "AutoUpgradeImp": True, "Enable": True,
                              "IgnoreAllVersion": True, "IgnoreCurTime": "0x00000000",
                              "IgnoreCurVersion": False, "JustImpVersion": False,
                              "ServerAddr": "upgrade.secu100.net", "ServerPort": 8083},
    "NetWork.PMS": {"BoxID": "", "Enable": True, "Port": 80, "PushInterval": 10,
                    "ServName": "push.umeye.cn"},
    "NetWork.Upnp": {"Enable": True, "HTTPPort": 80, "MediaPort": 34567, "MobilePort": 0,
                     "State": True},
    "NetWork.NetDDNS": [{"DDNSKey": "CN99", "Enable": False, "HostName": "your.3322.org"},
                        {"DDNSKey": "DynDns", "Enable": False, "HostName": "your.dyndns.org"}],
    "NetWork.NetNTP": {"Enable": True, "Server": {"Name": "time.windows.com", "Port": 123},
                       "TimeZone": 14, "UpdatePeriod": 10},
}  # fmt: skip
STRONG = sofia_hash("a long and private passphrase")


class ScriptedDevice:
    """Answers the audit's requests from its configs, users and clock, as a camera would:
    Ret 607 for a config it lacks, the set value kept, a time set moving its clock."""

    def __init__(
        self,
        configs: dict[str, Any],
        users: list[Any] | None = None,
        *,
        skew: float = 0.0,
        open_ports: tuple[int, ...] = (),
        refused: frozenset[int] = frozenset(),
        ignored_sets: frozenset[str] = frozenset(),
    ) -> None:
        self.configs = json.loads(json.dumps(configs))
        self.users = users if users is not None else [{"Name": "admin", "Password": STRONG}]
        self.offset = timedelta(seconds=skew)
        self.open_ports = open_ports
        self.refused = refused
        self.ignored_sets = ignored_sets
        self.now = datetime(2026, 12, 6, 10, 0, 0, 250_000)
        self.sets: list[str] = []
        self.probed: list[tuple[int, ...]] = []

    def clock(self) -> datetime:
        self.now += timedelta(milliseconds=3)  # a round trip of a few milliseconds
        return self.now

    def perform(self, step: Any) -> Any:
        if isinstance(step, plans.Run):
            return self._run(step.procedure)
        if isinstance(step, plans.Pause):
            self.now += timedelta(seconds=step.seconds)
            return None
        if isinstance(step, aud.ProbePorts):
            self.probed.append(step.ports)
            return [port for port in step.ports if port in self.open_ports]
        raise AssertionError(f"unexpected step {step!r}")

    def _run(self, procedure: ops.Procedure[Any]) -> Any:
        return drive_with(procedure, lambda call: self._body(call.message_id, call.body))

    def _body(self, message_id: int, request: Mapping[str, Any]) -> dict[str, Any]:  # noqa: PLR0911
        if message_id in self.refused:
            return {"Ret": 107}  # no permission
        name = request.get("Name", "")
        if message_id == MessageId.CONFIG_GET_REQ:
            if name not in self.configs:
                return {"Name": name, "Ret": 607}
            return {"Name": name, "Ret": 100, name: self.configs[name]}
        if message_id == MessageId.CONFIG_SET_REQ:
            self.sets.append(name)
            if name not in self.ignored_sets:
                self.configs[name] = request[name]
            return {"Name": name, "Ret": 100}
        if message_id == MessageId.USERS_GET_REQ:
            return {"Name": "", "Ret": 100, "Users": self.users}
        if message_id == MessageId.TIMEQUERY_REQ:
            device = (self.now + self.offset).replace(microsecond=0)
            return {"Name": "OPTimeQuery", "Ret": 100, "OPTimeQuery": format_device_time(device)}
        if message_id == MessageId.SYSMANAGER_REQ and name == "OPTimeSetting":
            when = parse_device_time(request["OPTimeSetting"])
            assert when is not None
            self.offset = when - self.now
            return {"Name": name, "Ret": 100}
        raise AssertionError(f"unexpected request {message_id} {name}")

    def audit(self, **options: Any) -> aud.AuditReport:
        return plans.drive(aud.audit(self.clock, **options), self.perform)


def by_check(report: aud.AuditReport) -> dict[str, aud.Finding]:
    return {finding.check: finding for finding in report.findings}


def test_the_xm530s_own_settings_fail_where_they_phone_home() -> None:
    report = ScriptedDevice(XM530_CONFIGS).audit()
    found = by_check(report)
    assert [finding.check for finding in report.findings] == [
        "cloud", "cloud-upgrade", "push", "upnp", "ddns", "ntp", "clock", "passwords",
        "default-account", "ports",
    ]  # fmt: skip
    assert {check for check, f in found.items() if f.status == "fail"} == {
        "cloud", "cloud-upgrade", "push", "upnp"
    }  # fmt: skip
    assert found["cloud"].summary == "the XMEye cloud (P2P) is on (secu100.net)"
    assert found["cloud"].severity == "high"
    assert found["cloud"].fixable
    assert found["push"].summary.endswith("(push.umeye.cn)")
    assert found["ntp"].summary == "NTP is on (time.windows.com)"
    assert not report.passed
    assert report.unknown == ()


def test_fix_turns_each_setting_off_and_reads_it_back() -> None:
    device = ScriptedDevice(XM530_CONFIGS)
    report = device.audit(fix=True)
    assert report.passed
    assert [finding.check for finding in report.fixed] == ["cloud", "cloud-upgrade", "push", "upnp"]
    nat, upgrade = device.configs["NetWork.Nat"], device.configs["NetWork.OnlineUpgrade"]
    assert nat == {**XM530_CONFIGS["NetWork.Nat"], "NatEnable": False}  # the rest kept, whole
    switches = (upgrade["Enable"], upgrade["AutoCheck"], upgrade["AutoUpgradeImp"])
    assert switches == (False, False, True)  # the two that reach out; the rest kept
    assert device.configs["NetWork.Upnp"]["State"] is True  # a state, not a switch: untouched
    assert device.sets == ["NetWork.Nat", "NetWork.OnlineUpgrade", "NetWork.PMS", "NetWork.Upnp"]
    assert device.audit().passed  # and a second look agrees


def test_a_fix_the_camera_ignores_stays_a_failure() -> None:
    device = ScriptedDevice(XM530_CONFIGS, ignored_sets=frozenset({"NetWork.Nat"}))
    found = by_check(device.audit(fix=True))
    assert found["cloud"].status == "fail"
    assert not found["cloud"].fixed
    assert found["cloud"].summary.endswith("(still, after the fix was written)")
    assert found["push"].fixed


def test_ddns_fails_when_any_provider_is_on_and_fix_turns_every_one_off() -> None:
    providers = [{"DDNSKey": "CN99", "Enable": False}, {"DDNSKey": "DynDns", "Enable": True}]
    configs = {**XM530_CONFIGS, "NetWork.NetDDNS": providers}
    device = ScriptedDevice(configs)
    assert "(DynDns)" in by_check(device.audit())["ddns"].summary
    assert by_check(device.audit(fix=True))["ddns"].fixed
    assert [p["Enable"] for p in device.configs["NetWork.NetDDNS"]] == [False, False]


def test_ntp_off_fails_and_is_not_switched_on() -> None:
    configs = {**XM530_CONFIGS, "NetWork.NetNTP": {"Enable": False}}
    device = ScriptedDevice(configs)
    found = by_check(device.audit(fix=True))["ntp"]
    assert (found.status, found.fixable, found.fixed) == ("fail", False, False)
    assert "NetWork.NetNTP" not in device.sets


def test_a_missing_or_refused_setting_is_unknown_with_its_ret() -> None:
    report = ScriptedDevice({}).audit()
    cloud = by_check(report)["cloud"]
    assert (cloud.status, cloud.detail) == ("unknown", {"ret": 607})
    assert "Ret 607" in cloud.summary
    assert len(report.unknown) == 6
    assert report.passed
    accounts = by_check(ScriptedDevice({}, refused=frozenset({MessageId.USERS_GET_REQ})).audit())
    assert accounts["passwords"].status == accounts["default-account"].status == "unknown"


@pytest.mark.parametrize(
    ("value", "status"),
    [({"NatEnable": "yes"}, "unknown"), ([1, 2], "unknown"), (None, "unknown"),
     ({"NatEnable": False}, "pass")],
)  # fmt: skip
def test_an_unreadable_setting_is_unknown_and_not_written(value: Any, status: str) -> None:
    device = ScriptedDevice({**XM530_CONFIGS, "NetWork.Nat": value})
    assert by_check(device.audit(fix=True))["cloud"].status == status
    assert "NetWork.Nat" not in device.sets


def test_weak_passwords_are_found_by_their_hashes_and_never_reported_with_them() -> None:
    users = [
        {"Name": "admin", "Password": sofia_hash("")},
        {"Name": "guest", "Password": sofia_hash("guest")},
        {"Name": "default", "Password": sofia_hash("tluafed")},
        {"Name": "viewer", "Password": sofia_hash("888888")},
        {"Name": "owner", "Password": STRONG},
    ]
    report = ScriptedDevice(XM530_CONFIGS, users).audit()
    found = by_check(report)
    assert found["passwords"].status == "fail"
    assert found["passwords"].detail["weak"] == [
        {"user": "admin", "weakness": "blank"},
        {"user": "guest", "weakness": "own-name"},
        {"user": "default", "weakness": "known"},
        {"user": "viewer", "weakness": "known"},
    ]
    assert found["default-account"].status == "fail"
    assert "CVE-2018-17919" in found["default-account"].summary
    text = repr(report)
    for user in users:
        assert user["Password"] not in text


def test_strong_passwords_pass_and_unreadable_ones_are_unknown() -> None:
    strong = by_check(ScriptedDevice(XM530_CONFIGS).audit())["passwords"]
    assert (strong.status, strong.summary) == ("pass", "no weak password among 1 account(s)")
    redacted = [{"Name": "admin", "Password": "<redacted>"}, {"Name": "x"}, "junk", {"Name": 5}]
    unknown = by_check(ScriptedDevice(XM530_CONFIGS, redacted).audit())["passwords"]
    assert unknown.status == "unknown"
    assert "'admin', 'x'" in unknown.summary


def test_a_skewed_clock_fails_and_fix_syncs_it() -> None:
    device = ScriptedDevice(XM530_CONFIGS, skew=-3600)
    found = by_check(device.audit())["clock"]
    assert (found.status, found.summary) == ("fail", "the clock is 3600 s behind this host")
    assert found.detail["skew_seconds"] == pytest.approx(-3600, abs=1)
    fixed = by_check(device.audit(fix=True))["clock"]
    assert fixed.fixed
    assert abs(fixed.detail["skew_seconds"]) < 1
    assert by_check(ScriptedDevice(XM530_CONFIGS, skew=30).audit(max_skew=10))["clock"].status == (
        "fail"
    )
    with pytest.raises(ValueError, match="max_skew"):
        ScriptedDevice(XM530_CONFIGS).audit(max_skew=-1)


def test_ports_are_knocked_on_as_asked() -> None:
    device = ScriptedDevice(XM530_CONFIGS, open_ports=(9527, 23))
    found = by_check(device.audit())["ports"]
    assert device.probed == [aud.AUDIT_PORTS]
    assert found.status == "fail"
    assert found.summary == "open: 23 (telnet), 9527 (debug shell (CVE-2021-41506))"
    assert by_check(device.audit(ports=(80,)))["ports"].summary == "closed: 80"
    assert "ports" not in by_check(device.audit(ports=None))
    assert "ports" not in by_check(device.audit(ports=()))


_flags = st.none() | st.booleans() | st.integers() | st.text(max_size=3)


@given(
    st.dictionaries(
        st.sampled_from(sorted(XM530_CONFIGS)),
        st.dictionaries(st.sampled_from(["Enable", "NatEnable", "AutoCheck", "Addr"]), _flags)
        | st.lists(st.dictionaries(st.sampled_from(["Enable", "DDNSKey"]), _flags), max_size=3)
        | _flags,
    )
)
def test_any_settings_give_a_verdict_for_every_check_and_fix_never_raises(
    configs: dict[str, Any],
) -> None:
    device = ScriptedDevice(configs)
    report = device.audit(fix=True, ports=None)
    assert len(report.findings) == 9
    assert all(finding.status in {"pass", "fail", "unknown"} for finding in report.findings)
    for finding in report.findings:
        assert not finding.fixed or finding.status == "pass"


def test_a_clock_the_camera_will_not_tell_or_writes_unreadably_is_unknown() -> None:
    refused = ScriptedDevice(XM530_CONFIGS, refused=frozenset({MessageId.TIMEQUERY_REQ}))
    found = by_check(refused.audit(fix=True))["clock"]
    assert (found.status, found.detail) == ("unknown", {"ret": 107})

    class GarbledClock(ScriptedDevice):
        def _body(self, message_id: int, request: Mapping[str, Any]) -> dict[str, Any]:
            if message_id == MessageId.TIMEQUERY_REQ:
                return {"Name": "OPTimeQuery", "Ret": 100, "OPTimeQuery": "yesterday-ish"}
            return super()._body(message_id, request)

    garbled = by_check(GarbledClock(XM530_CONFIGS).audit())["clock"]
    assert garbled.status == "unknown"
    assert "unreadable" in garbled.summary


def test_a_refused_fix_says_so_and_the_failure_stands() -> None:
    device = ScriptedDevice(XM530_CONFIGS, refused=frozenset({MessageId.CONFIG_SET_REQ}))
    found = by_check(device.audit(fix=True))["cloud"]
    assert found.status == "fail"
    assert not found.fixed
    assert found.summary.endswith("; the fix was refused: Ret 107 (no permission)")
