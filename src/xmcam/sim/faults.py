"""Fault knobs: the ways real firmware misbehaves (docs/protocol.md §22), on demand.

Every knob takes effect at once, from the API (`simulator.faults.reply_delay = 2`) or the
command line (`xmcam sim --reply-delay 2`). Our client's reliability tests are built on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Final

from xmcam.protocol import encode_frame

__all__ = ["GARBAGE_MESSAGE_ID", "Faults", "garbage_frame", "reply_request_id"]

# An odd id that no request has: a client must skip the frame, not take it for a reply.
GARBAGE_MESSAGE_ID: Final = 0x7A69
_GARBAGE_PAYLOAD: Final = bytes(range(7, 71))


@dataclass
class Faults:
    reply_delay: float = 0.0
    """Seconds before each reply goes out."""
    silent_ids: set[int] = field(default_factory=set)
    """Request message ids that are never answered (as firmware that drops a command family)."""
    drop_after_frames: int | None = None
    """Close a connection, without answering, once it has received this many frames."""
    write_chunk: int | None = None
    """Split every write into pieces of this many bytes, sent one by one."""
    coalesce: bool = False
    """Hold replies and pushes briefly and send them together in one write."""
    omit_terminator: bool = False
    """JSON bodies without their `\\n\\0` terminator."""
    garbage: bool = False
    """Send a well-formed frame with an unknown message id and binary junk before each reply."""
    media_pace: float = 1.0
    """Speed of live streams: 1 real time, 2 twice as fast, 0 as fast as the socket takes
    them (for benchmarks). Downloads always go as fast as the socket takes them."""

    def describe(self) -> str:
        """The knobs that differ from their defaults, for the start-up line."""
        defaults = Faults()
        on = [
            f"{knob.name}={getattr(self, knob.name)!r}"
            for knob in fields(self)
            if getattr(self, knob.name) != getattr(defaults, knob.name)
        ]
        return ", ".join(on) or "none"


def garbage_frame() -> bytes:
    return encode_frame(GARBAGE_MESSAGE_ID, _GARBAGE_PAYLOAD, session_id=0xDEAD, version=1)


def reply_request_id(reply: bytes) -> int:
    """The id of the request a reply frame answers (its own id minus one)."""
    return int.from_bytes(reply[14:16], "little") - 1
