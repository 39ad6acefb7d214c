"""The MQTT bridge: camera alarms, availability and Home Assistant entities on a broker.

Theory of operation. Each camera has one task on `xmcam.watch` (the reconnect supervisor),
which holds the camera's only session: alarms arrive on it, and the same session answers the
bridge's own requests (WorkState, the alarm outputs, the clock, commands from MQTT), so a
camera spends one of its few connections on the bridge. After every login (the first one
too) the bridge reads the camera's state afresh: SystemInfo for the device block, WorkState
for the motion sensors (pushes carry no current state, and a sensor must never read
"unknown"), the alarm outputs, the clock skew; then it says "online". A lost session says
"offline" until the supervisor is back.

Whatever the cameras cause goes into one bounded outbox (`xmcam.bridge.outbox`) in the order
it happened; one publisher delivers it with QoS 1 and takes a message out only once the
broker acknowledged it, so a broker outage delays alarms and loses none (unless the outbox
overflows: then the oldest go, counted). The broker connection has a last will that marks
the bridge offline, and every entity's availability needs both the camera and the bridge.
After each (re)connection to the broker, which may have restarted and forgotten every
retained message, the bridge says "online", publishes the discovery configs and the current
state of every topic (those with a message still waiting are left to it), then drains the
outbox. Home Assistant announcing itself on `homeassistant/status` gets the same again.

Alarm-center pushes (`--alarm-center PORT`) feed the same path. A push is attributed to a
camera only when it comes from that camera's address (what its host resolves to) or from an
address its inventory entry allows (`alarm_center_addresses`), and then by serial number
among the cameras at that address. The serial alone proves nothing: discovery shows it to
anyone on the LAN. A push that names an inventory camera's serial from anywhere else is
counted (`alarm_center_refused`), logged, and published nowhere; a push from a sender that
names no inventory camera is published under its own serial, as a stranger's.

Scale (docs/bridge.md "Many cameras"). Each camera costs one task and its session (the
session's keepalive is a second task); the clock is read by one poller for every camera.
Cameras are started at `connect_rate` per second with at most `connect_concurrency` logins
under way, so thousands of cameras never log in at once; the open-file limit is raised to
what the inventory needs where the hard limit allows. With more than a few dozen cameras
the log says how many are online every `_SUMMARY_PERIOD` seconds instead of a line per
camera (a few per period still show, the rest go to debug).

Sharding (`shard=Shard(K, N)`). The bridge watches only the inventory's cameras whose name
hashes into shard K of N (`xmcam.bridge.shard`), has its own availability topic
(`<prefix>/bridge/shard-K-of-N/availability`) and last will, and every camera's entities
name that topic. It speaks MQTT 5 and subscribes to the command topics as a shared
subscription of its shard's group (`$share/<group>/...`) when the broker says it supports
them (CONNACK's Shared Subscription Available), so of several bridges started for the same
shard (a rolling update) one obeys each command; plainly otherwise. Every shard receives
every command and obeys only those for cameras it owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import gc
import ipaddress
import json
import logging
import re
import resource
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, TypeVar

import aiomqtt

from xmcam.aio import AsyncCamera, Backoff, watch
from xmcam.aio.alarm_center import AlarmCenterServer
from xmcam.bridge.broker import BrokerAddress, parse_broker_url
from xmcam.bridge.homeassistant import (
    AUTO,
    MAX_AUDIT_INTERVAL,
    MOTION_EVENTS,
    OFF,
    OFFLINE,
    ON,
    ONLINE,
    PRESS,
    Command,
    DeviceDescription,
    Topics,
    check_camera_name,
    discovery_configs,
)
from xmcam.bridge.outbox import DEFAULT_OUTBOX_LIMIT, DEFAULT_WINDOW, Message, Outbox, deliver
from xmcam.bridge.shard import Shard
from xmcam.client.audit import AuditReport
from xmcam.client.models import AlarmEvent, AlarmOutput, ConnectionEvent
from xmcam.errors import AuthenticationError, DeviceError, XMCamError
from xmcam.fleet import CameraEntry
from xmcam.protocol.alarm_center import AlarmCenterMessage

__all__ = ["DEFAULT_CONNECT_CONCURRENCY", "DEFAULT_CONNECT_RATE", "BridgedCamera", "MqttBridge"]

T = TypeVar("T")
ClientT = TypeVar("ClientT", bound=aiomqtt.Client)

_log: Final = logging.getLogger("xmcam.bridge")

MAX_CHANNELS: Final = 64
"""Motion sensors and alarm-output switches per camera at most (a 64-channel recorder)."""
# Seconds given, twice at most, to a broker connection whose connecting was cancelled: to
# finish connecting, then to close (a broker that answers takes milliseconds; a frozen one
# makes a stop at start-up a second slower, not a traceback).
CLOSE_GRACE: Final = 0.5
_COMMAND_TEXT: Final = 16  # bytes of a command payload looked at; the rest is not read
_SWITCH_MODES: Final = {ON: "on", OFF: "off", AUTO: "auto"}
_UNSAFE_NAME: Final = re.compile(r"[^\w.-]")
_UNSAFE_GROUP: Final = re.compile(r"[^A-Za-z0-9_-]")  # a share name holds no / + #
_MAX_SPOOF_WARNINGS: Final = 256  # source addresses warned about (each once), at most
_RESOLVE_TIMEOUT: Final = 10.0
DEFAULT_CONNECT_RATE: Final = 100.0
"""Cameras started per second: 5,000 cameras are all started within a minute, and a switch
full of cameras never sees a storm of logins."""
DEFAULT_CONNECT_CONCURRENCY: Final = 64
"""Camera starts (connect, login, the first state reads) under way at once, at most."""
_QUIET_ABOVE: Final = 50  # cameras: past this, availability is summarized, not line by line
_LINES_PER_PERIOD: Final = 20  # availability lines shown per summary period past that
_SUMMARY_PERIOD: Final = 10.0
_FILES_PER_CAMERA: Final = 2  # its session, and a second one while a login is retried
_FILES_SPARE: Final = 256  # the broker, alarm-center senders, the log, the interpreter's own
_SETTLE_CHECK: Final = 0.5  # seconds between two looks at the cameras still starting
_RECALL_WAIT: Final = 5.0  # seconds the cameras wait for the broker's retained motion states
_QUEUED_PER_CAMERA: Final = 16  # incoming messages queued per inventory camera (the recall)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SecurityState(NamedTuple):
    """What a camera's last audit published: only the payloads are kept, not the report."""

    state: bytes
    """ON (a check failed) or OFF."""
    attributes: bytes
    """The findings as JSON."""
    failed: tuple[str, ...]
    """The failed checks' names."""


@dataclass(eq=False, slots=True)  # thousands of them: no __dict__ each
class BridgedCamera:
    """A camera as the bridge sees it; read it, the bridge writes it."""

    entry: CameraEntry
    online: bool = False
    description: DeviceDescription | None = None
    motion: dict[int, set[str]] = field(default_factory=dict)
    """The motion events under way, per channel; a channel with any is ON."""
    outputs: list[AlarmOutput] = field(default_factory=list)
    skew: float | None = None
    security: SecurityState | None = field(default=None, repr=False)
    """Its last audit's sensor payloads (with an audit interval), republished with its state."""
    session: AsyncCamera | None = field(default=None, repr=False)
    reported: str | None = None  # the availability last logged, so each change logs once
    host_addresses: frozenset[IPAddress] = frozenset()
    """What its host resolves to: where its alarm-center pushes come from."""
    allowed: tuple[IPNetwork, ...] = ()
    """Further addresses its pushes may come from (the inventory's `alarm_center_addresses`)."""

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def serial(self) -> str | None:
        return self.description.serial if self.description is not None else None

    def pushes_from(self, address: IPAddress) -> bool:
        """Whether an alarm-center push from `address` may be this camera's."""
        return address in self.host_addresses or any(address in net for net in self.allowed)

    def motion_on(self, channel: int) -> bool:
        return bool(self.motion.get(channel))


class MqttBridge:
    """Bridge cameras to an MQTT broker until `stop()` (or cancellation).

        bridge = MqttBridge("mqtt://127.0.0.1:1883", load_inventory("cameras.toml"))
        await bridge.run()

    `broker` is a `mqtt://[USER[:PASSWORD]@]HOST[:PORT]` URL or a BrokerAddress; `cameras`
    are inventory entries (`xmcam.fleet.CameraEntry`), whose names become topic levels.
    """

    def __init__(
        self,
        broker: str | BrokerAddress,
        cameras: Iterable[CameraEntry],
        *,
        alarm_center_port: int | None = None,
        alarm_center_host: str = "0.0.0.0",  # noqa: S104  (cameras push from the LAN)
        prefix: str = "xmcam",
        discovery_prefix: str = "homeassistant",
        skew_interval: float = 60.0,
        audit_interval: float | None = None,
        outbox_limit: int = DEFAULT_OUTBOX_LIMIT,
        broker_backoff: Backoff | None = None,
        camera_backoff: Backoff | None = None,
        client_id: str | None = None,
        broker_timeout: float = 10.0,
        shutdown_grace: float = 3.0,
        shard: Shard | None = None,
        connect_rate: float = DEFAULT_CONNECT_RATE,
        connect_concurrency: int = DEFAULT_CONNECT_CONCURRENCY,
    ) -> None:
        self.broker = broker if isinstance(broker, BrokerAddress) else parse_broker_url(broker)
        self.shard = shard
        self.topics = Topics(
            _topic_root(prefix),
            _topic_root(discovery_prefix),
            shard.topic_level if shard is not None else "",
        )
        if not 0 < connect_rate <= 100_000:
            raise ValueError(f"the connect rate is 0 to 100000 cameras/s, not {connect_rate}")
        if not 1 <= connect_concurrency <= 10_000:
            raise ValueError(f"the connect concurrency is 1 to 10000, not {connect_concurrency}")
        self.connect_rate = connect_rate
        self.connect_concurrency = connect_concurrency
        self.cameras: dict[str, BridgedCamera]
        """The cameras this bridge watches: the inventory's, or its shard's share of them."""
        self.inventory_size: int
        """Cameras in the inventory, this bridge's and (sharded) the other bridges'."""
        self.cameras, self.inventory_size = _bridged_cameras(cameras, shard)
        if not 0 < skew_interval <= 86400:
            raise ValueError(f"the clock-skew interval is 0 to 86400 s, not {skew_interval}")
        self.outbox = Outbox(outbox_limit)
        self.skew_interval = skew_interval
        if audit_interval is not None and not 0 < audit_interval <= MAX_AUDIT_INTERVAL:
            raise ValueError(
                f"the audit interval is 0 to {MAX_AUDIT_INTERVAL:g} s, not {audit_interval}"
            )
        self.audit_interval = audit_interval
        """Seconds between two audits of a camera (`xmcam.client.audit`, no port knocked on);
        None: no audit, and no security sensor."""
        self.broker_backoff = broker_backoff or Backoff(initial=0.5, maximum=30.0, settle=10.0)
        self.camera_backoff = camera_backoff or Backoff()
        self.client_id = client_id
        self.broker_timeout = broker_timeout
        self.shutdown_grace = shutdown_grace
        self._alarm_center_address = (
            (alarm_center_host, alarm_center_port) if alarm_center_port is not None else None
        )
        self.alarm_center_port: int | None = None
        """The port the alarm center listens on, once `run()` started it."""
        self.alarm_center: AlarmCenterServer | None = None
        """The alarm center, once `run()` started it (its `stats`)."""
        self.alarm_center_refused = 0
        """Pushes naming an inventory camera's serial from an address not the camera's."""
        self._spoof_warned: set[str] = set()
        self.broker_connected = False
        self.shared_subscriptions = False
        """Whether the command topics are subscribed as a shared subscription (sharded, and
        the broker supports them)."""
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._starting: set[str] = set()  # cameras holding a start slot
        self._start_slots = asyncio.Semaphore(connect_concurrency)
        self._quiet = len(self.cameras) > _QUIET_ABOVE
        self._lines_left = _LINES_PER_PERIOD
        self._lines_hidden = 0
        self._recalled = asyncio.Event()
        self._frozen = False  # gc.freeze() after start-up
        self._recall_marker = f"{self.topics.prefix}/bridge/recall-{secrets.token_hex(8)}"
        self._recall_filter = f"{self.topics.prefix}/+/motion/+"

    # ---------------------------------------------------------------- running

    async def run(self) -> None:
        """Bridge until `stop()` is called; then publish every camera and the bridge offline
        (within `shutdown_grace` seconds) and disconnect."""
        async with contextlib.AsyncExitStack() as stack:
            if self._alarm_center_address is not None:
                await asyncio.gather(*(self._resolve(camera) for camera in self.cameras.values()))
                host, port = self._alarm_center_address
                self.alarm_center_port = await self._start_alarm_center(stack, host, port)
            _raise_file_limit(len(self.cameras))
            broker = asyncio.create_task(self._broker_loop(), name="xmcam-bridge-broker")
            watchers: list[asyncio.Task[None]] = []
            helpers = [
                asyncio.create_task(self._start_cameras(watchers), name="xmcam-bridge-starter"),
                asyncio.create_task(
                    self._poll(self.skew_interval, self._read_clock), name="xmcam-bridge-clocks"
                ),
            ]
            if self.audit_interval is not None:  # and each camera when it first comes online
                audits = self._poll(self.audit_interval, self._audit)
                helpers.append(asyncio.create_task(audits, name="xmcam-bridge-audit"))
            if self._quiet:
                helpers.append(asyncio.create_task(self._summarize(), name="xmcam-bridge-log"))
            try:
                await self._stop.wait()
            finally:
                await _cancel(*helpers)
                if self._frozen:
                    gc.unfreeze()
                await _cancel(*watchers, *self._tasks)
                await self._say_goodbye()
                await _cancel(broker)

    async def _start_cameras(self, watchers: list[asyncio.Task[None]]) -> None:
        """Start every camera's task, `connect_rate` a second at most, with no more than
        `connect_concurrency` of them connecting and logging in at a time."""
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.connect_rate
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_RECALL_WAIT):  # the broker may be down: start anyway
                await self._recalled.wait()
        due = loop.time()
        for name, camera in self.cameras.items():
            await self._start_slots.acquire()
            now = loop.time()
            if due > now:
                await asyncio.sleep(due - now)
            due = max(due, now) + interval
            self._starting.add(name)
            watchers.append(
                asyncio.create_task(self._watch_camera(camera), name=f"xmcam-bridge-{name}")
            )
        while self._starting:  # every camera's first attempt is over
            await asyncio.sleep(_SETTLE_CHECK)
        if self._quiet:
            # Thousands of cameras are a million long-lived objects: a full collection walks
            # them all, taking hundreds of milliseconds from the alarms under way. What
            # exists now lives as long as the bridge: it is left out of the collections
            # until run() ends.
            gc.collect()
            gc.freeze()
            self._frozen = True
        _log.debug(
            "every camera started (%d objects kept out of the collections)", gc.get_freeze_count()
        )

    def _started(self, camera: BridgedCamera) -> None:
        """The camera's first attempt is over (online, or not): its start slot is free."""
        if camera.name in self._starting:
            self._starting.discard(camera.name)
            self._start_slots.release()

    def stop(self) -> None:
        """End `run()`, or the next one if none runs yet (call it on the bridge's loop, for
        instance from a signal handler)."""
        self._stop.set()

    async def _say_goodbye(self) -> None:
        for camera in self.cameras.values():
            camera.online = False
            self._send(self.topics.availability(camera.name), OFFLINE, retain=True)
        self._send(self.topics.bridge_availability, OFFLINE, retain=True)
        if self.broker_connected:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.shutdown_grace):
                    await self.outbox.drained()
        _log.info("bridge stopped (%d message(s) dropped in all)", self.outbox.dropped)

    async def _start_alarm_center(
        self, stack: contextlib.AsyncExitStack, host: str, port: int
    ) -> int:
        server = AlarmCenterServer(host, port, on_message=self._alarm_center_message)
        await stack.enter_async_context(server)
        self.alarm_center = server
        everywhere = " (every interface)" if host in ("0.0.0.0", "::", "") else ""  # noqa: S104
        _log.info("alarm center listening on %s:%d%s", host, server.port, everywhere)
        return server.port

    # ---------------------------------------------------------------- the broker

    async def _broker_loop(self) -> None:
        clock = asyncio.get_running_loop().time
        attempt = 0
        reported_down = False
        while True:
            connected_at: float | None = None
            try:
                async with _connected(self._client()) as client:
                    connected_at = clock()
                    reported_down = False
                    await self._session(client)
            except aiomqtt.MqttError as error:
                if self.broker_connected or not reported_down:
                    _log.warning("broker %s: unreachable (%s)", self.broker.display, error)
                reported_down = True
            finally:
                self.broker_connected = False
            if connected_at is not None and clock() - connected_at >= self.broker_backoff.settle:
                attempt = 0
            await asyncio.sleep(self.broker_backoff.delay(attempt))
            attempt += 1

    def _client(self) -> _Client:
        client = _Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=self.client_id,
            will=aiomqtt.Will(self.topics.bridge_availability, OFFLINE, qos=1, retain=True),
            timeout=self.broker_timeout,
            logger=logging.getLogger("xmcam.bridge.paho"),
            # The recall brings every inventory camera's retained motion states at once.
            max_queued_incoming_messages=1000 + _QUEUED_PER_CAMERA * self.inventory_size,
            # Nagle's algorithm holds a small PUBLISH while an earlier segment waits for the
            # broker's delayed ACK: tens of milliseconds on an alarm.
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
            # A shard's bridge learns from MQTT 5's CONNACK whether the broker shares
            # subscriptions; one bridge alone keeps MQTT 3.1.1.
            protocol=aiomqtt.ProtocolVersion.V5 if self.shard is not None else None,
        )
        client.pending_calls_threshold = DEFAULT_WINDOW + 8  # a full window is no warning
        return client

    def command_filters(self, shared: bool) -> list[str]:
        """The command topic filters to subscribe to: as a shared subscription of this
        shard's group when `shared`, else plainly."""
        filters = list(self.topics.command_subscriptions)
        if not shared or self.shard is None:
            return filters
        group = _UNSAFE_GROUP.sub("_", f"{self.topics.prefix}_{self.topics.bridge}")
        return [f"$share/{group}/{topic}" for topic in filters]

    async def _session(self, client: _Client) -> None:
        """Everything while connected: catch up, then deliver and obey until it breaks."""
        self.broker_connected = True
        self.shared_subscriptions = self.shard is not None and client.shares_subscriptions
        filters = self.command_filters(self.shared_subscriptions)
        subscriptions = [(topic, 1) for topic in filters]
        await client.subscribe([*subscriptions, (self.topics.homeassistant_status, 1)])
        if not self._recalled.is_set():
            # What the broker last heard of each motion sensor, before this process began:
            # the retained states, then a message of our own that comes after them.
            await client.subscribe([(self._recall_filter, 1), (self._recall_marker, 1)])
            await client.publish(self._recall_marker, b"", qos=1)
        await client.publish(self.topics.bridge_availability, ONLINE, qos=1, retain=True)
        waiting = self.outbox.topics()
        for message in self._everything():
            if message.topic not in waiting:
                await client.publish(message.topic, message.payload, qos=1, retain=True)
        if self.shard is None:
            _log.info("broker %s: connected", self.broker.display)
        else:
            how = "shared subscription" if self.shared_subscriptions else "plain subscription"
            _log.info(
                "broker %s: connected as shard %s (commands: %s)",
                self.broker.display,
                self.shard.label,
                how,
            )
        failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def publish(message: Message) -> None:
            await client.publish(
                message.topic, message.payload, qos=message.qos, retain=message.retain
            )

        reader = asyncio.create_task(self._read_commands(client))
        writer = asyncio.create_task(deliver(self.outbox, publish, failed))
        try:
            done, _ = await asyncio.wait(
                (reader, writer, failed), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            await _cancel(reader, writer)  # what was not acknowledged goes back, in order
            if failed.done():
                failed.exception()  # seen, whichever ended the session
            failed.cancel()
        for task in done:
            task.result()  # the MqttError that ended the session

    async def _read_commands(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            recalling = not self._recalled.is_set()
            self._on_broker_message(message)
            if recalling and self._recalled.is_set():
                with contextlib.suppress(aiomqtt.MqttError):
                    await client.unsubscribe([self._recall_filter, self._recall_marker])

    def _on_broker_message(self, message: aiomqtt.Message) -> None:
        payload = message.payload
        raw = payload[:_COMMAND_TEXT] if isinstance(payload, bytes | bytearray) else b""
        text = bytes(raw).decode("utf-8", "replace").strip()
        topic = message.topic.value
        if not self._recalled.is_set():
            if topic == self._recall_marker:
                self._recalled.set()
                _log.debug("the broker's retained motion states are read")
                return
            if message.retain and self._recall(topic, text):
                return
        if topic == self.topics.homeassistant_status:
            if text == ONLINE:
                _log.info("Home Assistant is online: discovery published again")
                for item in self._everything():
                    self.outbox.put(item)
            return
        command = self.topics.parse_command(topic)
        camera = self.cameras.get(command.camera) if command is not None else None
        if command is None or camera is None:
            # Sharded: most commands are for the other bridges' cameras.
            return
        if message.retain:
            # A retained command would run again at every start of the bridge.
            _log.warning("camera %s: retained command on %s ignored", camera.name, topic)
            return
        self._spawn(self._obey(camera, command, text.upper()))

    def _recall(self, topic: str, text: str) -> bool:
        """A retained motion state from before this process began: it is what the camera's
        next WorkState is compared with, so that an edge missed while no bridge watched is
        published once, and one already published is not published again. Whether the
        topic was a motion state."""
        start = f"{self.topics.prefix}/"
        levels = topic[len(start) :].split("/") if topic.startswith(start) else []
        if len(levels) != 3 or levels[1] != "motion":
            return False
        camera = self.cameras.get(levels[0])
        number = levels[2]
        if camera is None or camera.description is not None or text not in (ON, OFF):
            return True  # another bridge's camera, one already read, or nonsense
        if number.isascii() and number.isdigit() and int(number) < MAX_CHANNELS:
            camera.motion[int(number)] = {"VideoMotion"} if text == ON else set()
        return True

    def _everything(self) -> list[Message]:
        """Discovery configs and the current state of every camera, all retained."""
        messages: list[Message] = []
        for camera in self.cameras.values():
            if camera.description is not None:
                messages.extend(self._discovery(camera.description))
            messages.extend(self._state(camera))
        return messages

    def _discovery(self, description: DeviceDescription) -> list[Message]:
        return [
            Message(topic, _json(config), retain=True)
            for topic, config in discovery_configs(
                description, self.topics, security=self.audit_interval is not None
            )
        ]

    def _state(self, camera: BridgedCamera) -> list[Message]:
        name = camera.name
        messages: list[Message] = []
        if camera.description is not None:
            messages.extend(
                Message(self.topics.motion(name, channel), _on_off(camera.motion_on(channel)), True)
                for channel in range(camera.description.channels)
            )
        messages.extend(
            Message(self.topics.alarm_out(name, output.channel), _switch_state(output), True)
            for output in camera.outputs
        )
        if camera.skew is not None:
            messages.append(Message(self.topics.clock_skew(name), _number(camera.skew), True))
        if camera.security is not None:
            messages.extend(self._security_messages(name, camera.security))
        availability = ONLINE if camera.online else OFFLINE
        messages.append(Message(self.topics.availability(name), availability.encode(), True))
        return messages

    def _send(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.outbox.put(Message(topic, data, retain=retain))

    # ---------------------------------------------------------------- the cameras

    async def _watch_camera(self, camera: BridgedCamera) -> None:
        entry = camera.entry
        events = watch(
            entry.host,
            entry.port,
            user=entry.user,
            password=entry.password,
            timeout=entry.timeout,
            encryption=entry.encryption,
            backoff=self.camera_backoff,
            on_connect=functools.partial(self._connected, camera),
        )
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    if isinstance(event, AlarmEvent):
                        self._alarm(camera.name, camera, event, "session")
                    elif event.kind == "disconnected":
                        self._lost(camera, event)
        except AuthenticationError as error:
            self._lost(camera, ConnectionEvent("disconnected", error))
            _log.error("camera %s: login refused; not tried again until a restart", camera.name)
        except (XMCamError, ValueError) as error:
            self._lost(camera, ConnectionEvent("disconnected", error))
            _log.error("camera %s: given up (%s)", camera.name, error)
        finally:
            camera.session = None
            self._started(camera)

    async def _resolve(self, camera: BridgedCamera) -> None:
        """The addresses of the camera's host, for telling its alarm-center pushes (a name
        may resolve elsewhere later: it is looked up again after each login)."""
        host = camera.entry.host
        if _ip(host) is not None:
            return  # an address: known from the start
        try:
            async with asyncio.timeout(_RESOLVE_TIMEOUT):
                infos = await asyncio.get_running_loop().getaddrinfo(host, None)
        except (OSError, TimeoutError) as error:
            _log.debug("camera %s: %s not resolved (%s)", camera.name, host, error)
            return
        found = [_ip(str(info[4][0])) for info in infos]
        addresses = frozenset(address for address in found if address is not None)
        if addresses != camera.host_addresses:
            camera.host_addresses = addresses
            _log.debug("camera %s: %s is %s", camera.name, host, sorted(map(str, addresses)))

    async def _connected(self, camera: BridgedCamera, session: AsyncCamera) -> None:
        """After each login: read the state afresh, publish it, then say online."""
        if self._alarm_center_address is not None:
            await self._resolve(camera)
        info = await _optional(session.system_info())
        state = await _optional(session.work_state())
        if state is None and camera.description is None:
            camera.motion.clear()  # recalled states nothing will compare with
        outputs = await _optional(session.alarm_outputs())
        skew = await _optional(session.time_skew())
        disks = await _optional(session.storage_info())
        channels = (info.channels if info else None) or session.login_info.channel_count or 1
        description = DeviceDescription(
            camera=camera.name,
            serial=info.serial if info else None,
            model=info.model if info else None,
            firmware=info.firmware if info else None,
            hardware_version=info.hardware_version if info else None,
            channels=min(channels, MAX_CHANNELS),
            alarm_outputs=min(len(outputs or ()), MAX_CHANNELS),
        )
        if description != camera.description:
            camera.description = description
            for message in self._discovery(description):
                self.outbox.put(message)
        for channel in range(description.channels):
            if state is not None:
                running = {"VideoMotion"} if state.video_motion >> channel & 1 else set()
                if self._set_motion(camera, channel, running):
                    # An edge the camera pushed while the bridge was not listening.
                    status = "Start" if running else "Stop"
                    alarm = AlarmEvent(channel, "VideoMotion", status, None, {})
                    self._alarm(camera.name, None, alarm, "work_state")
            # Unchanged channels too: a sensor must never read "unknown".
            on = _on_off(camera.motion_on(channel))
            self._send(self.topics.motion(camera.name, channel), on, retain=True)
        camera.outputs = list(outputs or [])[:MAX_CHANNELS]
        self._publish_outputs(camera)
        if skew is not None:
            self._publish_skew(camera, skew)
        if disks is not None:
            free = sum(disk.remaining_mb for disk in disks)
            self._send(self.topics.storage_free(camera.name), str(free).encode(), retain=True)
        camera.session = session
        camera.online = True
        self._send(self.topics.availability(camera.name), ONLINE, retain=True)
        if self.audit_interval is not None and camera.security is None:
            self._spawn(self._audit(camera, session))  # its first: the sensor reads at once
        self._started(camera)
        if camera.reported != ONLINE:
            camera.reported = ONLINE
            self._availability_line(
                "camera %s: online (%s, firmware %s, serial %s)",
                camera.name,
                description.model or "unknown model",
                description.firmware or "unknown",
                description.serial or "unknown",
            )

    def _lost(self, camera: BridgedCamera, event: ConnectionEvent) -> None:
        camera.online = False
        camera.session = None
        self._send(self.topics.availability(camera.name), OFFLINE, retain=True)
        self._started(camera)
        if camera.reported != OFFLINE:
            camera.reported = OFFLINE
            self._availability_line(
                "camera %s: offline (%s)", camera.name, event.error or "disconnected"
            )

    def _availability_line(self, line: str, *args: object) -> None:
        """A camera's availability change: a line of its own with a few dozen cameras;
        past that, the first few of each period, and the rest in the summary."""
        if not self._quiet or self._lines_left > 0:
            self._lines_left -= self._quiet
            _log.info(line, *args)
        else:
            self._lines_hidden += 1
            _log.debug(line, *args)

    async def _summarize(self) -> None:
        """Every `_SUMMARY_PERIOD` seconds with news: how many cameras are online."""
        said = -1
        while True:
            await asyncio.sleep(_SUMMARY_PERIOD)
            online = sum(camera.online for camera in self.cameras.values())
            if online != said or self._lines_hidden:
                _log.info(
                    "%d of %d camera(s) online (%d change(s) not shown line by line)",
                    online,
                    len(self.cameras),
                    self._lines_hidden,
                )
            said = online
            self._lines_left = _LINES_PER_PERIOD
            self._lines_hidden = 0

    async def _poll(
        self, interval: float, job: Callable[[BridgedCamera, AsyncCamera], Awaitable[None]]
    ) -> None:
        """Run `job` on every online camera once per `interval` seconds, spread evenly over
        it: one task for all the cameras, and no burst of requests."""
        while True:
            cameras = list(self.cameras.values())
            gap = interval / max(1, len(cameras))
            for camera in cameras:
                await asyncio.sleep(gap)
                session = camera.session
                if session is not None and camera.online:
                    self._spawn(job(camera, session))

    async def _read_clock(self, camera: BridgedCamera, session: AsyncCamera) -> None:
        try:
            skew = await session.time_skew()
        except XMCamError as error:
            _log.debug("camera %s: clock not read (%s)", camera.name, error)
            return
        self._publish_skew(camera, skew)

    def _publish_skew(self, camera: BridgedCamera, skew: float) -> None:
        camera.skew = round(skew, 1)
        if self.broker_connected:  # a measurement, not an edge: the next one will do
            self._send(self.topics.clock_skew(camera.name), _number(camera.skew), retain=True)

    async def _audit(self, camera: BridgedCamera, session: AsyncCamera) -> None:
        try:
            # No port knocked on: a bridge that scans its cameras daily looks like an attack.
            report = await session.audit(ports=None)
        except XMCamError as error:
            _log.debug("camera %s: not audited (%s)", camera.name, error)
            return
        security = _security_state(report)
        if camera.security is None or camera.security.failed != security.failed:
            _log.info("camera %s: audit: %s", camera.name, ", ".join(security.failed) or "passed")
        camera.security = security
        for message in self._security_messages(camera.name, security):
            self.outbox.put(message)

    def _security_messages(self, name: str, security: SecurityState) -> list[Message]:
        return [
            Message(self.topics.security(name), security.state, True),
            Message(self.topics.security_attributes(name), security.attributes, True),
        ]

    def _publish_outputs(self, camera: BridgedCamera) -> None:
        for output in camera.outputs:
            topic = self.topics.alarm_out(camera.name, output.channel)
            self._send(topic, _switch_state(output), retain=True)

    # ---------------------------------------------------------------- alarms

    def _alarm(
        self,
        name: str,
        camera: BridgedCamera | None,
        alarm: AlarmEvent,
        source: str,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """One alarm: its event on the camera's event topic; a motion edge on its sensor."""
        record: dict[str, Any] = {
            "camera": name,
            "channel": alarm.channel,
            "event": alarm.event,
            "status": alarm.status,
            "start_time": alarm.start_time,
            "source": source,
            "received": _now(),
        }
        record.update(extra or {})
        self._send(self.topics.event(name), _json(record))
        _log.debug("camera %s: %s %s on channel %s", name, alarm.event, alarm.status, alarm.channel)
        channel = alarm.channel
        if camera is None or alarm.event not in MOTION_EVENTS or channel is None:
            return
        if not 0 <= channel < MAX_CHANNELS or alarm.status not in ("Start", "Stop"):
            return
        running = set(camera.motion.get(channel, ()))
        if alarm.status == "Start":
            running.add(alarm.event)
        else:
            running.discard(alarm.event)
        if self._set_motion(camera, channel, running):
            self._send(self.topics.motion(name, channel), _on_off(bool(running)), retain=True)
            if running:  # motion started: what the camera sees, for Home Assistant's camera
                self._spawn(self._snapshot(camera, channel))

    async def _snapshot(self, camera: BridgedCamera, channel: int) -> None:
        session = camera.session
        if session is None or not camera.online:
            return
        try:
            image = await session.snapshot(channel)
        except XMCamError as error:
            _log.warning("camera %s: no snapshot of channel %d: %s", camera.name, channel, error)
            return
        self._send(self.topics.snapshot(camera.name, channel), image, retain=True)

    @staticmethod
    def _set_motion(camera: BridgedCamera, channel: int, running: set[str]) -> bool:
        """Record the motion events under way on a channel; whether its sensor changed."""
        before = camera.motion_on(channel)
        camera.motion[channel] = running
        return bool(running) != before

    def _alarm_center_message(self, message: AlarmCenterMessage) -> None:
        camera = self._match(message)
        if camera is None and self._claims_a_camera(message):
            return
        name = camera.name if camera is not None else self._sender_name(message)
        alarm = AlarmEvent(
            message.channel, message.event or "", message.status or "", message.start_time, {}
        )
        extra = {
            "serial": message.serial,
            "address": message.address,
            "type": message.type,
            "description": message.description,
        }
        is_alarm = message.type in (None, "Alarm")
        self._alarm(name, camera if is_alarm else None, alarm, "alarm_center", extra)

    def _match(self, message: AlarmCenterMessage) -> BridgedCamera | None:
        """The camera that sent an alarm-center push: among the cameras whose pushes may
        come from its source address, the one with its serial, else the only one whose
        serial is not known to differ (either side's may be unknown). The address the push
        claims (`Address`) and its serial alone count for nothing: both are the sender's
        word."""
        source = _ip(message.source)
        if source is None:
            return None
        here = [camera for camera in self.cameras.values() if camera.pushes_from(source)]
        same = [camera for camera in here if camera.serial and camera.serial == message.serial]
        if len(same) == 1:
            return same[0]
        # A serial unknown on either side does not differ.
        fits = [c for c in here if None in (c.serial, message.serial) or c.serial == message.serial]
        return fits[0] if len(fits) == 1 and not same else None

    def _claims_a_camera(self, message: AlarmCenterMessage) -> bool:
        """Whether an unattributed push names an inventory camera's serial: then it is
        counted and logged, and goes nowhere (published as a stranger's, it would still
        carry the camera's serial into MQTT)."""
        claimed = next(
            (c for c in self.cameras.values() if c.serial and c.serial == message.serial), None
        )
        if claimed is None:
            return False
        self.alarm_center_refused += 1
        source = str(message.source)
        if source not in self._spoof_warned and len(self._spoof_warned) < _MAX_SPOOF_WARNINGS:
            self._spoof_warned.add(source)
            _log.warning(
                "camera %s: alarm-center push with its serial from %s, not its address: "
                "ignored (alarm_center_addresses in the inventory allows an address)",
                claimed.name,
                source,
            )
        else:
            _log.debug("camera %s: push with its serial from %s ignored", claimed.name, source)
        return True

    def _sender_name(self, message: AlarmCenterMessage) -> str:
        """A topic level for a sender no camera matches: its serial, made safe."""
        name = _UNSAFE_NAME.sub("_", message.serial or message.address or "unknown")[:64]
        if name in self.cameras or name in ("bridge", ""):
            name = f"unknown_{name}"
        return name

    # ---------------------------------------------------------------- commands

    async def _obey(self, camera: BridgedCamera, command: Command, text: str) -> None:
        session = camera.session
        if session is None or not camera.online:
            _log.warning("camera %s: offline, %s command ignored", camera.name, command.kind)
            return
        try:
            if command.kind == "snapshot":
                if text != PRESS:
                    _log.warning("camera %s: snapshot wants %s, not %r", camera.name, PRESS, text)
                    return
                channels = camera.description.channels if camera.description else 1
                for channel in range(channels):
                    await self._snapshot(camera, channel)
                return
            if command.kind == "reboot":
                if text != PRESS:
                    _log.warning("camera %s: reboot wants %s, not %r", camera.name, PRESS, text)
                    return
                _log.info("camera %s: rebooting (asked over MQTT)", camera.name)
                await session.reboot()
                return
            mode = _SWITCH_MODES.get(text)
            if mode is None or command.output is None:
                _log.warning(
                    "camera %s: alarm output wants ON, OFF or AUTO, not %r", camera.name, text
                )
                return
            await session.set_alarm_out(mode, command.output)
            camera.outputs = (await session.alarm_outputs())[:MAX_CHANNELS]
            _log.info("camera %s: alarm output %d %s", camera.name, command.output, mode)
            self._publish_outputs(camera)
        except (XMCamError, ValueError) as error:
            _log.warning("camera %s: %s command failed: %s", camera.name, command.kind, error)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# ------------------------------------------------------------------ helpers


def _bridged_cameras(
    entries: Iterable[CameraEntry], shard: Shard | None
) -> tuple[dict[str, BridgedCamera], int]:
    """The cameras of `shard` (all without one), and how many the inventory has."""
    cameras: dict[str, BridgedCamera] = {}
    names: set[str] = set()
    for entry in entries:
        check_camera_name(entry.name)
        if entry.name in names:
            raise ValueError(f"two cameras are named {entry.name!r}")
        names.add(entry.name)
        if shard is not None and not shard.owns(entry.name):
            continue
        cameras[entry.name] = BridgedCamera(
            entry,
            host_addresses=frozenset(_addresses_of(entry.host)),
            allowed=tuple(_network(text) for text in entry.alarm_center_addresses),
        )
    return cameras, len(names)


class _Client(aiomqtt.Client):
    """aiomqtt's client, keeping what MQTT 5's CONNACK says of shared subscriptions."""

    shares_subscriptions = True
    """CONNACK's Shared Subscription Available: absent means available (MQTT 5.0, 3.2.2.3.13);
    an MQTT 3.1.1 session says nothing, and is not asked to share."""

    def _on_connect(
        self,
        client: Any,
        userdata: Any,
        flags: Any,
        reason_code: Any,
        properties: Any = None,
    ) -> None:
        available = getattr(properties, "SharedSubscriptionAvailable", None)
        if available is not None:
            self.shares_subscriptions = bool(available)
        super()._on_connect(client, userdata, flags, reason_code, properties)


def _raise_file_limit(cameras: int) -> None:
    """Raise the soft open-file limit to what `cameras` need, as far as the hard limit
    allows, and say so in one line (a systemd service starts at 1,024)."""
    wanted = cameras * _FILES_PER_CAMERA + _FILES_SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if new > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (OSError, ValueError) as error:
            _log.debug("open-file limit not raised: %s", error)
            new = soft
    if new >= wanted:
        _log.info("open-file limit raised from %d to %d for %d camera(s)", soft, new, cameras)
    else:
        _log.warning(
            "open-file limit %d (hard limit %d) is below the %d that %d camera(s) need: "
            "raise it (systemd: LimitNOFILE=)",
            new,
            hard,
            wanted,
            cameras,
        )


async def _optional(request: Awaitable[T]) -> T | None:
    """A request's answer, or None when the device refuses it (a missing feature)."""
    try:
        return await request
    except DeviceError as error:
        if isinstance(error, AuthenticationError):
            raise
        _log.debug("request refused: %s", error)
        return None


@contextlib.asynccontextmanager
async def _connected(client: ClientT) -> AsyncIterator[ClientT]:
    """`async with client`, safe to cancel while it connects (the bridge stopped as it
    starts): the attempt is let finish, within `CLOSE_GRACE`, and a connection it opened
    (even one still waiting for the broker's CONNACK) is closed. Cut short, paho's thread
    could open a socket after the fact, and its finalizer would call into the closed event
    loop at exit (a traceback after a clean stop)."""
    entering = asyncio.ensure_future(client.__aenter__())
    try:
        await asyncio.shield(entering)
    except asyncio.CancelledError:
        await asyncio.wait({entering}, timeout=CLOSE_GRACE)
        failed = entering.done() and (entering.cancelled() or entering.exception() is not None)
        if not failed:  # connected, or waiting for the CONNACK on an open socket
            await _cancel(entering)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_GRACE):
                    await client.__aexit__(None, None, None)
        raise
    try:
        yield client
    except BaseException as error:
        await client.__aexit__(type(error), error, error.__traceback__)  # suppresses nothing
        raise
    else:
        await client.__aexit__(None, None, None)


async def _cancel(*tasks: asyncio.Future[Any]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _ip(text: str | None) -> IPAddress | None:
    """An IP address (an IPv4 one mapped into IPv6 read as IPv4; a zone dropped), or None."""
    try:
        address = ipaddress.ip_address((text or "").partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _addresses_of(host: str) -> list[IPAddress]:
    address = _ip(host)
    return [] if address is None else [address]


def _network(text: str) -> IPNetwork:
    """An allowed address or network; ValueError for anything else."""
    return ipaddress.ip_network(text, strict=False)


def _topic_root(prefix: str) -> str:
    root = prefix.strip("/")
    if not root or any(char in "+#\0" for char in root):
        raise ValueError(f"not a topic prefix: {prefix!r}")
    return root


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _security_state(report: AuditReport) -> SecurityState:
    failed = tuple(finding.check for finding in report.failed)
    attributes = {
        "failed": list(failed),
        "unknown": [finding.check for finding in report.unknown],
        "findings": {finding.check: finding.summary for finding in report.findings},
    }
    return SecurityState(_on_off(not report.passed), _json(attributes), failed)


def _on_off(on: bool) -> bytes:
    return (ON if on else OFF).encode()


def _switch_state(output: AlarmOutput) -> bytes:
    return _on_off(output.mode == "on")


def _number(value: float) -> bytes:
    return f"{value:.1f}".encode()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
