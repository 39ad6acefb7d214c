"""The simulator's encrypted FunSDK session: the v506 profile that requires it, `--encryption
optional` on the others, and what each kind of device does with the other kind of client;
sans I/O through the core, then over TCP with a minimal blocking client."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.encrypted_client import encrypted_client
from tests.sim.helpers import ManualClock, Wire, make_device
from xmcam.errors import (
    AuthenticationError,
    EncryptedBodyError,
    EncryptionRequiredError,
    InvalidRequestError,
)
from xmcam.media.frames import VideoCodec
from xmcam.protocol import (
    ClientConnection,
    LoginReply,
    MessageId,
    NegotiationReply,
    Reply,
    encode_frame,
)
from xmcam.protocol.crypto import DevicePublicKey, bootstrap_cipher
from xmcam.protocol.header import FUNSDK_MARKER
from xmcam.sim import SimulatorThread, load_profile
from xmcam.sim.encryption import EncryptionMode, EncryptionSettings, parse_encryption_settings
from xmcam.sim.media import MediaLibrary, StreamKind
from xmcam.sim.profile import ProfileError, parse_profile


def v506_wire() -> Wire:
    return Wire(make_device(load_profile("v506")))


def negotiate(wire: Wire) -> NegotiationReply:
    (answer,) = wire.send(wire.client.negotiate())
    assert isinstance(answer, NegotiationReply)
    return answer


def encrypted_login(wire: Wire, password: str = "") -> LoginReply:
    negotiate(wire)
    (reply,) = wire.send(wire.client.login_encrypted("admin", password))
    assert isinstance(reply, LoginReply)
    return reply


# ----------------------------------------------------------------------------- the profile


def test_the_v506_profile() -> None:
    profile = load_profile("v506")
    assert profile.encryption.mode is EncryptionMode.REQUIRED
    assert profile.system_info["SoftWareVersion"].startswith("V5.06.R02")
    assert profile.config["NetWork.NetCommon"]["Version"] == profile.system_info["SoftWareVersion"]
    assert profile.per_channel["video"]["Simplify.Encode"]["MainFormat"]["Video"][
        "Compression"
    ] == ("H.265")
    library = MediaLibrary(profile.media)
    assert library.clip(StreamKind.MAIN).codec is VideoCodec.H265
    assert library.clip(StreamKind.EXTRA1).codec is VideoCodec.H265
    assert load_profile().encryption.mode is EncryptionMode.OFF


def test_the_mode_can_be_changed() -> None:
    assert load_profile().with_encryption("optional").encryption.mode is EncryptionMode.OPTIONAL
    offered = load_profile("v506").with_encryption(EncryptionMode.OFF)
    assert not offered.encryption.offered
    assert offered.encryption.negotiation_reply["Bits"] == 1024
    with pytest.raises(ProfileError, match="encryption must be one of off, optional, required"):
        load_profile().with_encryption("sometimes")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "encryption must be a JSON object"),
        ({"mode": "on"}, "encryption.mode must be one of off, optional, required"),
        ({"negotiation_reply": []}, "negotiation_reply must be an object without a PublicKey"),
        ({"encryption_info": {"PublicKey": "00"}}, "encryption_info must be an object"),
        ({"not_encrypted": [1000, "1001"]}, "not_encrypted must be a list of message ids"),
        ({"not_encrypted": 1000}, "not_encrypted must be a list of message ids"),
        ({"key_bits": 512}, "key_bits must be one of"),
        ({"cipher": "AES"}, "unknown encryption setting 'cipher'"),
    ],
)
def test_bad_encryption_settings_are_one_line(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_encryption_settings(raw)
    with pytest.raises(ProfileError, match=message):
        parse_profile(json.dumps({"encryption": raw}), origin="cam.json")


def test_good_encryption_settings() -> None:
    settings = parse_encryption_settings(
        {"mode": "optional", "not_encrypted": [1000], "key_bits": 2048, "encryption_info": {}}
    )
    assert settings == EncryptionSettings(
        EncryptionMode.OPTIONAL,
        encryption_info={},
        not_encrypted=frozenset({1000}),
        key_bits=2048,
    )
    assert settings.offered
    assert not settings.required


def test_a_profile_file_names_its_clips_relative_to_where_it_runs(tmp_path: Path) -> None:
    profile = parse_profile(json.dumps({"media": {"main": "cam.h265"}}))
    assert profile.media.main == Path("cam.h265")
    rooted = parse_profile(json.dumps({"media": {"main": "/x/cam.h265"}}), media_root=tmp_path)
    assert rooted.media.main == Path("/x/cam.h265")


# ------------------------------------------------------------------ a device that requires it


def test_the_negotiation_gets_a_fresh_key_on_every_connection() -> None:
    device = make_device(load_profile("v506"))
    first, second = Wire(device), Wire(device)
    answer = negotiate(first)
    assert answer.offer is not None
    assert answer.offer.public_key.bits == 1024
    assert answer.body.data["CommunicateEncryptAlgo"] == "AES"
    assert answer.body.data["Ret"] == 100
    other = negotiate(second)
    assert other.offer is not None
    assert other.offer.public_key != answer.offer.public_key
    # The same connection keeps its key: the 1010 probe names the same one.
    (info,) = first.send(first.client.request(MessageId.ENCRYPTION_INFO_REQ, {}, before_login=True))
    assert isinstance(info, Reply)
    assert DevicePublicKey.parse(info.body.data["PublicKey"]) == answer.offer.public_key
    assert info.body.data["EncryptAlgo"] == "RSA_V1.5"
    assert 1000 in info.body.data["NotEncryptMsgID"]


def test_a_plain_login_gets_an_empty_reply_and_counts_for_no_lockout() -> None:
    clock = ManualClock()
    device = make_device(load_profile("v506"), clock)
    for _ in range(7):
        wire = Wire(device)
        raw = device_reply(wire, wire.client.login("admin", ""))
        assert raw[20:] == b"\n\x00"
        assert raw[14:16] == (1001).to_bytes(2, "little")
        (reply,) = wire.client.receive_data(raw)
        assert isinstance(reply, LoginReply)
        with pytest.raises(EncryptionRequiredError):
            reply.raise_for_ret()
        assert wire.camera.session_id is None
    assert device.login_attempts == 7
    assert not device.is_locked("admin")
    assert encrypted_login(Wire(device)).ok


def device_reply(wire: Wire, request: bytes) -> bytes:
    (answer,) = wire.camera.receive(request)
    return answer


def test_the_encrypted_session_works_end_to_end() -> None:
    wire = v506_wire()
    reply = encrypted_login(wire)
    assert reply.ok
    assert reply.encrypted
    assert reply.alive_interval == 30
    assert wire.camera.protocol.encrypted
    info = wire.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
    assert info.body.data["SystemInfo"]["SoftWareVersion"].startswith("V5.06.R02")
    encode = wire.call(MessageId.CONFIG_GET_REQ, {"Name": "Simplify.Encode.[0]"})
    assert encode.body.data["Simplify.Encode.[0]"]["MainFormat"]["Video"]["Compression"] == "H.265"
    assert wire.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}).ok
    # Alarms come sealed, and open.
    wire.call(MessageId.GUARD_REQ, {"Name": ""})
    assert wire.device.alarm(0) == 1
    assert wire.send(b"") == []
    assert wire.alarms[-1]["Event"] == "VideoMotion"


def test_every_reply_of_an_encrypted_id_is_sealed_on_the_wire() -> None:
    wire = v506_wire()
    encrypted_login(wire)
    request = wire.client.request(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
    raw = device_reply(wire, request)
    assert b"SystemInfo" not in raw
    assert base64.b64decode(raw[20:].rstrip(b"\x00"), validate=True)
    wire.client.receive_data(raw)


def test_a_request_in_clear_after_an_encrypted_login_is_dropped() -> None:
    wire = v506_wire()
    encrypted_login(wire)
    session = wire.client.session_id
    plain = ClientConnection.for_session(session)
    assert wire.camera.receive(plain.request(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})) == []
    assert wire.camera.session_id == session
    assert wire.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"}).ok  # nothing else affected


def test_a_wrong_password_is_refused_and_counted() -> None:
    wire = v506_wire()
    reply = encrypted_login(wire, "wrong")
    assert not reply.ok
    with pytest.raises(AuthenticationError):
        reply.raise_for_ret()
    assert not wire.camera.protocol.encrypted
    assert wire.device.login_attempts == 1


def test_an_encrypted_login_without_a_negotiation_breaks_only_that_connection() -> None:
    device = make_device(load_profile("v506"))
    other = Wire(device)
    negotiate(other)
    login = other.client.login_encrypted("admin", "")
    stranger = Wire(device)
    with pytest.raises(EncryptedBodyError, match="without a negotiation"):
        stranger.camera.receive(login)
    (reply,) = other.send(login)
    assert isinstance(reply, LoginReply)
    assert reply.ok


def test_a_garbage_body_in_the_session_is_a_protocol_error() -> None:
    wire = v506_wire()
    encrypted_login(wire)
    garbage = encode_frame(1020, b"bm90IGJsb2Nrcw==\x00", session_id=wire.client.session_id)
    with pytest.raises(EncryptedBodyError, match="not a whole number of 16-byte AES blocks"):
        wire.camera.receive(garbage)


# ---------------------------------------------------------------- optional, and off


def test_optional_takes_both_kinds_of_login() -> None:
    device = make_device(load_profile().with_encryption("optional"))
    plain = Wire(device)
    assert plain.login().ok
    assert not plain.camera.protocol.encrypted
    assert plain.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"}).ok
    sealed = Wire(device)
    assert encrypted_login(sealed).ok
    assert sealed.camera.protocol.encrypted
    info = sealed.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
    assert info.body.data["SystemInfo"]["SerialNo"] == "58e7fa5e6e262535"


def test_a_device_without_the_session_refuses_the_negotiation_and_stays_open() -> None:
    wire = Wire(make_device())
    answer = negotiate(wire)
    assert answer.offer is None
    assert answer.body.data == {"Name": "OPMonitor", "Ret": 103}
    with pytest.raises(InvalidRequestError):
        answer.raise_for_ret()
    assert wire.camera.effects == []
    assert wire.login().ok  # the plain login that follows, on the same connection
    # A 1010 probe gets what any request before a login gets: nothing, on the seed's camera.
    assert (
        wire.camera.receive(
            encode_frame(MessageId.ENCRYPTION_INFO_REQ, b"{}\n", total_packets=FUNSDK_MARKER)
        )
        == []
    )


def test_an_encrypted_login_to_a_device_without_the_session_is_a_protocol_error() -> None:
    wire = Wire(make_device())
    login = encode_frame(1000, bootstrap_cipher().seal(b'{ "UserName" : "x" }'))
    with pytest.raises(EncryptedBodyError):
        wire.camera.receive(login)


# --------------------------------------------------------------------------------- over TCP


def test_over_tcp_the_blocking_client_logs_in_encrypted() -> None:
    with SimulatorThread("v506") as camera:
        with encrypted_client(camera.host, camera.port) as client:
            reply = client.login()
            assert reply.ok
            assert client.connection.encrypted
            info = client.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
            assert info.body.data["SystemInfo"]["HardWare"] == "IPC_XM210_X2-WR-T_S38"
            assert client.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}).ok
        with (
            encrypted_client(camera.host, camera.port) as plain,
            pytest.raises(EncryptionRequiredError),
        ):
            plain.login(encrypted=False).raise_for_ret()
        assert camera.call(lambda: camera.simulator.device.login_attempts) == 2


def test_over_tcp_bad_input_closes_that_connection_only() -> None:
    with SimulatorThread("v506") as camera, encrypted_client(camera.host, camera.port) as good:
        assert good.login().ok
        with encrypted_client(camera.host, camera.port) as bad:
            assert bad.login().ok
            bad.send(encode_frame(1006, b"@@@@\x00", session_id=bad.connection.session_id))
            with pytest.raises(ConnectionError):
                bad.next_event()
        assert good.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}).ok


def test_over_tcp_a_plain_request_in_the_encrypted_session_gets_nothing() -> None:
    with SimulatorThread("v506") as camera, encrypted_client(camera.host, camera.port) as client:
        assert client.login().ok
        session = client.connection.session_id
        plain = ClientConnection.for_session(session)
        client.send(plain.request(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"}))
        # Had the plain request been answered, that answer (in clear) would come first and
        # break the encrypted session; the sealed request's answer comes alone.
        info = client.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
        assert info.body.data["Name"] == "SystemInfo"


def test_the_simulator_option_overrides_the_profile() -> None:
    with SimulatorThread(encryption="optional") as camera:
        with encrypted_client(camera.host, camera.port) as client:
            assert client.login().ok
        with encrypted_client(camera.host, camera.port) as client:
            assert client.login(encrypted=False).ok


def test_the_quirk_of_a_device_silent_to_the_negotiation() -> None:
    wire = Wire(make_device(load_profile().with_quirks(negotiation_silent=True)))
    assert wire.send(wire.client.negotiate()) == []
