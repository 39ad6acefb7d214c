"""The blocking client: `Camera`, on a plain socket. No thread, no event loop.

Theory of operation. A Camera holds at most one `Link` (a socket and its core connection) to
the device. Each request is written and then read for until its reply arrives, within the
request's deadline; what the link meets on the way (alarms, late replies, media of a
single-socket stream) is routed by the link. A timeout leaves the connection
desynchronised, so the link ends there, and the next request opens a new one and logs in
again (one attempt; an AuthenticationError is raised, never retried). With no thread there is
no keepalive timer: before each request the camera reads, without blocking, what arrived while
it was idle (the device may have closed the connection), and logs in again when it was idle
for longer than the session's AliveInterval. Call `keepalive()` yourself to hold a session
open.

The methods are procedures from `xmcam.client.operations` (and the plans of
`xmcam.client.plans`), shared with the asyncio client; this module only moves their calls.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Final, TypeVar, Unpack

from xmcam.client import audit as aud
from xmcam.client import maintenance as maint
from xmcam.client import media_operations as mops
from xmcam.client import operations as ops
from xmcam.client import plans
from xmcam.client import upgrade as upg
from xmcam.client.maintenance import FormattedPartition, LogEntry
from xmcam.client.models import (
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
)
from xmcam.protocol.connection import NegotiationReply
from xmcam.sync import media, talk
from xmcam.sync.link import Link
from xmcam.sync.talk import PcmSource

__all__ = ["DEFAULT_PORT", "Camera"]

T = TypeVar("T")

_monotonic: Final = time.monotonic
_log: Final = logging.getLogger("xmcam.sync")


class Camera(CameraSettings):
    """A camera, blocking. `with xmcam.Camera(host, password=...) as cam: cam.system_info()`.
    Not thread-safe: one thread per Camera.

    `clock` (an attribute, `time.monotonic`) is the clock the session is timed by: when the
    last reply came, when a keepalive is due, when an idle session has lapsed. A test can set
    one it turns by hand before `open()`. The reads' timeouts stay in real seconds: the
    socket keeps those.
    """

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
        self.clock: Callable[[], float] = time.monotonic
        self._link: Link | None = None
        self._login: LoginInfo | None = None

    @property
    def login_info(self) -> LoginInfo:
        """What the last login reply said (session id, AliveInterval, channels, type)."""
        if self._login is None:
            raise ConnectionClosedError("not connected: open the camera first")
        return self._login

    # ---------------------------------------------------------------- opening and closing

    def open(self) -> Camera:
        """Connect and log in (one attempt: a refused login raises at once and is never
        retried). Returns the camera."""
        self._rebuild()
        return self

    def close(self) -> None:
        """Close the connection; the next request opens a new one. An `alarms()` iteration
        in progress (asyncio) ends."""
        link, self._link = self._link, None
        if link is not None:
            link.close()

    def __enter__(self) -> Camera:
        return self.open()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _rebuild(self) -> Link:
        """Connect and log in: one login, encrypted or plain as the camera's `encryption`
        and the device decide (xmcam.client.encryption)."""
        self.close()
        link = Link.open(self.host, self.port, self.timeout, clock=self.clock)
        plan = self._plan
        try:
            answer: NegotiationReply | None = None
            if plan.negotiates():
                try:
                    answer = link.negotiate(plan.negotiation_deadline(self.timeout))
                except RequestTimeoutError:
                    plan.negotiation_timed_out()
                    link.close()  # the late answer must meet nothing: a new connection
                    link = Link.open(self.host, self.port, self.timeout, clock=self.clock)
            reply = link.login(self.user, self._password, self.timeout, plan, answer)
        except BaseException:
            link.close()
            raise
        self._link = link
        self._login = ops.login_info(reply)
        return link

    # ---------------------------------------------------------------- moving calls

    def control_link(self) -> Link:
        """The control connection (a `Link`), logged in and ready for a request: opened and
        logged in first when it is missing or has ended, and (blocking client) when it sat
        idle for longer than the session's AliveInterval. For media code and extensions."""
        link = self._link
        if link is None or not link.ready():
            link = self._rebuild()
        return link

    def run(self, procedure: ops.Procedure[T], *, on: Link | None = None) -> T:
        """Run a procedure (`xmcam.client.operations`, or your own generator of `Call`s) on
        the control connection and return its result: what every method does. With `on`,
        only on that connection: ConnectionClosedError, and nothing sent, when it has ended
        since (the camera logged in again, or was closed)."""
        if on is None:
            link = self._link
            if link is None or not link.ready():  # control_link(), written out: every request
                link = self._rebuild()
        elif on is self._link and on.logged_in:
            link = on
        else:
            procedure.close()
            raise ConnectionClosedError("that connection has ended (the camera logged in again)")
        return link.run(procedure, self.timeout)

    def query(self, query: ops.Query[T]) -> T:
        """Make a Query (`xmcam.client.operations`) on the control connection and return its
        result: what `run(query.procedure())` returns. The blocking client makes it without
        the procedure's generators (its most frequent requests: SystemInfo, config gets)."""
        link = self._link
        if link is None or not link.ready():  # control_link(), written out: every request
            link = self._rebuild()
        return query.read(query.name, link.ask(query.message_id, query.name, self.timeout))

    def _perform(self, step: Any) -> Any:
        """One step of a plan (`xmcam.client.plans`)."""
        if isinstance(step, plans.Run):
            return self.run(step.procedure)
        if isinstance(step, plans.Pause):
            return time.sleep(step.seconds)
        if isinstance(step, plans.Shielded):  # no cancelling here: performed like the rest
            return plans.drive(step.plan, self._perform)
        if isinstance(step, upg.SendImage):
            return self._send_image(step.sender)
        if isinstance(step, aud.ProbePorts):
            return _open_ports(self.host, step)
        raise StateError(f"the blocking camera cannot perform {step!r}")

    # ---------------------------------------------------------------- the methods

    def request(self, message_id: int, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Any request with a JSON body; the reply's body. Raises on a failure Ret code."""
        return self.run(ops.raw_request(message_id, body))

    def keepalive(self) -> None:
        """Send KeepAlive (1006), which holds the session open. The asyncio client sends it by
        itself every half AliveInterval; the blocking one when this is called, and while a
        stream or a download is iterated."""
        self.run(ops.keepalive())

    def system_info(self) -> SystemInfo:
        """The device's identity: model, firmware, serial, channels, uptime (SystemInfo)."""
        return self.query(ops.SYSTEM_INFO)

    def storage_info(self) -> list[Disk]:
        """The disks or SD cards and their partitions (StorageInfo)."""
        return self.run(ops.storage_info())

    def work_state(self) -> WorkState:
        """What the device is doing: alarm states, recording and bitrate per channel."""
        return self.run(ops.work_state())

    def abilities(self, name: str = "SystemFunction") -> Any:
        """An ability by name (SystemFunction: what the firmware supports): an object, an
        array or a string, as the device has it. ConfigNotFoundError (or the device's Ret)
        when the device has none by that name."""
        return self.run(ops.abilities(name))

    def all_abilities(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        """Every ability of `names` (default `maintenance.ABILITY_NAMES`) the device answers,
        by name; the names it refuses are left out."""
        return self.run(maint.all_abilities(names))

    def get_config(self, name: str) -> Any:
        """A config by dotted name (`Camera.Param.[0]`). ConfigNotFoundError if unknown."""
        return self.query(ops.config_query(name))

    def set_config(self, name: str, value: Any) -> None:
        """Write a config by dotted name; a refusal raises its DeviceError."""
        self.run(ops.set_config(name, value))

    def default_config(self, name: str) -> Any:
        """A config's factory default, by dotted name. ConfigNotFoundError if unknown."""
        return self.run(ops.default_config(name))

    def update_config(
        self,
        name: str,
        value: Any,
        *,
        replace: bool = False,
        keep_identity: bool = False,
        dry_run: bool = False,
    ) -> ConfigUpdate:
        """Read, merge `value` in (a partial object is enough), write back whole."""
        return self.run(
            ops.update_config(
                name, value, replace=replace, keep_identity=keep_identity, dry_run=dry_run
            )
        )

    def probe_config(self, names: Iterable[str] | None = None) -> ConfigProbe:
        """Which config names the device has, with their values, on one connection."""
        return self.run(ops.probe_config(names))

    def export_config(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        """Every config of `names` the device answers (None: every known name, per channel)
        as {name: value}; the names it refuses are left out."""
        return self.run(ops.export_config(names))

    def import_config(
        self, tree: Mapping[str, Any], *, include_identity: bool = False
    ) -> list[str]:
        """Merge every config of `tree` ({name: value}) into the device's, in order, writing
        only what changed; the names written. This camera's addresses, MAC and serial are
        kept unless `include_identity`. The first refusal raises its DeviceError."""
        return self.run(ops.import_config(tree, include_identity=include_identity))

    def alarm_outputs(self) -> list[AlarmOutput]:
        """The alarm outputs (relays): their modes and states."""
        return self.run(ops.alarm_outputs())

    def set_alarm_out(self, mode: str, channel: int | None = None) -> None:
        """Switch alarm output `channel` (None: all of them) "on", "off" or to "auto"; the
        others are written back unchanged."""
        self.run(ops.set_alarm_out(mode, channel))

    def get_time(self) -> datetime:
        """The device's clock, as a naive datetime in the device's local time."""
        return self.run(ops.get_time())

    def set_time(self, when: datetime | None = None) -> None:
        """Set the device's clock to `when` (None: now) in local wall time; an aware `when`
        is converted to this host's local time first."""
        self.run(ops.set_time(when or datetime.now()))

    def time_skew(self) -> float:
        """Device time minus host time, in seconds (within half a second: the device keeps
        whole seconds). Takes up to a second: the reading is aimed at the middle of a second
        of this host's clock, so a clock in step always reads about 0
        (`xmcam.client.operations.measure_time_skew`)."""
        return plans.drive(ops.measure_time_skew(datetime.now), self._perform)

    def sync_time(self) -> float:
        """Set the device's clock to this host's; return the skew before, in seconds. Takes
        up to two seconds: the set is aimed at a second boundary of this host's clock, so the
        device's whole seconds tick with this host's (`xmcam.client.operations.sync_time`)."""
        return plans.drive(ops.sync_time(datetime.now), self._perform)

    def audit(
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
        return plans.drive(plan, self._perform)

    def users(self) -> list[User]:
        """The user accounts (never with their password hashes)."""
        return self.run(ops.users())

    def groups(self) -> list[Group]:
        """The user groups and their authorities."""
        return self.run(ops.groups())

    def authorities(self) -> list[str]:
        """Every authority the device knows: what a user or a group may be given."""
        return self.run(ops.authorities())

    def add_user(
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
        self.run(ops.add_user(name, password, group, authorities=authorities, memo=memo))

    def remove_user(self, name: str) -> None:
        """Remove a user account."""
        self.run(ops.remove_user(name))

    def change_password(self, user: str, old: str, new: str) -> None:
        """Change a user's password; both cross as Sofia hashes."""
        self.run(ops.change_password(user, old, new))

    def channel_titles(self) -> list[str]:
        """The channels' titles (the text shown on the picture)."""
        return self.run(ops.channel_titles())

    def set_channel_titles(self, titles: Sequence[str]) -> None:
        """Set the channels' titles, one per channel."""
        self.run(ops.set_channel_titles(titles))

    def logs(
        self,
        *,
        begin: datetime | None = None,
        end: datetime | None = None,
        kind: str = "All",
        position: int = 0,
    ) -> list[LogEntry]:
        """The device's log from `position` on (OPLogQuery, every page: none lost or twice),
        within [begin, end] (device-local times) and of one `kind` (`maintenance.LOG_KINDS`)."""
        return self.run(maint.logs(begin=begin, end=end, kind=kind, position=position))

    def clear_log(self) -> None:
        """Erase the device's log (OPLogManager RemoveAll)."""
        self.run(maint.clear_log())

    def format_storage(self, disk: int | None = None) -> list[FormattedPartition]:
        """Format every partition of disk `disk` (None: of every disk); every recording on them
        is erased. The partitions formatted; ValueError when there is no such disk."""
        return self.run(maint.format_storage(disk))

    def restore_defaults(self, sections: Iterable[str]) -> int | None:
        """Reset the chosen sections (`maintenance.DEFAULT_SECTIONS`) to factory values
        (OPDefaultConfig); the device's Ret (603 or 150: it wants a restart for it)."""
        return self.run(maint.restore_defaults(sections))

    def rename_channel(self, channel: int, title: str) -> list[str]:
        """Give channel `channel` the title `title`; the other titles stay. The titles as
        written."""
        return self.run(maint.rename_channel(channel, title))

    def ptz_preset(self, action: str, number: int, *, channel: int = 0) -> None:
        """ "set", "goto" or "clear" preset `number`."""
        self.run(ops.ptz_preset(action, number, channel=channel))

    def ptz_tour(self, action: str, tour: int = 0, *, channel: int = 0) -> None:
        """ "start" or "stop" a preset tour."""
        self.run(ops.ptz_tour(action, tour, channel=channel))

    def net_alarm(self, state: int) -> None:
        """Set the network alarm input: `state` is a bit mask, bit 0 the first channel."""
        self.run(ops.net_alarm(state))

    def ptz(self, command: str, *, channel: int = 0, speed: int = 5, duration: float = 0.5) -> None:
        """Move (`up`, `zoom-in`, ... or the protocol's names) at `speed` 1 to 10 for
        `duration` seconds, then stop. The stop is sent on every way out (an error, Ctrl-C, a
        cancelled task) and once more if it fails, unless the new login it needed was
        refused; a failed start is never retried."""
        plans.drive(
            ops.ptz(command, channel=channel, speed=speed, duration=duration), self._perform
        )

    def logout(self) -> None:
        """End the session on the device and close the connection. A connection that is
        already gone is just closed: logging in again only to log out would be silly."""
        try:
            link = self._link
            if link is not None and link.ready():
                self.run(ops.logout(), on=link)
        finally:
            self.close()

    def reboot(self, wait: bool = False, wait_timeout: float = 180.0) -> None:
        """Reboot the device. With `wait`, return once it has gone down and a login works
        again (RequestTimeoutError after `wait_timeout` seconds)."""
        deadline = _monotonic() + wait_timeout
        with contextlib.suppress(ConnectionClosedError):  # it may drop us before replying
            self.run(ops.reboot())
        if wait:
            self._wait_until_back(deadline)

    def upgrade(
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
        return plans.drive(plan, self._perform)

    def _send_image(self, sender: upg.ImageSender) -> UpgradeResult:
        """`upgrade.SendImage` on the control connection."""
        link = self.control_link()
        try:
            link.run(upg.start(), self.timeout)
            link.notification_sink = sender.notice
            try:
                for wire in sender.packets(link.connection):
                    link.send_data(wire, self.timeout)
                deadline = _monotonic() + sender.wait_timeout
                while not sender.finished:
                    link.read(deadline)
                deadline = _monotonic() + upg.REBOOT_WAIT
                while sender.awaits_reboot and link.error is None:
                    link.read(deadline)
            except TimeoutError:  # no verdict in time (or the camera took no data)
                pass
            except (TransportError, ProtocolError) as error:
                _log.info("upgrade: the connection ended: %s", error)
            finally:
                link.notification_sink = None
            if link.error is not None:
                sender.connection_lost(str(link.error))
        finally:
            self.close()  # rebooting, or in no state to reuse it
        return sender.result()

    def _wait_until_back(self, deadline: float) -> None:
        link = self._link
        if link is not None and link.error is None:
            # Nothing should come now but the end of the connection.
            with contextlib.suppress(TimeoutError, TransportError, ProtocolError):
                link.read(deadline)
        while _monotonic() < deadline:
            try:
                self._rebuild()
            except TransportError:
                time.sleep(min(self.reboot_poll_interval, max(deadline - _monotonic(), 0)))
            else:
                return
        raise RequestTimeoutError("the camera did not come back from its reboot")

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

    def snapshot(self, channel: int = 0, *, fallback: bool = True) -> bytes:
        """A JPEG (OPSNAP); with `fallback`, decoded from the live stream's first keyframe
        when the device refuses or stays silent (needs the `media` extra)."""
        return media.snapshot(self, channel, fallback=fallback)

    def files(
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
        return self.run(mops.file_query(start, end, channel=channel, kind=kind, events=events))

    def talk(
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
        return talk.talk(self, frames, channel=channel, on_packet=on_packet)

    def download(self, record: RecordFile) -> Generator[bytes, None, None]:
        """A recording's bytes as the device sends them (its media container: feed them to
        MediaDemuxer). DownloadStop is sent when the iteration ends or the iterator is
        closed: close it when stopping early (`contextlib.aclosing()` on AsyncCamera)."""
        return media.download(self, record)


def _open_ports(host: str, probe: aud.ProbePorts) -> list[int]:
    """The ports of `probe` that accept a TCP connection on `host`, one after the other;
    each connection is closed as soon as it is made."""
    accepted: list[int] = []
    for port in probe.ports:
        try:
            with socket.create_connection((host, port), timeout=probe.timeout):
                accepted.append(port)
        except OSError:  # refused, unreachable, or no answer within the timeout
            continue
    return accepted
