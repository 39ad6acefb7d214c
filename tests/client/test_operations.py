"""The shared sans-I/O operations: bodies, lenient reply parsing, unsupported-config replies,
and the procedure protocol, with replies built by the core's device role (no sockets)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from xmcam.client import operations as ops
from xmcam.client.models import AlarmEvent, SystemInfo
from xmcam.client.plans import Pause, Run
from xmcam.client.plans import drive as drive_plan
from xmcam.errors import ConfigNotFoundError, DeviceError, PayloadError
from xmcam.protocol import ClientConnection, DeviceConnection, LoginRequest, Reply, Request


class Exchange:
    """A client connection and a device connection joined in memory."""

    def __init__(self) -> None:
        self.client = ClientConnection()
        self.device = DeviceConnection()
        (login,) = self.device.receive_data(self.client.login("admin", ""))
        assert isinstance(login, LoginRequest)
        self.client.receive_data(self.device.accept_login(login, 7, {"Ret": 100}))

    def answer(self, call: ops.Call, body: dict[str, Any]) -> Reply:
        (request,) = self.device.receive_data(self.client.request(call.message_id, call.body))
        assert isinstance(request, Request)
        (reply,) = self.client.receive_data(self.device.reply(request, body))
        assert isinstance(reply, Reply)
        return reply


def drive_with(procedure: ops.Procedure[Any], answer: Callable[[ops.Call], dict[str, Any]]) -> Any:
    """Run a procedure, answering each of its calls with the body `answer(call)` gives (a
    failure Ret reaches the procedure as its DeviceError, as from a camera)."""
    exchange = Exchange()
    outcome: Reply | DeviceError | None = None
    while not isinstance(step := ops.advance(procedure, outcome), ops.Finished):
        reply = exchange.answer(step, answer(step))
        try:
            reply.raise_for_ret()
        except DeviceError as error:
            outcome = error
        else:
            outcome = reply
    return step.value


def drive(procedure: ops.Procedure[Any], *bodies: dict[str, Any]) -> Any:
    """Run a procedure, answering its calls with `bodies` in turn (Ret 100 added)."""
    answers = iter(bodies)
    return drive_with(procedure, lambda call: {"Ret": 100, **next(answers)})


@pytest.mark.parametrize(
    "body",
    [
        {"Ret": 607},
        {"": [""]},
        {"Name": "Camera.Param.[0]", "Camera.Param.[0]": [None]},
        {"Name": "Camera.Param.[0]", "Camera.Param.[0]": None},
        {"Name": "Camera.Param.[0]"},
    ],
)
def test_unsupported_config_replies_raise_config_not_found(body: dict[str, Any]) -> None:
    with pytest.raises(ConfigNotFoundError):
        drive(ops.get_config("Camera.Param.[0]"), body)


def test_export_skips_unsupported_names() -> None:
    tree = drive(
        ops.export_config(["A", "B", "C"]),
        {"A": {"x": 1}},
        {"": [""]},
        {"Ret": 607},
    )
    assert tree == {"A": {"x": 1}}


def test_other_refusals_are_skipped_by_export_too() -> None:
    # Any failure Ret skips the name (a whole backup asks for names the device may not
    # have, and some firmware says 103 or 107 instead of 607); the probe counts them.
    assert drive(ops.export_config(["A", "B"]), {"Ret": 107}, {"B": 1}) == {"B": 1}


def test_system_info_reads_hex_and_tolerates_garbage() -> None:
    info = drive(
        ops.system_info(),
        {"SystemInfo": {"DeviceRunTime": "0x0000019A", "HardWare": 5, "VideoInChannel": "4"}},
    )
    assert (info.uptime_minutes, info.model, info.channels) == (0x19A, None, 4)
    with pytest.raises(PayloadError):
        drive(ops.system_info(), {"SystemInfo": [1, 2]})


def test_channels_count_digital_channels_of_recorders() -> None:
    def channels(**info: object) -> int | None:
        system: SystemInfo = drive(ops.system_info(), {"SystemInfo": info})
        return system.channels

    assert channels(VideoInChannel=0, DigChannel=8) == 8  # a network recorder
    assert channels(VideoInChannel=4, DigChannel=4) == 8  # a hybrid recorder
    assert channels(VideoInChannel=1) == 1  # the seed's camera
    assert channels(DigChannel="0x4") == 4
    assert channels(VideoInChannel=True, DigChannel=2.0) == 2  # a bool is no count
    assert channels() is None


def test_system_info_fields_as_devices_write_them() -> None:
    raw = {
        "HardWare": "HI3516D", "SoftWareVersion": "V4.03", "SerialNo": "abc",
        "BuildTime": "2020-02-26 17:11:38", "HardWareVersion": "1.01",
        "AlarmInChannel": "2", "AlarmOutChannel": True, "DeviceRunTime": 12.0,
    }  # fmt: skip
    info: SystemInfo = drive(ops.system_info(), {"SystemInfo": raw})
    assert info == SystemInfo("HI3516D", "V4.03", "abc", "2020-02-26 17:11:38", "1.01",
                              None, 2, None, 12, raw)  # fmt: skip
    assert info.raw == raw
    assert dataclasses.replace(info, model=None).model is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.model = "x"  # type: ignore[misc]
    plain = drive(ops.system_info(), {"SystemInfo": {"AlarmInChannel": 1, "AlarmOutChannel": 0}})
    assert (plain.alarm_in, plain.alarm_out, plain.uptime_minutes) == (1, 0, None)
    assert plain.firmware is None


def test_storage_and_work_state_tolerate_missing_parts() -> None:
    assert drive(ops.storage_info(), {"StorageInfo": None}) == []
    disk = drive(ops.storage_info(), {"StorageInfo": {"PlysicalNo": 1, "Partition": "x"}})[0]
    assert (disk.number, disk.partitions, disk.total_mb) == (1, (), 0)
    state = drive(ops.work_state(), {"WorkState": {"AlarmState": {"VideoMotion": "0x3"}}})
    assert (state.video_motion, state.alarm_in, state.recording) == (3, 0, ())


def test_time_is_read_and_written_in_the_device_format() -> None:
    assert drive(ops.get_time(), {"OPTimeQuery": "2009-09-24 09:20:24"}) == datetime(
        2009, 9, 24, 9, 20, 24
    )
    with pytest.raises(PayloadError):
        drive(ops.get_time(), {"OPTimeQuery": "yesterday"})
    call = next(ops.set_time(datetime(2020, 1, 2, 3, 4, 5)))
    assert call.body == {"Name": "OPTimeSetting", "OPTimeSetting": "2020-01-02 03:04:05"}
    # Whole seconds, rounded: 05.6 is nearer 06 than 05.
    call = next(ops.set_time(datetime(2020, 1, 2, 3, 4, 5, 600_000)))
    assert call.body["OPTimeSetting"] == "2020-01-02 03:04:06"
    call = next(ops.set_time(datetime(2020, 1, 2, 3, 4, 5, 400_000)))
    assert call.body["OPTimeSetting"] == "2020-01-02 03:04:05"


def test_time_skew_takes_the_host_time_halfway_and_the_middle_of_the_device_second() -> None:
    times = iter([datetime(2020, 1, 1, 0, 0, 0), datetime(2020, 1, 1, 0, 0, 2)])
    skew = drive(ops.time_skew(lambda: next(times)), {"OPTimeQuery": "2020-01-01 00:01:01"})
    assert skew == 60.5


class VirtualDeviceClock:
    """A host clock and a device clock in virtual seconds, as the simulator keeps them: the
    device reads whole seconds, and a set starts its new second when it arrives. Requests
    take `round_trip` (half each way); `late` is added to every pause (a busy host)."""

    EPOCH = datetime(2026, 12, 5, 21, 0, 0)

    def __init__(self, offset: float, start: float, round_trip: float, late: float = 0) -> None:
        self.now, self.offset, self.round_trip, self.late = start, offset, round_trip, late
        self.sets: list[str] = []

    def host(self) -> datetime:
        return self.EPOCH + timedelta(seconds=self.now)

    def device(self) -> datetime:
        return self.EPOCH + timedelta(seconds=self.now + self.offset)

    def perform(self, step: Any) -> Any:
        if isinstance(step, Pause):
            assert 0 <= step.seconds < 1
            self.now += step.seconds + self.late
            return None
        assert isinstance(step, Run)
        exchange, outcome = Exchange(), None
        while not isinstance(call := ops.advance(step.procedure, outcome), ops.Finished):
            self.now += self.round_trip / 2
            if call.body["Name"] == "OPTimeSetting":
                self.sets.append(call.body["OPTimeSetting"])
                when = datetime.fromisoformat(call.body["OPTimeSetting"])
                self.offset = (when - self.host()).total_seconds()
                body: dict[str, Any] = {"Ret": 100}
            else:
                body = {"Ret": 100, "OPTimeQuery": self.device().strftime("%Y-%m-%d %H:%M:%S")}
            outcome = exchange.answer(call, body)
            self.now += self.round_trip / 2
        return call.value


@pytest.mark.parametrize("round_trip", [0.0004, 0.08, 0.6])
@pytest.mark.parametrize("start", [0.0, 0.3, 0.5, 0.97, 0.999])
@pytest.mark.parametrize("offset", [-81888340.9, -0.036, 0.5, 0.999, 3.7])
def test_sync_time_aims_the_set_at_the_second_boundary(
    offset: float, start: float, round_trip: float
) -> None:
    clock = VirtualDeviceClock(offset, start, round_trip)
    before = drive_plan(ops.sync_time(clock.host), clock.perform)
    # The skew before: within half a second (the device's whole seconds) of the truth.
    assert abs(before - offset) <= 0.5 + round_trip / 2
    assert len(clock.sets) == 1
    assert abs(clock.offset) < 1e-6  # the device's seconds now tick with the host's
    after = drive_plan(ops.measure_time_skew(clock.host), clock.perform)
    assert abs(after) < 0.01


@pytest.mark.parametrize("offset", [-0.036, 0.0, 0.49, -0.49, 1.0, -1.0, 2.2])
@pytest.mark.parametrize("start", [0.0, 0.25, 0.5, 0.999])
def test_measure_time_skew_reads_the_same_clock_the_same_every_time(
    offset: float, start: float
) -> None:
    clock = VirtualDeviceClock(offset, start, 0.02)
    skew = drive_plan(ops.measure_time_skew(clock.host), clock.perform)
    assert skew == pytest.approx(round(offset), abs=0.001)


def test_sync_time_on_a_busy_host_aims_again_then_sends_the_nearest_second() -> None:
    clock = VirtualDeviceClock(-5000.2, 0.1, 0.01, late=0.3)
    drive_plan(ops.sync_time(clock.host), clock.perform)
    assert len(clock.sets) == 1
    assert abs(clock.offset) <= 0.5


def test_users_never_carry_the_hash() -> None:
    (user,) = drive(
        ops.users(), {"Users": [{"Name": "a", "Password": "tlJwpbo6", "Reserved": True}, 3]}
    )
    assert (user.name, user.reserved, user.sharable) == ("a", True, False)
    assert "tlJwpbo6" not in repr(user)


def test_ptz_move_starts_with_65535_and_stops_with_minus_one() -> None:
    start, stop = ops.ptz_move("zoom-in", channel=2, speed=10)
    assert start.body["OPPTZControl"]["Command"] == "ZoomTile"
    assert start.body["OPPTZControl"]["Parameter"]["Preset"] == 65535
    assert stop.body["OPPTZControl"]["Parameter"]["Preset"] == -1
    assert stop.body["OPPTZControl"]["Parameter"]["Channel"] == 2
    with pytest.raises(ValueError, match="speed"):
        ops.ptz_move("up", speed=11)
    with pytest.raises(ValueError, match="preset action"):
        next(ops.ptz_preset("jump", 1))


def test_alarm_out_mode_and_channel_are_checked() -> None:
    with pytest.raises(ValueError, match="mode"):
        next(ops.set_alarm_out("blink"))
    with pytest.raises(ValueError, match="no channel 3"):
        drive(ops.set_alarm_out("on", 3), {"Alarm.AlarmOut": [{}]})


def test_alarm_event_tolerates_a_broken_push() -> None:
    exchange = Exchange()
    wire = exchange.device.push(1504, {"AlarmInfo": "nonsense", "Name": "AlarmInfo"})
    (event,) = exchange.client.receive_data(wire)
    routed = ops.route(event)
    assert isinstance(routed, AlarmEvent)
    assert (routed.channel, routed.event, routed.status, routed.raw) == (None, "", "", {})
