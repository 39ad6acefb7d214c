"""Discovery datagrams, sans I/O: the byte-exact probe, replies as devices write them (spaced
keys, odd terminators, NULs), hex IPs, bounds, and Hypothesis invariants."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmcam.errors import FrameError, PayloadError, ProtocolError
from xmcam.protocol import encode_frame
from xmcam.protocol.discovery import (
    MAX_DATAGRAM,
    MAX_KEPT_CHARACTERS,
    MAX_KEPT_MEMBERS,
    MAX_KEPT_TEXT,
    SEARCH_PORT,
    DiscoveredDevice,
    encode_search_reply,
    hex_ip_to_text,
    parse_search_reply,
    search_probe,
    text_to_hex_ip,
)

# docs/protocol.md §21's reply, with the fields go2rtc saw.
NET_COMMON: dict[str, Any] = {
    "BuildDate": "2019-06-11 14:10:00",
    "ChannelNum": 4,
    "DeviceType": 24,
    "GateWay": "0x0100060A",
    "HostIP": "0x7200060A",
    "HostName": "LocalHost",
    "HttpPort": 80,
    "MAC": "00:12:16:aa:bb:cc",
    "MaxBps": 0,
    "MonMode": "TCP",
    "NetConnectState": 0,
    "SN": "a1b2c3d4e5f60718",
    "SSLPort": 8443,
    "Submask": "0x0000FFFF",
    "TCPMaxConn": 10,
    "TCPPort": 34567,
    "TransferPlan": "AutoAdapt",
    "UDPPort": 34568,
    "UseHSDownLoad": False,
    "Version": "V4.02.R11.34500140.10001.131900.00000",
}


def reply_with_body(body: bytes) -> bytes:
    return encode_frame(1531, body, version=1)


def test_the_probe_is_byte_exact() -> None:
    assert search_probe() == bytes.fromhex("ff00000000000000000000000000fa0500000000")
    assert SEARCH_PORT == 34569


@pytest.mark.parametrize(
    ("hex_text", "address"),
    [("0x7200060A", "10.6.0.114"), ("0x0C01A8C0", "192.168.1.12"), ("0x0100007f", "127.0.0.1"),
     ("0x00000000", "0.0.0.0"),  # noqa: S104
     ("0xFFFFFFFF", "255.255.255.255"), (" 0x7f ", "127.0.0.0"),
     ("0100007F", "127.0.0.1")],
)  # fmt: skip
def test_hex_ips_are_little_endian(hex_text: str, address: str) -> None:
    assert hex_ip_to_text(hex_text) == address


def test_text_to_hex_ip_is_the_reverse() -> None:
    assert text_to_hex_ip("10.6.0.114") == "0x7200060A"
    assert text_to_hex_ip("127.0.0.1") == "0x0100007F"
    with pytest.raises(ValueError, match="octets"):
        text_to_hex_ip("::1")


@pytest.mark.parametrize("bad", ["", "0x", "0x123456789", "0xGG", "10.0.0.1", "0x-1", "٣"])
def test_unreadable_hex_ips_raise_payload_errors(bad: str) -> None:
    with pytest.raises(PayloadError):
        hex_ip_to_text(bad)
    with pytest.raises(PayloadError):
        hex_ip_to_text(7)  # type: ignore[arg-type]


@given(st.ip_addresses(v=4).map(str))
def test_hex_ip_round_trip(address: str) -> None:
    assert hex_ip_to_text(text_to_hex_ip(address)) == address


def test_the_documented_reply_reads_field_by_field() -> None:
    device = parse_search_reply(encode_search_reply(NET_COMMON), "10.6.0.114")
    assert device == DiscoveredDevice(
        host="10.6.0.114",
        source="10.6.0.114",
        mac="00:12:16:aa:bb:cc",
        serial="a1b2c3d4e5f60718",
        name="LocalHost",
        device_type=24,
        tcp_port=34567,
        udp_port=34568,
        http_port=80,
        ssl_port=8443,
        tcp_max_conn=10,
        channels=4,
        firmware="V4.02.R11.34500140.10001.131900.00000",
        build_date="2019-06-11 14:10:00",
        gateway="10.6.0.1",
        netmask="255.255.0.0",
    )
    assert device.raw == NET_COMMON


def test_the_encoder_writes_the_device_style() -> None:
    datagram = encode_search_reply({"MAC": "00:12:31:6e:26:25"}, session_id=0)
    assert datagram[:4] == b"\xff\x01\x00\x00"
    assert datagram[14:16] == (1531).to_bytes(2, "little")
    assert int.from_bytes(datagram[16:20], "little") == len(datagram) - 20
    assert datagram[20:] == (
        b'{ "NetWork.NetCommon" : { "MAC" : "00:12:31:6e:26:25" }, "Ret" : 100, '
        b'"SessionID" : "0x00000000" }\n\x00'
    )


@pytest.mark.parametrize(
    "body",
    [
        # no terminator; NUL padding (python-dvr strips every NUL); a spaced key; NULs and
        # a newline; the length field shorter than the datagram's padding
        b'{"NetWork.NetCommon":{"MAC":"00:12:16:aa:bb:cc","HostIP":"0x7200060A"},"Ret":100}',
        b'{"NetWork.NetCommon":{"MAC":"00:12:16:aa:bb:cc","HostIP":"0x7200060A"}}\x00\x00\x00',
        b'{ " NetWork.NetCommon " : { "MAC " : "00:12:16:aa:bb:cc", "HostIP" : "0x7200060A" } }\n',
        b'{"NetCommon":{"MAC":"00:12:16:aa:bb:cc","HostIP":"0x7200060A"}}\n\x00',
        b'{"MAC":"00:12:16:aa:bb:cc","HostIP":"0x7200060A"}',
    ],
)
def test_replies_in_every_spelling_are_read(body: bytes) -> None:
    device = parse_search_reply(reply_with_body(body), "192.0.2.1")
    assert device.mac == "00:12:16:aa:bb:cc"
    assert device.host == "10.6.0.114"
    assert device.source == "192.0.2.1"


def test_the_length_field_is_trusted_only_to_cut_shorter() -> None:
    body = b'{"NetWork.NetCommon":{"MAC":"m"}}'
    longer = encode_frame(1531, body)[:16] + (len(body) + 500).to_bytes(4, "little") + body
    assert parse_search_reply(longer, "x").mac == "m"
    shorter = encode_frame(1531, body) + b"\x00junk after the body"
    assert parse_search_reply(shorter, "x").mac == "m"


def test_odd_members_read_as_missing() -> None:
    odd = {
        "HostIP": "nonsense",
        "MAC": 7,
        "SN": ["x"],
        "DeviceType": "24",
        "TCPPort": 70000,
        "UDPPort": -1,
        "HttpPort": True,
        "SSLPort": "443",
        "TCPMaxConn": "²",
        "ChannelNum": 1.5,
        "GateWay": 1,
        "Submask": "0xZZ",
        "HostName": "   ",
    }
    device = parse_search_reply(encode_search_reply(odd), "192.0.2.7")
    assert device.host == "192.0.2.7"  # no usable HostIP: the datagram's source
    assert device.mac == "7"
    assert device.serial is None
    assert device.device_type == 24
    assert (device.tcp_port, device.udp_port, device.http_port) == (None, None, None)
    assert device.ssl_port == 443
    assert (device.tcp_max_conn, device.channels, device.name) == (None, None, None)
    assert (device.gateway, device.netmask) == (None, None)


def test_what_a_device_keeps_of_a_bloated_reply_is_bounded() -> None:
    bloated: dict[str, Any] = {
        "MAC": "m" * 3000,
        "SN": 7 * 10**200,
        "HostName": "  " + "n" * 300,
        "Nested": [[] for _ in range(300)],
        "Object": {"a": 1},
        "Huge": 10**100,
        "Negative": -(2**63),
        "Float": 1.5,
        "Flag": True,
        "Nothing": None,
        "k" * (MAX_KEPT_TEXT + 1): 1,
        **{f"Filler{index:03d}": "x" * 300 for index in range(60)},
    }
    device = parse_search_reply(encode_search_reply(bloated), "192.0.2.9")
    assert device.mac == "m" * MAX_KEPT_TEXT
    assert device.serial == "7" + "0" * (MAX_KEPT_TEXT - 1)
    assert device.name == "n" * MAX_KEPT_TEXT
    raw = device.raw
    assert len(raw) <= MAX_KEPT_MEMBERS
    assert (
        sum(len(name) + len(value if isinstance(value, str) else "") for name, value in raw.items())
        <= MAX_KEPT_CHARACTERS
    )
    assert all(len(value) <= MAX_KEPT_TEXT for value in raw.values() if isinstance(value, str))
    assert not {"Nested", "Object", "Huge", "k" * (MAX_KEPT_TEXT + 1)} & set(raw)
    assert raw["Negative"] == -(2**63)
    assert (raw["Float"], raw["Flag"], raw["Nothing"]) == (1.5, True, None)
    assert "Filler000" in raw
    assert "Filler059" not in raw


def test_many_small_members_stop_at_the_member_limit() -> None:
    many = {f"M{index:03d}": index for index in range(200)}
    device = parse_search_reply(encode_search_reply(many | {"MAC": "x"}), "192.0.2.9")
    assert len(device.raw) == MAX_KEPT_MEMBERS
    assert device.mac == "x"  # read from the whole object, wherever it was


@pytest.mark.parametrize(
    ("datagram", "error"),
    [
        (b"", FrameError),
        (b"\xff\x00", FrameError),
        (b"M-SEARCH * HTTP/1.1\r\n\r\n", FrameError),
        (search_probe(), FrameError),  # a probe is not a reply
        (encode_frame(1000, b"{}"), FrameError),
        (reply_with_body(b"not json"), PayloadError),
        (reply_with_body(b"[]"), PayloadError),
        (reply_with_body(b'{"Ret": 100}'), PayloadError),
        (reply_with_body(b""), PayloadError),
    ],
)
def test_garbage_raises_protocol_errors(datagram: bytes, error: type[ProtocolError]) -> None:
    with pytest.raises(error):
        parse_search_reply(datagram, "192.0.2.1")


def test_a_datagram_over_the_udp_limit_is_refused() -> None:
    with pytest.raises(FrameError, match="UDP limit"):
        parse_search_reply(reply_with_body(b" " * MAX_DATAGRAM), "x")


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_nothing_but_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_search_reply(data, "192.0.2.1")


@given(st.binary(max_size=300))
def test_arbitrary_bodies_raise_nothing_but_protocol_errors(body: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_search_reply(reply_with_body(body), "192.0.2.1")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from(sorted(NET_COMMON)), _JSON, max_size=12))
def test_any_values_in_a_net_common_object_never_raise(net_common: dict[str, Any]) -> None:
    device = parse_search_reply(encode_search_reply(net_common), "192.0.2.1")
    assert device.host  # HostIP decoded, or the source


_TEXT = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zs"]), min_size=1, max_size=20)
_PORT = st.integers(0, 65535)


@given(
    host=st.ip_addresses(v=4).map(str),
    mac=_TEXT,
    serial=_TEXT,
    device_type=st.integers(0, 2**31),
    ports=st.tuples(_PORT, _PORT, _PORT, _PORT),
    max_conn=st.integers(0, 1000),
    channels=st.integers(0, 256),
    version=_TEXT,
    session_id=st.integers(0, 2**32 - 1),
)
def test_encode_then_parse_gives_the_same_fields(
    *,
    host: str,
    mac: str,
    serial: str,
    device_type: int,
    ports: tuple[int, int, int, int],
    max_conn: int,
    channels: int,
    version: str,
    session_id: int,
) -> None:
    tcp, udp, http, ssl = ports
    net_common = {
        "HostIP": text_to_hex_ip(host),
        "MAC": mac,
        "SN": serial,
        "DeviceType": device_type,
        "TCPPort": tcp,
        "UDPPort": udp,
        "HttpPort": http,
        "SSLPort": ssl,
        "TCPMaxConn": max_conn,
        "ChannelNum": channels,
        "Version": version,
    }
    device = parse_search_reply(encode_search_reply(net_common, session_id=session_id), "s")
    assert (device.host, device.source, device.mac, device.serial) == (host, "s", mac, serial)
    assert (device.tcp_port, device.udp_port, device.http_port, device.ssl_port) == ports
    assert (device.device_type, device.tcp_max_conn, device.channels) == (
        device_type,
        max_conn,
        channels,
    )
    assert device.firmware == version
    assert device.raw == net_common
