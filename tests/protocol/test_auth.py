"""Tests for xmcam.protocol.auth: the Sofia hash, login bodies, password checks, redaction."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.seed import SEED_FRAMES
from xmcam.protocol.auth import (
    DEFAULT_LOGIN_TYPE,
    REDACTED,
    SECRET_KEYS,
    EncryptType,
    login_body,
    password_matches,
    redact,
    redact_json_bytes,
    sofia_hash,
)
from xmcam.protocol.header import HEADER_SIZE
from xmcam.protocol.payload import decode_body, encode_body

# PROTOCOL.md §6.1, "Verified vectors".
HASH_VECTORS = [
    ("", "tlJwpbo6"),
    ("admin", "6QNMIQGe"),
    ("tluafed", "OxhlwSG8"),
    ("12345678A", "EAyIB8vx"),
    ("123456", "nTBCS19C"),
    ("ma56ter", "W6xpk6c9"),
    ("1.QwertY.6", "CtgKwSh3"),
    ("mw5r5t", "mLxvAtwn"),
    ("goodPassword", "HfhyFPRN"),
]

SEED_LOGIN = {
    "EncryptType": "MD5",
    "LoginType": "DVRIP-Web",
    "PassWord": "tlJwpbo6",
    "UserName": "admin",
}

ALPHABET = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


# --- sofia_hash ---------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "expected"), HASH_VECTORS)
def test_sofia_hash_vectors(password: str, expected: str) -> None:
    assert sofia_hash(password) == expected


@pytest.mark.parametrize("password", ["", "a", "пароль", "密码", "x" * 1000, "\x00"])
def test_sofia_hash_shape(password: str) -> None:
    digest = sofia_hash(password)
    assert len(digest) == 8
    assert set(digest) <= ALPHABET


def test_sofia_hash_hashes_utf8() -> None:
    # "é" as one code point and as e + combining accent are different UTF-8 byte strings.
    assert sofia_hash("\u00e9") != sofia_hash("e\u0301")
    assert sofia_hash("Admin") != sofia_hash("admin")


# --- login_body ---------------------------------------------------------------------------


def test_login_body_md5_is_the_seeds() -> None:
    body = login_body("admin", "")
    assert body == SEED_LOGIN
    assert list(body) == ["EncryptType", "LoginType", "PassWord", "UserName"]


def test_login_body_md5_encodes_to_the_seeds_bytes() -> None:
    seed_login = SEED_FRAMES[0].payload[HEADER_SIZE:]
    assert encode_body(login_body("admin", "")) == seed_login
    assert decode_body(seed_login).data == SEED_LOGIN


def test_login_body_md5_protocol_example() -> None:
    compact = json.dumps(login_body("admin", "admin"), separators=(",", ":"))
    assert compact == (
        '{"EncryptType":"MD5","LoginType":"DVRIP-Web","PassWord":"6QNMIQGe","UserName":"admin"}'
    )


def test_login_body_none_sends_the_password_in_clear() -> None:
    body = login_body("admin", "hunter2", encrypt_type=EncryptType.NONE)
    assert body == {
        "EncryptType": "NONE",
        "LoginType": "DVRIP-Web",
        "PassWord": "hunter2",
        "UserName": "admin",
    }


def test_login_body_login_type_and_no_session() -> None:
    body = login_body("viewer", "x", login_type="DVRIP-Xm030")
    assert body["LoginType"] == "DVRIP-Xm030"
    assert body["UserName"] == "viewer"
    assert body["PassWord"] == sofia_hash("x")
    assert "SessionID" not in body
    assert DEFAULT_LOGIN_TYPE == "DVRIP-Web"


def test_encrypt_type_values() -> None:
    assert EncryptType.MD5 == "MD5"
    assert EncryptType.NONE == "NONE"
    assert {member.value for member in EncryptType} == {"MD5", "NONE"}


# --- password_matches ---------------------------------------------------------------------


def test_password_matches_md5() -> None:
    stored = sofia_hash("admin")
    assert password_matches("6QNMIQGe", "MD5", stored)
    assert not password_matches("6QNMIQGf", "MD5", stored)
    assert not password_matches("admin", "MD5", stored)  # the clear password is not the hash
    assert not password_matches("", "MD5", stored)


def test_password_matches_empty_password() -> None:
    assert password_matches("tlJwpbo6", "MD5", sofia_hash(""))
    assert password_matches("", "NONE", sofia_hash(""))


def test_password_matches_none_hashes_the_clear_password() -> None:
    stored = sofia_hash("goodPassword")
    assert password_matches("goodPassword", "NONE", stored)
    assert not password_matches("badPassword", "NONE", stored)
    assert not password_matches("HfhyFPRN", "NONE", stored)  # the hash is not the password


@pytest.mark.parametrize("kind", ["md5", "Md5", " MD5 ", "MD5\n"])
def test_password_matches_encrypt_type_any_case_and_spacing(kind: str) -> None:
    assert password_matches("6QNMIQGe", kind, sofia_hash("admin"))


@pytest.mark.parametrize("kind", ["none", " None "])
def test_password_matches_none_any_case(kind: str) -> None:
    assert password_matches("admin", kind, sofia_hash("admin"))


@pytest.mark.parametrize("kind", ["3DES", "HSQD", "GIGA", "", "MD-5", "SHA1"])
def test_password_matches_unknown_type_never_matches(kind: str) -> None:
    stored = sofia_hash("admin")
    assert not password_matches("6QNMIQGe", kind, stored)
    assert not password_matches("admin", kind, stored)


def test_password_matches_non_ascii() -> None:
    stored = sofia_hash("пароль")
    assert password_matches("пароль", "NONE", stored)
    assert password_matches(stored, "MD5", stored)
    assert not password_matches("парол", "NONE", stored)


def test_password_matches_wrong_length_offer() -> None:
    stored = sofia_hash("admin")
    assert not password_matches(stored + "x", "MD5", stored)
    assert not password_matches(stored[:7], "MD5", stored)


# --- redact -------------------------------------------------------------------------------


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
    assert {"PassWord", "NewPassWord", "OldPassWord"} <= SECRET_KEYS
    assert "UserName" not in SECRET_KEYS
    assert REDACTED == "<redacted>"


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


# --- redact_json_bytes --------------------------------------------------------------------


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
