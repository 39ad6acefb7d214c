"""The client's operations, without I/O: what to send for each method and what its reply means.

Theory of operation. Both client shells (asyncio in `xmcam.aio`, blocking in `xmcam.sync`)
expose the same methods, and each method is a *procedure* written once, here: a generator
that yields the `Call`s to make, receives each `Reply` (or None for a call that expects no
reply), and returns the method's result. A failure Ret code is thrown into the generator as
its `DeviceError`, so a procedure can handle one (config export skips names the device does
not know) or let it pass to the caller. A shell drives a procedure with `advance()` and moves
the bytes; it never builds a body or reads a reply itself. A method that spans more than one
connection or some time (`ptz()`: start, pause, a stop on every way out) is a plan of such
procedures (`xmcam.client.plans`).

    def system_info() -> Procedure[models.SystemInfo]:
        reply = yield from ask(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
        return parse_system_info(...)

The bodies are the seed capture's, byte for byte, for the exchanges it shows (login, SystemInfo,
KeepAlive, the Alarm.AlarmOut sets, unguard). Everything the device sends is untrusted: a
field of the wrong type becomes None (or a PayloadError where the result would be
meaningless), never a crash.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Generic, NamedTuple, TypeVar

from xmcam.client import config_names, config_values, models
from xmcam.client.models import AlarmEvent, LoginInfo
from xmcam.client.plans import Finished, Pause, Plan, Run, Shielded
from xmcam.errors import (
    AuthenticationError,
    ConfigNotFoundError,
    ConnectionClosedError,
    DeviceError,
    NotLoggedInError,
    PayloadError,
    StateError,
    XMCamError,
)
from xmcam.protocol.auth import sofia_hash
from xmcam.protocol.codes import MessageId, Ret, message_name
from xmcam.protocol.connection import (
    AlarmMessage,
    ClientConnection,
    ClientEvent,
    ForcedLogout,
    LoginReply,
    Reply,
)
from xmcam.protocol.fields import format_device_time, lenient_int, parse_device_time
from xmcam.protocol.header import HEADER, HEADER_SIZE, Header
from xmcam.protocol.payload import Body
from xmcam.protocol.redaction import redacted_hex_dump

__all__ = [
    "ALARM_OUT_TYPES",
    "PTZ_COMMANDS",
    "SYSTEM_INFO",
    "Call",
    "Finished",
    "Procedure",
    "Query",
    "abilities",
    "add_user",
    "advance",
    "alarm_event",
    "alarm_outputs",
    "ask",
    "authorities",
    "change_password",
    "channel_titles",
    "config_query",
    "default_config",
    "export_config",
    "frame_summary",
    "get_config",
    "get_time",
    "groups",
    "guard",
    "import_config",
    "keepalive",
    "keepalive_period",
    "log_frame",
    "log_sent",
    "login_info",
    "logout",
    "measure_time_skew",
    "net_alarm",
    "perform",
    "probe_config",
    "ptz",
    "ptz_move",
    "ptz_preset",
    "ptz_tour",
    "raw_request",
    "reboot",
    "remove_user",
    "route",
    "set_alarm_out",
    "set_channel_titles",
    "set_config",
    "set_time",
    "storage_info",
    "sync_time",
    "system_info",
    "tell",
    "time_skew",
    "unguard",
    "update_config",
    "users",
    "work_state",
]

T = TypeVar("T")

wire_log: Final = logging.getLogger("xmcam.wire")
_log: Final = logging.getLogger("xmcam.client")


class Call(NamedTuple):
    """One request to make: the message id, the body (the SessionID is added by the core),
    whether a reply is awaited (unguard and the like are fire-and-forget), and whether the
    media it starts answers it as well as a reply (a Start on the connection that holds its
    claim: the call then gets None when the media came first). A named tuple: one is made for
    every request, and it is built in half the time of a frozen dataclass."""

    message_id: int
    body: Mapping[str, Any]
    expect_reply: bool = True
    answered_by_media: bool = False


Procedure = Generator[Call, "Reply | None", T]
"""A method's whole exchange: yields Calls, receives Replies, returns the result."""


def advance(procedure: Procedure[T], outcome: Reply | DeviceError | None) -> Call | Finished[T]:
    """Resume `procedure` with the outcome of its last call (None to start it, or after a
    call without reply); return its next call or its result. A DeviceError is raised inside
    the procedure, at the `yield` that made the failed call."""
    try:
        if isinstance(outcome, DeviceError):
            return procedure.throw(outcome)
        return procedure.send(outcome)
    except StopIteration as stop:
        return Finished(stop.value)


def ask(message_id: int, body: Mapping[str, Any]) -> Generator[Call, Reply | None, Reply]:
    """Make one call that expects a reply; return the reply."""
    reply = yield Call(message_id, body)
    if reply is None:  # only a shell bug could get here
        raise StateError("a call that expects a reply got none")
    return reply


def tell(message_id: int, body: Mapping[str, Any]) -> Generator[Call, Reply | None, None]:
    """Make one call that expects no reply."""
    yield Call(message_id, body, expect_reply=False)


def perform(call: Call) -> Procedure[None]:
    """A procedure of one prepared call (a PTZ start or stop)."""
    yield call


class Query(NamedTuple, Generic[T]):
    """A request whose body is `{"Name": name}` alone, answered by one reply, and how its
    result is read from that reply: SystemInfo, a config get, an ability. `procedure()` makes
    it a procedure like any other. The blocking client makes the call and reads the reply
    itself (`Camera.query`): these are its most frequent requests, and a procedure's
    generators cost more than the rest of its Python work (bench/client_vs_python_dvr.py)."""

    message_id: int
    name: str
    read: Callable[[str, Reply], T]
    """The result, from the name and the reply (its Ret already checked)."""

    def procedure(self) -> Procedure[T]:
        reply = yield from ask(self.message_id, {"Name": self.name})
        return self.read(self.name, reply)


def log_sent(connection: ClientConnection, wire: bytes) -> None:
    """Log a frame about to be sent; a sealed one as it was before sealing (its body in
    clear, secrets overwritten as always: never the session key)."""
    if wire_log.isEnabledFor(logging.INFO):
        log_frame("->", connection.plain_view(wire))


def log_frame(direction: str, wire: bytes) -> None:
    """Log one frame to the "xmcam.wire" logger: at INFO one summary line (`frame_summary`),
    at DEBUG the summary and the hex dump, secrets overwritten."""
    if wire_log.isEnabledFor(logging.DEBUG):
        # "multiline": the dump is our own ASCII rows, kept on their lines by the CLI's
        # formatter (which puts any other newline, a device's, on one line as \x0a).
        wire_log.debug(
            "%s\n%s",
            frame_summary(direction, wire),
            redacted_hex_dump(wire),
            extra={"multiline": True},
        )
    elif wire_log.isEnabledFor(logging.INFO):
        wire_log.info("%s", frame_summary(direction, wire))


_SUMMARY_BODY_LIMIT: Final = 64 * 1024
"""A body longer than this is not parsed for its Name and Ret (a summary line stays cheap)."""


def frame_summary(direction: str, wire: bytes) -> str:
    """One line for a frame: `-> SYSINFO_REQ SystemInfo session 0x0000000b seq 3: 42 bytes`,
    and for a reply `, Ret 100`. Only the message id, the body's Name and its Ret are shown:
    no value that could be a secret."""
    if len(wire) < HEADER_SIZE:
        return f"{direction} {len(wire)} bytes (no whole header)"
    header = Header.from_wire_fields(HEADER.unpack_from(wire))
    body = wire[HEADER_SIZE : HEADER_SIZE + header.length]
    name, ret = _name_and_ret(body)
    words = [direction, message_name(header.message_id)]
    if name:
        words.append(name)
    line = f"{' '.join(words)} session 0x{header.session_id:08x} seq {header.sequence}: "
    line += f"{header.length} bytes"
    return line if ret is None else f"{line}, Ret {ret}"


def _name_and_ret(body: bytes) -> tuple[str, int | None]:
    """The JSON body's Name and Ret, when it has them (media and binary bodies have not)."""
    if not body.startswith(b"{") or len(body) > _SUMMARY_BODY_LIMIT:
        return "", None
    try:
        value = json.loads(body.rstrip(b"\n\0").decode("utf-8", "replace"))
    except ValueError:
        return "", None
    if not isinstance(value, dict):
        return "", None
    name = value.get("Name")
    ret = value.get("Ret")
    return (
        name if isinstance(name, str) else "",
        ret if isinstance(ret, int) and not isinstance(ret, bool) else None,
    )


def route(event: ClientEvent) -> Reply | AlarmEvent | XMCamError | None:
    """Where a received event goes: a Reply to the waiting request, an AlarmEvent to the
    alarm consumer (never to request matching), an error that ends the connection (a forced
    logout), or nowhere (a late reply, media or a notification on a control connection: logged
    and dropped)."""
    if wire_log.isEnabledFor(logging.INFO):
        log_frame("<-", event.frame.to_bytes())
    if isinstance(event, Reply):
        return event
    if isinstance(event, AlarmMessage):
        return alarm_event(event.body)
    if isinstance(event, ForcedLogout):
        return ConnectionClosedError("the device ended the session (forced logout)")
    wire_log.debug("dropped %s: it answers nothing", message_name(event.frame.message_id))
    return None


# ------------------------------------------------------------------ session and connection


def login_info(reply: LoginReply) -> LoginInfo:
    return LoginInfo(
        session_id=reply.session_id,
        alive_interval=reply.alive_interval,
        channel_count=reply.channel_count,
        device_type=reply.device_type,
        encrypted=reply.encrypted,
    )


def keepalive_period(alive_interval: float) -> float:
    """Seconds between keepalives: half the device's AliveInterval, as [MAD] sends, so one
    lost keepalive still leaves time for the next before the session expires."""
    return max(alive_interval / 2, 0.05)


def keepalive() -> Procedure[None]:
    yield from ask(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})


def logout() -> Procedure[None]:
    yield from ask(MessageId.LOGOUT_REQ, {"Name": ""})


def guard() -> Procedure[None]:
    """Subscribe this session to alarm pushes (1500)."""
    yield from ask(MessageId.GUARD_REQ, {"Name": ""})


def unguard() -> Procedure[None]:
    """Unsubscribe (1502). Many devices never answer it, so nothing is awaited."""
    yield from tell(MessageId.UNGUARD_REQ, {"Name": ""})


def raw_request(message_id: int, body: Mapping[str, Any] | None) -> Procedure[dict[str, Any]]:
    reply = yield from ask(message_id, dict(body or {}))
    return dict(reply.body.data)


def reboot() -> Procedure[None]:
    """Ask the device to reboot. The reply may never come: the device may drop the
    connection first; the shells treat that as success."""
    body = {"Name": "OPMachine", "OPMachine": {"Action": "Reboot"}}
    yield from ask(MessageId.SYSMANAGER_REQ, body)


def alarm_event(body: Body) -> AlarmEvent:
    """The typed form of an alarm push (1504)."""
    info = body.get("AlarmInfo")
    raw = dict(info) if isinstance(info, dict) else {}
    return AlarmEvent(
        channel=lenient_int(raw.get("Channel")),
        event=_text(raw.get("Event")),
        status=_text(raw.get("Status")),
        start_time=_text_or_none(raw.get("StartTime")),
        raw=raw,
    )


# ------------------------------------------------------------------ information


def system_info() -> Procedure[models.SystemInfo]:
    return SYSTEM_INFO.procedure()


def _read_system_info(name: str, reply: Reply) -> models.SystemInfo:
    # Its fields are read from the object when first used (models.SystemInfo.from_device).
    return models.SystemInfo.from_device(_mapping(reply.body.data.get(name), name))


SYSTEM_INFO: Final = Query(MessageId.SYSINFO_REQ, "SystemInfo", _read_system_info)
"""The device's identity (`system_info()`) as a Query."""


def storage_info() -> Procedure[list[models.Disk]]:
    disks = yield from _info("StorageInfo")
    if not isinstance(disks, list):
        disks = [] if disks is None else [disks]
    return [_disk(disk) for disk in disks if isinstance(disk, dict)]


def _disk(raw: dict[str, Any]) -> models.Disk:
    parts = raw.get("Partition")
    partitions = tuple(
        models.Partition(
            total_mb=lenient_int(part.get("TotalSpace")),
            remaining_mb=lenient_int(part.get("RemainSpace")),
            status=lenient_int(part.get("Status")),
            driver_type=lenient_int(part.get("DirverType", part.get("DriverType"))),
        )
        for part in (parts if isinstance(parts, list) else [])
        if isinstance(part, dict)
    )
    return models.Disk(number=lenient_int(raw.get("PlysicalNo")), partitions=partitions, raw=raw)


def work_state() -> Procedure[models.WorkState]:
    state = _mapping((yield from _info("WorkState")), "WorkState")
    alarm = state.get("AlarmState")
    alarms = alarm if isinstance(alarm, dict) else {}
    channels = [item for item in _list(state.get("ChannelState")) if isinstance(item, dict)]
    return models.WorkState(
        alarm_in=lenient_int(alarms.get("AlarmIn")) or 0,
        alarm_out=lenient_int(alarms.get("AlarmOut")) or 0,
        video_blind=lenient_int(alarms.get("VideoBlind")) or 0,
        video_loss=lenient_int(alarms.get("VideoLoss")) or 0,
        video_motion=lenient_int(alarms.get("VideoMotion")) or 0,
        recording=tuple(item.get("Record") is True for item in channels),
        bitrates_kbps=tuple(lenient_int(item.get("Bitrate")) or 0 for item in channels),
        raw=state,
    )


def _info(name: str) -> Generator[Call, Reply | None, Any]:
    reply = yield from ask(MessageId.SYSINFO_REQ, {"Name": name})
    return reply.body.get(name)


def abilities(name: str = "SystemFunction") -> Procedure[Any]:
    """An ability (1360) by name: any JSON value. `SystemFunction` is an object of groups,
    but real replies are also arrays (`ComProtocol`, `DDNSService`, `PTZProtocol`, ...) or a
    string (`MultiVstd`: "PAL|NTSC") ([BES] command_codes/payloads/1361_*)."""
    return Query(MessageId.ABILITY_GET_REQ, name, _config_value).procedure()


# ------------------------------------------------------------------ configuration


def get_config(name: str) -> Procedure[Any]:
    return config_query(name).procedure()


def config_query(name: str) -> Query[Any]:
    """A config get (`get_config()`) as a Query."""
    return Query(MessageId.CONFIG_GET_REQ, name, _config_value)


def set_config(name: str, value: Any) -> Procedure[None]:
    """Write `value` to `name` as given (see `update_config` for a partial value)."""
    yield from ask(MessageId.CONFIG_SET_REQ, {"Name": name, name: value})


def default_config(name: str) -> Procedure[Any]:
    return Query(MessageId.DEFAULT_CONFIG_GET_REQ, name, _config_value).procedure()


def update_config(
    name: str,
    value: Any,
    *,
    replace: bool = False,
    keep_identity: bool = False,
    dry_run: bool = False,
) -> Procedure[models.ConfigUpdate]:
    """Read `name`, merge `value` into it (`config_values.merge`; with `replace`, `value` is
    the whole new value), fill in `<redacted>` placeholders from the device's value, keep the
    device's identity members with `keep_identity`, and write the result back whole, unless
    nothing changed or `dry_run`. Raises ValueError for a value that cannot be merged."""
    current = yield from get_config(name)
    new = copy.deepcopy(value) if replace else config_values.merge(current, value, name)
    new = config_values.fill_placeholders(new, current, name)
    kept: list[str] = []
    if keep_identity:
        new, kept = config_values.keep_identity(name, new, current)
    found = config_values.changes(current, new)
    written = bool(found) and not dry_run
    if written:
        yield from set_config(name, new)
    return models.ConfigUpdate(name, current, new, tuple(found), tuple(kept), written)


_MAX_CHANNELS: Final = 256  # per kind; past any real recorder (a hostile count costs nothing)


def probe_config(names: Iterable[str] | None = None) -> Procedure[models.ConfigProbe]:
    """Ask for every config name `names` chooses (`config_names.select`: None for every known
    name, `*` wildcards, plain names) on this one connection, per-channel names once per
    channel; keep the values the device gives and count its refusals by name. Any failure Ret
    is a refusal (607, 103, and the rest), except a lost login (raised: nothing after it
    could be answered). The channel counts come from SystemInfo, asked only when a chosen
    name is per channel."""
    entries = config_names.select(names)
    requests = 0
    counts: dict[config_names.Scope, int] = {"video": 0, "alarm_in": 0}
    if any(entry.scope != "device" for entry in entries):
        counts = yield from _channel_counts()
        requests += 1
    values: dict[str, Any] = {}
    refused: dict[str, int] = {}
    for entry in entries:
        for name in config_names.expand(entry, counts):
            if name in values or name in refused:
                continue
            requests += 1
            try:
                values[name] = yield from get_config(name)
            except (AuthenticationError, NotLoggedInError):
                raise
            except DeviceError as error:
                refused[name] = error.ret
    return models.ConfigProbe(
        values=values,
        refused=refused,
        requests=requests,
        video_channels=counts["video"],
        alarm_inputs=counts["alarm_in"],
    )


def _channel_counts() -> Generator[Call, Reply | None, dict[config_names.Scope, int]]:
    """Video channels (VideoInChannel + DigChannel) and alarm inputs (AlarmInChannel), from
    SystemInfo; one of each when it is refused or unreadable (a name asked for a channel the
    device lacks is refused, and skipped, like any other)."""
    try:
        info = yield from system_info()
    except (AuthenticationError, NotLoggedInError):
        raise
    except (DeviceError, PayloadError):
        return {"video": 1, "alarm_in": 1}
    video = info.channels if info.channels is not None else 1
    alarm_in = info.alarm_in if info.alarm_in is not None else 1
    return {
        "video": max(0, min(video, _MAX_CHANNELS)),
        "alarm_in": max(0, min(alarm_in, _MAX_CHANNELS)),
    }


def export_config(names: Iterable[str] | None = None) -> Procedure[dict[str, Any]]:
    """Every config `names` chooses that the device has (`probe_config`), as {name: value}."""
    probe = yield from probe_config(names)
    return probe.values


def import_config(
    tree: Mapping[str, Any], *, include_identity: bool = False
) -> Procedure[list[str]]:
    """Write every config of `tree` (as `export_config` makes it), in order, each merged
    into the device's value (`update_config`), the device's identity members kept unless
    `include_identity`; return the names written (an unchanged one is not written)."""
    written: list[str] = []
    for name, value in tree.items():
        update = yield from update_config(name, value, keep_identity=not include_identity)
        if update.written:
            written.append(name)
    return written


# The values some firmware sends for a config it does not have (compared, never changed).
_NO_CONFIG_VALUES: Final = ([None], [""], {"": [""]})


def _config_value(name: str, reply: Reply) -> Any:
    """The value under `name` in a config reply. The unsupported-config replies some firmware
    sends instead of Ret 607 (no member, `null`, `[null]`, `{"": [""]}`, as the whole body or
    as the value) raise ConfigNotFoundError too (docs/protocol.md §4)."""
    value = reply.body.get(name)
    if value is None or value in _NO_CONFIG_VALUES:
        raise ConfigNotFoundError(
            Ret.CONFIG_NOT_FOUND,
            message_id=reply.request_id,
            context=f"(the device sent no value for {name!r})",
        )
    return value


# ------------------------------------------------------------------ alarm outputs

ALARM_OUT_TYPES: Final[Mapping[str, str]] = {"on": "MANUAL", "off": "CLOSE", "auto": "AUTO"}
_ALARM_OUT_MODES: Final = {device: mode for mode, device in ALARM_OUT_TYPES.items()}
_ALARM_OUT: Final = "Alarm.AlarmOut"


def alarm_outputs() -> Procedure[list[models.AlarmOutput]]:
    outputs = yield from _alarm_out_list()
    return [
        models.AlarmOutput(
            channel=channel,
            mode=_ALARM_OUT_MODES.get(_text(item.get("AlarmOutType")), "unknown"),
            status=_text_or_none(item.get("AlarmOutStatus")),
        )
        for channel, item in enumerate(outputs)
    ]


def set_alarm_out(mode: str, channel: int | None = None) -> Procedure[None]:
    """Switch one alarm output (or all, for None) on, off or to automatic.

    Reads the outputs first to learn how many there are and to write the others back
    unchanged. A written output gets AlarmOutStatus "OPEN", as the seed's client sends."""
    if mode not in ALARM_OUT_TYPES:
        raise ValueError(f"alarm-out mode must be one of {sorted(ALARM_OUT_TYPES)}, not {mode!r}")
    outputs = yield from _alarm_out_list()
    if channel is not None and not 0 <= channel < len(outputs):
        raise ValueError(f"the device has {len(outputs)} alarm output(s); no channel {channel}")
    wanted = {"AlarmOutStatus": "OPEN", "AlarmOutType": ALARM_OUT_TYPES[mode]}
    written = [
        dict(wanted) if channel in (None, index) else item for index, item in enumerate(outputs)
    ]
    yield from set_config(_ALARM_OUT, written)


def _alarm_out_list() -> Generator[Call, Reply | None, list[dict[str, Any]]]:
    value = yield from get_config(_ALARM_OUT)
    items = value if isinstance(value, list) else [value]
    return [item if isinstance(item, dict) else {} for item in items]


# ------------------------------------------------------------------ time

Clock = Callable[[], datetime]


def get_time() -> Procedure[datetime]:
    reply = yield from ask(MessageId.TIMEQUERY_REQ, {"Name": "OPTimeQuery"})
    return _device_time(reply.body.get("OPTimeQuery"))


_HALF_SECOND: Final = timedelta(milliseconds=500)


def set_time(when: datetime) -> Procedure[None]:
    """Set the device's clock to `when`, written as local wall time (the device keeps no
    zone; an aware `when` is converted to this host's local time first)."""
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    # The device takes whole seconds: round, so the clock set is off by half a second at
    # most instead of up to a whole one behind.
    text = format_device_time(when + _HALF_SECOND)
    yield from ask(MessageId.SYSMANAGER_REQ, {"Name": "OPTimeSetting", "OPTimeSetting": text})


def time_skew(clock: Clock) -> Procedure[float]:
    """Device time minus host time, in seconds, from one quick reading (`measure_time_skew()`
    is the steadier plan the cameras use). The host time is taken halfway through the
    exchange, so the round trip does not count as skew; the device reports whole seconds
    (its clock is somewhere in that second), so the middle of its second is taken: a device
    in step with the host reads about 0, not about -0.5. One reading cannot tell more than
    that: the result is within half a second (and half the round trip) of the true skew."""
    skew, _ = yield from _timed_reading(clock)
    return skew


def _timed_reading(clock: Clock) -> Procedure[tuple[float, float]]:
    """One reading of the device's clock: the skew as `time_skew()` says, and the round
    trip it took, in seconds."""
    before = clock()
    device = yield from get_time()
    after = clock()
    host = before + (after - before) / 2
    skew = (device + _HALF_SECOND - host.replace(tzinfo=None)) / timedelta(seconds=1)
    return skew, (after - before) / timedelta(seconds=1)


def measure_time_skew(clock: Clock) -> Plan[float]:
    """Device time minus host time, in seconds, read so that the same clock always reads
    the same: a first reading learns the round trip, the second is aimed to reach the
    device in the middle of a second of the host's clock. A device whose clock is in step
    with the host's (as `sync_time()` leaves it) then reads about 0 every time, instead of
    anything from -0.5 to +0.5 as a reading at a random moment does; a clock off by a whole
    number of seconds reads that number. Takes up to a second longer than `time_skew()`."""
    skew, _ = yield from _aimed_reading(clock)
    return skew


def _aimed_reading(clock: Clock) -> Plan[tuple[float, float]]:
    _, round_trip = yield Run(_timed_reading(clock))
    yield Pause(_wait_for_phase(clock(), 0.5, round_trip))
    reading: tuple[float, float] = yield Run(_timed_reading(clock))
    return reading


def _wait_for_phase(now: datetime, phase: float, round_trip: float) -> float:
    """Seconds to wait from `now` so that a request sent then reaches the device (half the
    round trip later) at `phase` (0 to 1) into a second of the host's clock."""
    arrival = now.microsecond / 1_000_000 + round_trip / 2
    return (phase - arrival) % 1.0


_SYNC_TRIES: Final = 3
_SYNC_SLACK: Final = timedelta(milliseconds=50)


def sync_time(clock: Clock) -> Plan[float]:
    """Set the device's clock to the host's; return the skew found before
    (`measure_time_skew()`).

    The device keeps whole seconds, and a set starts its new second when it arrives (the
    simulator does the same, `xmcam.sim.state`). So the set is aimed at a second boundary of
    the host's clock: wait until half a round trip before the next whole second, then send
    that second; the device's clock then ticks with the host's, off by the error in the
    round trip's estimate (milliseconds), not by up to a second as a set of the rounded
    current time is (docs/protocol.md, "Time"). A pause that ends late (a busy host) aims
    at the next second, a few times; after that the nearest whole second is sent."""
    skew, round_trip = yield from _aimed_reading(clock)
    half_trip = timedelta(seconds=round_trip / 2)
    for _ in range(_SYNC_TRIES):
        now = clock()
        wait = _wait_for_phase(now, 0.0, round_trip)
        target = _whole_second(now + timedelta(seconds=wait) + half_trip)
        yield Pause(wait)
        if abs(clock() + half_trip - target) <= _SYNC_SLACK:
            break
    else:
        target = _whole_second(clock() + half_trip)
    yield Run(_set_whole_second(target))
    return skew


def _whole_second(when: datetime) -> datetime:
    """`when` rounded to the nearest whole second."""
    return (when + _HALF_SECOND).replace(microsecond=0)


def _set_whole_second(when: datetime) -> Procedure[None]:
    text = format_device_time(when.replace(tzinfo=None))
    yield from ask(MessageId.SYSMANAGER_REQ, {"Name": "OPTimeSetting", "OPTimeSetting": text})


def _device_time(value: object) -> datetime:
    when = parse_device_time(value)
    if when is None:
        raise PayloadError(f"the device's time is unreadable: {str(value)[:40]!r}")
    return when


# ------------------------------------------------------------------ users and groups


def authorities() -> Procedure[list[str]]:
    reply = yield from ask(MessageId.FULLAUTHORITYLIST_GET_REQ, {"Name": ""})
    return [item for item in _list(reply.body.get("AuthorityList")) if isinstance(item, str)]


def users() -> Procedure[list[models.User]]:
    reply = yield from ask(MessageId.USERS_GET_REQ, {"Name": ""})
    return [
        models.User(
            name=_text(item.get("Name")),
            group=_text(item.get("Group")),
            authorities=_strings(item.get("AuthorityList")),
            memo=_text(item.get("Memo")),
            reserved=item.get("Reserved") is True,
            sharable=item.get("Sharable") is True,
        )
        for item in _list(reply.body.get("Users"))
        if isinstance(item, dict)
    ]


def groups() -> Procedure[list[models.Group]]:
    reply = yield from ask(MessageId.GROUPS_GET_REQ, {"Name": ""})
    return [_group(item) for item in _list(reply.body.get("Groups")) if isinstance(item, dict)]


def _group(item: Mapping[str, Any]) -> models.Group:
    return models.Group(
        name=_text(item.get("Name")),
        authorities=_strings(item.get("AuthorityList")),
        memo=_text(item.get("Memo")),
    )


def add_user(
    name: str,
    password: str,
    group: str = "user",
    *,
    authorities: Sequence[str] | None = None,
    memo: str = "",
) -> Procedure[None]:
    """Add a user. Without `authorities` the user gets its group's."""
    if authorities is None:
        found = [item for item in (yield from groups()) if item.name == group]
        authorities = found[0].authorities if found else ()
    user = {
        "AuthorityList": list(authorities),
        "Group": group,
        "Memo": memo,
        "Name": name,
        "Password": sofia_hash(password),
        "Reserved": False,
        "Sharable": True,
    }
    yield from ask(MessageId.ADDUSER_REQ, {"Name": "User", "User": user})


def remove_user(name: str) -> Procedure[None]:
    yield from ask(MessageId.DELETEUSER_REQ, {"Name": name})


def change_password(user: str, old: str, new: str) -> Procedure[None]:
    """Passwords cross as Sofia hashes (docs/protocol.md §17)."""
    body = {
        "EncryptType": "MD5",
        "NewPassWord": sofia_hash(new),
        "PassWord": sofia_hash(old),
        "UserName": user,
    }
    yield from ask(MessageId.MODIFYPASSWORD_REQ, body)


# ------------------------------------------------------------------ channel titles


def channel_titles() -> Procedure[list[str]]:
    reply = yield from ask(MessageId.CONFIG_CHANNELTITLE_GET_REQ, {"Name": "ChannelTitle"})
    return [_text(item) for item in _list(reply.body.get("ChannelTitle"))]


def set_channel_titles(titles: Sequence[str]) -> Procedure[None]:
    body = {"Name": "ChannelTitle", "ChannelTitle": list(titles)}
    yield from ask(MessageId.CONFIG_CHANNELTITLE_SET_REQ, body)


# ------------------------------------------------------------------ PTZ and network alarm

PTZ_COMMANDS: Final[Mapping[str, str]] = {
    "up": "DirectionUp",
    "down": "DirectionDown",
    "left": "DirectionLeft",
    "right": "DirectionRight",
    "left-up": "DirectionLeftUp",
    "left-down": "DirectionLeftDown",
    "right-up": "DirectionRightUp",
    "right-down": "DirectionRightDown",
    "zoom-in": "ZoomTile",  # sic: the protocol's name for zooming in
    "zoom-out": "ZoomWide",
    "focus-near": "FocusNear",
    "focus-far": "FocusFar",
    "iris-small": "IrisSmall",
    "iris-large": "IrisLarge",
}
"""Friendly names of the continuous PTZ moves; the protocol's own names work too."""

_PTZ_START_PRESET: Final = 65535  # some firmware ignores a move without it (docs/protocol.md §12.1)
_PTZ_STOP_PRESET: Final = -1


def ptz_move(command: str, *, channel: int = 0, speed: int = 5) -> tuple[Call, Call]:
    """The start and the stop of a continuous move, as two calls (`ptz()` sends them)."""
    name = PTZ_COMMANDS.get(command, command)
    if name not in PTZ_COMMANDS.values():
        raise ValueError(f"unknown PTZ command {command!r}; try one of {sorted(PTZ_COMMANDS)}")
    if not 1 <= speed <= 10:
        raise ValueError(f"PTZ speed must be 1 to 10, not {speed}")
    start = _ptz_body(name, channel, speed, preset=_PTZ_START_PRESET, pattern="SetBegin")
    stop = _ptz_body(name, channel, speed, preset=_PTZ_STOP_PRESET, pattern="Stop")
    return Call(MessageId.PTZ_REQ, start), Call(MessageId.PTZ_REQ, stop)


def ptz(command: str, *, channel: int = 0, speed: int = 5, duration: float = 0.5) -> Plan[None]:
    """Move for `duration` seconds, then stop. The stop is sent on every way out (an error,
    Ctrl-C, a cancelled caller), shielded from a cancel, and once more if it fails; a failed
    start is never retried. The arguments are checked before anything is sent."""
    start, stop = ptz_move(command, channel=channel, speed=speed)
    try:
        yield Run(perform(start))
        yield Pause(duration)
    except GeneratorExit:
        raise  # closed without being driven to its end: nothing can be sent any more
    except BaseException:
        yield Shielded(_ptz_stop(stop))
        raise
    yield Shielded(_ptz_stop(stop))


def _ptz_stop(stop: Call) -> Plan[None]:
    try:
        yield Run(perform(stop))
    except AuthenticationError:
        raise  # the stop's new login was refused: another try would count towards a lockout
    except XMCamError as error:
        # INFO, not WARNING: a retry that fails ends as the command's own error line, and
        # one that works needs no alarm (-v shows it).
        _log.info("PTZ stop failed (%s); sending it once more", error)
        yield Run(perform(stop))


_PTZ_PRESET_COMMANDS: Final = {"set": "SetPreset", "goto": "GotoPreset", "clear": "ClearPreset"}
_PTZ_TOUR_COMMANDS: Final = {"start": "StartTour", "stop": "StopTour"}


def ptz_preset(action: str, number: int, *, channel: int = 0) -> Procedure[None]:
    command = _choice(action, _PTZ_PRESET_COMMANDS, "preset action")
    body = _ptz_body(command, channel, 5, preset=number, pattern="SetBegin")
    yield from ask(MessageId.PTZ_REQ, body)


def ptz_tour(action: str, tour: int = 0, *, channel: int = 0) -> Procedure[None]:
    command = _choice(action, _PTZ_TOUR_COMMANDS, "tour action")
    body = _ptz_body(command, channel, 5, preset=_PTZ_START_PRESET, pattern="SetBegin", tour=tour)
    yield from ask(MessageId.PTZ_REQ, body)


def _ptz_body(
    command: str, channel: int, speed: int, *, preset: int, pattern: str, tour: int = 0
) -> dict[str, Any]:
    parameter = {
        "AUX": {"Number": 0, "Status": "On"},
        "Channel": channel,
        "MenuOpts": "Enter",
        "POINT": {"bottom": 0, "left": 0, "right": 0, "top": 0},
        "Pattern": pattern,
        "Preset": preset,
        "Step": speed,
        "Tour": tour,
    }
    return {"Name": "OPPTZControl", "OPPTZControl": {"Command": command, "Parameter": parameter}}


def net_alarm(state: int) -> Procedure[None]:
    """Set the network alarm input: `state` is a bit mask, bit 0 the first channel."""
    body = {"Name": "OPNetAlarm", "OPNetAlarm": {"Event": 0, "State": state}}
    yield from ask(MessageId.NET_ALARM_REQ, body)


# ------------------------------------------------------------------ lenient readers


def _choice(value: str, choices: Mapping[str, str], what: str) -> str:
    if value not in choices:
        raise ValueError(f"{what} must be one of {sorted(choices)}, not {value!r}")
    return choices[value]


def _mapping(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"the reply's {name} is not an object")
    return value


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: object) -> tuple[str, ...]:
    return tuple(item for item in _list(value) if isinstance(item, str))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
