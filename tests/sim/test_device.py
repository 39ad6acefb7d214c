"""The sans-I/O device: logins, lockout, sessions, expiry, TCPMaxConn and alarm pushes,
driven by the core's client role with no socket in between."""

from __future__ import annotations

import pytest

from tests.sim.helpers import ManualClock, Wire, logged_in, make_device, sequential
from xmcam.errors import ProtocolError
from xmcam.protocol import (
    ClientConnection,
    EncryptType,
    LoginReply,
    MessageId,
    SessionIdStyle,
    encode_frame,
    sofia_hash,
)
from xmcam.sim import load_profile


def test_login_with_the_seed_account() -> None:
    reply = Wire(make_device(sequential())).login()
    assert reply.ok
    assert (reply.session_id, reply.alive_interval, reply.device_type) == (1, 20, "IPC")


def test_sessions_are_numbered_per_connection() -> None:
    device = make_device(sequential())
    first, second = logged_in(device), logged_in(device)
    assert (first.client.session_id, second.client.session_id) == (1, 2)
    assert device.session_count == 2


def test_a_second_login_on_a_connection_keeps_its_session() -> None:
    wire = logged_in()
    assert wire.login().session_id == wire.client.session_id


def test_plain_password_login_type_none() -> None:
    device = make_device(load_profile().with_password("admin", sofia_hash("pw")))
    wire = Wire(device)
    (reply,) = wire.send(wire.client.login("admin", "pw", encrypt_type=EncryptType.NONE))
    assert isinstance(reply, LoginReply)
    assert reply.ok


@pytest.mark.parametrize(
    ("user", "password", "ret"), [("admin", "wrong", 203), ("nobody", "", 205)]
)
def test_refused_logins(user: str, password: str, ret: int) -> None:
    reply = Wire(make_device()).login(user, password)
    assert not reply.ok
    assert reply.ret == ret


def test_the_nvr_profile_says_204_for_an_unknown_user() -> None:
    assert Wire(make_device(load_profile("nvr-8ch"))).login("nobody").ret == 204


def test_five_failures_lock_the_account_for_thirty_minutes() -> None:
    clock = ManualClock()
    device = make_device(clock=clock)
    wire = Wire(device)
    assert [wire.login("admin", "bad").ret for _ in range(5)] == [203] * 5
    assert device.is_locked("admin")
    # The right password is refused too while the lock lasts.
    assert wire.login("admin", "").ret == 205
    clock.advance(1799)
    assert wire.login("admin", "").ret == 205
    clock.advance(2)
    assert wire.login("admin", "").ok
    assert device.login_attempts == 8


def test_a_success_resets_the_failure_count() -> None:
    device = make_device()
    wire = Wire(device)
    for _ in range(4):
        wire.login("admin", "bad")
    assert wire.login().ok
    for _ in range(4):
        wire.login("admin", "bad")
    assert not device.is_locked("admin")


def test_lockout_is_configurable() -> None:
    device = make_device(load_profile().with_quirks(max_failed_logins=2, lockout_seconds=5))
    wire = Wire(device)
    wire.login("admin", "bad")
    wire.login("admin", "bad")
    assert device.is_locked("admin")


def test_requests_before_login_get_silence() -> None:
    wire = Wire(make_device())
    frame = encode_frame(MessageId.SYSINFO_REQ, b'{"Name":"SystemInfo"}\n')
    assert wire.camera.receive(frame) == []


def test_requests_before_login_can_get_ret_105() -> None:
    wire = Wire(make_device(load_profile().with_quirks(unauthenticated="reply")))
    frame = encode_frame(MessageId.SYSINFO_REQ, b'{"Name":"SystemInfo"}\n')
    (reply,) = wire.camera.receive(frame)
    assert b'"Ret" : 105' in reply


def test_another_sessions_id_is_ignored() -> None:
    device = make_device()
    victim, attacker = logged_in(device), logged_in(device)
    assert victim.client.session_id != attacker.client.session_id
    hijack = ClientConnection.for_session(victim.client.session_id)
    # The attacker's connection sends the victim's session id: silence.
    assert attacker.camera.receive(hijack.request(MessageId.LOGOUT_REQ, {"Name": ""})) == []
    assert victim.camera.session_id is not None


def test_the_cve_2024_3765_message_gets_nothing() -> None:
    wire = logged_in()
    for session in (0, 1):
        frame = encode_frame(1009, b'{"Name":""}\n', session_id=session)
        assert wire.camera.receive(frame) == []


def test_odd_ids_and_binary_packets_get_nothing() -> None:
    wire = logged_in()
    assert wire.camera.receive(encode_frame(1021, b"{}", session_id=1)) == []
    assert wire.camera.receive(encode_frame(1432, b"\x00\x01", session_id=1)) == []


def test_logout_ends_the_session_but_not_the_connection() -> None:
    device = make_device()
    wire = logged_in(device)
    assert wire.call(MessageId.LOGOUT_REQ, {"Name": ""}).ok
    assert device.session_count == 0
    assert len(device.connections) == 1
    assert wire.login().ok


def test_sessions_expire_after_three_silent_intervals() -> None:
    clock = ManualClock()
    device = make_device(clock=clock)
    wire = logged_in(device)
    clock.advance(59)
    assert device.expired() == []
    wire.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    clock.advance(59)
    assert device.expired() == []
    clock.advance(2)
    assert device.expired() == [wire.camera]


def test_connections_that_never_log_in_expire_after_thirty_seconds() -> None:
    clock = ManualClock()
    device = make_device(clock=clock)
    wire = Wire(device)
    clock.advance(31)
    assert device.expired() == [wire.camera]


def test_the_pre_login_clock_runs_from_accept_whatever_arrives() -> None:
    clock = ManualClock()
    device = make_device(clock=clock)
    wire = Wire(device)
    ignored = ClientConnection.for_session(1).request(
        MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}, expect_reply=False
    )
    for _ in range(6):  # an ignored KeepAlive every 5 s: it buys no time (issue 12)
        clock.advance(5)
        assert wire.camera.receive(ignored) == []
    assert device.expired() == []
    clock.advance(1.5)
    assert device.expired() == [wire.camera]


def test_a_logout_starts_the_pre_login_clock_again() -> None:
    clock = ManualClock()
    device = make_device(clock=clock)
    wire = logged_in(device)
    for _ in range(4):
        clock.advance(20)
        wire.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    assert wire.call(MessageId.LOGOUT_REQ, {"Name": ""}).ok
    clock.advance(29)
    assert device.expired() == []
    clock.advance(2)
    assert device.expired() == [wire.camera]


def test_tcp_max_conn_is_enforced() -> None:
    device = make_device()
    wires = [logged_in(device) for _ in range(10)]
    assert device.open_connection() is None  # ten sessions: no room
    wires[0].camera.close()
    assert device.open_connection() is not None
    assert device.take_dropped() == []


def test_a_new_connection_takes_the_place_of_one_that_has_not_logged_in() -> None:
    # Changed with issue 12 (connection slots held by sockets that never log in): when
    # TCPMaxConn are open, the oldest connection not logged in, from the address holding
    # the most of them, makes room.
    device = make_device()
    sessions = [logged_in(device) for _ in range(6)]
    waiting = [
        device.open_connection(host) for host in ["10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.1"]
    ]
    newcomer = device.open_connection("10.0.0.3")
    assert newcomer is not None
    assert device.take_dropped() == [waiting[0]]  # 10.0.0.1 and .2 hold two each: the older
    assert device.take_dropped() == []
    assert device.open_connection("10.0.0.3") is not None
    assert device.take_dropped() == [waiting[1]]  # .2 holds two now, .1 and .3 one
    assert all(wire.camera.number in device.connections for wire in sessions)


def test_alarms_reach_guarded_sessions_only() -> None:
    device = make_device()
    guarded, unguarded = logged_in(device), logged_in(device)
    assert guarded.call(MessageId.GUARD_REQ, {"Name": ""}).ok
    assert device.alarm(0, "VideoMotion", "Start") == 1
    guarded.send(b"")
    unguarded.send(b"")
    assert [a["Status"] for a in guarded.alarms] == ["Start"]
    assert unguarded.alarms == []
    assert device.motion_mask("VideoMotion") == 1
    device.alarm(0, "VideoMotion", "Stop")
    guarded.send(b"")
    assert guarded.alarms[1]["StartTime"] == guarded.alarms[0]["StartTime"]
    assert device.motion_mask("VideoMotion") == 0


def test_unguard_stops_alarms_and_gets_no_reply() -> None:
    device = make_device()
    wire = logged_in(device)
    wire.call(MessageId.GUARD_REQ, {"Name": ""})
    wire.silent(MessageId.UNGUARD_REQ, {"Name": ""})
    assert device.alarm() == 0


def test_the_nvr_answers_unguard_and_spells_session_ids_short() -> None:
    wire = logged_in(make_device(sequential(load_profile("nvr-8ch"))))
    assert wire.client.session_id == 0x57
    assert wire.client.session_id_style is SessionIdStyle.SHORT
    assert wire.call(MessageId.UNGUARD_REQ, {"Name": ""}).ok


def test_bad_bytes_raise_protocol_error_for_that_connection_only() -> None:
    device = make_device()
    good, bad = logged_in(device), Wire(device)
    with pytest.raises(ProtocolError):
        bad.camera.receive(b"GET / HTTP/1.1\r\n\r\n")
    assert good.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}).ok
    with pytest.raises(ProtocolError):
        Wire(device).camera.receive(encode_frame(1000, b"\xff\xfe not json"))


def test_a_login_and_requests_in_one_read() -> None:
    wire = Wire(make_device(sequential()))
    login = wire.client.login("admin", "")
    # The client's session id is known only after the reply; the seed camera's first is 1.
    follow = ClientConnection.for_session(1).request(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    replies = wire.camera.receive(login + follow)
    assert [int.from_bytes(reply[14:16], "little") for reply in replies] == [1001, 1007]


def test_a_logout_and_requests_in_one_read() -> None:
    wire = logged_in()
    session = ClientConnection.for_session(wire.client.session_id or 0)
    logout = session.request(MessageId.LOGOUT_REQ, {"Name": ""}, expect_reply=False)
    after = session.request(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}, expect_reply=False)
    replies = wire.camera.receive(logout + after)
    assert [int.from_bytes(reply[14:16], "little") for reply in replies] == [1003]


def test_key_spellings_quirk() -> None:
    spellings = {"SessionID": " SessionID ", "Ret": "Ret "}
    device = make_device(sequential(load_profile().with_quirks(key_spellings=spellings)))
    wire = logged_in(device)
    reply = wire.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    assert b'" SessionID " : "0x00000001"' in reply.frame.payload
    assert b'"Ret " : 100' in reply.frame.payload
    assert reply.ok  # the lenient reader finds the keys all the same
    assert reply.body.session_id == 1


def test_a_storm_of_unknown_names_does_not_unlock_an_account() -> None:
    device = make_device()
    wire = Wire(device)
    for _ in range(5):
        assert wire.login("admin", "wrong").ret == 203
    assert device.is_locked("admin")
    for number in range(1500):  # more names than the failure table keeps
        wire.login(f"nobody{number}", "x")
    assert device.is_locked("admin")
    assert wire.login("admin", "").ret == 205
