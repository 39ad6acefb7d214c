"""Conformance corpus: frames as real firmware and other clients send them, from public
material (docs/protocol.md §2, §4, §6, §22; docs/protocol.md §F2.4). Each must be read the way the
device meant it."""

from __future__ import annotations

import json

import pytest

from xmcam.protocol import (
    ClientConnection,
    DeviceConnection,
    LoginReply,
    LoginRequest,
    Reply,
    Request,
    SessionIdStyle,
    encode_frame,
)


def device_frame(message_id: int, body: bytes, *, session_id: int = 0, version: int = 1) -> bytes:
    return encode_frame(message_id, body, session_id=session_id, version=version)


def login_with(reply: bytes) -> tuple[ClientConnection, LoginReply]:
    client = ClientConnection()
    client.login("admin", "")
    (event,) = client.receive_data(reply)
    assert isinstance(event, LoginReply)
    return client, event


def test_nvr_login_reply_measured_by_hass_xmeye() -> None:
    # An NBD8008R-U V4.03.R11 (docs/protocol.md §F2.1): compact JSON, AliveInterval 21, 32 channels.
    body = (
        b'{"AliveInterval":21,"ChannelNum":32,"DataUseAES":false,"DeviceType ":"HVR",'
        b'"ExtraChannel":1,"Ret":100,"SessionID":"0x00000051"}\n\x00'
    )
    client, reply = login_with(device_frame(1001, body, session_id=0x51))
    assert reply.ok
    assert (reply.session_id, reply.alive_interval, reply.channel_count) == (0x51, 21, 32)
    assert reply.device_type == "HVR"
    assert reply.body.original_keys == {"DeviceType": "DeviceType "}
    assert client.session_id_style is SessionIdStyle.PADDED


def test_login_reply_without_terminator_as_from_a_vatilon_h44() -> None:
    # go2rtc#2198: a header starting ff 01 00 00 and JSON with no \n\0 after it.
    body = b'{ "AliveInterval" : 20, "Ret" : 100, "SessionID" : "0x0000000B" }'
    _, reply = login_with(device_frame(1001, body, session_id=11))
    assert reply.ok
    assert reply.body.terminator == b""
    assert reply.session_id == 11


@pytest.mark.parametrize("terminator", [b"\x00", b"\n", b"\n\x00\x00\x00", b"\r\n\x00"])
def test_login_reply_with_other_terminators(terminator: bytes) -> None:
    body = b'{ "Ret" : 100, "SessionID" : "0x00000002" }' + terminator
    _, reply = login_with(device_frame(1001, body, session_id=2))
    assert reply.ok
    assert reply.body.terminator == terminator


def test_double_encoded_login_reply() -> None:
    # python-dvr#3: new firmware returned the login reply as a JSON string holding the JSON.
    inner = {"AliveInterval": 30, "Ret": 100, "SessionID": "0x00000003"}
    body = json.dumps(json.dumps(inner)).encode() + b"\n\x00"
    _, reply = login_with(device_frame(1001, body, session_id=3))
    assert reply.ok
    assert reply.body.double_encoded
    assert reply.alive_interval == 30


def test_login_reply_without_alive_interval() -> None:
    # python-dvr#17 (XM530): no AliveInterval at all; the keepalive period defaults to 20 s.
    _, reply = login_with(device_frame(1001, b'{ "Ret" : 100, "SessionID" : "0x5" }\n\x00'))
    assert reply.alive_interval == 20


def test_failed_login_replies_from_besder_firmware() -> None:
    # Wrong password -> 203, wrong user -> 205, both with Name "" and a zero SessionID.
    for ret in (203, 205):
        body = f'{{ "Name" : "", "Ret" : {ret}, "SessionID" : "0x00000000" }}\n\x00'.encode()
        _, reply = login_with(device_frame(1001, body))
        assert not reply.ok
        assert reply.ret == ret


def test_funsdk_session_id_and_version_zero_header() -> None:
    # FunSDK pads SessionIDs to 10 hex digits (go2rtc#1978); some devices send version 0.
    body = b'{ "Ret" : 100, "SessionID" : "0x0000000002" }\n\x00'
    client, reply = login_with(device_frame(1001, body, session_id=2, version=0))
    assert reply.session_id == 2
    assert client.session_id_style is SessionIdStyle.FUNSDK
    request = client.request(1006, {"Name": "KeepAlive"})
    assert b'"SessionID" : "0x0000000002"' in request


def test_avtalk_claim_as_the_official_app_sends_it() -> None:
    # go2rtc#1978: the AVTalk claim (1417, an odd-numbered request) with a FunSDK SessionID.
    claim = {
        "Name": "AVTalk",
        "AVTalk": {
            "Action": "Claim",
            "Channel": 0,
            "ProType": 0,
            "Video": {"Enc": "H265", "W": 240, "H": 320, "FPS": 10},
            "Audio": {"Enc": "g711a", "SB": 16, "SR": 8000},
        },
        "SessionID": "0x0000000002",
    }
    device = DeviceConnection()
    (login,) = device.receive_data(ClientConnection().login("admin", ""))
    assert isinstance(login, LoginRequest)
    device.accept_login(login, 2, {"Ret": 100})
    (event,) = device.receive_data(
        encode_frame(1417, json.dumps(claim).encode() + b"\n", session_id=2)
    )
    assert isinstance(event, Request)
    assert event.session_matches
    assert event.reply_id == 1418
    assert event.body is not None
    assert event.body.data["AVTalk"]["Video"]["Enc"] == "H265"
    reply = device.reply(
        event, {"Name": "AVTalk", "Ret": 100}, session_id_style=SessionIdStyle.PADDED
    )
    client = ClientConnection.for_session(2)
    client.request(1417, claim)
    (answer,) = client.receive_data(reply)
    assert isinstance(answer, Reply)
    assert answer.ok


def test_cve_2024_3765_packet_is_never_authenticated() -> None:
    # netsecfish: message 1009 with {"Ret":100,"SessionID":"0x0"} bypassed login on
    # vulnerable firmware. The device role reports it unauthenticated, for another session.
    probe = encode_frame(1009, b'{"Ret":100,"SessionID":"0x0"}')
    device = DeviceConnection()
    (event,) = device.receive_data(probe)
    assert isinstance(event, Request)
    assert not event.authenticated
    assert not event.session_matches
    assert event.reply_id is None  # an odd id: nothing to answer
    assert not device.logged_in


def test_escaped_slashes_and_non_utf8_titles() -> None:
    # Devices escape slashes in file names, and OEM titles may hold bytes that are not UTF-8.
    body = (
        b'{ "Name" : "OPFileQuery", "OPFileQuery" : [ { "FileName" : '
        b'"\\/idea0\\/2009-02-16\\/001\\/10.08.41-10.23.30[R][@7cb][0].h264" } ], '
        b'"Ret" : 100, "Title" : "Cam\xff\xfe1" }\n\x00'
    )
    client = ClientConnection.for_session(2)
    client.request(1440, {"Name": "OPFileQuery"})
    (reply,) = client.receive_data(device_frame(1441, body, session_id=2))
    assert isinstance(reply, Reply)
    name = reply.body.data["OPFileQuery"][0]["FileName"]
    assert name == "/idea0/2009-02-16/001/10.08.41-10.23.30[R][@7cb][0].h264"
    assert reply.body.data["Title"] == "Cam\ufffd\ufffd1"


def test_vendor_doc_keys_with_stray_spaces_and_trailing_commas() -> None:
    # The vendor doc's own examples: " OPMonitor ", " SessionID " and trailing commas.
    body = (
        b'{ " OPMonitor " : { "Action" : "Claim", }, "Name" : "OPMonitor", " SessionID " : "0x2", }'
    )
    client = ClientConnection.for_session(2)
    client.request(1413, {"Name": "OPMonitor"})
    (reply,) = client.receive_data(device_frame(1414, body, session_id=2))
    assert isinstance(reply, Reply)
    assert reply.body.data == {
        "OPMonitor": {"Action": "Claim"},
        "Name": "OPMonitor",
        "SessionID": "0x2",
    }
    assert reply.body.session_id == 2
    assert reply.body.original_keys == {"OPMonitor": " OPMonitor ", "SessionID": " SessionID "}


def test_unsupported_config_replies() -> None:
    # Ret 607, or `[null]` / `{"":[""]}` where the object should be (docs/protocol.md §4).
    client = ClientConnection.for_session(2)
    replies: list[Reply] = []
    for body in (
        b'{ "Name" : "Detect.HumanDetection", "Ret" : 607, "SessionID" : "0x2" }',
        b'{ "Name" : "Detect.HumanDetection", "Detect.HumanDetection" : [ null ], "Ret" : 100 }',
        b'{"":[""]}',
    ):
        client.request(1042, {"Name": "Detect.HumanDetection"})
        (reply,) = client.receive_data(device_frame(1043, body, session_id=2))
        assert isinstance(reply, Reply)
        replies.append(reply)
    assert [reply.ret for reply in replies] == [607, 100, None]
    assert replies[1].body.data["Detect.HumanDetection"] == [None]
    assert replies[2].body.data == {"": [""]}
