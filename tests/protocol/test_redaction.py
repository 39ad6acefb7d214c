"""Tests for xmcam.protocol.redaction: no secret survives a repr, a body dump or a hex dump,
and raw redaction keeps every offset."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.seed import SEED_FRAMES
from xmcam.protocol import (
    ClientConnection,
    DeviceConnection,
    LoginRequest,
    decode_body,
    encode_body,
    encode_frame,
    encode_message,
    sofia_hash,
)
from xmcam.protocol.header import HEADER_SIZE
from xmcam.protocol.redaction import (
    REDACTED,
    SECRET_KEYS,
    redact,
    redact_json_bytes,
    redacted_hex_dump,
    redacted_wire,
)

SEED_LOGIN = {
    "EncryptType": "MD5",
    "LoginType": "DVRIP-Web",
    "PassWord": "tlJwpbo6",
    "UserName": "admin",
}


def test_reprs_of_frames_bodies_and_events_hold_no_secret() -> None:
    wire = ClientConnection().login("admin", "hunter2")
    (event,) = DeviceConnection().receive_data(wire)
    assert isinstance(event, LoginRequest)
    secret = sofia_hash("hunter2")
    for shown in (repr(event), str(event), repr(event.frame), repr(event.body), str(event.body)):
        assert secret not in shown
    assert "LOGIN_REQ" in repr(event.frame)
    assert "<100 bytes>" in repr(event.frame)
    assert REDACTED in repr(event.body)


def test_login_hash_is_overwritten_in_place() -> None:
    wire = SEED_FRAMES[0].payload
    redacted = redacted_wire(wire)
    assert len(redacted) == len(wire)
    assert b"tlJwpbo6" in wire
    assert b"tlJwpbo6" not in redacted
    assert b'"PassWord" : "********"' in redacted
    assert redacted[:20] == wire[:20]


def test_frames_without_secrets_are_unchanged() -> None:
    stream = b"".join(frame.payload for frame in SEED_FRAMES[1:])
    assert redacted_wire(stream) == stream


def test_several_packets_and_a_partial_one() -> None:
    login = ClientConnection().login("admin", "hunter2")
    change = encode_frame(
        1488,
        encode_body({"NewPassWord": sofia_hash("new"), "PassWord": sofia_hash("hunter2")}),
    )
    stream = login + change + login[:60]
    redacted = redacted_wire(stream)
    assert len(redacted) == len(stream)
    for secret in (sofia_hash("hunter2"), sofia_hash("new")):
        assert secret.encode() not in redacted


def test_media_payloads_are_kept() -> None:
    media = encode_frame(1412, b'"PassWord" : "abc"')
    assert redacted_wire(media) == media


def test_bytes_that_begin_inside_a_packet_are_overwritten_whole() -> None:
    # A later TCP read, or garbage: its keys are out of view, so nothing of it is shown.
    assert redacted_wire(b'xx"Password":"abc"') == b"*" * 18
    wire = ClientConnection().login("admin", "hunter2")
    for cut in range(1, len(wire)):
        first, rest = redacted_wire(wire[:cut]), redacted_wire(wire[cut:])
        assert len(first) + len(rest) == len(wire)
        for shown in (first, rest):
            for size in range(3, 9):
                secret = sofia_hash("hunter2").encode()
                for start in range(9 - size):
                    assert secret[start : start + size] not in shown


def test_later_parts_of_a_multi_packet_message_are_overwritten_whole() -> None:
    body = encode_body({"NewPassWord": sofia_hash("new"), "PassWord": sofia_hash("hunter2")})
    for size in (7, 10, 16, 33):
        parts = encode_message(1488, body, part_size=size)
        for shown in [redacted_wire(b"".join(parts)), *(redacted_wire(part) for part in parts)]:
            for secret in (sofia_hash("new"), sofia_hash("hunter2")):
                assert secret[:3].encode() not in shown
                assert secret[-3:].encode() not in shown


def test_hex_dump_rows_and_limit() -> None:
    dump = redacted_hex_dump(SEED_FRAMES[0].payload)
    lines = dump.splitlines()
    assert lines[0].startswith("0000   ff 00 00 00 00 00 00 00 00 00 00 00 00 00 e8 03   ")
    assert len(lines) == 8
    assert "tlJwpbo6" not in dump
    cut = redacted_hex_dump(bytes(100), limit=32)
    assert cut.splitlines()[-1] == "... 68 more bytes"


def test_redact_login_body() -> None:
    assert redact(SEED_LOGIN) == {
        "EncryptType": "MD5",
        "LoginType": "DVRIP-Web",
        "PassWord": REDACTED,
        "UserName": "admin",
    }


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_redact_every_secret_key(key: str) -> None:
    assert redact({key: "secret", "Name": "x"}) == {key: REDACTED, "Name": "x"}


def test_secret_keys() -> None:
    assert {"password", "newpassword", "oldpassword", "keys", "admintoken"} <= SECRET_KEYS
    assert "username" not in SECRET_KEYS
    assert REDACTED == "<redacted>"


@pytest.mark.parametrize(
    "key", ["PassWord", "PASSWORD", " Passwd ", "Keys", "AdminToken", "CommunicateKey"]
)
def test_secret_keys_match_in_any_case(key: str) -> None:
    assert redact({key: "x"}) == {key: REDACTED}
    raw = f'{{"{key}":"abc"}}'.encode()
    assert redact_json_bytes(raw) == raw.replace(b"abc", b"***")


def test_redact_at_every_depth_and_in_lists() -> None:
    body: dict[str, Any] = {
        "Name": "ModifyPassword",
        "ModifyPassword": {
            "UserName": "admin",
            "PassWord": "old",
            "NewPassWord": "new",
            "Extra": [{"Users": [{"Name": "guest", "Password": "g"}]}, "PassWord", 5],
        },
        "Users": ({"Pwd": "p", "Name": "u"},),
        "PassWord": {"nested": "whole value replaced"},
    }
    assert redact(body) == {
        "Name": "ModifyPassword",
        "ModifyPassword": {
            "UserName": "admin",
            "PassWord": REDACTED,
            "NewPassWord": REDACTED,
            "Extra": [{"Users": [{"Name": "guest", "Password": REDACTED}]}, "PassWord", 5],
        },
        "Users": [{"Pwd": REDACTED, "Name": "u"}],
        "PassWord": REDACTED,
    }


def test_redact_keys_with_stray_spaces() -> None:
    assert redact({" PassWord ": "x", "NewPassWord ": "y", "\tPwd": "z"}) == {
        " PassWord ": REDACTED,
        "NewPassWord ": REDACTED,
        "\tPwd": REDACTED,
    }


def test_redact_leaves_other_keys_and_values_untouched() -> None:
    body = {
        "Name": "PassWord",  # a value that looks like a key is not a secret
        "UserName": "admin",
        "EncryptType": "MD5",
        "Ret": 100,
        "List": [1, "two", None, True],
        1: "non-string key",
    }
    assert redact(body) == body


def test_redact_does_not_mutate_the_original() -> None:
    body: dict[str, Any] = {"PassWord": "x", "Inner": {"NewPassWord": "y"}, "L": [{"Pwd": "z"}]}
    before = copy.deepcopy(body)
    redacted = redact(body)
    assert body == before
    assert redacted is not body
    assert redacted["Inner"] is not body["Inner"]
    assert redacted["L"][0] is not body["L"][0]


@pytest.mark.parametrize("value", ["text", 5, None, True, 1.5])
def test_redact_scalars_pass_through(value: object) -> None:
    assert redact(value) == value


def test_redact_tuple_becomes_list() -> None:
    assert redact(({"PassWord": "x"},)) == [{"PassWord": REDACTED}]


def test_redact_json_bytes_seed_login_keeps_length_and_offsets() -> None:
    packet = SEED_FRAMES[0].payload
    body = packet[HEADER_SIZE:]
    redacted = redact_json_bytes(body)
    assert len(redacted) == len(body)
    assert b"tlJwpbo6" not in redacted
    assert b'"PassWord" : "********"' in redacted
    differing = [i for i, (a, b) in enumerate(zip(body, redacted, strict=True)) if a != b]
    start = body.index(b"tlJwpbo6")
    assert differing == list(range(start, start + 8))


def test_redact_json_bytes_compact_and_new_password() -> None:
    assert redact_json_bytes(b'{"NewPassWord":"x","OldPassWord":"abc"}') == (
        b'{"NewPassWord":"*","OldPassWord":"***"}'
    )


def test_redact_json_bytes_escaped_quotes_in_value() -> None:
    raw = b'{ "PassWord" : "a\\"b\\\\", "UserName" : "admin" }'
    redacted = redact_json_bytes(raw)
    assert redacted == b'{ "PassWord" : "******", "UserName" : "admin" }'
    assert len(redacted) == len(raw)


def test_redact_json_bytes_several_secrets_and_nesting() -> None:
    raw = (
        b'{ "Name" : "ModifyPassword", "ModifyPassword" : { "PassWord" : "old1", '
        b'"NewPassWord" : "new22", "Users" : [ { "Password" : "p" }, { "Pwd" : "" } ] } }\n\x00'
    )
    redacted = redact_json_bytes(raw)
    assert len(redacted) == len(raw)
    for secret in (b"old1", b"new22", b'"p"'):
        assert secret not in redacted
    assert b'"PassWord" : "****"' in redacted
    assert b'"NewPassWord" : "*****"' in redacted
    assert b'"Password" : "*"' in redacted
    assert b'"Pwd" : ""' in redacted
    assert redacted.endswith(b"\n\x00")
    assert decode_body(redacted).data["Name"] == "ModifyPassword"


def test_redact_json_bytes_key_with_stray_spaces() -> None:
    assert redact_json_bytes(b'{" PassWord ":"abc"}') == b'{" PassWord ":"***"}'


def test_redact_json_bytes_non_utf8_secret() -> None:
    raw = b'{"PassWord":"\xff\xfe"}'
    assert redact_json_bytes(raw) == b'{"PassWord":"**"}'


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b'{ "Name" : "KeepAlive", "SessionID" : "0x00000001" }\n\x00',
        b'{"Name":"PassWord","Value":"PassWord"}',  # the word as a value is not a member
        b'{"UserName":"admin","EncryptType":"MD5","LoginType":"DVRIP-Web"}',
        b"\xff\x00\x01binary media",
    ],
)
def test_redact_json_bytes_leaves_bodies_without_secrets_identical(raw: bytes) -> None:
    assert redact_json_bytes(raw) == raw


def test_redact_json_bytes_leaves_seed_bodies_without_secrets_identical() -> None:
    for frame in SEED_FRAMES[1:]:
        assert redact_json_bytes(frame.payload) == frame.payload


def test_redact_json_bytes_accepts_bytearray_and_memoryview() -> None:
    raw = b'{"PassWord":"ab"}'
    assert redact_json_bytes(bytearray(raw)) == b'{"PassWord":"**"}'
    assert redact_json_bytes(memoryview(raw)) == b'{"PassWord":"**"}'
    assert isinstance(redact_json_bytes(bytearray(raw)), bytes)
