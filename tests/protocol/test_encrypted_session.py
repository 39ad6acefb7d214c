"""The encrypted FunSDK session in the connections: the client's negotiation, encrypted login and
sealed traffic; the device's answer, its reading of encrypted logins and requests, and its
sealed replies; and the refusals, each a ProtocolError that closes the connection."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from xmcam.errors import (
    AuthenticationError,
    DeviceError,
    EncryptedBodyError,
    EncryptionRequiredError,
    InvalidRequestError,
    StateError,
)
from xmcam.protocol import (
    AlarmMessage,
    ClientConnection,
    ClientState,
    DeviceConnection,
    DeviceKeyPair,
    FrameDecoder,
    LoginReply,
    LoginRequest,
    MessageId,
    NegotiationReply,
    Reply,
    Request,
    SessionCipher,
    decode_body,
    encode_body,
    encode_frame,
    sofia_hash,
)
from xmcam.protocol.crypto import NOT_ENCRYPTED_IDS, bootstrap_cipher
from xmcam.protocol.header import FUNSDK_MARKER

OFFER_FIELDS = {"Bits": 1024, "CommunicateBits": 128, "EncryptAlgo": "RSA_V1.5"}
KEY = bytes(range(16))


@pytest.fixture(scope="module")
def key_pair() -> DeviceKeyPair:
    return DeviceKeyPair.generate()


def negotiated(key_pair: DeviceKeyPair) -> tuple[ClientConnection, DeviceConnection]:
    client, device = ClientConnection(), DeviceConnection()
    (request,) = device.receive_data(client.negotiate())
    assert isinstance(request, Request)
    (answer,) = client.receive_data(device.accept_negotiation(request, key_pair, OFFER_FIELDS))
    assert isinstance(answer, NegotiationReply)
    return client, device


def encrypted(
    key_pair: DeviceKeyPair, *, user: str = "admin", password: str = ""
) -> tuple[ClientConnection, DeviceConnection]:
    client, device = negotiated(key_pair)
    (login,) = device.receive_data(client.login_encrypted(user, password, communicate_key=KEY))
    assert isinstance(login, LoginRequest)
    (reply,) = client.receive_data(device.accept_login(login, 7, {"Ret": 100}))
    assert isinstance(reply, LoginReply)
    reply.raise_for_ret()
    return client, device


def frame_of(wire: bytes) -> Any:
    (frame,) = FrameDecoder().feed(wire)
    return frame


def device_frame(message_id: int, payload: bytes, session_id: int = 7) -> bytes:
    return encode_frame(message_id, payload, session_id=session_id, version=1)


# ------------------------------------------------------------------------- the negotiation


def test_the_negotiation_is_a_marked_claim_for_session_99999() -> None:
    client = ClientConnection()
    frame = frame_of(client.negotiate())
    assert frame.header.message_id == MessageId.MONITOR_CLAIM_REQ
    assert frame.header.session_id == 99999
    assert frame.header.total_packets == FUNSDK_MARKER
    assert frame.header.current_packet == 0
    body = decode_body(frame.payload).data
    assert body["SessionID"] == "0x1"
    assert body["OPMonitor"]["Parameter"]["CombinMode"] == "CONNECT_ALL"
    assert client.pending_request == MessageId.MONITOR_CLAIM_REQ
    assert client.state is ClientState.NOT_LOGGED_IN


def test_the_device_answers_with_its_key_under_the_bootstrap_key(key_pair: DeviceKeyPair) -> None:
    client, device = ClientConnection(), DeviceConnection()
    (request,) = device.receive_data(client.negotiate(sequence=5))
    assert isinstance(request, Request)
    assert request.is_negotiation
    assert not request.authenticated
    wire = device.accept_negotiation(request, key_pair, OFFER_FIELDS, not_encrypted=frozenset({1}))
    frame = frame_of(wire)
    assert frame.header.message_id == MessageId.MONITOR_CLAIM_RSP
    assert frame.header.sequence == 5
    assert frame.header.session_id == 99999
    assert frame.payload.endswith(b"\x00")
    plain = bootstrap_cipher().open(frame.payload, "x")
    assert decode_body(plain).data == {
        **OFFER_FIELDS,
        "NotEncryptMsgID": [1],
        "PublicKey": key_pair.public.text,
        "Ret": 100,
    }
    (answer,) = client.receive_data(wire)
    assert isinstance(answer, NegotiationReply)
    assert answer.offer is not None
    assert answer.offer.public_key == key_pair.public
    assert answer.offer.not_encrypted == frozenset({1})
    assert client.offer is answer.offer
    assert answer.frame.payload == plain  # the event holds the body decrypted, for logs
    answer.raise_for_ret()
    assert client.pending_request is None


def test_a_device_without_the_session_refuses_the_negotiation_in_clear() -> None:
    client = ClientConnection()
    client.negotiate()
    (answer,) = client.receive_data(
        device_frame(1414, encode_body({"Name": "OPMonitor", "Ret": 103}, b"\n\x00"), 0)
    )
    assert isinstance(answer, NegotiationReply)
    assert answer.offer is None
    assert client.offer is None
    with pytest.raises(InvalidRequestError):
        answer.raise_for_ret()
    # Nothing learnt: the login that follows is a plain one.
    with pytest.raises(StateError, match="needs a negotiation that offered a key"):
        client.login_encrypted("admin", "")
    assert frame_of(client.login("admin", "")).header.total_packets == 0


def test_the_negotiation_comes_before_the_login(key_pair: DeviceKeyPair) -> None:
    client, _ = encrypted(key_pair)
    with pytest.raises(StateError, match="before the login"):
        client.negotiate()
    waiting = ClientConnection()
    waiting.negotiate()
    with pytest.raises(StateError, match="still awaiting its reply"):
        waiting.negotiate()


def sealed_answer(body: bytes) -> bytes:
    return device_frame(1414, bootstrap_cipher().seal(body), 99999)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (sealed_answer(b'{ "Bits" : 1024, "Ret" : 100 }'), "PublicKey is missing"),
        (sealed_answer(b'{ "PublicKey" : "00,03", "Ret" : 100 }'), "not an RSA key"),
        (sealed_answer(b'{ "Bits" : '), "decrypts to garbage \\(body is not valid JSON"),
        (device_frame(1414, b"7b39TFcOQLvicIPJ\x00"), "not a whole number"),
        (device_frame(1414, b"7b39TFcOQLv!cIPJ\x00"), "not base64"),
    ],
)
def test_a_bad_negotiation_answer_is_a_protocol_error_that_closes(
    payload: bytes, message: str
) -> None:
    client = ClientConnection()
    client.negotiate()
    with pytest.raises(EncryptedBodyError, match=message):
        client.receive_data(payload)
    assert client.state is ClientState.CLOSED
    with pytest.raises(EncryptedBodyError):
        client.receive_data(b"")


# ------------------------------------------------------------------------------- the login


def test_the_encrypted_login(key_pair: DeviceKeyPair) -> None:
    client, device = negotiated(key_pair)
    wire = client.login_encrypted("admin", "secret", communicate_key=KEY, sequence=3)
    frame = frame_of(wire)
    assert frame.header.message_id == MessageId.LOGIN_REQ
    assert frame.header.session_id == 0
    assert frame.header.sequence == 3
    assert frame.header.total_packets == FUNSDK_MARKER
    assert frame.payload.endswith(b"\x00")
    assert not frame.payload.endswith(b"\x00\x00")
    assert b"secret" not in wire
    assert sofia_hash("secret").encode() not in wire
    # What the debug log may show: the JSON around the RSA blocks, never the key in clear.
    assert client.last_plaintext is not None
    shown = frame_of(client.last_plaintext)
    assert shown.header.total_packets == FUNSDK_MARKER
    fields = decode_body(shown.payload).data
    assert list(fields) == ["EncryptType", "LoginType", "UserName", "PassWord", "CommunicateKey"]
    assert fields["LoginType"] == "DVRIP-Xm030"
    assert KEY.hex() not in client.last_plaintext.decode("latin-1").lower()
    (login,) = device.receive_data(wire)
    assert isinstance(login, LoginRequest)
    assert login.encrypted
    assert login.user == "admin"
    assert login.password == sofia_hash("secret")
    assert login.encrypt_type == "MD5"
    assert login.login_type == "DVRIP-Xm030"
    assert login.communicate_key == KEY
    assert "encrypted=True" in repr(login)
    assert sofia_hash("secret") not in repr(login)
    assert KEY.hex() not in repr(login)
    assert login.frame.payload.startswith(b'{"EncryptType":"MD5"')
    (reply,) = client.receive_data(device.accept_login(login, 7, {"Ret": 100}))
    assert isinstance(reply, LoginReply)
    assert reply.ok
    assert reply.encrypted
    assert client.encrypted
    assert device.encrypted
    assert client.session_cipher is not None
    assert client.state is ClientState.LOGGED_IN
    assert client.session_id == 7


def test_a_login_type_of_ones_own(key_pair: DeviceKeyPair) -> None:
    client, device = negotiated(key_pair)
    (login,) = device.receive_data(client.login_encrypted("admin", "", login_type="DVRIP-Web"))
    assert isinstance(login, LoginRequest)
    assert login.login_type == "DVRIP-Web"
    assert len(login.communicate_key) == 16
    assert login.communicate_key != KEY


def test_a_refused_encrypted_login_leaves_the_session_plain(key_pair: DeviceKeyPair) -> None:
    client, device = negotiated(key_pair)
    (login,) = device.receive_data(client.login_encrypted("admin", "wrong"))
    assert isinstance(login, LoginRequest)
    (reply,) = client.receive_data(device.reject_login(login, {"Name": "", "Ret": 203}))
    assert isinstance(reply, LoginReply)
    assert reply.encrypted
    assert not reply.ok
    assert not client.encrypted
    assert not device.encrypted
    with pytest.raises(AuthenticationError):
        reply.raise_for_ret()


def test_an_empty_answer_to_an_encrypted_login_is_a_plain_device_error(
    key_pair: DeviceKeyPair,
) -> None:
    client, _ = negotiated(key_pair)
    client.login_encrypted("admin", "")
    (reply,) = client.receive_data(device_frame(1001, b"\n\x00", 0))
    assert isinstance(reply, LoginReply)
    with pytest.raises(DeviceError) as caught:
        reply.raise_for_ret()
    assert not isinstance(caught.value, EncryptionRequiredError)


@pytest.mark.parametrize("payload", [b"", b"\n\x00", b"\x00", b"{}\n\x00"])
def test_an_empty_answer_to_a_plain_login_means_the_device_wants_encryption(
    payload: bytes,
) -> None:
    client = ClientConnection()
    client.login("admin", "")
    (reply,) = client.receive_data(device_frame(1001, payload, 0))
    assert isinstance(reply, LoginReply)
    assert not reply.ok
    with pytest.raises(EncryptionRequiredError) as caught:
        reply.raise_for_ret()
    error = caught.value
    assert str(error) == (
        "the camera wants an encrypted session: it answered the plain login with an empty reply"
    )
    assert error.ret == 0
    assert error.message_id == MessageId.LOGIN_REQ
    assert isinstance(error, DeviceError)


def test_a_plain_login_after_an_encrypted_offer_is_plain(key_pair: DeviceKeyPair) -> None:
    client, device = negotiated(key_pair)
    (login,) = device.receive_data(client.login("admin", ""))
    assert isinstance(login, LoginRequest)
    assert not login.encrypted
    (reply,) = client.receive_data(device.accept_login(login, 7, {"Ret": 100}))
    assert isinstance(reply, LoginReply)
    assert not reply.encrypted
    assert not client.encrypted
    assert not device.encrypted


def test_an_encrypted_login_without_a_negotiation_is_a_protocol_error(
    key_pair: DeviceKeyPair,
) -> None:
    client, _ = negotiated(key_pair)
    wire = client.login_encrypted("admin", "")
    device = DeviceConnection()
    with pytest.raises(EncryptedBodyError, match="without a negotiation"):
        device.receive_data(wire)


def test_an_encrypted_login_of_garbage_is_a_protocol_error(key_pair: DeviceKeyPair) -> None:
    _, device = negotiated(key_pair)
    wire = encode_frame(1000, bootstrap_cipher().seal(b"{ no json"), total_packets=FUNSDK_MARKER)
    with pytest.raises(EncryptedBodyError, match="the encrypted login decrypts to garbage"):
        device.receive_data(wire)


def test_an_encrypted_login_under_another_key_is_a_protocol_error(
    key_pair: DeviceKeyPair,
) -> None:
    other = DeviceKeyPair.generate()
    client, _ = negotiated(other)
    wire = client.login_encrypted("admin", "")
    _, device = negotiated(key_pair)
    with pytest.raises(EncryptedBodyError):
        device.receive_data(wire)


# ----------------------------------------------------------------------------- the session


def test_requests_and_replies_are_sealed_both_ways(key_pair: DeviceKeyPair) -> None:
    client, device = encrypted(key_pair)
    wire = client.request(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
    frame = frame_of(wire)
    assert b"SystemInfo" not in wire
    assert frame.payload.endswith(b"\x00")
    assert base64.b64decode(frame.payload[:-1], validate=True)
    assert client.last_plaintext is not None
    assert b'"Name" : "SystemInfo"' in client.last_plaintext
    (request,) = device.receive_data(wire)
    assert isinstance(request, Request)
    assert request.encrypted
    assert request.session_matches
    assert request.body is not None
    assert request.body.data == {"Name": "SystemInfo", "SessionID": "0x00000007"}
    assert device.expects_encryption(MessageId.SYSINFO_REQ)
    assert not device.expects_encryption(MessageId.LOGIN_REQ)
    answer = device.reply(request, {"Name": "SystemInfo", "Ret": 100, "SystemInfo": {"A": 1}})
    assert b"SystemInfo" not in answer
    (reply,) = client.receive_data(answer)
    assert isinstance(reply, Reply)
    assert reply.body.data["SystemInfo"] == {"A": 1}
    assert reply.frame.payload.startswith(b'{ "Name" : "SystemInfo"')
    # restamp() keeps what the device read.
    assert device.restamp(request).encrypted


def test_a_named_request_is_sealed_too(key_pair: DeviceKeyPair) -> None:
    client, device = encrypted(key_pair)
    wire = client.named_request(MessageId.SYSINFO_REQ, "SystemInfo")
    assert b"SystemInfo" not in wire
    (request,) = device.receive_data(wire)
    assert isinstance(request, Request)
    assert request.encrypted
    assert request.body is not None
    assert request.body.data == {"Name": "SystemInfo", "SessionID": "0x00000007"}


def test_ids_in_clear_stay_in_clear(key_pair: DeviceKeyPair) -> None:
    client, device = encrypted(key_pair)
    wire = client.request(MessageId.ENCRYPTION_INFO_REQ, {})
    assert b"SessionID" in wire
    (request,) = device.receive_data(wire)
    assert isinstance(request, Request)
    assert not request.encrypted
    answer = device.reply(request, {"Ret": 100})
    assert b'"Ret" : 100' in answer
    (reply,) = client.receive_data(answer)
    assert isinstance(reply, Reply)
    assert reply.ok


def test_a_request_in_clear_for_an_encrypted_id_is_marked(key_pair: DeviceKeyPair) -> None:
    plain_client = ClientConnection.for_session(7)
    _, device = encrypted(key_pair)
    (request,) = device.receive_data(plain_client.request(1006, {"Name": "KeepAlive"}))
    assert isinstance(request, Request)
    assert not request.encrypted
    assert device.expects_encryption(request.message_id)


def test_a_reply_in_clear_for_an_encrypted_id_is_a_protocol_error(
    key_pair: DeviceKeyPair,
) -> None:
    client, _ = encrypted(key_pair)
    client.request(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    with pytest.raises(EncryptedBodyError, match="KEEPALIVE_RSP body came in clear"):
        client.receive_data(device_frame(1007, encode_body({"Ret": 100}, b"\n\x00")))
    assert client.state is ClientState.CLOSED


def test_a_reply_under_another_key_is_a_protocol_error(key_pair: DeviceKeyPair) -> None:
    client, _ = encrypted(key_pair)
    client.request(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    stranger = SessionCipher(bytes(16))
    with pytest.raises(EncryptedBodyError):
        client.receive_data(device_frame(1007, stranger.seal(b'{ "Ret" : 100 }\n')))


def test_pushes_are_sealed_and_opened(key_pair: DeviceKeyPair) -> None:
    client, device = encrypted(key_pair)
    push = device.push(MessageId.ALARM_REQ, {"AlarmInfo": {"Event": "VideoMotion"}})
    assert b"VideoMotion" not in push
    (alarm,) = client.receive_data(push)
    assert isinstance(alarm, AlarmMessage)
    assert alarm.body.data["AlarmInfo"] == {"Event": "VideoMotion"}


def test_verbatim_replies_are_sealed_too(key_pair: DeviceKeyPair) -> None:
    client, device = encrypted(key_pair)
    (request,) = device.receive_data(client.request(MessageId.SYSINFO_REQ, {"Name": "X"}))
    assert isinstance(request, Request)
    answer = device.reply_verbatim(request, {"Name": "X", "Ret": 100}, session_id=7)
    assert b'"X"' not in answer
    (reply,) = client.receive_data(answer)
    assert isinstance(reply, Reply)
    assert reply.body.data == {"Name": "X", "Ret": 100}


def test_media_and_claims_stay_in_clear(key_pair: DeviceKeyPair) -> None:
    client, device = encrypted(key_pair)
    data = client.send_data(MessageId.TALK_CU_PU_DATA, b"\x00\x00\x01\xfa" + bytes(8))
    assert data.endswith(bytes(8))
    (talk,) = device.receive_data(data)
    assert isinstance(talk, Request)
    assert talk.body is None
    assert not talk.encrypted
    claim = client.request(MessageId.MONITOR_CLAIM_REQ, {"Name": "OPMonitor"})
    assert b"OPMonitor" in claim
    (request,) = device.receive_data(claim)
    assert isinstance(request, Request)
    assert not request.is_negotiation
    assert b"OPMonitor" in device.reply(request, {"Name": "OPMonitor", "Ret": 100})


def test_a_data_connection_shares_the_session_cipher(key_pair: DeviceKeyPair) -> None:
    control, device = encrypted(key_pair)
    data = ClientConnection.for_session(7, session_cipher=control.session_cipher)
    assert data.encrypted
    (request,) = device.receive_data(data.request(MessageId.KEEPALIVE_REQ, {}))
    assert isinstance(request, Request)
    assert request.encrypted
    assert not ClientConnection.for_session(7).encrypted


def test_logging_out_ends_the_encrypted_session(key_pair: DeviceKeyPair) -> None:
    client, device = encrypted(key_pair)
    (request,) = device.receive_data(client.request(MessageId.LOGOUT_REQ, {"Name": ""}))
    assert isinstance(request, Request)
    answer = device.reply(request, {"Name": "", "Ret": 100})
    device.logout()
    assert not device.encrypted
    (reply,) = client.receive_data(answer)
    assert isinstance(reply, Reply)
    assert not client.encrypted
    assert client.state is ClientState.NOT_LOGGED_IN


def test_a_failed_relogin_ends_the_encrypted_session(key_pair: DeviceKeyPair) -> None:
    client, _ = encrypted(key_pair)
    client.login("admin", "wrong")
    (reply,) = client.receive_data(device_frame(1001, encode_body({"Ret": 203}, b"\n\x00"), 0))
    assert isinstance(reply, LoginReply)
    assert not client.encrypted


def test_a_negotiation_is_told_by_its_session_or_its_marker() -> None:
    device = DeviceConnection()
    body = b'{ "Name" : "OPMonitor" }\n'
    marked, unmarked_99999, plain = device.receive_data(
        encode_frame(1413, body, total_packets=FUNSDK_MARKER)
        + encode_frame(1413, body, session_id=99999)
        + encode_frame(1413, body, session_id=7)
    )
    assert isinstance(marked, Request)
    assert isinstance(unmarked_99999, Request)
    assert isinstance(plain, Request)
    assert marked.is_negotiation
    assert unmarked_99999.is_negotiation
    assert not plain.is_negotiation
    (login,) = device.receive_data(encode_frame(1000, body, session_id=99999))
    assert isinstance(login, LoginRequest)


def test_the_default_list_of_ids_in_clear_is_the_devices() -> None:
    assert {1000, 1001, 1010, 1011, 1412, 1413, 1414, 1434} <= NOT_ENCRYPTED_IDS
    assert 1006 not in NOT_ENCRYPTED_IDS
    assert len(NOT_ENCRYPTED_IDS) == 32


def test_the_plain_view_of_a_sealed_frame_is_its_plaintext(key_pair: DeviceKeyPair) -> None:
    client, _ = encrypted(key_pair)
    sealed = client.request(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}, expect_reply=False)
    assert client.plain_view(sealed) == client.last_plaintext
    clear = client.request(MessageId.ENCRYPTION_INFO_REQ, {}, expect_reply=False)
    assert client.plain_view(clear) is clear
    assert ClientConnection().plain_view(b"x") == b"x"
    assert ClientConnection().last_plaintext is None  # nothing was ever sealed
    negotiating, _ = negotiated(key_pair)
    login = negotiating.login_encrypted("admin", "")
    assert negotiating.plain_view(login).startswith(login[:4])
    assert b'"EncryptType":"MD5"' in negotiating.plain_view(login)
