"""Tests for xmcam.protocol.auth: the Sofia hash, login bodies, password checks."""

from __future__ import annotations

import json

import pytest

from tests.seed import SEED_FRAMES
from xmcam.protocol.auth import (
    DEFAULT_LOGIN_TYPE,
    EncryptType,
    login_body,
    password_matches,
    sofia_hash,
)
from xmcam.protocol.header import HEADER_SIZE
from xmcam.protocol.payload import decode_body, encode_body

# docs/protocol.md §6.1, "Verified vectors".
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


# --- redact_json_bytes --------------------------------------------------------------------
