"""Alarm-center messages (docs/protocol.md §9.4), sans I/O: what a camera sends to the "alarm
center" server it is configured with (`NetWork.AlarmServer`, TCP 15002 by default).

What is known of the wire format, from public code that receives it (facts only):

- the device opens a TCP connection to the server and sends one DVRIP packet: the usual
  20-byte header (head byte 0xFF, the data length at offset 16) and a JSON body
  (OpenIPC/python-dvr `AlarmServer.py` and ravetam/xmeye-mqtt-alarmserver `AlarmServer.py`
  read a 20-byte header, then `length` bytes of JSON; 667bdrm/sofiactl `dvr-alarm-server.pl`
  reads five 32-bit words and takes the fifth as the content length);
- the message id is 1508 in the vendor's message table (docs/protocol.md §3); none of the
  receivers checks it;
- one message per connection: the receivers read one packet and close, or read to EOF and
  take the JSON from its first `{` (toxuin/alarmserver `servers/hisilicon/server.go`);
  dimnik70/dvrip-sofia-alarm-server drops the first 20 bytes of a read and trims the rest;
- the body is a flat object: `Address` (the device's IP as little-endian hex), `Channel`,
  `Descrip`, `Event`, `SerialID`, `StartTime`, `Status` (`Start` / `Stop`), `Type` (`Alarm`
  or `Log`) ([DOC] 4.34.5; the sofiactl server publishes exactly these keys).

No receiver replies. Strict JSON readers (Python's `json.loads`, Perl's `decode_json`) parse
the body as it arrives, so devices do not end it with a NUL: the encoder ends it with `\\n`
only, and the reader accepts any terminator anyway.

The parser is lenient the way the core's body reader is (spaced keys, odd terminators,
numbers sent as strings) and bounded (`MAX_ALARM_CENTER_MESSAGE`); anything else raises the
ProtocolError family.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from xmcam.errors import FrameError, PayloadError
from xmcam.protocol.codes import MessageId
from xmcam.protocol.discovery import hex_ip_to_text, text_to_hex_ip
from xmcam.protocol.fields import format_device_time, lenient_int, parse_device_time
from xmcam.protocol.framing import encode_frame
from xmcam.protocol.header import DEVICE_VERSION, HEAD_FLAG, HEADER_SIZE, Header, Limits
from xmcam.protocol.payload import decode_body, encode_body

__all__ = [
    "ALARM_CENTER_LIMITS",
    "ALARM_CENTER_PORT",
    "MAX_ALARM_CENTER_MESSAGE",
    "AlarmCenterMessage",
    "encode_alarm_center_message",
    "parse_alarm_center_message",
]

ALARM_CENTER_PORT: Final = 15002
"""The port devices push to unless configured otherwise (some recorders use 15003)."""

MAX_ALARM_CENTER_MESSAGE: Final = 64 * 1024
"""The largest message body accepted. A real one is about 200 bytes."""

ALARM_CENTER_LIMITS: Final = Limits(
    max_packet_payload=MAX_ALARM_CENTER_MESSAGE,
    max_message_size=MAX_ALARM_CENTER_MESSAGE,
    max_pending_messages=1,
    max_json_size=MAX_ALARM_CENTER_MESSAGE,
    max_json_depth=8,
)
"""Limits for reading a device's push: one small message, never reassembled from many."""

_MAX_CHANNEL: Final = 0xFFFF


@dataclass(frozen=True, slots=True)
class AlarmCenterMessage:
    """One alarm (or log) message pushed by a device to the alarm center.

    `serial` is `SerialID`, the key that tells devices apart; `address` the IP the device
    claims (`Address`, decoded), None when absent or unreadable. `start_time` is the text
    the device sent (`2010-06-24 17:04:22`, device-local time). `type` is `Alarm` or `Log`.
    `raw` is the whole body as received; `source` the peer address it came from, when the
    shell knows it."""

    serial: str | None
    address: str | None
    channel: int | None
    event: str | None
    status: str | None
    start_time: str | None
    type: str | None
    description: str | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    source: str | None = field(default=None, compare=False)

    @property
    def started_at(self) -> datetime | None:
        """`start_time` as a naive datetime (device-local), or None when unreadable."""
        return parse_device_time(self.start_time)


def parse_alarm_center_message(
    frame_or_payload: bytes | bytearray | memoryview, *, source: str | None = None
) -> AlarmCenterMessage:
    """Read one message: a whole DVRIP packet (header and JSON body), or the JSON body alone
    (what a shell that cut the packet already holds). Raises FrameError for a packet whose
    length does not match the bytes given and PayloadError for a body that is not a JSON
    object of the known shape; nothing else, whatever the bytes."""
    data = bytes(frame_or_payload)
    if len(data) > HEADER_SIZE + MAX_ALARM_CENTER_MESSAGE:
        raise FrameError(f"alarm-center message of {len(data)} bytes is over the limit")
    if data[:1] == bytes((HEAD_FLAG,)):
        header = Header.unpack(data)
        if header.length > len(data) - HEADER_SIZE:
            raise FrameError(
                f"alarm-center packet announces {header.length} bytes of data, "
                f"has {len(data) - HEADER_SIZE}"
            )
        data = data[HEADER_SIZE : HEADER_SIZE + header.length]
    body = decode_body(data, ALARM_CENTER_LIMITS).data
    return message_from_body(body, source=source)


def message_from_body(body: Mapping[str, Any], *, source: str | None = None) -> AlarmCenterMessage:
    """An AlarmCenterMessage from a decoded body. Raises PayloadError when the body has none
    of the alarm-center members (it is something else)."""
    fields = _alarm_fields(body)
    if not any(key in fields for key in ("SerialID", "Event", "Status", "Type")):
        raise PayloadError("not an alarm-center message: no SerialID, Event, Status or Type")
    address = fields.get("Address")
    try:
        decoded = hex_ip_to_text(address) if isinstance(address, str) else None
    except PayloadError:
        decoded = None
    return AlarmCenterMessage(
        serial=_text(fields.get("SerialID")),
        address=decoded,
        channel=lenient_int(fields.get("Channel"), minimum=0, maximum=_MAX_CHANNEL),
        event=_text(fields.get("Event")),
        status=_text(fields.get("Status")),
        start_time=_text(fields.get("StartTime")),
        type=_text(fields.get("Type")),
        description=_text(fields.get("Descrip")),
        raw=dict(body),
        source=source,
    )


def _alarm_fields(body: Mapping[str, Any]) -> Mapping[str, Any]:
    # The documented message is flat. Some firmware wraps its objects in a member named by
    # "Name" (as the session's 1504 push wraps AlarmInfo): look one level down too.
    if "Event" in body or "SerialID" in body:
        return body
    name = body.get("Name")
    inner = body.get(name) if isinstance(name, str) else body.get("AlarmInfo")
    return inner if isinstance(inner, Mapping) else body


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def encode_alarm_center_message(
    *,
    serial: str,
    address: str,
    channel: int = 0,
    event: str = "VideoMotion",
    status: str = "Start",
    start_time: str | datetime | None = None,
    type: str = "Alarm",
    description: str = "",
    session_id: int = 0,
    sequence: int = 0,
) -> bytes:
    """One alarm-center packet as a device sends it: a version-1 header with message id 1508
    and the flat JSON body in the device style, ended by `\\n`. `address` is the device's
    IPv4 address in dotted form (written as little-endian hex); `start_time` defaults to
    now, host-local, as the device's clock would give it."""
    when = start_time if start_time is not None else datetime.now()
    body = {
        "Address": text_to_hex_ip(address),
        "Channel": channel,
        "Descrip": description,
        "Event": event,
        "SerialID": serial,
        "StartTime": format_device_time(when) if isinstance(when, datetime) else when,
        "Status": status,
        "Type": type,
    }
    return encode_frame(
        MessageId.ALARMCENTER_MSG,
        encode_body(body, b"\n"),
        session_id=session_id,
        sequence=sequence,
        version=DEVICE_VERSION,
    )
