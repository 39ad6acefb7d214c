"""The asyncio client: `connect()` and `AsyncCamera`.

Theory of operation. An AsyncCamera owns at most one `Link` (a TCP connection with its core
state) at a time and a lock, so exactly one request is outstanding. Every request runs under
the lock: if the link is missing, ended (EOF, forced logout, protocol error) or was left
desynchronised by a timeout, a new one is opened and logged in first, with one login
attempt (an AuthenticationError is raised, never retried). A keepalive task per link sends
KeepAlive every half AliveInterval under the same lock, with the request deadline on its
reply; a miss ends the link, which is how a silently dead connection is found. Alarm pushes
go to a bounded queue that `alarms()` reads; when the link carrying a subscription ends,
the queue gets a gap marker and `alarms()` raises the error (`xmcam.watch` turns that into
"disconnected" / "reconnected" events and reconnects).

The methods themselves are procedures from `xmcam.client.operations` (and the plans of
`xmcam.client.plans`), shared with the blocking client; this module only moves their calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import (
    AsyncGenerator,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Final, TypeVar, Unpack

from xmcam.aio import media, talk
from xmcam.aio.link import Link
from xmcam.aio.talk import PcmSource
from xmcam.client import audit as aud
from xmcam.client import maintenance as maint
from xmcam.client import media_operations as mops
from xmcam.client import operations as ops
from xmcam.client import plans
from xmcam.client import upgrade as upg
from xmcam.client.maintenance import FormattedPartition, LogEntry
from xmcam.client.models import (
    AlarmEvent,
    AlarmOutput,
    ConfigProbe,
    ConfigUpdate,
    Disk,
    Group,
    LoginInfo,
    RecordFile,
    SystemInfo,
    User,
    WorkState,
)
from xmcam.client.settings import DEFAULT_PORT, CameraOptions, CameraSettings
from xmcam.client.talk import TalkStats
from xmcam.client.upgrade import ImageSource, UpgradeProgress, UpgradeResult
from xmcam.errors import (
    ConnectionClosedError,
    ProtocolError,
    RequestTimeoutError,
    StateError,
    TransportError,
    XMCamError,
)
from xmcam.protocol.connection import NegotiationReply

__all__ = ["DEFAULT_PORT", "AsyncCamera", "connect"]

T = TypeVar("T")

_ALARM_QUEUE_SIZE: Final = 1024  # alarms are rare; past this the oldest are dropped

_log: Final = logging.getLogger("xmcam.aio")


@dataclass(frozen=True, slots=True)
class _Gap:
    """Put in the alarm queue when the subscribed link ended (error) or the camera closed
    (None)."""

    error: XMCamError | None


class AsyncCamera(CameraSettings):
    """A camera under asyncio. Use `xmcam.connect()` to make and open one."""

    def __init__(
        self, host: str, port: int | None = None, **options: Unpack[CameraOptions]
    ) -> None:
        """A camera at `host`:`port` (`host` may be "HOST:PORT" or "[IPv6]:PORT", as on the
        command line; a `port` that disagrees is a ValueError); options `user` ("admin"),
        `password` (""), `timeout` (the
        deadline of every request and of connecting, 10 s), `encryption` ("auto": the
        encrypted login of newer firmware when the device wants it; "on"; "off"). Nothing is
        sent before `open()` or the first request."""
        super().__init__(host, port, **options)
        self._login: LoginInfo | None = None
        self._link: Link | None = None
        self._lock = asyncio.Lock()
        self._keepalive: asyncio.Task[None] | None = None
        self._alarms: asyncio.Queue[AlarmEvent | _Gap] = asyncio.Queue(_ALARM_QUEUE_SIZE)
        self._guarded = False
        self._subscribing = False
        self._closed = False
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def login_info(self) -> LoginInfo:
        """What the last login reply said (session id, AliveInterval, channels, type)."""
        if self._login is None:
            raise ConnectionClosedError("not connected: open the camera first")
        return self._login

    # ---------------------------------------------------------------- opening and closing

    async def open(self) -> AsyncCamera:
        """Connect and log in (one attempt: a refused login raises at once and is never
        retried). Returns the camera."""
        async with self._lock:
            await self._rebuild()
        return self

    async def close(self) -> None:
        """Close the connection; the next request opens a new one. An `alarms()` iteration
        in progress (asyncio) ends."""
        self._closed = True
        self._put_alarm(_Gap(None))
        await self._drop_link(ConnectionClosedError("the camera was closed"))
        for task in list(self._background):
            await task

    async def __aenter__(self) -> AsyncCamera:
        return await self.open()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _rebuild(self) -> Link:
        """A new logged-in link in place of the old one (caller holds the lock)."""
        if self._closed:
            raise ConnectionClosedError("the camera was closed")
        await self._drop_link(None)
        link = await Link.open(self.host, self.port, self.timeout, self._put_alarm, self._ended)
        plan = self._plan
        try:
            answer: NegotiationReply | None = None
            if plan.negotiates():  # the encrypted session (xmcam.client.encryption)
                try:
                    answer = await link.negotiate(plan.negotiation_deadline(self.timeout))
                except RequestTimeoutError:
                    plan.negotiation_timed_out()
                    await link.close()  # the late answer must meet nothing: a new link
                    link = await Link.open(
                        self.host, self.port, self.timeout, self._put_alarm, self._ended
                    )
            reply = await link.login(self.user, self._password, self.timeout, plan, answer)
            if self._guarded:
                await link.run(ops.guard(), self.timeout)
            if self._closed:  # close() ran while this login was under way
                raise ConnectionClosedError("the camera was closed")
        except BaseException:
            await link.close()
            raise
        self._link = link
        self._login = ops.login_info(reply)
        self._keepalive = asyncio.create_task(self._keep_alive(link))
        return link

    async def _drop_link(self, error: XMCamError | None) -> None:
        link, self._link = self._link, None
        task, self._keepalive = self._keepalive, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if link is not None:
            await link.close(error)

    def _ended(self, link: Link, error: XMCamError) -> None:
        if link is self._link and self._guarded:
            self._put_alarm(_Gap(error))

    def _put_alarm(self, item: AlarmEvent | _Gap) -> None:
        if isinstance(item, AlarmEvent) and not (self._guarded or self._subscribing):
            # Pushed without a subscription (firmware that goes on after unguard): nobody
            # reads the queue, so it is not kept.
            _log.debug("dropped an alarm pushed while not subscribed: %s", item.event)
            return
        if self._alarms.full():
            self._alarms.get_nowait()
            _log.warning("alarm queue full: dropped the oldest alarm")
        self._alarms.put_nowait(item)

    # ---------------------------------------------------------------- moving calls

    async def control_link(self) -> Link:
        """The control connection (a `Link`), logged in and ready for a request: opened and
        logged in first when it is missing or has ended, and (blocking client) when it sat
        idle for longer than the session's AliveInterval. For media code and extensions."""
        async with self._lock:
            return await self._usable_link()

    async def run(self, procedure: ops.Procedure[T], *, on: Link | None = None) -> T:
        """Run a procedure (`xmcam.client.operations`, or your own generator of `Call`s) on
        the control connection and return its result: what every method does. With `on`,
        only on that connection: ConnectionClosedError, and nothing sent, when it has ended
        since (the camera logged in again, or was closed)."""
        async with self._lock:
            if on is None:
                link = await self._usable_link()
            elif on is self._link and on.usable:
                link = on
            else:
                procedure.close()
                raise ConnectionClosedError(
                    "that connection has ended (the camera logged in again)"
                )
            return await link.run(procedure, self.timeout)

    async def query(self, query: ops.Query[T]) -> T:
        """Make a Query (`xmcam.client.operations`) on the control connection and return its
        result: what `run(query.procedure())` returns. The blocking client makes it without
        the procedure's generators (its most frequent requests: SystemInfo, config gets)."""
        return await self.run(query.procedure())

    async def run_to_end(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` to its end even if the caller is cancelled meanwhile (asyncio only):
        `close()` waits for it. How stops are sent."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return await asyncio.shield(task)

    async def _usable_link(self) -> Link:
        """The link to send on, new if needed (caller holds the lock)."""
        link = self._link
        if link is None or not link.usable:
            link = await self._rebuild()
        return link

    async def _perform(self, step: Any) -> Any:
        """One step of a plan (`xmcam.client.plans`)."""
        if isinstance(step, plans.Run):
            return await self.run(step.procedure)
        if isinstance(step, plans.Pause):
            return await asyncio.sleep(step.seconds)
        if isinstance(step, plans.Shielded):
            return await self.run_to_end(plans.drive_async(step.plan, self._perform))
        if isinstance(step, upg.SendImage):
            return await self._send_image(step.sender)
        if isinstance(step, aud.ProbePorts):
            return await _open_ports(self.host, step)
        raise StateError(f"the asyncio camera cannot perform {step!r}")

    async def _keep_alive(self, link: Link) -> None:
        period = ops.keepalive_period(link.connection.alive_interval)
        while True:
            await asyncio.sleep(period)
            async with self._lock:
                if link is not self._link or not link.usable:
                    return
                try:
                    await link.run(ops.keepalive(), self.timeout)
                except XMCamError as error:
                    _log.info("keepalive failed, the connection is dropped: %s", error)
                    link.end(ConnectionClosedError(f"keepalive failed: {error}"))
                    return

    # ---------------------------------------------------------------- the methods

    async def request(
        self, message_id: int, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Any request with a JSON body; the reply's body. Raises on a failure Ret code."""
        return await self.run(ops.raw_request(message_id, body))

    async def keepalive(self) -> None:
        """Send KeepAlive (1006), which holds the session open. The asyncio client sends it by
        itself every half AliveInterval; the blocking one when this is called, and while a
        stream or a download is iterated."""
        await self.run(ops.keepalive())

    async def system_info(self) -> SystemInfo:
        """The device's identity: model, firmware, serial, channels, uptime (SystemInfo)."""
        return await self.run(ops.system_info())

    async def storage_info(self) -> list[Disk]:
        """The disks or SD cards and their partitions (StorageInfo)."""
        return await self.run(ops.storage_info())

    async def work_state(self) -> WorkState:
        """What the device is doing: alarm states, recording and bitrate per channel."""
        return await self.run(ops.work_state())

    async def abilities(self, name: str = "SystemFunction") -> Any:
        """An ability by name (SystemFunction: what the firmware supports): an object, an
        array or a string, as the device has it. ConfigNotFoundError (or the device's Ret)
        when the device has none by that name."""
        return await self.run(ops.abilities(name))

    async def all_abilities(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        """Every ability of `names` (default `maintenance.ABILITY_NAMES`) the device answers,
        by name; the names it refuses are left out."""
        return await self.run(maint.all_abilities(names))

    async def get_config(self, name: str) -> Any:
        """A config by dotted name (`Camera.Param.[0]`). ConfigNotFoundError if unknown."""
        return await self.run(ops.get_config(name))

    async def set_config(self, name: str, value: Any) -> None:
        """Write a config by dotted name; a refusal raises its DeviceError."""
        await self.run(ops.set_config(name, value))

    async def default_config(self, name: str) -> Any:
        """A config's factory default, by dotted name. ConfigNotFoundError if unknown."""
        return await self.run(ops.default_config(name))

    async def update_config(
        self,
        name: str,
        value: Any,
        *,
        replace: bool = False,
        keep_identity: bool = False,
        dry_run: bool = False,
    ) -> ConfigUpdate:
        """Read, merge `value` in (a partial object is enough), write back whole."""
        return await self.run(
            ops.update_config(
                name, value, replace=replace, keep_identity=keep_identity, dry_run=dry_run
            )
        )

    async def probe_config(self, names: Iterable[str] | None = None) -> ConfigProbe:
        """Which config names the device has, with their values, on one connection."""
        return await self.run(ops.probe_config(names))

    async def export_config(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        """Every config of `names` the device answers (None: every known name, per channel)
        as {name: value}; the names it refuses are left out."""
        return await self.run(ops.export_config(names))

    async def import_config(
        self, tree: Mapping[str, Any], *, include_identity: bool = False
    ) -> list[str]:
        """Merge every config of `tree` ({name: value}) into the device's, in order, writing
        only what changed; the names written. This camera's addresses, MAC and serial are
        kept unless `include_identity`. The first refusal raises its DeviceError."""
        return await self.run(ops.import_config(tree, include_identity=include_identity))

    async def alarm_outputs(self) -> list[AlarmOutput]:
        """The alarm outputs (relays): their modes and states."""
        return await self.run(ops.alarm_outputs())

    async def set_alarm_out(self, mode: str, channel: int | None = None) -> None:
        """Switch alarm output `channel` (None: all of them) "on", "off" or to "auto"; the
        others are written back unchanged."""
        await self.run(ops.set_alarm_out(mode, channel))

    async def get_time(self) -> datetime:
        """The device's clock, as a naive datetime in the device's local time."""
        return await self.run(ops.get_time())

    async def set_time(self, when: datetime | None = None) -> None:
        """Set the device's clock to `when` (None: now) in local wall time; an aware `when`
        is converted to this host's local time first."""
        await self.run(ops.set_time(when or datetime.now()))

    async def time_skew(self) -> float:
        """Device time minus host time, in seconds (within half a second: the device keeps
        whole seconds). Takes up to a second: the reading is aimed at the middle of a second
        of this host's clock, so a clock in step always reads about 0
        (`xmcam.client.operations.measure_time_skew`)."""
        return await plans.drive_async(ops.measure_time_skew(datetime.now), self._perform)

    async def sync_time(self) -> float:
        """Set the device's clock to this host's; return the skew before, in seconds. Takes
        up to two seconds: the set is aimed at a second boundary of this host's clock, so the
        device's whole seconds tick with this host's (`xmcam.client.operations.sync_time`)."""
        return await plans.drive_async(ops.sync_time(datetime.now), self._perform)

    async def audit(
        self,
        *,
        fix: bool = False,
        max_skew: float = aud.DEFAULT_MAX_SKEW,
        ports: Sequence[int] | None = aud.AUDIT_PORTS,
    ) -> aud.AuditReport:
        """The security and privacy audit (`xmcam.client.audit`): the vendor cloud, its
        pushes and upgrade checks, UPnP, dynamic DNS, NTP, the clock, weak passwords, the
        `default` account, and `ports` on the camera's host (None: none knocked on). With
        `fix`, every failed setting that can be turned off is turned off and read back, and
        a clock more than `max_skew` seconds off is synced; `Finding.fixed` says what the
        camera now confirms. Passwords are judged in memory; no finding holds a hash."""
        plan = aud.audit(datetime.now, fix=fix, max_skew=max_skew, ports=ports)
        return await plans.drive_async(plan, self._perform)

    async def users(self) -> list[User]:
        """The user accounts (never with their password hashes)."""
        return await self.run(ops.users())

    async def groups(self) -> list[Group]:
        """The user groups and their authorities."""
        return await self.run(ops.groups())

    async def authorities(self) -> list[str]:
        """Every authority the device knows: what a user or a group may be given."""
        return await self.run(ops.authorities())

    async def add_user(
        self,
        name: str,
        password: str,
        group: str = "user",
        *,
        authorities: Sequence[str] | None = None,
        memo: str = "",
    ) -> None:
        """Add a user account; without `authorities` it gets its group's. The password
        crosses as a Sofia hash."""
        await self.run(ops.add_user(name, password, group, authorities=authorities, memo=memo))

    async def remove_user(self, name: str) -> None:
        """Remove a user account."""
        await self.run(ops.remove_user(name))

    async def change_password(self, user: str, old: str, new: str) -> None:
        """Change a user's password; both cross as Sofia hashes."""
        await self.run(ops.change_password(user, old, new))

    async def channel_titles(self) -> list[str]:
        """The channels' titles (the text shown on the picture)."""
        return await self.run(ops.channel_titles())

    async def set_channel_titles(self, titles: Sequence[str]) -> None:
        """Set the channels' titles, one per channel."""
        await self.run(ops.set_channel_titles(titles))

    async def logs(
        self,
        *,
        begin: datetime | None = None,
        end: datetime | None = None,
        kind: str = "All",
        position: int = 0,
    ) -> list[LogEntry]:
        """The device's log from `position` on (OPLogQuery, every page: none lost or twice),
        within [begin, end] (device-local times) and of one `kind` (`maintenance.LOG_KINDS`)."""
        return await self.run(maint.logs(begin=begin, end=end, kind=kind, position=position))

    async def clear_log(self) -> None:
        """Erase the device's log (OPLogManager RemoveAll)."""
        await self.run(maint.clear_log())

    async def format_storage(self, disk: int | None = None) -> list[FormattedPartition]:
        """Format every partition of disk `disk` (None: of every disk); every recording on them
        is erased. The partitions formatted; ValueError when there is no such disk."""
        return await self.run(maint.format_storage(disk))

    async def restore_defaults(self, sections: Iterable[str]) -> int | None:
        """Reset the chosen sections (`maintenance.DEFAULT_SECTIONS`) to factory values
        (OPDefaultConfig); the device's Ret (603 or 150: it wants a restart for it)."""
        return await self.run(maint.restore_defaults(sections))

    async def rename_channel(self, channel: int, title: str) -> list[str]:
        """Give channel `channel` the title `title`; the other titles stay. The titles as
        written."""
        return await self.run(maint.rename_channel(channel, title))

    async def ptz_preset(self, action: str, number: int, *, channel: int = 0) -> None:
        """ "set", "goto" or "clear" preset `number`."""
        await self.run(ops.ptz_preset(action, number, channel=channel))

    async def ptz_tour(self, action: str, tour: int = 0, *, channel: int = 0) -> None:
        """ "start" or "stop" a preset tour."""
        await self.run(ops.ptz_tour(action, tour, channel=channel))

    async def net_alarm(self, state: int) -> None:
        """Set the network alarm input: `state` is a bit mask, bit 0 the first channel."""
        await self.run(ops.net_alarm(state))

    async def ptz(
        self, command: str, *, channel: int = 0, speed: int = 5, duration: float = 0.5
    ) -> None:
        """Move (`up`, `zoom-in`, ... or the protocol's names) at `speed` 1 to 10 for
        `duration` seconds, then stop. The stop is sent on every way out (an error, Ctrl-C, a
        cancelled task) and once more if it fails, unless the new login it needed was
        refused; a failed start is never retried."""
        plan = ops.ptz(command, channel=channel, speed=speed, duration=duration)
        await plans.drive_async(plan, self._perform)

    async def logout(self) -> None:
        """End the session on the device and close the connection. A connection that is
        already gone is just closed: logging in again only to log out would be silly."""
        try:
            async with self._lock:
                link = self._link
                if link is not None and link.usable:
                    await link.run(ops.logout(), self.timeout)
        finally:
            await self.close()

    async def reboot(self, wait: bool = False, wait_timeout: float = 180.0) -> None:
        """Reboot the device. With `wait`, return once it has gone down and a login works
        again (RequestTimeoutError after `wait_timeout` seconds)."""
        async with self._lock:
            link = self._link if self._link is not None and self._link.usable else None
            link = link or await self._rebuild()
            with contextlib.suppress(ConnectionClosedError):  # it may drop us before replying
                await link.run(ops.reboot(), self.timeout)
        if wait:
            await self._wait_until_back(link, time.monotonic() + wait_timeout)

    async def upgrade(
        self,
        image: ImageSource,
        *,
        force: bool = False,
        progress: Callable[[UpgradeProgress], object] | None = None,
        wait_timeout: float = upg.DEFAULT_WAIT,
    ) -> UpgradeResult:
        """Upgrade the firmware with `image` (an XM upgrade file: its bytes or its path). The
        image is checked and its description read before anything is sent
        (FirmwareImageError), and an image for other hardware than the device's
        (`SystemInfo.HardWare`) is refused (FirmwareMismatchError) unless `force`. The blocks
        go without waiting for an answer each; `progress` gets an UpgradeProgress for the
        bytes sent ("sending") and the device's percentages ("flashing"). Returns the outcome
        (`xmcam.client.upgrade.UpgradeResult`): the device's verdict (515, 513, 514), success
        when it reached 100 % and rebooted, or "unconfirmed" when it said nothing within
        `wait_timeout` seconds. The device reboots after a success; the connection is dropped
        either way."""
        plan = upg.upgrade(image, force=force, progress=progress, wait_timeout=wait_timeout)
        return await plans.drive_async(plan, self._perform)

    async def _send_image(self, sender: upg.ImageSender) -> UpgradeResult:
        """`upgrade.SendImage`, under the lock: no keepalive nor any other request on the
        connection meanwhile."""
        async with self._lock:
            link = await self._usable_link()
            try:
                await link.run(upg.start(), self.timeout)
                link.notification_sink = sender.notice
                try:
                    for wire in sender.packets(link.connection):
                        await link.send_data(wire, self.timeout)
                    await self._await_verdict(link, sender)
                except (TransportError, ProtocolError) as error:
                    _log.info("upgrade: the connection ended: %s", error)
                finally:
                    link.notification_sink = None
                if link.error is not None:
                    sender.connection_lost(str(link.error))
            finally:
                await self._drop_link(None)  # rebooting, or in no state to reuse it
        return sender.result()

    @staticmethod
    async def _await_verdict(link: Link, sender: upg.ImageSender) -> None:
        """Wait until the device's verdict, the end of the link, or `sender.wait_timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + sender.wait_timeout
        changed = asyncio.Event()
        sender.on_change = changed.set
        ended = asyncio.ensure_future(link.ended.wait())
        try:
            while not sender.finished and not ended.done() and loop.time() < deadline:
                changed.clear()
                waiter = asyncio.ensure_future(changed.wait())
                left = deadline - loop.time()
                await asyncio.wait({waiter, ended}, timeout=left, return_when="FIRST_COMPLETED")
                waiter.cancel()
            if sender.awaits_reboot:
                await asyncio.wait({ended}, timeout=upg.REBOOT_WAIT)
        finally:
            ended.cancel()
            sender.on_change = None

    async def _wait_until_back(self, link: Link, deadline: float) -> None:
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                await link.ended.wait()  # until the device drops the old connection
                while True:
                    try:
                        async with self._lock:
                            await self._rebuild()
                    except TransportError:
                        if self._closed:
                            raise
                        await asyncio.sleep(self.reboot_poll_interval)
                    else:
                        return
        except TimeoutError:
            raise RequestTimeoutError("the camera did not come back from its reboot") from None

    # ---------------------------------------------------------------- media

    def live(
        self,
        channel: int = 0,
        *,
        substream: bool = False,
        flow: str = "auto",
        max_queue: int = 256,
    ) -> media.LiveStream:
        """A live stream of MediaFrames, to use in a `with` block (`async with` on
        AsyncCamera): leaving it sends Stop. `flow`: "two" (the vendor's media connection),
        "one" (the control connection), or "auto" (two, then one when the claim is refused
        or unanswered within `claim_timeout`)."""
        return media.LiveStream(self, channel, substream=substream, flow=flow, max_queue=max_queue)

    async def snapshot(self, channel: int = 0, *, fallback: bool = True) -> bytes:
        """A JPEG (OPSNAP); with `fallback`, decoded from the live stream's first keyframe
        when the device refuses or stays silent (needs the `media` extra)."""
        return await media.snapshot(self, channel, fallback=fallback)

    async def files(
        self,
        start: datetime,
        end: datetime,
        *,
        channel: int = 0,
        kind: str = "video",
        events: str = "*",
    ) -> list[RecordFile]:
        """Recordings ("video" or "picture") overlapping [start, end], paged past the
        device's 64-record cap, each once, sorted by begin time."""
        return await self.run(
            mops.file_query(start, end, channel=channel, kind=kind, events=events)
        )

    async def talk(
        self,
        frames: PcmSource,
        *,
        channel: int | None = None,
        on_packet: Callable[[int], None] | None = None,
    ) -> TalkStats:
        """Play 16-bit signed mono PCM at 8 kHz (`frames`: little-endian bytes, frames of
        any length, e.g. 20 ms from a microphone) through the camera's speaker; return what
        was sent (`TalkStats`). It is sent as G.711 A-law in 40 ms packets, paced in real
        time; resample other rates first (the `xmcam talk` command decodes any file). Claims
        the speaker first: DeviceError (Ret 503) when another client is talking. `channel`:
        the recorder channel whose speaker (None: the device's own). `on_packet` is called
        with the number of packets sent after each. Stop is sent however it ends."""
        return await talk.talk(self, frames, channel=channel, on_packet=on_packet)

    def download(self, record: RecordFile) -> AsyncGenerator[bytes, None]:
        """A recording's bytes as the device sends them (its media container: feed them to
        MediaDemuxer). DownloadStop is sent when the iteration ends or the iterator is
        closed: close it when stopping early (`contextlib.aclosing()` on AsyncCamera)."""
        return media.download(self, record)

    # ---------------------------------------------------------------- alarms

    async def alarms(self) -> AsyncGenerator[AlarmEvent, None]:
        """Alarm events as they come. Subscribes (guard) on start, unsubscribes on exit; use
        `contextlib.aclosing()` to exit promptly when you stop early. Raises the transport
        error when the connection ends (`xmcam.watch` reconnects instead); ends quietly
        when the camera is closed."""
        await self.subscribe()
        try:
            async for event in self.subscribed_alarms():
                yield event
        finally:
            await self._unsubscribe()

    @property
    def subscribed(self) -> bool:
        """Whether alarms are subscribed; a reconnect subscribes again by itself."""
        return self._guarded

    async def subscribe(self) -> None:
        """Subscribe this session to alarm pushes (guard); `subscribed_alarms()` reads them.
        Alarms from an earlier subscription are discarded."""
        while not self._alarms.empty():
            self._alarms.get_nowait()
        # Alarms count from the guard on: a push may share a read with the guard's reply.
        self._subscribing = True
        try:
            await self.run(ops.guard())
            self._guarded = True
        finally:
            self._subscribing = False

    async def subscribed_alarms(self) -> AsyncGenerator[AlarmEvent, None]:
        """The alarms of the current subscription, until its connection ends (the error is
        raised) or the camera is closed (the iteration ends)."""
        while True:
            item = await self._alarms.get()
            if isinstance(item, _Gap):
                if item.error is None:
                    self._put_alarm(item)  # left for every other reader, now and later
                    return
                raise item.error
            yield item

    async def _unsubscribe(self) -> None:
        self._guarded = False
        link = self._link
        if link is not None and link.usable and not self._closed:
            with contextlib.suppress(XMCamError):
                await self.run(ops.unguard())


class _Connector:
    """What `connect()` returns: await it for an open camera, or use it with `async with`."""

    def __init__(self, camera: AsyncCamera) -> None:
        self._camera = camera

    def __await__(self) -> Generator[Any, None, AsyncCamera]:
        return self._camera.open().__await__()

    async def __aenter__(self) -> AsyncCamera:
        return await self._camera.open()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._camera.close()


def connect(host: str, port: int | None = None, **options: Unpack[CameraOptions]) -> _Connector:
    """Connect to a camera and log in (one attempt: a wrong password raises
    AuthenticationError at once, and nothing retries it).

        async with xmcam.connect("192.168.1.10") as cam:
            print(await cam.system_info())

    or `cam = await xmcam.connect(...)` and later `await cam.close()`.
    """
    return _Connector(AsyncCamera(host, port, **options))


async def _open_ports(host: str, probe: aud.ProbePorts) -> list[int]:
    """The ports of `probe` that accept a TCP connection on `host`, all knocked on at once;
    each connection is closed as soon as it is made."""

    async def accepts(port: int) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), probe.timeout)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    answers = await asyncio.gather(*(accepts(port) for port in probe.ports))
    return [port for port, accepted in zip(probe.ports, answers, strict=True) if accepted]
