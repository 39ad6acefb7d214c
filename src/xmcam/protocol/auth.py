"""The password hash ("Sofia hash") and login bodies.

The hash (docs/protocol.md §6.1): MD5 of the UTF-8 password; each pair of digest bytes, summed
modulo 62, picks one character of `0-9A-Za-z`; eight characters in all. It has no salt and
no challenge, so **the hash logs in exactly like the password**: it is a secret. Nothing in
xmcam logs, prints or stores it in clear; `redact()` and `redact_json_bytes()` are what every
debug path runs bodies and payloads through.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from typing import Final

from xmcam.protocol.payload import JsonObject

__all__ = [
    "DEFAULT_LOGIN_TYPE",
    "EncryptType",
    "login_body",
    "password_matches",
    "sofia_hash",
]

_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

DEFAULT_LOGIN_TYPE: Final = "DVRIP-Web"


class EncryptType(enum.StrEnum):
    """How the login's PassWord field is encoded."""

    MD5 = "MD5"
    """The Sofia hash of the password (what every client and the seed send)."""
    NONE = "NONE"
    """The password itself, in clear (accepted by some firmware; sofiactl uses it)."""


def sofia_hash(password: str) -> str:
    """The 8-character Sofia hash of a password. Password-equivalent: treat it as a secret.

    >>> sofia_hash("") == "tlJwpbo6"
    True
    """
    # surrogatepass: a PassWord field from the wire may hold a lone surrogate ("\ud800" is
    # valid JSON); it must hash (and fail to match), not crash the device's login check.
    digest = hashlib.md5(password.encode("utf-8", "surrogatepass"), usedforsecurity=False).digest()
    return "".join(_ALPHABET[(digest[i] + digest[i + 1]) % 62] for i in range(0, 16, 2))


def login_body(
    user: str,
    password: str,
    *,
    encrypt_type: EncryptType = EncryptType.MD5,
    login_type: str = DEFAULT_LOGIN_TYPE,
) -> JsonObject:
    """The body of a login request (1000), as the seed's client sends it.

    With MD5 the password travels as its Sofia hash; with NONE in clear. The login has no
    SessionID member: the session is what it asks for.
    """
    secret = sofia_hash(password) if encrypt_type is EncryptType.MD5 else password
    return {
        "EncryptType": encrypt_type.value,
        "LoginType": login_type,
        "PassWord": secret,
        "UserName": user,
    }


def password_matches(password_field: str, encrypt_type: str, stored_hash: str) -> bool:
    """The device side of a login: does the request's PassWord field match the account whose
    Sofia hash is `stored_hash`? Devices store the hash, never the password. Unknown encrypt
    types never match. Compares in constant time."""
    kind = encrypt_type.strip().upper()
    if kind == EncryptType.MD5:
        offered = password_field
    elif kind == EncryptType.NONE:
        offered = sofia_hash(password_field)
    else:
        return False
    return hmac.compare_digest(
        offered.encode("utf-8", "surrogatepass"), stored_hash.encode("utf-8", "surrogatepass")
    )
