"""The 20-byte DVRIP packet header, and the named limits every length is checked against.

Layout (little-endian, docs/protocol.md §2; the vendor doc's "32 bytes" is a typo in that doc):

| off | size | control messages       | media messages (MEDIA_MESSAGE_IDS)           |
|-----|------|------------------------|----------------------------------------------|
| 0   | u8   | head flag, always 0xFF | same                                         |
| 1   | u8   | version: 0 from clients, 1 from devices                                |
| 2   | u8   | reserved, 0 (254 in the UDP IP-set request, 1 on some sub-stream media)|
| 3   | u8   | reserved, 0                                                            |
| 4   | u32  | session id (0 before login)                                            |
| 8   | u32  | sequence number                                                        |
| 12  | u8   | TotalPacket            | channel                                      |
| 13  | u8   | CurPacket              | EndFlag (1 = last packet of a transfer)      |
| 14  | u16  | message id                                                             |
| 16  | u32  | data length, excluding the header                                      |

The reserved bytes are never validated: real firmware puts values there (docs/protocol.md §2.2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from xmcam.errors import FrameError

__all__ = [
    "CLIENT_VERSION",
    "DEFAULT_LIMITS",
    "DEFAULT_PORT",
    "DEVICE_LIMITS",
    "DEVICE_LIMITS_BEFORE_LOGIN",
    "DEVICE_VERSION",
    "FUNSDK_MARKER",
    "HEADER",
    "HEADER_SIZE",
    "HEAD_FLAG",
    "MAX_PART_SIZE",
    "Header",
    "Limits",
]

DEFAULT_PORT: Final = 34567
"""The TCP port devices listen on for DVRIP."""

HEADER: Final = struct.Struct("<BBBBIIBBHI")
HEADER_SIZE: Final = HEADER.size  # 20
HEAD_FLAG: Final = 0xFF

# Clients send 0, devices send 1 (docs/protocol.md §2.1). Decoders accept any value.
CLIENT_VERSION: Final = 0
DEVICE_VERSION: Final = 1

# Byte 12 = 0x63 is FunSDK's marker for encryption-capable negotiation (protocol.md §2.4, §6.3),
# not a 99-part message. A frame carrying it is a single packet.
FUNSDK_MARKER: Final = 0x63

# The vendor doc caps one control packet's data at 16 KB; a sender splits longer bodies into
# TotalPacket parts of at most this size.
MAX_PART_SIZE: Final = 16 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a peer may make us buffer. Every length read from the wire is checked
    against one of these before anything is allocated for it.

    The defaults follow docs/protocol.md §F2.9: 4 MiB per packet, 16 MiB per reassembled
    message, 1 MiB of JSON. Real media packets are 8 KiB; the largest known config reply
    (the whole `Detect` tree) is about 155 KB.
    """

    max_packet_payload: int = 4 * 1024 * 1024
    """Largest data length accepted in one packet header."""
    max_message_size: int = 16 * 1024 * 1024
    """Largest multi-packet message after reassembly, and the most that all unfinished
    multi-packet messages may hold together."""
    max_pending_messages: int = 8
    """How many different message ids may be half-reassembled at once."""
    max_json_size: int = 1024 * 1024
    """Largest JSON body the body reader parses."""
    max_json_depth: int = 32
    """Deepest nesting of objects and arrays the body reader accepts."""

    def check_packet_length(self, length: int, message_id: int) -> None:
        """Raise FrameError when a header announces more data than one packet may carry."""
        if length > self.max_packet_payload:
            raise FrameError(
                f"packet for message {message_id} announces {length} bytes of data, "
                f"over the limit of {self.max_packet_payload}"
            )


_new_tuple: Any = tuple.__new__  # builds a named tuple without its keyword handling

DEFAULT_LIMITS: Final = Limits()
"""Limits for a client reading from a device."""

DEVICE_LIMITS: Final = Limits(max_packet_payload=1024 * 1024, max_message_size=1024 * 1024)
"""Limits for a device (the simulator) reading from untrusted clients, before and after login:
a client never needs to send more than a config tree, and a header arrives before any
authentication."""

DEVICE_LIMITS_BEFORE_LOGIN: Final = Limits(
    max_packet_payload=4 * 1024,
    max_message_size=4 * 1024,
    max_pending_messages=1,
    max_json_size=4 * 1024,
)
"""Limits for a device reading from a client that has not logged in. Nothing a client sends
before its login needs more: a login, an encrypted one included (three RSA-encrypted fields
in hex, AES, base64: about 1.3 KiB), a media claim on a second connection, a capability
probe. A peer that has proved nothing cannot make the device buffer or parse a megabyte."""


class Header(NamedTuple):
    """One packet header. Build it with keywords; `pack()` gives the 20 wire bytes.

    A named tuple rather than a dataclass: the decoder makes one per packet, which is the hot
    path of media decoding, and a tuple is several times cheaper to build.
    """

    message_id: int
    length: int
    """Data length, excluding the header."""
    session_id: int = 0
    sequence: int = 0
    version: int = CLIENT_VERSION
    total_packets: int = 0
    """Byte 12: TotalPacket for control messages, the channel for media."""
    current_packet: int = 0
    """Byte 13: CurPacket for control messages, EndFlag for media."""
    reserved1: int = 0
    reserved2: int = 0

    @classmethod
    def from_wire_fields(cls, values: tuple[int, ...]) -> Header:
        """A header from the ten values `HEADER.unpack` gives (head flag first, unchecked)."""
        (_head_flag, version, reserved1, reserved2, session_id, sequence,
         total_packets, current_packet, message_id, length) = values  # fmt: skip
        fields = (message_id, length, session_id, sequence, version,
                  total_packets, current_packet, reserved1, reserved2)  # fmt: skip
        header: Header = _new_tuple(cls, fields)
        return header

    @property
    def channel(self) -> int:
        """Byte 12 read as a media packet's channel."""
        return self.total_packets

    @property
    def end_flag(self) -> bool:
        """Byte 13 read as a media packet's EndFlag (last packet of a transfer)."""
        return self.current_packet == 1

    @property
    def is_multi_packet(self) -> bool:
        """True when bytes 12/13 describe one part of a multi-packet control message."""
        return self.total_packets > 1 and self.total_packets != FUNSDK_MARKER

    def pack(self) -> bytes:
        """The 20 header bytes. Raises struct.error for a field out of its range."""
        return HEADER.pack(
            HEAD_FLAG,
            self.version,
            self.reserved1,
            self.reserved2,
            self.session_id,
            self.sequence,
            self.total_packets,
            self.current_packet,
            self.message_id,
            self.length,
        )

    @classmethod
    def unpack(cls, data: bytes | bytearray | memoryview, offset: int = 0) -> Header:
        """Read a header at `offset`. Checks the head flag; lengths are the caller's to bound."""
        if len(data) - offset < HEADER_SIZE:
            raise FrameError(f"a header needs {HEADER_SIZE} bytes, got {len(data) - offset}")
        values = HEADER.unpack_from(data, offset)
        if values[0] != HEAD_FLAG:
            raise FrameError(
                f"bad head byte 0x{values[0]:02x} (every DVRIP packet starts with 0xff)"
            )
        return cls.from_wire_fields(values)
