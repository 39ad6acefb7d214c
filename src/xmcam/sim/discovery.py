"""The simulator's side of UDP discovery (docs/protocol.md §21): a responder that answers search
probes (1530) with the device's `NetWork.NetCommon` (1531), and the per-instance identity
(serial number, MAC) that tells several simulators of one profile apart.

The reply goes to the probe's source address, as a unicast datagram. Real devices send it
to port 34569 and often as a broadcast; answering the sender is what lets a test (or a
client bound to an ephemeral port) hear it on loopback, and a client bound to 34569 hears
it either way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import ipaddress
import logging
import re
from collections.abc import Callable
from typing import Any, Final, cast

from xmcam.errors import PayloadError
from xmcam.protocol.codes import MessageId
from xmcam.protocol.discovery import encode_search_reply, hex_ip_to_text, text_to_hex_ip
from xmcam.protocol.header import HEAD_FLAG, HEADER_SIZE
from xmcam.sim.profile import Profile
from xmcam.sim.state import DeviceState

__all__ = ["DiscoveryResponder", "device_address", "net_common_of", "with_identity"]

log = logging.getLogger("xmcam.sim")

_NET_COMMON: Final = "NetWork.NetCommon"
_MAC: Final = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}")
_MAX_SERIAL: Final = 64
_PROBE_ID: Final = int(MessageId.IPSEARCH_REQ).to_bytes(2, "little")


def with_identity(
    profile: Profile, *, serial: str | None = None, mac: str | None = None
) -> Profile:
    """The same device with another serial number and MAC address, everywhere the device
    shows them (SystemInfo's `SerialNo`, NetCommon's `SN` and `MAC`). A serial without a MAC
    gets a MAC derived from it (the profile's vendor prefix, then three bytes of the
    serial's hash), so that simulators given different serials differ in both."""
    if serial is not None and not 0 < len(serial) <= _MAX_SERIAL:
        raise ValueError(f"a serial number has 1 to {_MAX_SERIAL} characters")
    if mac is not None and not _MAC.fullmatch(mac):
        raise ValueError(f"not a MAC address (xx:xx:xx:xx:xx:xx): {mac!r}")
    config = dict(profile.config)
    net_common: dict[str, Any] = dict(config.get(_NET_COMMON) or {})
    system_info = dict(profile.system_info)
    if serial is not None:
        system_info["SerialNo"] = serial
        net_common["SN"] = serial
        if mac is None:
            mac = _derived_mac(str(net_common.get("MAC", "00:12:31:00:00:00")), serial)
    if mac is not None:
        net_common["MAC"] = mac.lower()
    config[_NET_COMMON] = net_common
    return dataclasses.replace(profile, system_info=system_info, config=config)


def _derived_mac(base: str, serial: str) -> str:
    prefix = base[:8] if _MAC.fullmatch(base) else "00:12:31"
    tail = hashlib.sha256(serial.encode("utf-8", "replace")).digest()[:3]
    return prefix.lower() + "".join(f":{byte:02x}" for byte in tail)


def device_address(host: str, state: DeviceState) -> str:
    """The IPv4 address the device says it has: `host`, the address it listens on, when that
    is one address, else the state's `HostIP` (a wildcard bind has no single address to
    tell)."""
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        address = None
    if address is not None and not address.is_unspecified:
        return str(address)
    net_common = state.get_config(_NET_COMMON)
    host_ip = net_common.get("HostIP") if isinstance(net_common, dict) else None
    try:
        return hex_ip_to_text(host_ip) if isinstance(host_ip, str) else "0.0.0.0"  # noqa: S104
    except PayloadError:
        return "0.0.0.0"  # noqa: S104


def net_common_of(state: DeviceState, *, host: str, port: int, channels: int) -> dict[str, Any]:
    """The NetCommon object a search reply carries: the state's, with the TCP port the
    device really listens on (`host`, `port`), its address, and the channel count (real
    replies carry `ChannelNum`; the profiles' config trees do not)."""
    value = state.get_config(_NET_COMMON)
    net_common: dict[str, Any] = value if isinstance(value, dict) else {}
    net_common["TCPPort"] = port
    net_common["HostIP"] = text_to_hex_ip(device_address(host, state))
    net_common.setdefault("ChannelNum", channels)
    return net_common


class DiscoveryResponder(asyncio.DatagramProtocol):
    """Answers search probes on UDP with the NetCommon object `net_common()` gives at the
    time (`net_common_of`). Open it with `await DiscoveryResponder.open(net_common, host,
    port)`.

    `answer_every` is the fault knob: 1 answers every probe, 2 every other one (the first,
    the third, ...: a client that sends its probe once misses devices, one that repeats it
    does not), 0 none at all. It takes effect at once."""

    def __init__(self, net_common: Callable[[], dict[str, Any]]) -> None:
        self._net_common = net_common
        self._transport: asyncio.DatagramTransport | None = None
        self.answer_every = 1
        self.probes = 0
        """Search probes received."""
        self.replies = 0
        """Replies sent."""
        self.port = 0

    @classmethod
    async def open(
        cls, net_common: Callable[[], dict[str, Any]], host: str, port: int
    ) -> DiscoveryResponder:
        loop = asyncio.get_running_loop()
        responder = cls(net_common)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: responder, local_addr=(host, port)
        )
        responder.port = transport.get_extra_info("sockname")[1]
        return responder

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        # A probe is a header with id 1530; some clients add a small JSON body ({"Name": ""},
        # docs/protocol.md §21), which says nothing the reply depends on.
        if len(data) < HEADER_SIZE or data[0] != HEAD_FLAG or data[14:16] != _PROBE_ID:
            log.debug("discovery: ignored a %d-byte datagram from %s", len(data), addr[0])
            return
        self.probes += 1
        every = self.answer_every
        if every <= 0 or (self.probes - 1) % every:
            log.debug("discovery: probe %d from %s left unanswered (fault)", self.probes, addr[0])
            return
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        transport.sendto(encode_search_reply(self._net_common()), addr)
        self.replies += 1

    def error_received(self, exc: Exception) -> None:
        # An ICMP error for an earlier reply (the client went away): nothing to do.
        log.debug("discovery: %s", exc)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
