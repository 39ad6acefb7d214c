"""Incremental frame decoding and frame encoding.

Theory of operation. TCP delivers a byte stream; DVRIP cuts it into packets of a 20-byte
header and `length` bytes of data. A read may hold part of a packet, one packet, or several
(real firmware does all three, docs/protocol.md §F2.4), so the decoder keeps the bytes it could
not use yet and, on every `feed()`, cuts as many whole packets as it can. It never waits
for anything but bytes and knows no sockets or clocks.

Each packet's length is checked against `Limits.max_packet_payload` as soon as its header is
complete, before a single data byte is buffered for it, so a peer cannot make us hold more
than one packet's allowance. Bytes that do not start with the 0xFF head flag end the stream:
there is no reliable way to find the next header inside arbitrary bytes, so the decoder
raises a FrameError and the connection must be closed.

Control messages longer than one packet arrive as TotalPacket parts numbered by CurPacket
(header bytes 12/13). The decoder collects them per message id and hands out one Frame when
all parts are in. Counts that change mid-message, duplicate or out-of-range parts, and a
whole message of the same id arriving in the middle of a half-built one raise a
ReassemblyError. For media messages bytes 12/13 are the channel and EndFlag instead, so
those are never reassembled; neither is a frame whose byte 12 is FunSDK's 0x63 marker.

When the bytes of one `feed()` hold good frames followed by garbage, the good frames are
returned and the error is raised by the next `feed()` (or by `eof()`), so nothing the peer
sent correctly is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from xmcam.errors import FrameError, ProtocolError, ReassemblyError
from xmcam.protocol.codes import MEDIA_MESSAGE_IDS, message_name
from xmcam.protocol.header import (
    CLIENT_VERSION,
    DEFAULT_LIMITS,
    HEAD_FLAG,
    HEADER,
    HEADER_SIZE,
    MAX_PART_SIZE,
    Header,
    Limits,
)
from xmcam.protocol.payload import Body, decode_body

__all__ = ["Frame", "FrameDecoder", "encode_frame", "encode_message"]

_new_tuple: Any = tuple.__new__


class Frame(NamedTuple):
    """One whole message: a packet, or a multi-packet message put back together.

    For a reassembled message, `header` is its part 0's header with `length` set to the
    whole payload's length, and `parts` counts the packets it came in. (A named tuple, like
    Header, because the decoder makes one per packet.)
    """

    header: Header
    payload: bytes
    parts: int = 1

    def __repr__(self) -> str:
        # The payload is left out on purpose: a login's carries the password hash, which logs
        # in like the password. Dump frames with protocol.debug.redacted_hex_dump() instead.
        header = self.header
        return (
            f"Frame({message_name(header.message_id)}, session_id=0x{header.session_id:08X}, "
            f"sequence={header.sequence}, payload=<{len(self.payload)} bytes>, parts={self.parts})"
        )

    @property
    def message_id(self) -> int:
        return self.header.message_id

    @property
    def session_id(self) -> int:
        return self.header.session_id

    @property
    def sequence(self) -> int:
        return self.header.sequence

    @property
    def is_media(self) -> bool:
        """True for message ids whose payload is binary media, not JSON."""
        return self.header.message_id in MEDIA_MESSAGE_IDS

    def body(self, limits: Limits = DEFAULT_LIMITS) -> Body:
        """The payload read as a JSON body (leniently). Raises PayloadError."""
        return decode_body(self.payload, limits)

    def to_bytes(self) -> bytes:
        """The frame as one packet on the wire (a reassembled message becomes one packet)."""
        header = self.header
        if self.parts > 1:
            header = header._replace(length=len(self.payload), total_packets=0, current_packet=0)
        return header.pack() + self.payload


@dataclass(slots=True)
class _PartialMessage:
    first_header: Header
    total: int
    parts: dict[int, bytes]
    size: int


class FrameDecoder:
    """Bytes in, frames out. One decoder per direction of one connection.

    >>> decoder = FrameDecoder()
    >>> frames = decoder.feed(some_bytes)  # doctest: +SKIP
    """

    __slots__ = ("_buffer", "_failure", "_limits", "_media_ids", "_need", "_offset", "_partial")

    def __init__(
        self,
        limits: Limits = DEFAULT_LIMITS,
        *,
        media_message_ids: Iterable[int] = MEDIA_MESSAGE_IDS,
    ) -> None:
        self._limits = limits
        self._media_ids = frozenset(media_message_ids)
        self._buffer = bytearray()
        # How many buffered bytes the next packet needs before cutting is worth trying.
        self._need = HEADER_SIZE
        self._partial: dict[int, _PartialMessage] = {}
        self._failure: ProtocolError | None = None
        self._offset = 0  # stream offset of the first byte not yet cut, for error messages

    @property
    def limits(self) -> Limits:
        """The bounds the stream is checked against. A device raises them once its client
        has logged in; a packet begun under the old ones is checked against the new ones
        when it is cut."""
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        self._limits = limits

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a returned frame, parts of unfinished
        multi-packet messages included."""
        return len(self._buffer) + sum(message.size for message in self._partial.values())

    @property
    def failure(self) -> ProtocolError | None:
        """The protocol error that ended this stream, once there was one."""
        return self._failure

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Take the next bytes of the stream; return every frame they complete, in order.

        Raises a ProtocolError subclass when the stream is broken (see the module docstring
        for when it is deferred to the next call). Once raised, every later call raises the
        same error.
        """
        if self._failure is not None:
            raise self._failure.with_traceback(None)  # the same error, not a growing trace
        buffer = self._buffer
        if not buffer and len(data) >= HEADER_SIZE:
            # The usual read of a control connection: exactly one whole single-packet frame,
            # cut with no loop and no copy but the payload's.
            (head_flag, version, reserved1, reserved2, session_id, sequence,
             total_packets, current_packet, message_id,
             length) = HEADER.unpack_from(data)  # fmt: skip
            if (
                head_flag == HEAD_FLAG
                and length == len(data) - HEADER_SIZE
                and length <= self._limits.max_packet_payload
                and total_packets <= 1
                and message_id not in self._partial
            ):
                header = _new_tuple(
                    Header,
                    (message_id, length, session_id, sequence, version,
                     total_packets, current_packet, reserved1, reserved2),
                )  # fmt: skip
                self._offset += len(data)
                payload = data[HEADER_SIZE:]
                if type(payload) is not bytes:
                    payload = bytes(payload)
                return [_new_tuple(Frame, (header, payload, 1))]
        frames: list[Frame] = []
        size = len(data)
        taken = 0
        # A packet begun in an earlier read is completed first, by topping the buffer up
        # with just the bytes it still needs; the rest of this read is then cut in place,
        # never copied into the buffer.
        while buffer:
            missing = self._need - len(buffer)
            if size - taken < missing:
                buffer += data[taken:]
                return frames
            buffer += data[taken : taken + missing]
            taken += missing
            used = self._cut(buffer, frames, 0)
            self._offset += used
            if self._failure is not None:
                break
            del buffer[:used]
        else:
            position = self._cut(data, frames, taken)
            self._offset += position - taken
            if self._failure is None and position < size:
                buffer += data[position:]
        if self._failure is not None:
            buffer.clear()  # bytes after a broken frame can never be used: hold none of them
            if not frames:
                raise self._failure.with_traceback(None)
        return frames

    def eof(self) -> None:
        """The stream has ended. Raises the pending protocol error, or a FrameError when
        the stream stopped in the middle of a packet or of a multi-packet message."""
        if self._failure is not None:
            raise self._failure.with_traceback(None)
        if self._buffer:
            raise FrameError(f"stream ended in the middle of a packet ({len(self._buffer)} bytes)")
        if self._partial:
            names = ", ".join(message_name(message_id) for message_id in self._partial)
            raise ReassemblyError(f"stream ended in the middle of multi-packet {names}")

    def _cut(self, work: bytes | bytearray | memoryview, frames: list[Frame], start: int) -> int:
        """Cut whole packets from `work[start:]` into `frames`; return where the first packet
        not yet whole begins (or where the stream broke)."""
        if type(work) is bytes:
            return self._cut_from(work, frames, start)  # slicing bytes copies once, directly
        with memoryview(work) as view:
            return self._cut_from(view, frames, start)

    def _cut_from(self, work: bytes | memoryview, frames: list[Frame], start: int) -> int:
        unpack = HEADER.unpack_from
        new_tuple = _new_tuple
        append = frames.append
        limit = self._limits.max_packet_payload
        media_ids = self._media_ids
        partial = self._partial
        from_bytes = type(work) is bytes
        end = len(work)
        position = first = start
        try:
            while end - position >= HEADER_SIZE:
                (head_flag, version, reserved1, reserved2, session_id, sequence,
                 total_packets, current_packet, message_id,
                 length) = unpack(work, position)  # fmt: skip
                if head_flag != HEAD_FLAG:
                    raise self._bad_head(head_flag, position - first)
                if length > limit:
                    self._limits.check_packet_length(length, message_id)
                begin = position + HEADER_SIZE
                stop = begin + length
                if stop > end:
                    self._need = HEADER_SIZE + length
                    return position
                # Header.from_wire_fields, inlined: this is the hot path of media decoding.
                header = new_tuple(
                    Header,
                    (message_id, length, session_id, sequence, version,
                     total_packets, current_packet, reserved1, reserved2),
                )  # fmt: skip
                payload = work[begin:stop] if from_bytes else bytes(work[begin:stop])
                position = stop
                if total_packets > 1 and message_id not in media_ids and header.is_multi_packet:
                    frame = self._add_part(header, payload)  # type: ignore[arg-type]
                    if frame is not None:
                        append(frame)
                else:
                    if partial and message_id in partial:
                        raise ReassemblyError(
                            f"a whole {message_name(message_id)} arrived in the middle of a "
                            "multi-packet one"
                        )
                    append(new_tuple(Frame, (header, payload, 1)))
            if position < end and work[position] != HEAD_FLAG:
                # Checked as soon as the first byte of a packet is in, not when 20 are: a peer
                # speaking another protocol (HTTP on 34567) is caught at once.
                raise self._bad_head(work[position], position - first)
        except ProtocolError as error:
            self._failure = error
            return position
        self._need = HEADER_SIZE
        return position

    def _bad_head(self, byte: int, distance: int) -> FrameError:
        # `distance` counts from the first byte not cut before this call (self._offset).
        return FrameError(
            f"bad head byte 0x{byte:02x} at stream offset {self._offset + distance} "
            "(every DVRIP packet starts with 0xff)"
        )

    def _add_part(self, header: Header, payload: bytes) -> Frame | None:
        message_id = header.message_id
        total = header.total_packets
        index = header.current_packet
        name = message_name(message_id)
        if index >= total:
            raise ReassemblyError(f"{name} part {index} of {total} is out of range")
        partial = self._partial.get(message_id)
        if partial is None:
            if len(self._partial) >= self._limits.max_pending_messages:
                raise ReassemblyError(
                    f"more than {self._limits.max_pending_messages} multi-packet messages "
                    "half-received at once"
                )
            partial = _PartialMessage(header, total, {}, 0)
            self._partial[message_id] = partial
        elif total != partial.total:
            raise ReassemblyError(
                f"{name} part {index} says {total} parts, earlier parts said {partial.total}"
            )
        if index in partial.parts:
            raise ReassemblyError(f"{name} part {index} of {total} arrived twice")
        partial.size += len(payload)
        # The limit holds for all half-built messages together, not for each one.
        pending = sum(message.size for message in self._partial.values())
        if pending > self._limits.max_message_size:
            raise ReassemblyError(
                f"multi-packet {name} takes the bytes of unfinished messages over the limit "
                f"of {self._limits.max_message_size}"
            )
        partial.parts[index] = payload
        if index == 0:
            partial.first_header = header  # the message's header is part 0's, whatever the order
        if len(partial.parts) < total:
            return None
        del self._partial[message_id]
        whole = b"".join(partial.parts[i] for i in range(total))
        return Frame(partial.first_header._replace(length=len(whole)), whole, total)


def encode_frame(
    message_id: int,
    payload: bytes | bytearray | memoryview = b"",
    *,
    session_id: int = 0,
    sequence: int = 0,
    version: int = CLIENT_VERSION,
    total_packets: int = 0,
    current_packet: int = 0,
    reserved1: int = 0,
    reserved2: int = 0,
) -> bytes:
    """One packet: header and payload. Raises ValueError for a field out of its range."""
    try:
        head = HEADER.pack(
            HEAD_FLAG,
            version,
            reserved1,
            reserved2,
            session_id,
            sequence,
            total_packets,
            current_packet,
            message_id,
            len(payload),
        )
    except Exception as error:  # struct.error is not a ValueError
        raise ValueError(f"header field out of range: {error}") from None
    return head + payload


_MAX_PARTS: Final = 255


def encode_message(
    message_id: int,
    payload: bytes,
    *,
    session_id: int = 0,
    sequence: int = 0,
    version: int = CLIENT_VERSION,
    part_size: int = MAX_PART_SIZE,
) -> list[bytes]:
    """A control message as the packets to send: one packet when the payload fits in
    `part_size`, else TotalPacket parts of at most `part_size` bytes each."""
    if part_size <= 0:
        raise ValueError("part_size must be positive")
    if len(payload) <= part_size:
        return [encode_frame(message_id, payload, session_id=session_id, sequence=sequence,
                             version=version)]  # fmt: skip
    chunks = [payload[i : i + part_size] for i in range(0, len(payload), part_size)]
    if len(chunks) > _MAX_PARTS or len(chunks) == 0x63:
        # 0x63 parts would read as FunSDK's marker (see header.FUNSDK_MARKER).
        raise ValueError(f"{len(payload)} bytes do not fit in parts of {part_size} bytes")
    return [
        encode_frame(
            message_id,
            chunk,
            session_id=session_id,
            sequence=sequence,
            version=version,
            total_packets=len(chunks),
            current_packet=index,
        )
        for index, chunk in enumerate(chunks)
    ]
