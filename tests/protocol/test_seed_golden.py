"""The seed capture as golden vectors: every frame decodes to the expected header and body,
fed whole, byte by byte and all joined; and each role of the core rebuilds the frames it
sends byte for byte, header included."""

from __future__ import annotations

import pytest

from tests.seed import (
    ALARM_OUT_CLOSE,
    ALARM_OUT_MANUAL,
    EXPECTED_BODIES,
    EXPECTED_HEADERS,
    SEED_FRAMES,
    SEED_LOGIN_REPLY,
    SEED_SYSTEM_INFO,
    SeedFrame,
)
from xmcam.protocol import (
    ClientConnection,
    ClientState,
    DeviceConnection,
    Frame,
    FrameDecoder,
    LoginReply,
    LoginRequest,
    MessageId,
    Reply,
    Request,
    SessionIdStyle,
    decode_body,
    encode_body,
    encode_frame,
)


def test_the_capture_holds_eleven_frames() -> None:
    assert len(SEED_FRAMES) == 11
    assert [frame.from_client for frame in SEED_FRAMES] == [h[0] for h in EXPECTED_HEADERS]


def _check(frame: Frame, index: int) -> None:
    _, message_id, session_id, sequence, version = EXPECTED_HEADERS[index]
    assert frame.message_id == message_id
    assert frame.session_id == session_id
    assert frame.sequence == sequence
    assert frame.header.version == version
    assert frame.header.length == len(SEED_FRAMES[index].payload) - 20
    assert frame.header.total_packets == frame.header.current_packet == 0
    assert frame.body().data == EXPECTED_BODIES[index]


@pytest.mark.parametrize("seed", SEED_FRAMES, ids=lambda seed: f"frame{seed.index}")
def test_each_frame_decodes_whole(seed: SeedFrame) -> None:
    frames = FrameDecoder().feed(seed.payload)
    assert len(frames) == 1
    _check(frames[0], seed.index)
    assert frames[0].to_bytes() == seed.payload


@pytest.mark.parametrize("seed", SEED_FRAMES, ids=lambda seed: f"frame{seed.index}")
def test_each_frame_decodes_byte_by_byte(seed: SeedFrame) -> None:
    decoder = FrameDecoder()
    frames: list[Frame] = []
    for offset in range(len(seed.payload)):
        frames += decoder.feed(seed.payload[offset : offset + 1])
    assert len(frames) == 1
    _check(frames[0], seed.index)
    decoder.eof()


def test_all_frames_joined_decode_in_order() -> None:
    stream = b"".join(seed.payload for seed in SEED_FRAMES)
    frames = FrameDecoder().feed(stream)
    assert len(frames) == 11
    for index, frame in enumerate(frames):
        _check(frame, index)


def test_login_reply_keeps_the_devices_key_spelling() -> None:
    body = decode_body(SEED_FRAMES[1].payload[20:])
    assert body.data["DeviceType"] == "IPC"
    assert body.original_keys == {"DeviceType": "DeviceType "}
    assert body.terminator == b"\n\x00"
    assert decode_body(SEED_FRAMES[0].payload[20:]).terminator == b"\n"


def test_bodies_reencode_byte_for_byte_in_the_device_style() -> None:
    for seed in SEED_FRAMES:
        body = seed.payload[20:]
        terminator = b"\n" if seed.from_client else b"\n\x00"
        decoded = decode_body(body)
        # Restore the one key whose spelling the reader normalised.
        data = {decoded.original_keys.get(key, key): value for key, value in decoded.data.items()}
        assert encode_body(data, terminator) == body, seed.index


# ------------------------------------------------------------------ the client role rebuilds


def _logged_in_client() -> ClientConnection:
    client = ClientConnection()
    assert client.login("admin", "") == SEED_FRAMES[0].payload
    (reply,) = client.receive_data(SEED_FRAMES[1].payload)
    assert isinstance(reply, LoginReply)
    assert reply.ok
    assert (reply.session_id, reply.alive_interval, reply.device_type) == (1, 20, "IPC")
    assert (reply.channel_count, reply.extra_channel_count, reply.data_use_aes) == (1, 0, False)
    assert client.state is ClientState.LOGGED_IN
    assert client.session_id_style is SessionIdStyle.PADDED
    return client


def test_client_sends_the_seed_login() -> None:
    _logged_in_client()


def test_client_sends_the_seed_requests() -> None:
    client = _logged_in_client()
    assert client.request(1020, {"Name": "SystemInfo"}, sequence=0) == SEED_FRAMES[2].payload
    (reply,) = client.receive_data(SEED_FRAMES[3].payload)
    assert isinstance(reply, Reply)
    assert reply.body.data["SystemInfo"] == SEED_SYSTEM_INFO

    assert client.request(1006, {"Name": "KeepAlive"}, sequence=0) == SEED_FRAMES[5].payload
    (reply,) = client.receive_data(SEED_FRAMES[6].payload)
    assert isinstance(reply, Reply)
    assert reply.ok

    manual = client.request(
        MessageId.CONFIG_SET_REQ,
        {"Name": "Alarm.AlarmOut", "Alarm.AlarmOut": ALARM_OUT_MANUAL},
        sequence=1,
        session_id_style=SessionIdStyle.SHORT,
    )
    assert manual == SEED_FRAMES[7].payload
    (reply,) = client.receive_data(SEED_FRAMES[8].payload)
    assert isinstance(reply, Reply)
    assert reply.request_id == MessageId.CONFIG_SET_REQ

    close = client.request(
        MessageId.CONFIG_SET_REQ,
        {"Name": "Alarm.AlarmOut", "Alarm.AlarmOut": ALARM_OUT_CLOSE},
        sequence=2,
        session_id_style=SessionIdStyle.SHORT,
        expect_reply=False,
    )
    assert close == SEED_FRAMES[9].payload

    unguard = client.request(MessageId.UNGUARD_REQ, {"Name": ""}, sequence=0, expect_reply=False)
    assert unguard == SEED_FRAMES[10].payload
    assert client.pending_request is None


# ------------------------------------------------------------------ the device role rebuilds


def _device_request(device: DeviceConnection, wire: bytes) -> Request:
    (event,) = device.receive_data(wire)
    assert isinstance(event, Request)
    assert event.authenticated
    assert event.session_matches
    return event


def test_device_sends_the_seed_replies() -> None:
    device = DeviceConnection()
    (login,) = device.receive_data(SEED_FRAMES[0].payload)
    assert isinstance(login, LoginRequest)
    assert (login.user, login.encrypt_type, login.login_type) == ("admin", "MD5", "DVRIP-Web")
    assert device.accept_login(login, 1, SEED_LOGIN_REPLY) == SEED_FRAMES[1].payload
    assert device.logged_in
    assert device.user == "admin"

    system_info = _device_request(device, SEED_FRAMES[2].payload)
    assert system_info.message_id == MessageId.SYSINFO_REQ
    reply = device.reply(
        system_info,
        {"Name": "SystemInfo", "Ret": 100, "SystemInfo": SEED_SYSTEM_INFO},
        session_id_style=SessionIdStyle.SHORT,
    )
    assert reply == SEED_FRAMES[3].payload

    # The capture holds the guard's reply but not the guard itself: it is `{"Name": ""}`
    # with sequence 0, as every client sends it (docs/protocol.md §9.1).
    guard = _device_request(
        device,
        encode_frame(1500, encode_body({"Name": "", "SessionID": "0x00000001"}), session_id=1),
    )
    assert device.reply(guard, {"Name": "", "Ret": 100}) == SEED_FRAMES[4].payload

    keepalive = _device_request(device, SEED_FRAMES[5].payload)
    assert device.reply(keepalive, {"Name": "KeepAlive", "Ret": 100}) == SEED_FRAMES[6].payload

    alarm_out = _device_request(device, SEED_FRAMES[7].payload)
    assert alarm_out.body is not None
    assert alarm_out.body.data["Alarm.AlarmOut"] == ALARM_OUT_MANUAL
    assert device.reply(alarm_out, {"Name": "", "Ret": 100}) == SEED_FRAMES[8].payload

    close = _device_request(device, SEED_FRAMES[9].payload)
    assert close.frame.sequence == 2
    unguard = _device_request(device, SEED_FRAMES[10].payload)
    assert unguard.message_id == MessageId.UNGUARD_REQ
