"""The `xm530` profile against the real camera (issue 17): the simulator answers every config
and ability name that [BES] shows with the same keys and value types, as the captured
replies in tests/data/xm530 have them, and the login, time, account, WorkState and
refusal replies the way that camera writes them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.replay_camera import Exchange, load_exchanges
from tests.sim.helpers import Wire, logged_in, make_device
from xmcam.protocol import Reply
from xmcam.sim import load_profile

EXCHANGES = load_exchanges()
PROFILE = load_profile("xm530")
SESSION_SPELLING = re.compile(r"0x[0-9a-f]{8}")
# Values that change by themselves: the uptime and the clock.
VOLATILE = {("SystemInfo", "DeviceRunTime"), ("OPTimeQuery",)}


def _camera() -> Wire:
    return logged_in(make_device(PROFILE))


def _raw(reply: Reply) -> dict[str, Any]:
    """The reply's JSON as written, keys spelled as the simulator spelled them."""
    value = json.loads(reply.payload.rstrip(b"\x00\n"))
    assert isinstance(value, dict)
    return value


def assert_same_shape(actual: Any, expected: Any, where: str = "") -> None:
    """Same keys at every depth, same value types (true/false are not numbers), arrays of
    the same length."""
    assert type(actual) is type(expected), f"{where}: {type(actual).__name__}"
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected), where
        for key in expected:
            assert_same_shape(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for index, (item, wanted) in enumerate(zip(actual, expected, strict=True)):
            assert_same_shape(item, wanted, f"{where}[{index}]")


def _without_session(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "SessionID"}


def _steady(body: dict[str, Any]) -> dict[str, Any]:
    """`body` without its SessionID and the values that change by themselves."""
    content = _without_session(body)
    for path in VOLATILE:
        holder = content
        for key in path[:-1]:
            holder = holder.get(key, {}) if isinstance(holder, dict) else {}
        if isinstance(holder, dict):
            holder.pop(path[-1], None)
    return content


def _check(wire: Wire, exchange: Exchange) -> dict[str, Any]:
    """Send the captured request; the reply must have the captured reply's shape and, but
    for what changes by itself, its values."""
    assert exchange.request is not None
    assert exchange.reply is not None
    reply = _raw(wire.call(exchange.message_id, _without_session(exchange.request)))
    assert SESSION_SPELLING.fullmatch(reply.pop("SessionID", "0x00000000"))
    expected = _without_session(exchange.reply)
    assert_same_shape(reply, expected, exchange.name or str(exchange.message_id))
    assert _steady(reply) == _steady(expected)
    return reply


def _captured(*message_ids: int) -> list[Any]:
    """The first capture of each (message id, Name) that has both request and reply."""
    seen: set[tuple[int, str | None]] = set()
    chosen = []
    for item in EXCHANGES:
        key = (item.message_id, item.name)
        if item.message_id in message_ids and item.request and item.reply and key not in seen:
            seen.add(key)
            chosen.append(pytest.param(item, id=f"{item.message_id}-{item.name}"))
    return chosen


@pytest.mark.parametrize("exchange", _captured(1042))
def test_every_config_name(exchange: Exchange) -> None:
    reply = _check(_camera(), exchange)
    if exchange.ret == 607:  # the camera's refusal: {"Name": N, N: null, "Ret": 607}
        assert reply == {"Name": exchange.name, exchange.name: None, "Ret": 607}


@pytest.mark.parametrize("exchange", _captured(1360))
def test_every_ability_name(exchange: Exchange) -> None:
    _check(_camera(), exchange)


@pytest.mark.parametrize("exchange", _captured(1020, 1048, 1006, 1362, 1500, 1660, 2000, 2008))
def test_information_and_fixed_replies(exchange: Exchange) -> None:
    _check(_camera(), exchange)


def test_the_time_reply_has_no_name() -> None:
    (exchange,) = [item for item in EXCHANGES if item.message_id == 1452]
    reply = _check(_camera(), exchange)
    assert "Name" not in reply
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", reply["OPTimeQuery"])


@pytest.mark.parametrize(
    ("message_id", "name"), [(1470, "AuthorityList"), (1472, "Users"), (1474, "Groups")]
)
def test_account_lists_are_named(message_id: int, name: str) -> None:
    (exchange,) = [item for item in EXCHANGES if item.message_id == message_id]
    assert exchange.reply is not None
    reply = _raw(_camera().call(message_id, {"Name": ""}))
    reply.pop("SessionID")
    expected = _without_session(exchange.reply)
    if name == "Users":  # the profile keeps no captured hash: every account's password is ""
        for user in expected["Users"]:
            user["Password"] = "<redacted>"
        for user in reply["Users"]:
            user["Password"] = "<redacted>"
    assert reply == expected


def test_the_login_reply() -> None:
    (accepted,) = [item for item in EXCHANGES if item.case == "login accepted"]
    assert accepted.reply is not None
    wire = Wire(make_device(PROFILE))
    login = _raw(wire.login())
    assert SESSION_SPELLING.fullmatch(login.pop("SessionID"))
    assert login == _without_session(accepted.reply)  # AliveInterval 30, no DataUseAES
    for case, password, user in (("wrong password", "wrong", "admin"), ("unknown user", "", "x")):
        (refused,) = [item for item in EXCHANGES if item.case == case]
        other = Wire(make_device(PROFILE))
        (reply,) = other.send(other.client.login(user, password))
        assert isinstance(reply, Reply)
        assert _raw(reply) == refused.reply


@pytest.mark.parametrize("name", ["AHDEncodeL", "NoSuchAbility"])
def test_an_unknown_ability_is_ret_103(name: str) -> None:
    wire = _camera()
    assert _raw(wire.call(1360, {"Name": name})) == {
        "Name": name,
        "Ret": 103,
        "SessionID": f"0x{wire.client.session_id:08x}",  # the XM530 writes lower case
    }


def test_every_captured_write_is_taken() -> None:
    """The vendor app's writes ([BES] 1040), replayed in order on one camera: each answered
    as the camera did ({"Name": N, "Ret": 100}), each read back in the shape it had."""
    wire = _camera()
    writes = [item for item in EXCHANGES if item.message_id == 1040]
    assert len(writes) == 31
    for exchange in writes:
        assert exchange.request is not None
        name = exchange.name
        assert name is not None
        before = wire.call(1042, {"Name": name}).body.data.get(name)
        reply = _raw(wire.call(1040, _without_session(exchange.request)))
        assert _without_session(reply) == _without_session(exchange.reply or {}), name
        after = wire.call(1042, {"Name": name}).body.data[name]
        if isinstance(before, dict):  # the same members: none added by the write
            assert sorted(after) == sorted(before), name
    # A written boolean as 0 or 1 is kept as a boolean; a longer PtzLink is kept whole.
    upgrade = wire.call(1042, {"Name": "NetWork.OnlineUpgrade"}).body.data["NetWork.OnlineUpgrade"]
    assert upgrade["Enable"] is True
    blind = wire.call(1042, {"Name": "Detect.BlindDetect.[0]"}).body.data["Detect.BlindDetect.[0]"]
    assert len(blind["EventHandler"]["PtzLink"]) == 64


def test_a_write_of_the_wrong_type_is_still_refused() -> None:
    wire = _camera()
    value = wire.call(1042, {"Name": "NetWork.AlarmServer"}).body.data["NetWork.AlarmServer"]
    value[0]["Server"]["Port"] = "15002"
    reply = wire.call(1040, {"Name": "NetWork.AlarmServer", "NetWork.AlarmServer": value})
    assert reply.ret == 608


def test_factory_defaults_answer_603_as_the_camera() -> None:
    (exchange,) = [item for item in EXCHANGES if item.name == "OPDefaultConfig"]
    _check(_camera(), exchange)


def test_work_state_masks_are_hex_strings() -> None:
    wire = _camera()
    wire.device.alarm(0, "VideoMotion", "Start")
    state = wire.call(1020, {"Name": "WorkState"}).body.data["WorkState"]
    assert state == {
        "AlarmState": {
            "AlarmIn": "0x00000000",
            "AlarmOut": "0x00000000",
            "VideoBlind": "0x00000000",
            "VideoLoss": "0x00000000",
            "VideoMotion": "0x00000001",
        }
    }


def test_channel_titles_and_the_reply_without_session_id() -> None:
    wire = _camera()
    assert wire.call(1048, {"Name": "ChannelTitle"}).body.data["ChannelTitle"] == ["Living room"]
    reply = wire.call(1660, {"Name": "GetRandomUser"})
    assert _raw(reply) == {"Name": "GetRandomUser", "Ret": 103}
    assert reply.frame.session_id == wire.client.session_id
