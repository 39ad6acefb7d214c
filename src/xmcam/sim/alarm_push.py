"""The simulator's push to an alarm center (docs/protocol.md §9.4): when `NetWork.AlarmServer` is
enabled, every alarm also goes out as one alarm-center message on a short-lived TCP
connection to the configured server, as the firmware does.

Messages leave one after the other, in the order the alarms happened (a Start must never
overtake its Stop), each on its own connection. A server that is down or slow costs only
that message (logged, counted in `failed`); the queue is bounded, so a dead server never
makes the simulator hold more than `MAX_QUEUED` messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import deque
from typing import Any, Final

from xmcam.errors import PayloadError
from xmcam.protocol.alarm_center import encode_alarm_center_message
from xmcam.protocol.discovery import hex_ip_to_text, text_to_hex_ip
from xmcam.sim.alarms import AlarmRecord
from xmcam.sim.discovery import device_address
from xmcam.sim.state import DeviceState

__all__ = ["AlarmCenterPusher", "alarm_server_target", "configure_alarm_center"]

log = logging.getLogger("xmcam.sim")

ALARM_SERVER: Final = "NetWork.AlarmServer"
MAX_QUEUED: Final = 1024
CONNECT_TIMEOUT: Final = 5.0


def configure_alarm_center(state: DeviceState, host: str, port: int) -> None:
    """Point the device's `NetWork.AlarmServer` at `host:port` and enable it, through the
    state's normal config write (so a state file keeps it). An IPv4 address goes in
    `Server.Address` (little-endian hex, as the firmware stores it), a name in `Server.Name`.
    Where the value is a list of servers (as on real cameras: [BES] 1043_NetWork.AlarmServer,
    [CFG] 3.29), the first one is set."""
    if not 0 < port <= 0xFFFF:
        raise ValueError(f"not a TCP port: {port}")
    config = state.get_config(ALARM_SERVER)
    entries = config if isinstance(config, list) else [config]
    entry = entries[0] if entries else None
    if not isinstance(entry, dict):
        raise ValueError(f"the profile has no {ALARM_SERVER} object")
    server = dict(entry.get("Server") or {})
    try:
        server["Address"] = text_to_hex_ip(host)
        server["Name"] = ""
    except ValueError:
        server["Address"] = "0x00000000"
        server["Name"] = host
    server["Port"] = port
    entry.update(Enable=True, Alarm=True, Server=server)
    state.set_config(ALARM_SERVER, config)


def alarm_server_target(config: Any) -> tuple[str, int] | None:
    """Where alarms go under this `NetWork.AlarmServer` value: (host, port) of the first
    server that is enabled, has alarms on and names a server, or None. The value is a list
    of servers on real cameras, one object on the seed's profile of old; both are read. A
    name in `Server.Name` wins over the address, as a domain name would on the device."""
    entries = config if isinstance(config, list) else [config]
    for entry in entries:
        target = _server_target(entry)
        if target is not None:
            return target
    return None


def _server_target(config: Any) -> tuple[str, int] | None:
    enabled = isinstance(config, dict) and config.get("Enable") is True
    server = config.get("Server") if enabled and config.get("Alarm") is not False else None
    if not isinstance(server, dict):
        return None
    port = server.get("Port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port <= 0xFFFF:
        return None
    name = server.get("Name")
    if isinstance(name, str) and name.strip():
        return name.strip(), port
    host = _address(server.get("Address"))
    return (host, port) if host is not None else None


def _address(value: object) -> str | None:
    """A configured hex address as text; None when unreadable or 0.0.0.0 (not set)."""
    try:
        host = hex_ip_to_text(value) if isinstance(value, str) else None
    except PayloadError:
        return None
    return host if host is not None and not ipaddress.IPv4Address(host).is_unspecified else None


class AlarmCenterPusher:
    """Sends a device's alarms to its alarm center: the one its `state` names, with the
    device's `serial` and the address it has when it listens on `host`."""

    def __init__(self, state: DeviceState, *, serial: str, host: str) -> None:
        self._state = state
        self._serial = serial
        self._host = host
        self._queue: deque[tuple[tuple[str, int], bytes]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self.sent = 0
        """Messages the server took (the connection opened and the bytes were written)."""
        self.failed = 0
        """Messages lost: the server refused, timed out, or the queue was full."""

    def push(self, alarm: AlarmRecord) -> bool:
        """Queue the alarm for the alarm center, if one is configured; True when queued."""
        target = alarm_server_target(self._state.get_config(ALARM_SERVER))
        if target is None:
            return False
        frame = encode_alarm_center_message(
            serial=self._serial,
            address=device_address(self._host, self._state),
            channel=alarm.channel,
            event=alarm.event,
            status=alarm.status,
            start_time=alarm.start_time,
        )
        if len(self._queue) >= MAX_QUEUED:
            self._queue.popleft()
            self.failed += 1
            log.warning("alarm center %s:%d behind: dropped the oldest alarm", *target)
        self._queue.append((target, frame))
        self._ensure_sender()
        return True

    def _ensure_sender(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_all())

    async def _send_all(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                target, frame = self._queue.popleft()
                await self._send(target, frame)

    async def _send(self, target: tuple[str, int], frame: bytes) -> None:
        host, port = target
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancellation
        # that stop() sends when the awaited step finishes at the same moment.
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                _, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as error:
            self._failed(host, port, error)
            return
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                writer.write(frame)
                await writer.drain()
            self.sent += 1
        except (OSError, TimeoutError) as error:
            self._failed(host, port, error)
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await writer.wait_closed()

    def _failed(self, host: str, port: int, error: Exception) -> None:
        self.failed += 1
        log.info("alarm center %s:%d: %s", host, port, error or type(error).__name__)

    async def close(self) -> None:
        """Stop sending; what is still queued is dropped."""
        self._queue.clear()
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
