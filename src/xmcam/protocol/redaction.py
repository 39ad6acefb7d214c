"""Secrets kept out of logs: redacted bodies, payloads and hex dumps.

The login request carries the password's Sofia hash, which logs in exactly like the password,
and user management carries more of them (docs/protocol.md §6, §17). Every repr, log line and debug
dump of a body or a frame goes through this module: `redact()` for decoded bodies,
`redact_json_bytes()` for raw JSON, `redacted_wire()` and `redacted_hex_dump()` for whole
packets. Raw redaction overwrites each secret value with `*` bytes, keeping offsets and lengths
so a dump still lines up with a capture.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from xmcam.protocol.codes import MEDIA_MESSAGE_IDS
from xmcam.protocol.header import HEADER_SIZE, Header

__all__ = [
    "REDACTED",
    "SECRET_KEYS",
    "redact",
    "redact_json_bytes",
    "redacted_hex_dump",
    "redacted_wire",
]

REDACTED: Final = "<redacted>"

# Every body member known to carry a password, its hash or a key (docs/protocol.md §6, §17, §21;
# Wi-Fi `Keys` in NetWork.Wifi, FunSDK's AdminToken and CommunicateKey, and the device's RSA
# PublicKey of the encrypted session: not secret, but key material a debug log has no use
# for). Matched without regard to case or surrounding white space.
SECRET_KEYS: Final = frozenset(
    {
        "password",
        "newpassword",
        "oldpassword",
        "passwd",
        "pwd",
        "keys",
        "admintoken",
        "communicatekey",
        "publickey",
    }
)


def _is_secret(key: object) -> bool:
    return str(key).strip().lower() in SECRET_KEYS


def redact(value: Any) -> Any:
    """A copy of a decoded body with every secret member's value replaced by REDACTED, at
    every depth. Key matching ignores case and surrounding white space."""
    if isinstance(value, Mapping):
        return {key: REDACTED if _is_secret(key) else redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


_SECRET_KEY_PATTERN: Final = b"|".join(re.escape(key.encode()) for key in sorted(SECRET_KEYS))
# Three shapes of a secret member, each redacted by its own pattern: a string value; the
# same inside a double-encoded body, where every quote arrives as \"; and a bare value
# (a number, true, null) for firmware that sends one. A string cut off by the end of the
# buffer (one TCP read, one part of a multi-packet message) is redacted to the end.
_SECRET_STRING: Final = re.compile(
    rb'("\s*(?:' + _SECRET_KEY_PATTERN + rb')\s*"\s*:\s*")((?:[^"\\]|\\.)*\\?)("|\Z)',
    re.IGNORECASE,
)
_SECRET_ESCAPED_STRING: Final = re.compile(
    rb'(\\"\s*(?:' + _SECRET_KEY_PATTERN + rb')\s*\\"\s*:\s*\\")((?:[^"\\]|\\\\)*\\?)(\\"|\Z)',
    re.IGNORECASE,
)
_SECRET_BARE: Final = re.compile(
    rb'(\\?"\s*(?:' + _SECRET_KEY_PATTERN + rb')\s*\\?"\s*:\s*)([^,}\]\s"\\][^,}\]\s]*)()',
    re.IGNORECASE,
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


_ROW: Final = 16


def redacted_wire(wire: bytes | bytearray | memoryview) -> bytes:
    """The same bytes with secrets overwritten, for one or more whole or partial packets.

    JSON payloads are redacted packet by packet, a payload cut off by the end of `wire`
    included; media payloads are kept as they are. Bytes that begin inside a packet (a later
    TCP read) and the later parts of a multi-packet message begin inside a JSON text whose
    keys are out of view, so no rule can tell a secret from the rest there: they are
    overwritten whole. Dump whole frames to see their bodies.
    """
    data = bytes(wire)
    if data[:1] != b"\xff":
        return b"*" * len(data)
    out = bytearray()
    position = 0
    while len(data) - position >= HEADER_SIZE and data[position] == 0xFF:
        header = Header.unpack(data, position)
        end = min(len(data), position + HEADER_SIZE + header.length)
        payload = data[position + HEADER_SIZE : end]
        out += data[position : position + HEADER_SIZE]
        if header.message_id in MEDIA_MESSAGE_IDS:
            out += payload
        elif header.is_multi_packet and header.current_packet > 0:
            out += b"*" * len(payload)
        else:
            out += redact_json_bytes(payload)
        position = end
    out += redact_json_bytes(data[position:])
    return bytes(out)


def redacted_hex_dump(wire: bytes | bytearray | memoryview, *, limit: int = 4096) -> str:
    """A classic hex dump (offset, 16 hex bytes, ASCII) of `wire` with secrets overwritten,
    cut after `limit` bytes so one media packet cannot flood a log."""
    data = redacted_wire(wire)
    shown = data[:limit]
    lines = []
    for offset in range(0, len(shown), _ROW):
        row = shown[offset : offset + _ROW]
        hex_part = " ".join(f"{byte:02x}" for byte in row)
        text = "".join(chr(byte) if 0x20 <= byte < 0x7F else "." for byte in row)
        lines.append(f"{offset:04x}   {hex_part:<{_ROW * 3 - 1}}   {text}")
    if len(data) > limit:
        lines.append(f"... {len(data) - limit} more bytes")
    return "\n".join(lines)
