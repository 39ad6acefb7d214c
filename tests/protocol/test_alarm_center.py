"""Alarm-center messages, sans I/O: the documented example, lenient reading, bounds, and a
fuzz invariant (nothing but ProtocolError on arbitrary bytes)."""

from __future__ import annotations

import contextlib
import struct
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmcam.errors import FrameError, PayloadError, ProtocolError
from xmcam.protocol import encode_frame
from xmcam.protocol.alarm_center import (
    MAX_ALARM_CENTER_MESSAGE,
    AlarmCenterMessage,
    encode_alarm_center_message,
    message_from_body,
    parse_alarm_center_message,
)

# docs/protocol.md §9.4's example body, as a device sends it.
EXAMPLE = (
    b'{"Address":"0x0B0A060A","Channel":0,"Descrip":"","Event":"MotionDetect",'
    b'"SerialID":"003344236523","StartTime":"2010-06-24 17:04:22","Status":"Stop","Type":"Alarm"}'
)


def test_the_documented_example_reads_field_by_field() -> None:
    message = parse_alarm_center_message(encode_frame(1508, EXAMPLE, version=1))
    assert message == AlarmCenterMessage(
        serial="003344236523",
        address="10.6.10.11",
        channel=0,
        event="MotionDetect",
        status="Stop",
        start_time="2010-06-24 17:04:22",
        type="Alarm",
        description="",
    )
    assert message.raw["Address"] == "0x0B0A060A"
    assert message.started_at == datetime(2010, 6, 24, 17, 4, 22)


def test_a_body_alone_reads_the_same_as_the_packet() -> None:
    packet = encode_frame(1508, EXAMPLE)
    assert parse_alarm_center_message(EXAMPLE) == parse_alarm_center_message(packet)
    assert parse_alarm_center_message(EXAMPLE, source="10.0.0.9").source == "10.0.0.9"


def test_the_encoder_writes_a_1508_packet_in_the_device_style() -> None:
    packet = encode_alarm_center_message(
        serial="58e7fa5e6e262535",
        address="192.168.1.12",
        channel=2,
        event="VideoMotion",
        status="Start",
        start_time=datetime(2026, 11, 25, 8, 30, 0),
    )
    head, version, session, sequence, message_id, length = struct.unpack("<BB2xII2xHI", packet[:20])
    assert (head, version, session, sequence, message_id) == (0xFF, 1, 0, 0, 1508)
    assert length == len(packet) - 20
    body = packet[20:]
    assert body.startswith(b'{ "Address" : "0x0C01A8C0", "Channel" : 2, ')
    assert body.endswith(b" }\n")  # strict JSON readers in the wild parse it as it is
    message = parse_alarm_center_message(packet)
    assert (message.serial, message.address, message.channel) == (
        "58e7fa5e6e262535",
        "192.168.1.12",
        2,
    )
    assert (message.event, message.status, message.type) == ("VideoMotion", "Start", "Alarm")
    assert message.start_time == "2026-11-25 08:30:00"


@pytest.mark.parametrize(
    "terminator", [b"", b"\n", b"\n\x00", b"\x00", b"\x00\x00\x00", b"\r\n", b"  \n\x00\x00"]
)
def test_any_terminator_is_accepted(terminator: bytes) -> None:
    message = parse_alarm_center_message(encode_frame(1508, EXAMPLE + terminator))
    assert message.serial == "003344236523"


def test_spaced_keys_and_quoted_numbers_are_read() -> None:
    body = b'{ " SerialID " : "X1", "Channel" : "3", "Event " : "VideoLoss", "Status":"Start" }'
    message = parse_alarm_center_message(body)
    assert (message.serial, message.channel, message.event) == ("X1", 3, "VideoLoss")
    assert message.address is None
    assert message.type is None


def test_a_wrapped_message_is_read_one_level_down() -> None:
    body = (
        b'{"Name":"AlarmCenter","AlarmCenter":{"SerialID":"S","Event":"HumanDetect","Channel":1}}'
    )
    message = parse_alarm_center_message(body)
    assert (message.serial, message.event, message.channel) == ("S", "HumanDetect", 1)


@pytest.mark.parametrize(
    ("member", "value"),
    [("Address", '"0xZZ"'), ("Address", "7"), ("Channel", "-1"), ("Channel", '"x"'),
     ("Channel", "true"), ("StartTime", '"yesterday"'), ("Event", "[1]")],
)  # fmt: skip
def test_odd_members_read_as_missing_not_as_errors(member: str, value: str) -> None:
    body = f'{{"SerialID":"S","{member}":{value}}}'.encode()
    message = parse_alarm_center_message(body)
    assert message.serial == "S"
    attribute = {"Address": "address", "Channel": "channel", "Event": "event"}.get(member)
    if attribute is not None:
        assert getattr(message, attribute) is None
    else:
        assert message.started_at is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\x01",
        b"GET / HTTP/1.1\r\n\r\n",
        b"[1, 2]",
        b'{"Name": "KeepAlive"}',
        b"\xfe" + bytes(19),
        encode_frame(1508, b"not json"),
        encode_frame(1508, EXAMPLE)[:-5],  # the header promises more than there is
    ],
)
def test_garbage_raises_a_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_alarm_center_message(data)


def test_an_oversized_message_is_refused_before_it_is_read() -> None:
    with pytest.raises(FrameError, match="over the limit"):
        parse_alarm_center_message(b"{" * (MAX_ALARM_CENTER_MESSAGE + 21))
    body = b'{"SerialID":"' + b"x" * MAX_ALARM_CENTER_MESSAGE + b'"}'
    with pytest.raises(ProtocolError):
        parse_alarm_center_message(body)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(PayloadError):
        parse_alarm_center_message(b'{"SerialID":' + b"[" * 50 + b"]" * 50 + b"}")


@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_nothing_but_protocol_errors(data: bytes) -> None:
    try:
        message = parse_alarm_center_message(data)
    except ProtocolError:
        return
    assert isinstance(message, AlarmCenterMessage)


@given(st.binary(max_size=200))
def test_arbitrary_bodies_in_a_good_packet_raise_nothing_but_protocol_errors(body: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_alarm_center_message(encode_frame(1508, body))


_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@given(
    serial=_TEXT.filter(lambda text: text == text.strip()),
    address=st.ip_addresses(v=4).map(str),
    channel=st.integers(0, 255),
    event=_TEXT.filter(lambda text: text == text.strip()),
    status=st.sampled_from(["Start", "Stop", "None"]),
    kind=st.sampled_from(["Alarm", "Log"]),
    when=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31)),
)
def test_encode_then_parse_gives_the_same_fields(
    *, serial: str, address: str, channel: int, event: str, status: str, kind: str, when: datetime
) -> None:
    packet = encode_alarm_center_message(
        serial=serial,
        address=address,
        channel=channel,
        event=event,
        status=status,
        start_time=when,
        type=kind,
    )
    message = parse_alarm_center_message(packet)
    assert (message.serial, message.address, message.channel) == (serial, address, channel)
    assert (message.event, message.status, message.type) == (event, status, kind)
    assert message.started_at == when.replace(microsecond=0)


def test_an_unreadable_start_time_reads_as_none_and_a_numeric_serial_as_text() -> None:
    message = message_from_body({"SerialID": 12345678, "StartTime": "yesterday", "Event": "X"})
    assert message.serial == "12345678"
    assert message.start_time == "yesterday"
    assert message.started_at is None
    assert message_from_body({"SerialID": "ab", "StartTime": None}).started_at is None
