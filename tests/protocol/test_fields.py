"""Field values as devices write them: the one lenient number reader and the device time.

The client's readers, the datagram codecs' and the simulator's used to be three copies that
disagreed; the cases where they did are pinned here, with the answer all of them now give."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmcam.protocol import (
    DEVICE_TIME_FORMAT,
    format_device_time,
    lenient_int,
    parse_device_time,
)
from xmcam.protocol.alarm_center import message_from_body
from xmcam.protocol.discovery import encode_search_reply, parse_search_reply


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (25, 25),
        (-3, -3),
        (25.0, 25),
        ("25", 25),
        (" 25 ", 25),
        ("+7", 7),
        ("-3", -3),
        ("25.0", 25),
        ("25.", 25),
        ("0x0000B000", 0xB000),
        ("0X1f", 0x1F),
        (" 0x10\n", 0x10),  # the client's reader refused a hex number with blanks around
        ("0" * 20, 0),
    ],
)
def test_numbers_are_read_the_ways_devices_write_them(value: object, number: int) -> None:
    assert lenient_int(value) == number


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        25.5,
        float("nan"),
        float("inf"),
        "",
        " ",
        "0x",
        "0xZZ",
        "x10",
        "1_000",  # int() takes it; no device writes it
        "٣",  # an Arabic-Indic digit: int() takes it, the discovery reader refused it
        "²",
        "1e3",
        "25.5",
        "--3",
        "1" * 21,
        "0x" + "f" * 17,
        " " * 60 + "1" * 5,
        [1],
        {"a": 1},
    ],
)
def test_anything_else_is_not_a_number(value: object) -> None:
    assert lenient_int(value) is None


def test_bounds_refuse_numbers_outside_them() -> None:
    assert lenient_int("-1", minimum=0) is None
    assert lenient_int("0", minimum=0) == 0
    assert lenient_int(65535, maximum=65535) == 65535
    assert lenient_int("0x10000", maximum=65535) is None


@given(st.integers(-(2**63), 2**63))
def test_every_int_reads_back_from_its_decimal_and_hex_text(number: int) -> None:
    assert lenient_int(str(number)) == number
    if number >= 0:
        assert lenient_int(f"0x{number:08X}") == number


@given(st.text(max_size=80) | st.floats() | st.integers() | st.none() | st.booleans())
def test_the_reader_never_raises(value: object) -> None:
    result = lenient_int(value)
    assert result is None or isinstance(result, int)


def test_discovery_reads_hex_and_float_numbers_too() -> None:
    # The discovery reader took decimal digits only; the client's took hex and floats.
    reply = encode_search_reply(
        {"TCPPort": "0x8707", "ChannelNum": 4.0, "TCPMaxConn": " 10 ", "DeviceType": "-1"}
    )
    device = parse_search_reply(reply, "192.0.2.1")
    assert (device.tcp_port, device.channels, device.tcp_max_conn) == (34567, 4, 10)
    assert device.device_type is None  # out of range


def test_alarm_center_reads_a_hex_channel() -> None:
    message = message_from_body(
        {"SerialID": "x", "Channel": "0x2", "StartTime": " 2026-11-25 10:08:41 "}
    )
    assert message.channel == 2
    assert message.started_at == datetime(2026, 11, 25, 10, 8, 41)


def test_device_time_is_written_and_read_one_way() -> None:
    when = datetime(2026, 11, 25, 10, 8, 41, 999_999)
    text = format_device_time(when)
    assert text == "2026-11-25 10:08:41" == when.strftime(DEVICE_TIME_FORMAT)
    assert parse_device_time(text) == when.replace(microsecond=0)
    assert parse_device_time(f" {text}\n") == when.replace(microsecond=0)


@pytest.mark.parametrize(
    "value",
    [None, 20261125, "", "2026-11-25", "2026-11-25T10:08:41", "2026-13-01 00:00:00", "x" * 65],
)
def test_anything_else_is_not_a_device_time(value: object) -> None:
    assert parse_device_time(value) is None
