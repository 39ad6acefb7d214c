"""UDP discovery under asyncio: send the search probe, collect the replies (docs/protocol.md §21).

Theory of operation. One UDP socket is bound (`bind`), with SO_BROADCAST when a target is a
broadcast address. The 20-byte probe goes to every target `repeats` times, `interval`
seconds apart, because broadcast is lossy and devices skip probes now and then; replies are
collected until `timeout` seconds after the first probe. A device answers every probe it
hears, so replies are de-duplicated: by MAC address, or by address and TCP port when a device
gives no MAC. Datagrams that are not search replies (our own probe echoed by a broadcast,
another client's probe, garbage) are counted, logged at debug level and skipped: one bad
datagram never ends a search.

Anyone on the LAN can answer, as often as they like, so what a search holds is bounded: at
most `max_devices` devices (4,096) are kept, each of them bounded by the core
(`xmcam.protocol.discovery`: fields cut, `raw` limited), and replies from further devices
are counted (`DiscoveryStats.dropped`, a warning once) and let go. A flood of replies with
invented MAC addresses then costs CPU, never memory: tens of MiB at most.

Real devices answer to UDP port 34569, often as a broadcast, whatever port the probe came
from (python-dvr and go2rtc bind that port for this reason). Bind `("0.0.0.0", 34569)` to hear
them; the ephemeral default hears devices (and simulators) that answer the probe's sender.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from xmcam.errors import ProtocolError
from xmcam.protocol.codes import MessageId
from xmcam.protocol.discovery import SEARCH_PORT, DiscoveredDevice, parse_search_reply, search_probe

__all__ = ["DEFAULT_MAX_DEVICES", "DiscoveryStats", "discover"]

_log: Final = logging.getLogger("xmcam.protocol.discovery")

DEFAULT_MAX_DEVICES: Final = 4096
"""The most devices one search keeps; far more than any LAN holds."""

_PROBE_ID: Final = int(MessageId.IPSEARCH_REQ).to_bytes(2, "little")
_HEAD: Final = 0xFF


def _is_broadcast(address: str) -> bool:
    """255.255.255.255, or an address ending in .255 (a subnet's broadcast on the usual
    /24; the socket option is harmless when it is not)."""
    try:
        packed = ipaddress.IPv4Address(address).packed
    except ValueError:
        return False
    return packed[-1] == 0xFF


@dataclass
class DiscoveryStats:
    """What one search saw; pass one to `discover(stats=...)` to have it filled in."""

    probes_sent: int = 0
    replies: int = 0
    """Search replies read (from devices kept, dropped, or answering again)."""
    devices: int = 0
    """Devices kept: the length of the list `discover()` returns."""
    duplicates: int = 0
    """Replies from a device already kept (each device answers every probe it hears)."""
    dropped: int = 0
    """Replies from further devices once `max_devices` were kept: counted, not kept."""
    malformed: int = 0
    """Datagrams that were no readable search reply."""
    probes_seen: int = 0
    """Search probes heard: ours echoed by a broadcast, or another client's."""


class _Collector(asyncio.DatagramProtocol):
    """Receives the replies of one search."""

    def __init__(self, max_devices: int, stats: DiscoveryStats) -> None:
        self.devices: dict[str | tuple[str, int | None], DiscoveredDevice] = {}
        self.max_devices = max_devices
        self.stats = stats

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        source = str(addr[0])
        stats = self.stats
        if len(data) >= 16 and data[0] == _HEAD and data[14:16] == _PROBE_ID:
            stats.probes_seen += 1  # a probe (ours echoed, or another client's): not a reply
            return
        try:
            device = parse_search_reply(data, source)
        except ProtocolError as error:
            stats.malformed += 1
            _log.debug("skipped a %d-byte datagram from %s: %s", len(data), source, error)
            return
        stats.replies += 1
        key: str | tuple[str, int | None] = (
            device.mac.lower() if device.mac else (device.host, device.tcp_port)
        )
        if key in self.devices:
            stats.duplicates += 1
        elif len(self.devices) >= self.max_devices:
            if not stats.dropped:
                _log.warning(
                    "discovery: more than %d devices answered (a flood?): the rest are counted, "
                    "not kept",
                    self.max_devices,
                )
            stats.dropped += 1
        else:
            self.devices[key] = device
            stats.devices = len(self.devices)
            _log.debug("found %s (%s) at %s", device.serial, device.mac, device.host)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable for a probe to a unicast target with nothing there.
        _log.debug("discovery: %s", exc)


async def discover(
    *,
    timeout: float = 2.0,
    targets: Sequence[tuple[str, int]] = (("255.255.255.255", SEARCH_PORT),),
    bind: tuple[str, int] = ("0.0.0.0", 0),  # noqa: S104  (a broadcast search needs it)
    repeats: int = 3,
    interval: float = 0.1,
    max_devices: int = DEFAULT_MAX_DEVICES,
    stats: DiscoveryStats | None = None,
) -> list[DiscoveredDevice]:
    """Search for devices; return each one that answered, once, in the order they answered
    (the first `max_devices` of them: replies from more are counted in `stats.dropped`).

    Raises OSError when the socket cannot be bound or no probe could be sent at all (a
    broadcast may need permissions, and binding port 34569 fails when another program holds
    it without SO_REUSEADDR); never for a bad datagram.
    """
    if timeout <= 0 or repeats < 1 or interval < 0 or max_devices < 1:
        raise ValueError(
            "timeout must be positive, repeats and max_devices at least 1, interval not negative"
        )
    stats = stats if stats is not None else DiscoveryStats()
    loop = asyncio.get_running_loop()
    addresses = [await _resolve(loop, host, port) for host, port in targets]
    sock = _bound_socket(bind, broadcast=any(_is_broadcast(host) for host, _ in addresses))
    collector = _Collector(max_devices, stats)
    datagram, _ = await loop.create_datagram_endpoint(lambda: collector, sock=sock)
    try:
        deadline = loop.time() + timeout
        sent, error = 0, None
        for round_number in range(repeats):
            if round_number:
                await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))
            if loop.time() >= deadline:
                break
            for address in addresses:
                try:
                    datagram.sendto(search_probe(), address)
                    sent += 1
                    stats.probes_sent += 1
                except OSError as failure:  # e.g. EACCES: a broadcast without permission
                    error = failure
                    _log.debug("probe to %s:%d failed: %s", *address, failure)
        if sent == 0 and error is not None:
            raise error
        await asyncio.sleep(max(0.0, deadline - loop.time()))
    finally:
        datagram.close()
    _log.debug(
        "search: %d probes sent, %d devices, %d malformed datagrams skipped, %d replies from "
        "devices over the limit dropped",
        sent,
        stats.devices,
        stats.malformed,
        stats.dropped,
    )
    return list(collector.devices.values())


async def _resolve(loop: asyncio.AbstractEventLoop, host: str, port: int) -> tuple[str, int]:
    """A target as an IPv4 address: discovery is IPv4 only (devices give 32-bit HostIPs)."""
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        infos = await loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
        host = str(infos[0][4][0])
    return host, port


def _bound_socket(bind: tuple[str, int], *, broadcast: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if bind[1]:
            # A fixed port (34569, where devices answer) is shared with any other search
            # tool that also asks for it.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if broadcast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.bind(bind)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
