"""UDP discovery datagrams (docs/protocol.md §21), sans I/O: the search probe, its reply, and the
little-endian hex IPs that XM firmware writes everywhere.

Theory of operation. A client broadcasts a bare 20-byte DVRIP header with message id 1530
(`search_probe()`) to UDP port 34569, a few times, because devices do not always answer the
first one. Every device answers with one datagram: a header with message id 1531 and a JSON
body whose `NetWork.NetCommon` object describes its network identity (IP, MAC, serial, ports,
`TCPMaxConn`). `parse_search_reply()` turns such a datagram into a `DiscoveredDevice`; the
shell (`xmcam.aio.discovery`) owns the socket, the repetition and the de-duplication.

A datagram comes from anyone on the LAN, so it is as untrusted as any TCP byte: its size is
bounded (`MAX_DATAGRAM`), the body goes through the core's lenient reader (spaced keys, any
terminator, NUL padding), and anything unreadable raises the ProtocolError family, never
anything else. Fields of the wrong type or out of range are read as missing (None), not as
errors: one odd member should not hide a camera.

What a `DiscoveredDevice` keeps of a reply is bounded too, whatever the datagram held: every
text field is cut to `MAX_KEPT_TEXT` characters, and `raw` keeps the NetCommon's scalar
members only (strings, numbers, booleans, null), at most `MAX_KEPT_MEMBERS` of them and
`MAX_KEPT_CHARACTERS` characters of names and text in all. A real NetCommon is about 20 flat
members in 450 bytes and loses nothing; a 64 KiB reply stuffed with nested arrays (which
Python holds in some 20 times the bytes) would otherwise be kept whole, once per device that
a flood of replies invents.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from xmcam.errors import FrameError, PayloadError
from xmcam.protocol.codes import MessageId, Ret
from xmcam.protocol.fields import lenient_int
from xmcam.protocol.framing import encode_frame
from xmcam.protocol.header import CLIENT_VERSION, DEVICE_VERSION, HEADER_SIZE, Header, Limits
from xmcam.protocol.payload import DEVICE_TERMINATOR, decode_body, encode_body, format_session_id

__all__ = [
    "MAX_DATAGRAM",
    "MAX_KEPT_CHARACTERS",
    "MAX_KEPT_MEMBERS",
    "MAX_KEPT_TEXT",
    "SEARCH_PORT",
    "DiscoveredDevice",
    "encode_search_reply",
    "hex_ip_to_text",
    "parse_search_reply",
    "search_probe",
    "text_to_hex_ip",
]

SEARCH_PORT: Final = 34569
"""The UDP port of the search request and its replies (docs/protocol.md §1, §21)."""

MAX_DATAGRAM: Final = 65536
"""No UDP datagram is larger; anything claiming to be is refused before it is read."""

MAX_KEPT_TEXT: Final = 128
"""The longest text kept of any one field or `raw` member (a firmware version is 40)."""

MAX_KEPT_MEMBERS: Final = 48
"""The most members of a reply's NetCommon kept in `DiscoveredDevice.raw` (real ones: ~20)."""

MAX_KEPT_CHARACTERS: Final = 2048
"""The most characters of member names and text kept in `raw`, all members together."""

# A reply's body is the rest of the datagram: never more than a datagram can hold.
_LIMITS: Final = Limits(
    max_packet_payload=MAX_DATAGRAM, max_message_size=MAX_DATAGRAM, max_json_size=MAX_DATAGRAM
)
_NET_COMMON: Final = "NetWork.NetCommon"
_MAX_PORT: Final = 65535
_MAX_U32: Final = 0xFFFFFFFF
_MAX_KEPT_INT: Final = 2**64
_MAX_HEX_IP_DIGITS: Final = 8


def search_probe() -> bytes:
    """The search request: a 20-byte header with message id 1530 and no body, as every known
    client sends it (`ff 00 00 00 ... fa 05 00 00 00 00`, docs/protocol.md §21)."""
    return encode_frame(MessageId.IPSEARCH_REQ, version=CLIENT_VERSION)


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    """One device that answered a search. `host` is the address the device says it has
    (`HostIP`), `source` the address its datagram came from: they differ behind NAT or on a
    multi-homed host, and `host` falls back to `source` when the device gave no usable IP.
    Every other field is None when the device left it out or sent nonsense; `raw` is the
    `NetWork.NetCommon` object as received, bounded: its scalar members only, at most
    `MAX_KEPT_MEMBERS` of them and `MAX_KEPT_CHARACTERS` characters of names and text, each
    text cut to `MAX_KEPT_TEXT` characters (nothing is lost of a real reply)."""

    host: str
    source: str
    mac: str | None = None
    serial: str | None = None
    name: str | None = None
    """`HostName` (`LocalHost` on most devices)."""
    device_type: int | None = None
    """An int here, unlike the login reply's string (docs/protocol.md §21)."""
    tcp_port: int | None = None
    udp_port: int | None = None
    http_port: int | None = None
    ssl_port: int | None = None
    tcp_max_conn: int | None = None
    channels: int | None = None
    firmware: str | None = None
    """`Version`."""
    build_date: str | None = None
    gateway: str | None = None
    netmask: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def hex_ip_to_text(value: str) -> str:
    """An IPv4 address as XM firmware writes it (`"0x7200060A"`: the four bytes of the
    address read as a little-endian number) in dotted form (`"10.6.0.114"`).

    Lenient on spelling (with or without `0x`, either case, surrounding blanks); raises
    PayloadError for anything that is not 1 to 8 hex digits."""
    if not isinstance(value, str):
        raise PayloadError(f"an IP address must be a hex string, not {type(value).__name__}")
    digits = value.strip()
    if digits[:2] in ("0x", "0X"):
        digits = digits[2:]
    if not 0 < len(digits) <= _MAX_HEX_IP_DIGITS or not _is_hex(digits):
        raise PayloadError(f"unreadable IP address {value[:24]!r}")
    number = int(digits, 16)
    return str(ipaddress.IPv4Address(number.to_bytes(4, "little")))


def text_to_hex_ip(address: str) -> str:
    """The reverse of `hex_ip_to_text`: `"10.6.0.114"` -> `"0x7200060A"` (the spelling of
    the seed's camera: `0x`, 8 upper-case digits). Raises ValueError for a non-IPv4 address."""
    packed = ipaddress.IPv4Address(address.strip()).packed
    return f"0x{int.from_bytes(packed, 'little'):08X}"


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdefABCDEF" for char in text)


def parse_search_reply(datagram: bytes, source: str) -> DiscoveredDevice:
    """A search reply (1531) read into a DiscoveredDevice. `source` is the IP the datagram
    came from. Raises FrameError for a datagram that is not a 1531 packet (a bad header, a
    probe, another message) and PayloadError for a body without a readable NetCommon object;
    nothing else, whatever the bytes."""
    if len(datagram) > MAX_DATAGRAM:
        raise FrameError(f"a datagram of {len(datagram)} bytes is over the UDP limit")
    header = Header.unpack(datagram)
    if header.message_id != MessageId.IPSEARCH_RSP:
        raise FrameError(f"message {header.message_id} is not a search reply (1531)")
    # Firmware disagrees with itself about the length field (go2rtc ignores it; python-dvr
    # strips NULs from whatever arrived): trust it only when it cuts the datagram shorter.
    payload = datagram[HEADER_SIZE : HEADER_SIZE + header.length]
    body = decode_body(payload, _LIMITS).data
    net_common = _net_common_of(body)
    return DiscoveredDevice(
        host=_ip(net_common.get("HostIP")) or source,
        source=source,
        mac=_text(net_common.get("MAC")),
        serial=_text(net_common.get("SN")),
        name=_text(net_common.get("HostName")),
        device_type=lenient_int(net_common.get("DeviceType"), minimum=0, maximum=_MAX_U32),
        tcp_port=_port(net_common.get("TCPPort")),
        udp_port=_port(net_common.get("UDPPort")),
        http_port=_port(net_common.get("HttpPort")),
        ssl_port=_port(net_common.get("SSLPort")),
        tcp_max_conn=lenient_int(net_common.get("TCPMaxConn"), minimum=0, maximum=_MAX_U32),
        channels=lenient_int(net_common.get("ChannelNum"), minimum=0, maximum=_MAX_U32),
        firmware=_text(net_common.get("Version")),
        build_date=_text(net_common.get("BuildDate")),
        gateway=_ip(net_common.get("GateWay")),
        netmask=_ip(net_common.get("Submask")),
        raw=_bounded(net_common),
    )


def _net_common_of(body: dict[str, Any]) -> dict[str, Any]:
    # The documented reply nests the fields under "NetWork.NetCommon" (the core's reader has
    # already stripped any blanks around the key). Accept a bare "NetCommon" too, and the
    # fields at the top level, as a device might flatten them.
    for key in (_NET_COMMON, "NetCommon"):
        value = body.get(key)
        if isinstance(value, dict):
            return value
    if "MAC" in body or "HostIP" in body:
        return body
    raise PayloadError("a search reply without a NetWork.NetCommon object")


def _bounded(net_common: Mapping[str, Any]) -> dict[str, Any]:
    """What a DiscoveredDevice keeps of a NetCommon object: the scalar members, in order,
    while they fit the bounds; nested values, huge numbers and what does not fit are left
    out. The memory a device holds is then bounded, whatever its reply."""
    kept: dict[str, Any] = {}
    budget = MAX_KEPT_CHARACTERS
    for name, member in net_common.items():
        if len(kept) == MAX_KEPT_MEMBERS:
            break
        value = member[:MAX_KEPT_TEXT] if isinstance(member, str) else member
        if isinstance(value, str):
            cost = len(name) + len(value)
        elif value is None or isinstance(value, bool | float) or _small_int(value):
            cost = len(name)
        else:
            continue  # nested objects and arrays, numbers of thousands of digits
        if len(name) <= MAX_KEPT_TEXT and cost <= budget:
            kept[name] = value
            budget -= cost
    return kept


def _small_int(value: object) -> bool:
    return isinstance(value, int) and -_MAX_KEPT_INT < value < _MAX_KEPT_INT


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip()[:MAX_KEPT_TEXT] or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)[:MAX_KEPT_TEXT]
    return None


def _port(value: object) -> int | None:
    return lenient_int(value, minimum=0, maximum=_MAX_PORT)


def _ip(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return hex_ip_to_text(value)
    except PayloadError:
        return None


def encode_search_reply(net_common: Mapping[str, Any], *, session_id: int = 0) -> bytes:
    """A search reply datagram (1531) carrying `net_common`, written as a device writes it:
    version 1, the device-style JSON with `Ret` 100, and the `\\n\\0` terminator."""
    body = {
        _NET_COMMON: dict(net_common),
        "Ret": Ret.OK,
        "SessionID": format_session_id(session_id),
    }
    payload = encode_body(body, DEVICE_TERMINATOR)
    return encode_frame(
        MessageId.IPSEARCH_RSP, payload, session_id=session_id, version=DEVICE_VERSION
    )
