"""How a client logs in (xmcam.client.encryption), sans I/O: what `auto`, `on` and `off`
send first, what each answer leads to, and what is learnt for the next connection."""

from __future__ import annotations

from typing import Any

import pytest

from xmcam.client.encryption import (
    NEGOTIATION_TIMEOUT,
    Encryption,
    LoginPlan,
    encryption_mode,
)
from xmcam.errors import AuthenticationError, EncryptionRequiredError, EncryptionUnavailableError
from xmcam.protocol import (
    ClientConnection,
    DeviceConnection,
    DeviceKeyPair,
    FrameDecoder,
    LoginReply,
    NegotiationReply,
    Request,
    encode_body,
    encode_frame,
)
from xmcam.protocol.header import FUNSDK_MARKER


@pytest.fixture(scope="module")
def key_pair() -> DeviceKeyPair:
    return DeviceKeyPair.generate()


def offered(key_pair: DeviceKeyPair) -> tuple[ClientConnection, NegotiationReply]:
    client, device = ClientConnection(), DeviceConnection()
    (request,) = device.receive_data(client.negotiate())
    assert isinstance(request, Request)
    (answer,) = client.receive_data(device.accept_negotiation(request, key_pair, {}))
    assert isinstance(answer, NegotiationReply)
    return client, answer


def refused() -> tuple[ClientConnection, NegotiationReply]:
    client = ClientConnection()
    client.negotiate()
    body = encode_body({"Name": "OPMonitor", "Ret": 103}, b"\n\x00")
    (answer,) = client.receive_data(encode_frame(1414, body, version=1))
    assert isinstance(answer, NegotiationReply)
    return client, answer


def login_reply(client: ClientConnection, body: bytes) -> LoginReply:
    (reply,) = client.receive_data(encode_frame(1001, body, version=1))
    assert isinstance(reply, LoginReply)
    return reply


def marker(wire: bytes) -> int:
    (frame,) = FrameDecoder().feed(wire)
    return int(frame.header.total_packets)


def test_the_modes_by_name() -> None:
    assert encryption_mode("auto") is Encryption.AUTO
    assert encryption_mode(Encryption.ON) is Encryption.ON
    with pytest.raises(ValueError, match="encryption must be one of auto, on, off, not 'yes'"):
        encryption_mode("yes")


@pytest.mark.parametrize(
    ("mode", "learned", "negotiates", "deadline"),
    [
        (Encryption.AUTO, None, True, NEGOTIATION_TIMEOUT),
        (Encryption.AUTO, True, True, 10.0),
        (Encryption.AUTO, False, False, 10.0),
        (Encryption.ON, None, True, 10.0),
        (Encryption.OFF, None, False, 10.0),
    ],
)
def test_what_goes_first(
    mode: Encryption, learned: bool | None, negotiates: bool, deadline: float
) -> None:
    plan = LoginPlan(mode, learned)
    assert plan.negotiates() is negotiates
    assert plan.negotiation_deadline(10.0) == deadline
    assert LoginPlan(mode, learned).negotiation_deadline(1.0) == 1.0


@pytest.mark.parametrize("mode", [Encryption.AUTO, Encryption.ON])
def test_an_offer_leads_to_the_encrypted_login(key_pair: DeviceKeyPair, mode: Encryption) -> None:
    client, answer = offered(key_pair)
    plan = LoginPlan(mode)
    wire = plan.login_wire(client, answer, "admin", "")
    assert marker(wire) == FUNSDK_MARKER
    assert plan.learned is True


def test_auto_logs_in_plain_after_a_refusal() -> None:
    client, answer = refused()
    plan = LoginPlan()
    wire = plan.login_wire(client, answer, "admin", "")
    assert marker(wire) == 0
    assert b'"LoginType" : "DVRIP-Web"' in wire
    assert plan.learned is False
    assert not plan.negotiates()  # the next connection goes straight to the plain login


def test_on_refuses_a_device_without_the_session() -> None:
    client, answer = refused()
    with pytest.raises(EncryptionUnavailableError, match="refused the negotiation \\(Ret 103\\)"):
        LoginPlan(Encryption.ON).login_wire(client, answer, "admin", "")
    client = ClientConnection()
    client.negotiate()
    (empty,) = client.receive_data(encode_frame(1414, b"{}\n\x00", version=1))
    assert isinstance(empty, NegotiationReply)
    with pytest.raises(EncryptionUnavailableError, match="\\(no Ret\\)") as caught:
        LoginPlan(Encryption.ON).login_wire(client, empty, "admin", "")
    assert caught.value.ret == 0


def test_a_silent_negotiation() -> None:
    plan = LoginPlan()
    plan.negotiation_timed_out()
    assert plan.learned is False
    with pytest.raises(EncryptionUnavailableError, match="did not answer the negotiation"):
        LoginPlan(Encryption.ON).negotiation_timed_out()


def test_off_and_no_negotiation_log_in_plain() -> None:
    plan = LoginPlan(Encryption.OFF)
    wire = plan.login_wire(ClientConnection(), None, "admin", "")
    assert marker(wire) == 0
    assert plan.learned is None


@pytest.mark.parametrize(
    ("body", "raises"),
    [
        (b"\n\x00", EncryptionRequiredError),
        (encode_body({"Ret": 100, "SessionID": "0x1", "DataUseAES": True}), None),
    ],
)
def test_a_plain_login_answered_as_new_firmware_does_teaches_the_plan(
    body: bytes, raises: Any
) -> None:
    plan = LoginPlan(Encryption.AUTO, learned=False)
    client = ClientConnection()
    client.login("admin", "")
    reply = login_reply(client, body)
    if raises is None:
        assert plan.finished(reply) is reply
    else:
        with pytest.raises(raises):
            plan.finished(reply)
    assert plan.learned is True
    assert plan.negotiates()


def test_a_refused_login_is_raised_and_teaches_nothing() -> None:
    plan = LoginPlan(Encryption.AUTO, learned=False)
    client = ClientConnection()
    client.login("admin", "")
    with pytest.raises(AuthenticationError):
        plan.finished(login_reply(client, encode_body({"Ret": 203})))
    assert plan.learned is False
