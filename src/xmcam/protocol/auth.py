"""The password hash ("Sofia hash"), login bodies, and the redaction of secrets.

The hash (PROTOCOL.md §6.1): MD5 of the UTF-8 password; each pair of digest bytes, summed
modulo 62, picks one character of `0-9A-Za-z`; eight characters in all. It has no salt and
no challenge, so **the hash logs in exactly like the password**: it is a secret. Nothing in
xmcam logs, prints or stores it in clear; `redact()` and `redact_json_bytes()` are what every
debug path runs bodies and payloads through.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any, Final

from xmcam.protocol.payload import JsonObject

__all__ = [
    "DEFAULT_LOGIN_TYPE",
    "REDACTED",
    "SECRET_KEYS",
    "EncryptType",
    "login_body",
    "password_matches",
    "redact",
    "redact_json_bytes",
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


REDACTED: Final = "<redacted>"

# Every body member known to carry a password or its hash (PROTOCOL.md §6, §17, §21).
SECRET_KEYS: Final = frozenset(
    {"PassWord", "Password", "NewPassWord", "OldPassWord", "passWord", "password", "Pwd"}
)


def redact(value: Any) -> Any:
    """A copy of a decoded body with every secret member's value replaced by REDACTED, at
    every depth. Key matching ignores surrounding white space, as the body reader does."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if str(key).strip() in SECRET_KEYS else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


_SECRET_KEY_PATTERN: Final = b"|".join(re.escape(key.encode()) for key in sorted(SECRET_KEYS))
# Three shapes of a secret member, each redacted by its own pattern: a string value; the
# same inside a double-encoded body, where every quote arrives as \"; and a bare value
# (a number, true, null) for firmware that sends one.
_SECRET_STRING: Final = re.compile(
    rb'("\s*(?:' + _SECRET_KEY_PATTERN + rb')\s*"\s*:\s*")((?:[^"\\]|\\.)*)(")'
)
_SECRET_ESCAPED_STRING: Final = re.compile(
    rb'(\\"\s*(?:' + _SECRET_KEY_PATTERN + rb')\s*\\"\s*:\s*\\")((?:[^"\\]|\\\\)*)(\\")'
)
_SECRET_BARE: Final = re.compile(
    rb'(\\?"\s*(?:' + _SECRET_KEY_PATTERN + rb')\s*\\?"\s*:\s*)([^,}\]\s"\\][^,}\]\s]*)()'
)


def _overwrite(match: re.Match[bytes]) -> bytes:
    return match.group(1) + b"*" * len(match.group(2)) + match.group(3)


def redact_json_bytes(payload: bytes | bytearray | memoryview) -> bytes:
    """Raw body bytes with the value of every secret member overwritten by `*`, one for each
    byte, so a hex dump keeps its offsets and lengths but not the secret."""
    data = bytes(payload)
    for pattern in (_SECRET_STRING, _SECRET_ESCAPED_STRING, _SECRET_BARE):
        data = pattern.sub(_overwrite, data)
    return data
