"""Frames made fit for a debug log: hex dumps with every secret overwritten.

The login request carries the password's Sofia hash, which logs in exactly like the
password, and user management carries more of them. Every debug path dumps frames through
`redacted_hex_dump()`, which overwrites the value of each secret JSON member with `*` bytes
before dumping, keeping offsets and lengths so the dump still lines up with a capture.
"""

from __future__ import annotations

from typing import Final

from xmcam.protocol.auth import redact_json_bytes
from xmcam.protocol.codes import MEDIA_MESSAGE_IDS
from xmcam.protocol.header import HEADER_SIZE, Header

__all__ = ["redacted_hex_dump", "redacted_wire"]

_ROW: Final = 16


def redacted_wire(wire: bytes | bytearray | memoryview) -> bytes:
    """The same bytes with secrets overwritten, for one or more whole or partial packets.

    JSON payloads are redacted packet by packet; media payloads are kept as they are; bytes
    that do not parse as packets are redacted as if they were JSON, which is the safe side.
    """
    data = bytes(wire)
    out = bytearray()
    position = 0
    while len(data) - position >= HEADER_SIZE and data[position] == 0xFF:
        header = Header.unpack(data, position)
        end = min(len(data), position + HEADER_SIZE + header.length)
        payload = data[position + HEADER_SIZE : end]
        out += data[position : position + HEADER_SIZE]
        out += payload if header.message_id in MEDIA_MESSAGE_IDS else redact_json_bytes(payload)
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
