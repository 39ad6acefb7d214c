"""Per-connection state for both roles: login, one outstanding request, reply matching by
message id, unsolicited messages, desynchronisation, and the device's session checks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.seed import SEED_FRAMES
from xmcam.errors import (
    AuthenticationError,
    DeviceError,
    FrameError,
    PayloadError,
    StateError,
)
from xmcam.protocol import (
    DEVICE_LIMITS,
    DEVICE_LIMITS_BEFORE_LOGIN,
    HEADER_SIZE,
    AlarmMessage,
    ClientConnection,
    ClientEvent,
    ClientState,
    DeviceConnection,
    ForcedLogout,
    Header,
    LoginReply,
    LoginRequest,
    MediaPacket,
    MessageId,
    Notification,
    Reply,
    Request,
    SessionIdStyle,
    UnexpectedFrame,
    decode_body,
    encode_body,
    encode_frame,
    sofia_hash,
)
from xmcam.protocol.connection import DEFAULT_ALIVE_INTERVAL, session_id_style_of


def device_frame(message_id: int, body: dict[str, Any], *, session_id: int = 7) -> bytes:
    return encode_frame(message_id, encode_body(body, b"\n\x00"), session_id=session_id, version=1)


def login_reply(ret: int = 100, **fields: Any) -> bytes:
    body = {"Ret": ret, "SessionID": "0x00000007", "AliveInterval": 21, **fields}
    return device_frame(1001, body)


def logged_in(**options: Any) -> ClientConnection:
    client = ClientConnection(**options)
    client.login("admin", "secret")
    (reply,) = client.receive_data(login_reply())
    assert isinstance(reply, LoginReply)
    return client


# ----------------------------------------------------------------------------- client role


def test_login_success_sets_session_and_alive_interval() -> None:
    client = logged_in()
    assert client.state is ClientState.LOGGED_IN
    assert client.session_id == 7
    assert client.alive_interval == 21


def test_login_request_carries_the_hash_not_the_password() -> None:
    wire = ClientConnection().login("admin", "secret")
    body = decode_body(wire[20:]).data
    assert body["PassWord"] == sofia_hash("secret")
    assert b"secret" not in wire


@pytest.mark.parametrize("alive", [None, 0, -5, "20", True])
def test_missing_or_bad_alive_interval_defaults_to_twenty(alive: object) -> None:
    client = ClientConnection()
    client.login("admin", "")
    fields = {} if alive is None else {"AliveInterval": alive}
    body = {"Ret": 100, "SessionID": "0x7", **fields}
    (reply,) = client.receive_data(device_frame(1001, body))
    assert isinstance(reply, LoginReply)
    assert reply.alive_interval == client.alive_interval == DEFAULT_ALIVE_INTERVAL


def test_failed_login_is_typed_and_leaves_the_connection_logged_out() -> None:
    client = ClientConnection()
    client.login("admin", "wrong")
    # Failed logins may carry garbage and a non-zero SessionID: only Ret is trusted.
    (reply,) = client.receive_data(login_reply(203, SessionID="0x00000099"))
    assert isinstance(reply, LoginReply)
    assert not reply.ok
    assert reply.session_id == 0
    assert client.state is ClientState.NOT_LOGGED_IN
    assert client.session_id == 0
    with pytest.raises(AuthenticationError) as caught:
        reply.raise_for_ret()
    assert caught.value.ret == 203
    assert "wrong" not in str(caught.value).replace("wrong password", "")


def test_login_reply_without_ret_is_a_failure() -> None:
    client = ClientConnection()
    client.login("admin", "")
    (reply,) = client.receive_data(device_frame(1001, {"SessionID": "0x1"}))
    assert isinstance(reply, LoginReply)
    assert not reply.ok
    assert client.state is ClientState.NOT_LOGGED_IN
    with pytest.raises(DeviceError, match="had no Ret"):
        reply.raise_for_ret()


def test_session_id_comes_from_the_header_when_the_body_has_none() -> None:
    client = ClientConnection()
    client.login("admin", "")
    client.receive_data(device_frame(1001, {"Ret": 100}, session_id=0x2A))
    assert client.session_id == 0x2A


@pytest.mark.parametrize(
    ("spelling", "style"),
    [
        ("0x0000000B", SessionIdStyle.PADDED),
        ("0xb", SessionIdStyle.SHORT),
        ("0000000B", SessionIdStyle.BARE),
        ("0x000000000B", SessionIdStyle.FUNSDK),
    ],
)
def test_requests_spell_the_session_id_as_the_device_did(
    spelling: str, style: SessionIdStyle
) -> None:
    client = ClientConnection()
    client.login("admin", "")
    client.receive_data(device_frame(1001, {"Ret": 100, "SessionID": spelling}))
    assert client.session_id == 11
    assert client.session_id_style is style
    wire = client.request(1006, {"Name": "KeepAlive"})
    assert decode_body(wire[20:]).data["SessionID"] == spelling


def test_configured_session_id_style_wins_over_the_devices() -> None:
    client = ClientConnection(session_id_style=SessionIdStyle.SHORT)
    client.login("admin", "")
    client.receive_data(device_frame(1001, {"Ret": 100, "SessionID": "0x0000000B"}))
    assert client.session_id_style is SessionIdStyle.SHORT


def test_session_id_style_of_unknown_spellings() -> None:
    assert session_id_style_of(7) is None
    assert session_id_style_of("7") is None


def test_requests_before_login_are_refused() -> None:
    client = ClientConnection()
    with pytest.raises(StateError, match="not logged in"):
        client.request(1020, {"Name": "SystemInfo"})
    with pytest.raises(StateError):
        client.send_data(1432, b"audio")


def test_one_outstanding_request_at_a_time() -> None:
    client = logged_in()
    client.request(1020, {"Name": "SystemInfo"})
    assert client.pending_request == 1020
    with pytest.raises(StateError, match="awaiting its reply"):
        client.request(1042, {"Name": "General.General"})
    # Fire-and-forget messages may still go out.
    client.request(1502, {"Name": ""}, expect_reply=False)
    (reply,) = client.receive_data(device_frame(1021, {"Name": "SystemInfo", "Ret": 100}))
    assert isinstance(reply, Reply)
    assert reply.request_id == 1020
    assert client.pending_request is None
    client.request(1042, {"Name": "General.General"})


def test_sequence_numbers_count_up_per_connection_unless_given() -> None:
    client = logged_in(first_sequence=5)
    assert client.request(1006, {}, expect_reply=False)[8:12] == (6).to_bytes(4, "little")
    assert client.request(1006, {}, expect_reply=False, sequence=99)[8:12] == bytes([99, 0, 0, 0])
    assert client.request(1006, {}, expect_reply=False)[8:12] == (7).to_bytes(4, "little")


def test_sequence_numbers_wrap_at_32_bits() -> None:
    client = ClientConnection(first_sequence=0xFFFFFFFF)
    assert client.login("admin", "")[8:12] == b"\xff\xff\xff\xff"
    client.receive_data(login_reply())
    assert client.request(1006, {}, expect_reply=False)[8:12] == b"\x00\x00\x00\x00"


def test_request_body_keeps_an_explicit_session_id_or_none() -> None:
    client = logged_in()
    wire = client.request(1006, {"SessionID": "0x1"}, expect_reply=False)
    assert decode_body(wire[20:]).data == {"SessionID": "0x1"}
    wire = client.request(1530, None, expect_reply=False, add_session_id=False)
    assert wire[20:] == b"{}\n"


def test_a_name_only_body_is_written_as_any_other_body_whatever_was_sent_before() -> None:
    # `{"Name": ...}` bodies are kept encoded per name: the bytes must stay those the writer
    # makes for the session as it is now (its id, its spelling), over more names than are kept.
    client = logged_in()
    names = [f"Name.{index}" for index in range(300)] + ["Name.0", "Name.299"]
    for name in names:
        wire = client.request(1042, {"Name": name})
        client.receive_data(device_frame(1043, {"Name": name, "Ret": 100}))
        assert wire[20:] == encode_body({"Name": name, "SessionID": "0x00000007"})
    client.session_id = 9  # the same names, another session id
    wire = client.request(1042, {"Name": "Name.0"}, expect_reply=False)
    assert wire[20:] == encode_body({"Name": "Name.0", "SessionID": "0x00000009"})
    wire = client.request(  # a spelling asked for: not the kept bytes
        1042, {"Name": "Name.0"}, expect_reply=False, session_id_style=SessionIdStyle.SHORT
    )
    assert wire[20:] == encode_body({"Name": "Name.0", "SessionID": "0x9"})
    wire = client.request(1042, {"Name": "Name.0"}, expect_reply=False)
    assert wire[20:] == encode_body({"Name": "Name.0", "SessionID": "0x00000009"})
    for body in ({"Name": 1}, {"Name": "Name.0", "Ret": 100}, {"Other": "Name.0"}):
        wire = client.request(1042, body, expect_reply=False)
        assert decode_body(wire[20:]).data == {**body, "SessionID": "0x00000009"}
    wire = client.request(1042, {"Name": "Name.0"}, expect_reply=False, add_session_id=False)
    assert wire[20:] == b'{ "Name" : "Name.0" }\n'


def test_a_named_request_is_the_request_of_that_body() -> None:
    # `named_request` puts the usual request together itself: the bytes, the sequence and the
    # outstanding request must be those `request()` gives for the same body.
    by_name, by_body = logged_in(first_sequence=5), logged_in(first_sequence=5)
    for name in ("SystemInfo", "General.General", "SystemInfo"):
        wire = by_name.named_request(1020, name)
        assert wire == by_body.request(1020, {"Name": name})
        assert by_name.pending_request == by_body.pending_request == 1020
        for client in (by_name, by_body):
            (reply,) = client.receive_data(device_frame(1021, {"Name": name, "Ret": 100}))
            assert isinstance(reply, Reply)
            assert reply.request_id == 1020
    assert by_name.named_request(2000, "X") == by_body.request(2000, {"Name": "X"})  # unknown id


def test_a_named_request_is_checked_as_any_other() -> None:
    with pytest.raises(StateError):
        ClientConnection().named_request(1020, "SystemInfo")  # not logged in
    client = logged_in()
    client.named_request(1020, "SystemInfo")
    with pytest.raises(StateError):
        client.named_request(1042, "General.General")  # one outstanding request
    with pytest.raises(ValueError, match="no reply"):
        logged_in().named_request(1021, "SystemInfo")  # a reply id: nothing to wait for
    with pytest.raises(ValueError, match="does not fit"):
        ClientConnection.for_session(1 << 32).named_request(1020, "SystemInfo")
    with pytest.raises(ValueError, match="out of range"):
        ClientConnection.for_session(7, first_sequence=1 << 32).named_request(1020, "SystemInfo")


def test_failure_ret_in_a_reply_raises_the_typed_error() -> None:
    client = logged_in()
    client.request(1042, {"Name": "Nope"})
    (reply,) = client.receive_data(device_frame(1043, {"Name": "Nope", "Ret": 607}))
    assert isinstance(reply, Reply)
    assert not reply.ok
    assert reply.ret == 607
    with pytest.raises(Exception, match="Ret 607"):
        reply.raise_for_ret()


def test_reply_without_ret_counts_as_success() -> None:
    client = logged_in()
    client.request(1006, {"Name": "KeepAlive"})
    (reply,) = client.receive_data(device_frame(1007, {"Name": "KeepAlive"}))
    assert isinstance(reply, Reply)
    assert reply.ok
    reply.raise_for_ret()


def test_alarm_pushes_are_kept_apart_from_replies() -> None:
    client = logged_in()
    client.request(1020, {"Name": "SystemInfo"})
    alarm = device_frame(1504, {"AlarmInfo": {"Channel": 0, "Event": "VideoMotion"}})
    reply = device_frame(1021, {"Name": "SystemInfo", "Ret": 100})
    events = client.receive_data(alarm + reply + alarm)
    assert [type(event) for event in events] == [AlarmMessage, Reply, AlarmMessage]
    first = events[0]
    assert isinstance(first, AlarmMessage)
    assert first.body.data["AlarmInfo"]["Event"] == "VideoMotion"


def test_media_packets_are_their_own_events() -> None:
    client = ClientConnection.for_session(7)
    assert client.state is ClientState.LOGGED_IN
    (event,) = client.receive_data(encode_frame(1412, b"\x00\x00\x01\xfc", session_id=7))
    assert isinstance(event, MediaPacket)
    assert event.frame.payload == b"\x00\x00\x01\xfc"


def test_send_data_marks_channel_and_end_flag() -> None:
    client = ClientConnection.for_session(7)
    wire = client.send_data(1432, b"\xd5" * 4, channel=2, end_flag=True)
    assert wire[12:14] == b"\x02\x01"
    assert wire[4:8] == (7).to_bytes(4, "little")
    assert wire[20:] == b"\xd5" * 4


def test_send_data_numbers_upgrade_blocks_as_asked() -> None:
    client = ClientConnection.for_session(7)
    first = client.send_data(1522, b"\x00" * 8, sequence=41)
    assert int.from_bytes(first[8:12], "little") == 41
    # The connection's own count goes on where it was: the block number is the caller's.
    second = client.send_data(1522, b"", end_flag=True)
    assert int.from_bytes(second[8:12], "little") != 41
    assert second[12:14] == b"\x00\x01"


def test_frames_that_answer_nothing_are_unexpected() -> None:
    client = logged_in()
    (event,) = client.receive_data(device_frame(1043, {"Ret": 100}))
    assert isinstance(event, UnexpectedFrame)
    client.request(1020, {"Name": "SystemInfo"})
    (event,) = client.receive_data(device_frame(1007, {"Ret": 100}))
    assert isinstance(event, UnexpectedFrame)
    assert client.pending_request == 1020


def test_timeout_desynchronises_the_connection() -> None:
    client = logged_in()
    client.request(1020, {"Name": "SystemInfo"})
    client.request_timed_out()
    assert client.state is ClientState.DESYNCHRONISED
    assert client.pending_request is None
    with pytest.raises(StateError, match="desynchronised"):
        client.request(1006, {"Name": "KeepAlive"})
    # The late reply answers nothing now.
    (event,) = client.receive_data(device_frame(1021, {"Ret": 100}))
    assert isinstance(event, UnexpectedFrame)


def test_forced_logout_closes_the_connection() -> None:
    client = logged_in()
    (event,) = client.receive_data(device_frame(1004, {}))
    assert isinstance(event, ForcedLogout)
    assert client.state is ClientState.CLOSED
    with pytest.raises(StateError, match="closed"):
        client.login("admin", "")
    client.request_timed_out()
    assert client.state is ClientState.CLOSED


def test_protocol_error_closes_the_connection_after_delivering_good_frames() -> None:
    client = logged_in()
    client.request(1006, {"Name": "KeepAlive"})
    good = device_frame(1007, {"Name": "KeepAlive", "Ret": 100})
    (event,) = client.receive_data(good + b"\x00" * 20)
    assert isinstance(event, Reply)
    with pytest.raises(FrameError):
        client.receive_data(b"")
    assert client.state is ClientState.CLOSED


def test_reply_with_broken_json_is_a_payload_error() -> None:
    client = logged_in()
    client.request(1020, {"Name": "SystemInfo"})
    with pytest.raises(PayloadError):
        client.receive_data(encode_frame(1021, b"{ broken", session_id=7))
    assert client.state is ClientState.CLOSED


def test_second_login_on_a_logged_in_connection_is_allowed() -> None:
    client = logged_in()
    client.login("admin", "secret")
    assert client.state is ClientState.LOGGING_IN


# ----------------------------------------------------------------------------- device role


def test_device_marks_requests_before_login_unauthenticated() -> None:
    device = DeviceConnection()
    (event,) = device.receive_data(SEED_FRAMES[2].payload)
    assert isinstance(event, Request)
    assert not event.authenticated
    assert not event.session_matches


def test_device_sees_the_cve_2024_3765_packet_as_unauthenticated() -> None:
    # The auth-bypass probe: message 1009 claiming Ret 100 and session 0 (docs/protocol.md §3).
    device = DeviceConnection()
    probe = encode_frame(1009, encode_body({"Ret": 100, "SessionID": "0x0"}))
    (event,) = device.receive_data(probe)
    assert isinstance(event, Request)
    assert not event.authenticated
    assert not device.logged_in


def _logged_in_device(session_id: int = 1) -> DeviceConnection:
    device = DeviceConnection()
    (login,) = device.receive_data(SEED_FRAMES[0].payload)
    assert isinstance(login, LoginRequest)
    device.accept_login(login, session_id, {"Ret": 100})
    return device


def test_device_refuses_requests_for_another_session() -> None:
    device = _logged_in_device()
    other_header = encode_frame(1006, encode_body({"SessionID": "0x00000001"}), session_id=2)
    other_body = encode_frame(1006, encode_body({"SessionID": "0x00000002"}), session_id=1)
    garbage_body = encode_frame(1006, encode_body({"SessionID": "nope"}), session_id=1)
    no_body_id = encode_frame(1006, encode_body({"Name": "KeepAlive"}), session_id=1)
    events = device.receive_data(other_header + other_body + garbage_body + no_body_id)
    assert [event.session_matches for event in events if isinstance(event, Request)] == [
        False,
        False,
        False,
        True,
    ]


def _config_write(size: int) -> bytes:
    """A 1040 of `size` body bytes (JSON padded with spaces) for session 1."""
    body = encode_body({"Name": "General.General", "SessionID": "0x00000001"})
    return encode_frame(1040, body.ljust(size), session_id=1)


def test_device_holds_a_client_to_a_few_kib_until_it_logs_in() -> None:
    cap = DEVICE_LIMITS_BEFORE_LOGIN.max_packet_payload
    assert cap <= 8 * 1024
    (request,) = DeviceConnection().receive_data(_config_write(cap))
    assert isinstance(request, Request)
    assert not request.authenticated
    # One byte more before login: refused from the header, nothing of it buffered.
    with pytest.raises(FrameError, match="over the limit"):
        DeviceConnection().receive_data(_config_write(cap + 1)[:HEADER_SIZE])
    # The whole tree is taken once the client has logged in ...
    device = _logged_in_device()
    (request,) = device.receive_data(_config_write(DEVICE_LIMITS.max_packet_payload))
    assert isinstance(request, Request)
    assert request.session_matches
    # ... and refused again once it has logged out.
    device.logout()
    with pytest.raises(FrameError, match="over the limit"):
        device.receive_data(_config_write(cap + 1))


def test_device_login_request_repr_hides_the_password() -> None:
    device = DeviceConnection()
    (login,) = device.receive_data(ClientConnection().login("admin", "hunter2"))
    assert isinstance(login, LoginRequest)
    assert login.password == sofia_hash("hunter2")
    assert sofia_hash("hunter2") not in repr(login)
    assert "admin" in repr(login)


def test_device_login_fields_of_the_wrong_type_read_as_empty() -> None:
    device = DeviceConnection()
    (login,) = device.receive_data(encode_frame(1000, encode_body({"UserName": 5})))
    assert isinstance(login, LoginRequest)
    assert (login.user, login.password, login.encrypt_type, login.login_type) == ("", "", "", "")


def test_device_rejects_a_login() -> None:
    device = DeviceConnection()
    (login,) = device.receive_data(SEED_FRAMES[0].payload)
    assert isinstance(login, LoginRequest)
    wire = device.reject_login(login, {"Name": "", "Ret": 203})
    assert not device.logged_in
    assert wire[4:8] == b"\x00\x00\x00\x00"
    assert decode_body(wire[20:]).data == {"Name": "", "Ret": 203, "SessionID": "0x00000000"}
    # The client side reads it as an authentication failure.
    client = ClientConnection()
    client.login("admin", "")
    (reply,) = client.receive_data(wire)
    assert isinstance(reply, LoginReply)
    with pytest.raises(AuthenticationError):
        reply.raise_for_ret()


def test_device_logout_ends_the_session() -> None:
    device = _logged_in_device()
    device.logout()
    assert not device.logged_in
    assert device.user is None
    (event,) = device.receive_data(SEED_FRAMES[5].payload)
    assert isinstance(event, Request)
    assert not event.authenticated


def test_device_push_is_an_alarm_the_client_routes_apart() -> None:
    device = _logged_in_device(session_id=7)
    body = {"AlarmInfo": {"Channel": 0, "Event": "VideoMotion", "Status": "Start"}, "Name": ""}
    first = device.push(1504, body)
    second = device.push(1504, body, session_id_style=SessionIdStyle.SHORT)
    assert first[1] == 1  # device version byte
    assert first[8:12] == b"\x00\x00\x00\x00"
    assert second[8:12] == b"\x01\x00\x00\x00"
    assert first.endswith(b"\n\x00")
    client = logged_in()
    events = client.receive_data(first + second)
    assert all(isinstance(event, AlarmMessage) for event in events)
    assert decode_body(second[20:]).data["SessionID"] == "0x7"


def test_device_cannot_push_before_login() -> None:
    with pytest.raises(StateError):
        DeviceConnection().push(1504, {})


def test_device_reply_terminator_is_configurable() -> None:
    device = _logged_in_device()
    (event,) = device.receive_data(SEED_FRAMES[5].payload)
    assert isinstance(event, Request)
    wire = device.reply(event, {"Name": "KeepAlive", "Ret": 100}, terminator=b"")
    assert wire.endswith(b"}")
    assert wire[14:16] == (1007).to_bytes(2, "little")


def test_device_verbatim_reply_adds_nothing_and_names_the_given_session() -> None:
    device = DeviceConnection()  # a second connection: it never logs in
    claim = encode_body({"Name": "OPMonitor", "SessionID": "0x2"})
    (event,) = device.receive_data(encode_frame(1413, claim, session_id=2, sequence=9))
    assert isinstance(event, Request)
    body = {"Name": "OPMonitor", "Ret": 100, " SessionID ": "0x2"}
    wire = device.reply_verbatim(event, body, session_id=2)
    header = Header.unpack(wire)
    assert (header.message_id, header.session_id, header.sequence) == (1414, 2, 9)
    assert header.version == 1
    assert wire[20:] == encode_body(body, b"\n\x00")  # the one SessionID, as spelled
    bare = device.reply_verbatim(event, {"Ret": 103}, session_id=2, terminator=b"")
    assert bare.endswith(b"}")
    assert decode_body(wire[20:]).session_id == 2  # the lenient reader finds it all the same


def test_device_verbatim_reply_needs_a_request_that_has_one() -> None:
    device = _logged_in_device()
    (event,) = device.receive_data(encode_frame(1001, encode_body({"Ret": 100}), session_id=1))
    assert isinstance(event, Request)
    with pytest.raises(StateError, match="no reply"):
        device.reply_verbatim(event, {"Ret": 100}, session_id=1)


def test_device_binary_uploads_have_no_body() -> None:
    device = _logged_in_device()
    (event,) = device.receive_data(encode_frame(1432, b"\xd5" * 8, session_id=1))
    assert isinstance(event, Request)
    assert event.body is None
    assert event.session_matches
    assert event.message_id == MessageId.TALK_CU_PU_DATA


def test_device_rejects_a_body_that_is_not_json() -> None:
    with pytest.raises(PayloadError):
        DeviceConnection().receive_data(encode_frame(1020, b"\xff\xfe not json"))


def test_device_cannot_reply_to_a_message_that_has_none() -> None:
    device = _logged_in_device()
    (event,) = device.receive_data(encode_frame(1001, encode_body({"Ret": 100}), session_id=1))
    assert isinstance(event, Request)
    assert event.reply_id is None
    with pytest.raises(StateError, match="no reply"):
        device.reply(event, {"Ret": 100})


def test_client_cannot_wait_for_a_reply_to_a_reply() -> None:
    client = logged_in()
    with pytest.raises(ValueError, match="no reply to wait for"):
        client.request(1001, {})
    assert client.pending_request is None
    client.request(1001, {}, expect_reply=False)


def test_a_bad_body_breaks_the_stream_however_it_is_cut() -> None:
    good = encode_frame(1006, encode_body({"Name": "KeepAlive"}))
    bad = encode_frame(1020, b"not json")
    login = ClientConnection().login("admin", "")
    device = DeviceConnection()
    assert len(device.receive_data(good)) == 1
    with pytest.raises(PayloadError):
        device.receive_data(bad)
    with pytest.raises(PayloadError):
        device.receive_data(login)


def test_client_closes_as_soon_as_an_error_is_met_after_good_frames() -> None:
    client = logged_in()
    client.request(1006, {"Name": "KeepAlive"})
    good = device_frame(1007, {"Name": "KeepAlive", "Ret": 100})
    (event,) = client.receive_data(good + b"GET / HTTP/1.1\r\n\r\n")
    assert isinstance(event, Reply)
    assert client.state is ClientState.CLOSED
    with pytest.raises(StateError):
        client.request(1006, {"Name": "KeepAlive"})


@pytest.mark.parametrize("alive", [10**400, 3601, 86400])
def test_absurd_alive_intervals_fall_back_to_the_default(alive: int) -> None:
    client = ClientConnection()
    client.login("admin", "")
    body = {"Ret": 100, "SessionID": "0x7", "AliveInterval": alive, "ChannelNum": -7}
    (reply,) = client.receive_data(device_frame(1001, body))
    assert isinstance(reply, LoginReply)
    assert reply.alive_interval == client.alive_interval == 20
    assert reply.channel_count is None


@pytest.mark.parametrize("ret", ["0xCB", 203.0, True, [607]])
def test_an_unreadable_ret_is_not_success(ret: object) -> None:
    client = logged_in()
    client.request(1042, {"Name": "General.General"})
    (reply,) = client.receive_data(device_frame(1043, {"Ret": ret}))
    assert isinstance(reply, Reply)
    assert not reply.ok
    with pytest.raises(DeviceError, match="Ret was unreadable"):
        reply.raise_for_ret()


@pytest.mark.parametrize("ret", [100, 515, "100", " 100 ", None])
def test_a_success_ret_raises_nothing(ret: object) -> None:
    client = logged_in()
    client.request(1042, {"Name": "General.General"})
    body = {"Name": "General.General"} if ret is None else {"Ret": ret}
    (reply,) = client.receive_data(device_frame(1043, body))
    assert isinstance(reply, Reply)
    assert reply.ok
    reply.raise_for_ret()  # no DeviceError


def test_a_refused_login_raises_whatever_its_ret() -> None:
    client = ClientConnection()
    client.login("admin", "")
    (reply,) = client.receive_data(device_frame(1001, {"Ret": "100 points"}))
    assert isinstance(reply, LoginReply)
    assert not reply.ok
    with pytest.raises(DeviceError):
        reply.raise_for_ret()


def test_terminators_are_configurable_for_both_roles() -> None:
    client = ClientConnection(terminator=b"")
    wire = client.login("admin", "")
    assert wire.endswith(b"}")
    device = DeviceConnection(terminator=b"\x00")
    (login,) = device.receive_data(wire)
    assert isinstance(login, LoginRequest)
    reply = device.accept_login(login, 3, {"Ret": 100})
    assert reply.endswith(b"}\x00")
    assert device.push(1504, {"Name": ""}).endswith(b"}\x00")
    assert device.push(1504, {"Name": ""}, terminator=b"").endswith(b"}")
    (event,) = device.receive_data(encode_frame(1006, encode_body({}), session_id=3))
    assert isinstance(event, Request)
    assert device.reply(event, {"Ret": 100}).endswith(b"}\x00")
    assert device.reply(event, {"Ret": 100}, terminator=b"\n\x00").endswith(b"}\n\x00")


def test_logout_reply_logs_the_client_out() -> None:
    client = logged_in()
    client.request(1002, {"Name": ""})
    (reply,) = client.receive_data(device_frame(1003, {"Name": "", "Ret": 100}))
    assert isinstance(reply, Reply)
    assert client.state is ClientState.NOT_LOGGED_IN
    assert client.session_id == 0


def test_a_failed_second_login_forgets_the_session() -> None:
    client = logged_in()
    client.login("admin", "wrong")
    client.receive_data(login_reply(203))
    assert client.state is ClientState.NOT_LOGGED_IN
    assert client.session_id == 0


def test_accept_login_with_an_impossible_session_id_leaves_the_device_logged_out() -> None:
    device = DeviceConnection()
    (login,) = device.receive_data(SEED_FRAMES[0].payload)
    assert isinstance(login, LoginRequest)
    with pytest.raises(ValueError, match="32 bits"):
        device.accept_login(login, 2**32, {"Ret": 100})
    assert not device.logged_in


def test_requests_before_login_when_asked_for() -> None:
    client = ClientConnection()
    wire = client.request(1010, {}, before_login=True, add_session_id=False)
    assert wire[14:16] == (1010).to_bytes(2, "little")
    (reply,) = client.receive_data(device_frame(1011, {"Ret": 100}, session_id=0))
    assert isinstance(reply, Reply)
    assert client.state is ClientState.NOT_LOGGED_IN


def test_playback_end_and_upgrade_progress_are_notifications() -> None:
    client = logged_in()
    events = client.receive_data(
        device_frame(1524, {"Name": "", "Ret": 42}) + encode_frame(1423, b"", session_id=7)
    )
    assert [type(event) for event in events] == [Notification, Notification]
    first, second = events
    assert isinstance(first, Notification)
    assert isinstance(second, Notification)
    assert first.body is not None
    assert first.body.ret == 42
    assert second.body is None


def test_a_snapshot_is_answered_by_jpeg_packets_ended_by_end_flag() -> None:
    client = logged_in()
    client.request(1560, {"Name": "OPSNAP", "OPSNAP": {"Channel": 0}})
    jpeg = b"\xff\xd8\xff\xe0" + bytes(100)
    first = encode_frame(1561, jpeg[:50], session_id=7)
    last = encode_frame(1561, jpeg[50:] + b"\xff\xd9", session_id=7, current_packet=1)
    events = client.receive_data(first)
    assert [type(event) for event in events] == [MediaPacket]
    assert client.pending_request == 1560
    events = client.receive_data(last)
    assert [type(event) for event in events] == [MediaPacket]
    assert client.pending_request is None


def test_a_snapshot_part_that_starts_with_a_brace_is_still_data() -> None:
    # A JPEG part starts with `{` about once in 256; once the answer began as data, every
    # part up to EndFlag is data, and the next request starts afresh.
    client = logged_in()
    client.request(1560, {"Name": "OPSNAP", "OPSNAP": {"Channel": 0}})
    parts = [b"\xff\xd8\xff\xe0" + bytes(20), b"{" + bytes(20), b'{"Ret": 1}\xff\xd9']
    frames = [
        encode_frame(1561, part, session_id=7, current_packet=int(index == 2))
        for index, part in enumerate(parts)
    ]
    events = client.receive_data(b"".join(frames))
    assert [type(event) for event in events] == [MediaPacket] * 3
    assert client.pending_request is None
    client.request(1560, {"Name": "OPSNAP", "OPSNAP": {"Channel": 0}})
    (reply,) = client.receive_data(device_frame(1561, {"Name": "OPSNAP", "Ret": 108}))
    assert isinstance(reply, Reply)
    assert reply.ret == 108


def test_a_refused_snapshot_is_a_json_reply() -> None:
    client = logged_in()
    client.request(1560, {"Name": "OPSNAP", "OPSNAP": {"Channel": 0}})
    (reply,) = client.receive_data(device_frame(1561, {"Name": "OPSNAP", "Ret": 108}))
    assert isinstance(reply, Reply)
    assert reply.ret == 108
    assert client.pending_request is None


MONITOR_START = {"Name": "OPMonitor", "OPMonitor": {"Action": "Start", "Parameter": {}}}
MONITOR_REPLY = {"Name": "OPMonitor", "Ret": 100}


def media(message_id: int = 1412, payload: bytes = b"\x00\x00\x01\xfc") -> bytes:
    return encode_frame(message_id, payload, session_id=7)


def receive_in_pieces(client: ClientConnection, wire: bytes, cut: str) -> list[ClientEvent]:
    """`wire` fed whole, byte by byte, or in two pieces cut inside a header."""
    if cut == "whole":
        return list(client.receive_data(wire))
    if cut == "bytes":
        return [event for byte in wire for event in client.receive_data(bytes([byte]))]
    return list(client.receive_data(wire[:7])) + list(client.receive_data(wire[7:]))


@pytest.mark.parametrize("cut", ["whole", "bytes", "split"])
def test_a_start_on_the_claimed_socket_is_answered_by_its_media(cut: str) -> None:
    # Cameras send no reply to a Start on the connection holding the claim, only the media
    # (docs/protocol.md §10): the first media packet of the stream answers it.
    client = logged_in()
    client.request(1410, MONITOR_START, answered_by_media=True)
    others = device_frame(1504, {"Name": "AlarmInfo"}) + media(1426) + media(1561)
    wire = others + media(1412, b"first") + media(1412, b"second")
    events = receive_in_pieces(client, wire, cut)
    assert [type(event) for event in events] == [AlarmMessage] + [MediaPacket] * 4
    assert [event.frame.payload for event in events[3:]] == [b"first", b"second"]
    assert client.pending_request is None
    assert client.state is ClientState.LOGGED_IN
    # A reply that comes after the media answers nothing, and the next request is matched.
    (late,) = client.receive_data(device_frame(1411, MONITOR_REPLY))
    assert isinstance(late, UnexpectedFrame)
    client.request(1020, {"Name": "SystemInfo"})
    events = client.receive_data(media(1412) + device_frame(1021, {"Ret": 100}))
    assert [type(event) for event in events] == [MediaPacket, Reply]
    assert client.pending_request is None


@pytest.mark.parametrize("data_id", [1422, 1426])
def test_a_download_start_is_answered_by_its_data(data_id: int) -> None:
    client = logged_in()
    body = {"Name": "OPPlayBack", "OPPlayBack": {"Action": "DownloadStart"}}
    client.request(1420, body, answered_by_media=True)
    events = client.receive_data(media(1412) + media(data_id, b"data"))
    assert [type(event) for event in events] == [MediaPacket, MediaPacket]
    assert client.pending_request is None


@pytest.mark.parametrize("ret", [100, 103])
def test_a_reply_before_the_media_answers_the_start(ret: int) -> None:
    client = logged_in()
    client.request(1410, MONITOR_START, answered_by_media=True)
    events = client.receive_data(device_frame(1411, {"Name": "OPMonitor", "Ret": ret}))
    (reply,) = events
    assert isinstance(reply, Reply)
    assert reply.request_id == 1410
    if ret == 100:
        reply.raise_for_ret()
    else:  # a refusal fails the start at once
        with pytest.raises(DeviceError) as refused:
            reply.raise_for_ret()
        assert refused.value.ret == 103
    assert client.pending_request is None
    (packet,) = client.receive_data(media())
    assert isinstance(packet, MediaPacket)


def test_a_late_start_reply_while_the_stop_waits_keeps_the_connection_in_step() -> None:
    # DVRIP cannot tell a late answer to the Start from the Stop's own: the first answers
    # the Stop, the second answers nothing, and the replies after them are matched as ever.
    client = logged_in()
    client.request(1410, MONITOR_START, answered_by_media=True)
    client.receive_data(media())
    stop = {"Name": "OPMonitor", "OPMonitor": {"Action": "Stop", "Parameter": {}}}
    client.request(1410, stop)
    (first,) = client.receive_data(media() + device_frame(1411, MONITOR_REPLY))[1:]
    assert isinstance(first, Reply)
    assert client.pending_request is None
    (second,) = client.receive_data(device_frame(1411, MONITOR_REPLY))
    assert isinstance(second, UnexpectedFrame)
    client.request(1006, {"Name": "KeepAlive"})
    (keepalive,) = client.receive_data(device_frame(1007, {"Ret": 100}))
    assert isinstance(keepalive, Reply)
    assert keepalive.request_id == 1006


def test_only_a_start_asked_so_is_answered_by_media() -> None:
    client = logged_in()
    # The vendor's two sockets: the Start on the control connection waits for its reply.
    client.request(1410, MONITOR_START)
    (packet,) = client.receive_data(media())
    assert isinstance(packet, MediaPacket)
    assert client.pending_request == 1410
    client.receive_data(device_frame(1411, MONITOR_REPLY))
    # Answered by its reply, a Start asked so leaves nothing behind: neither the next
    # request nor a login on the same connection is answered by media.
    client.request(1410, MONITOR_START, answered_by_media=True)
    client.receive_data(device_frame(1411, MONITOR_REPLY))
    client.request(1042, {"Name": "General.General"})
    client.receive_data(media())
    assert client.pending_request == 1042
    client.receive_data(device_frame(1043, {"Ret": 100}))
    client.request(1410, MONITOR_START, answered_by_media=True)
    client.receive_data(device_frame(1411, MONITOR_REPLY))
    client.login("admin", "secret")
    client.receive_data(media())
    assert client.pending_request == MessageId.LOGIN_REQ


def test_media_answers_only_the_requests_that_start_media() -> None:
    client = logged_in(first_sequence=3)
    with pytest.raises(ValueError, match="SYSINFO_REQ cannot be answered by media"):
        client.request(1020, {"Name": "SystemInfo"}, answered_by_media=True)
    with pytest.raises(ValueError, match="MONITOR_REQ cannot be answered by media"):
        client.request(1410, MONITOR_START, expect_reply=False, answered_by_media=True)
    assert client.pending_request is None
    # Nothing was sent: the sequence number was not used.
    assert client.request(1006, {}, expect_reply=False)[8:12] == (4).to_bytes(4, "little")


def test_a_config_export_reply_is_binary() -> None:
    client = logged_in()
    client.request(1542, {"Name": ""})
    archive = b"PK\x03\x04" + bytes(60)
    (reply,) = client.receive_data(encode_frame(1543, archive, session_id=7))
    assert isinstance(reply, Reply)
    assert reply.payload == archive
    assert reply.body.data == {}
    assert reply.ok


def test_restamp_checks_a_request_against_the_session_as_it_is_now() -> None:
    device = DeviceConnection()
    client = ClientConnection()
    joined = client.login("admin", "") + encode_frame(1006, encode_body({}), session_id=3)
    login, keepalive = device.receive_data(joined)
    assert isinstance(login, LoginRequest)
    assert isinstance(keepalive, Request)
    assert not keepalive.authenticated  # checked when the read was decoded
    device.accept_login(login, 3, {"Ret": 100})
    again = device.restamp(keepalive)
    assert again.authenticated
    assert again.session_matches
    assert again.frame is keepalive.frame
    device.logout()
    assert not device.restamp(keepalive).authenticated


def test_a_reply_is_the_same_as_one_built_by_hand() -> None:
    client = logged_in()
    client.request(1042, {"Name": "General.General"})
    (reply,) = client.receive_data(device_frame(1043, {"Ret": 100, "Name": "General.General"}))
    assert type(reply) is Reply
    assert reply == Reply(1042, reply.frame, reply.body)
    assert repr(reply) == repr(Reply(1042, reply.frame, reply.body))
