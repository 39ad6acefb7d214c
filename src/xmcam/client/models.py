"""The typed results of the client's methods: small frozen dataclasses.

Each model keeps the fields most callers want under readable names; the few that carry a
`raw` member also keep the device's whole object, because firmware adds fields freely and a
caller may need one we did not name. No model ever holds a password or a password hash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from xmcam.protocol.fields import lenient_int

__all__ = [
    "AlarmEvent",
    "AlarmOutput",
    "ConfigChange",
    "ConfigProbe",
    "ConfigUpdate",
    "ConnectionEvent",
    "Disk",
    "Group",
    "LoginInfo",
    "Partition",
    "RecordFile",
    "StreamStats",
    "SystemInfo",
    "User",
    "WorkState",
]

AlarmOutMode = Literal["on", "off", "auto"]


@dataclass(frozen=True, slots=True)
class LoginInfo:
    """What the login reply told us about the session and the device."""

    session_id: int
    alive_interval: int
    channel_count: int | None
    device_type: str | None
    encrypted: bool = False
    """The session is the encrypted FunSDK one (newer firmware)."""


@dataclass(frozen=True, slots=True, init=False)
class SystemInfo:
    """The device's identity (1020 SystemInfo). Missing or unreadable fields are None.

    The one a camera returns (`from_device()`) reads each field from `raw` when it is first
    used, leniently, and keeps it: a caller who wants the serial number does not pay for
    reading nine other fields. Equality, hashing, `repr()`, `dataclasses.asdict()`, copies
    and pickles read every field, so such an object is in every way the one its fields
    would build. `raw` is the reply's own object: change a copy of it, not it."""

    model: str | None
    firmware: str | None
    serial: str | None
    build_time: str | None
    hardware_version: str | None
    channels: int | None
    alarm_in: int | None
    alarm_out: int | None
    uptime_minutes: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    def __init__(  # noqa: PLR0917  (positional, as the dataclass's own __init__ was)
        self,
        model: str | None,
        firmware: str | None,
        serial: str | None,
        build_time: str | None,
        hardware_version: str | None,
        channels: int | None,
        alarm_in: int | None,
        alarm_out: int | None,
        uptime_minutes: int | None,
        raw: dict[str, Any],
    ) -> None:
        # The __init__ a frozen dataclass generates sets each field through
        # object.__setattr__; the fields' slot setters do the same work for half the cost.
        _set_model(self, model)
        _set_firmware(self, firmware)
        _set_serial(self, serial)
        _set_build_time(self, build_time)
        _set_hardware_version(self, hardware_version)
        _set_channels(self, channels)
        _set_alarm_in(self, alarm_in)
        _set_alarm_out(self, alarm_out)
        _set_uptime_minutes(self, uptime_minutes)
        _set_raw(self, raw)

    @classmethod
    def from_device(cls, raw: dict[str, Any]) -> SystemInfo:
        """The SystemInfo of the device's object (a 1020 reply's "SystemInfo" member), each
        field read from it on first use. Made for every SystemInfo request, most of whose
        callers read a field or two: reading all ten here was a tenth of the request's
        Python work (bench/client_vs_python_dvr.py)."""
        info: SystemInfo = _new_object(cls)
        _set_raw(info, raw)
        return info

    if not TYPE_CHECKING:  # mypy would take any attribute name for a field

        def __getattr__(self, name: str) -> Any:
            # Only reached when the attribute is not there: a field of `from_device()` not
            # read yet (a slot with no value), or a name that is no field.
            read = _FIELD_READERS.get(name)
            if read is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            value = read(self.raw)
            _FIELD_SETTERS[name](self, value)
            return value


def _text_field(key: str) -> Callable[[dict[str, Any]], str | None]:
    def read(raw: dict[str, Any]) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) else None

    return read


def _count_field(key: str) -> Callable[[dict[str, Any]], int | None]:
    def read(raw: dict[str, Any]) -> int | None:
        value = raw.get(key)
        return value if type(value) is int else lenient_int(value)

    return read


_read_video_inputs: Final = _count_field("VideoInChannel")
_read_digital_channels: Final = _count_field("DigChannel")


def _channel_count(raw: dict[str, Any]) -> int | None:
    """Analogue inputs plus digital channels: a camera counts its sensor in VideoInChannel,
    a network recorder its cameras in DigChannel (0 video inputs), a hybrid both."""
    video_in = _read_video_inputs(raw)
    digital = _read_digital_channels(raw)
    if video_in is None:
        return digital
    return video_in if digital is None else video_in + digital


# How each SystemInfo field is read from the device's object.
_FIELD_READERS: Final[dict[str, Callable[[dict[str, Any]], object]]] = {
    "model": _text_field("HardWare"),
    "firmware": _text_field("SoftWareVersion"),
    "serial": _text_field("SerialNo"),
    "build_time": _text_field("BuildTime"),
    "hardware_version": _text_field("HardWareVersion"),
    "channels": _channel_count,
    "alarm_in": _count_field("AlarmInChannel"),
    "alarm_out": _count_field("AlarmOutChannel"),
    "uptime_minutes": _count_field("DeviceRunTime"),
}
_new_object: Final[Callable[[type[SystemInfo]], SystemInfo]] = object.__new__
# The slot setters of SystemInfo's fields.
_FIELD_SETTERS: Final[dict[str, Callable[[SystemInfo, Any], None]]] = {
    name: vars(SystemInfo)[name].__set__ for name in (*_FIELD_READERS, "raw")
}
_set_model: Final = _FIELD_SETTERS["model"]
_set_firmware: Final = _FIELD_SETTERS["firmware"]
_set_serial: Final = _FIELD_SETTERS["serial"]
_set_build_time: Final = _FIELD_SETTERS["build_time"]
_set_hardware_version: Final = _FIELD_SETTERS["hardware_version"]
_set_channels: Final = _FIELD_SETTERS["channels"]
_set_alarm_in: Final = _FIELD_SETTERS["alarm_in"]
_set_alarm_out: Final = _FIELD_SETTERS["alarm_out"]
_set_uptime_minutes: Final = _FIELD_SETTERS["uptime_minutes"]
_set_raw: Final = _FIELD_SETTERS["raw"]


@dataclass(frozen=True, slots=True)
class Partition:
    """One partition of a disk; sizes in MiB."""

    total_mb: int | None
    remaining_mb: int | None
    status: int | None
    driver_type: int | None


@dataclass(frozen=True, slots=True)
class Disk:
    """One disk or SD card (1020 StorageInfo)."""

    number: int | None
    partitions: tuple[Partition, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def total_mb(self) -> int:
        return sum(part.total_mb or 0 for part in self.partitions)

    @property
    def remaining_mb(self) -> int:
        return sum(part.remaining_mb or 0 for part in self.partitions)


@dataclass(frozen=True, slots=True)
class WorkState:
    """What the device is doing (1020 WorkState): per-channel alarm states and recording.

    The alarm members are the device's bit masks (bit n = channel n), 0 when absent."""

    alarm_in: int
    alarm_out: int
    video_blind: int
    video_loss: int
    video_motion: int
    recording: tuple[bool, ...]
    bitrates_kbps: tuple[int, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """An alarm the device pushed (1504): `event` such as "VideoMotion", `status` "Start",
    "Stop" or "None", `start_time` as the device wrote it (device-local, no zone)."""

    channel: int | None
    event: str
    status: str
    start_time: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class AlarmOutput:
    """One alarm output (relay, siren or light): `mode` "on" (manual), "off" (closed) or
    "auto" (driven by alarms); `status` is the device's AlarmOutStatus as read."""

    channel: int
    mode: str
    status: str | None


@dataclass(frozen=True, slots=True)
class User:
    """A user account (1472). Never holds the password hash the device sends with it."""

    name: str
    group: str
    authorities: tuple[str, ...]
    memo: str
    reserved: bool
    sharable: bool


@dataclass(frozen=True, slots=True)
class Group:
    """A user group (1474)."""

    name: str
    authorities: tuple[str, ...]
    memo: str


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One member that differs between the device's config value and the one to write.
    `path` is its place (member names, and indexes into arrays; empty for the whole value);
    `kind` "changed", "added" (`old` None) or "removed" (`new` None)."""

    path: tuple[str | int, ...]
    old: Any
    new: Any
    kind: Literal["changed", "added", "removed"] = "changed"


@dataclass(frozen=True, slots=True)
class ConfigUpdate:
    """A config write as `update_config` made it (or, with `dry_run`, would make it): the
    device's value before (`old`), the value written (`new`), what differs, the identity
    members kept at the device's values, and whether it was written (never when nothing
    changed)."""

    name: str
    old: Any = field(repr=False)
    new: Any = field(repr=False)
    changes: tuple[ConfigChange, ...]
    identity_kept: tuple[str, ...]
    written: bool

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True, slots=True)
class ConfigProbe:
    """What a device answered when every chosen config name was asked for: `values` of the
    names it has (in the order asked), `refused` the others with the Ret code of the refusal
    (607 also for the empty replies some firmware sends instead), the requests it took
    (SystemInfo for the channel counts included), and the counts names were expanded with."""

    values: dict[str, Any] = field(repr=False)
    refused: dict[str, int]
    requests: int
    video_channels: int
    alarm_inputs: int

    @property
    def names(self) -> list[str]:
        """The names the device has, in the order asked."""
        return list(self.values)

    @property
    def probed(self) -> int:
        """How many names were asked for."""
        return len(self.values) + len(self.refused)


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """A gap in a watched connection: "disconnected" (with the error that ended it) and
    "reconnected" (logged in and subscribed again; alarms in between may be lost)."""

    kind: Literal["disconnected", "reconnected"]
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class RecordFile:
    """One recording on the device's disk (1440 OPFileQuery). `begin` and `end` are
    device-local times (no zone); `size` is in bytes, from the device's FileLength, which
    counts KiB; `kind` is "video" or "picture"; `disk` and `serial` are DiskNo and SerialNo.
    Pass it to `download()` as it is."""

    name: str
    channel: int
    begin: datetime
    end: datetime
    size: int
    disk: int
    serial: int
    kind: str
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class StreamStats:
    """A live stream's counters so far. `frames` and `bytes` count what arrived (whole frames,
    and media bytes); `dropped_frames` the frames never handed out: before the first
    keyframe, and while a slow consumer let the queue overflow (dropped up to the next
    keyframe); `dropped_bytes` the bytes the demuxer skipped as unreadable;
    `service_blocks` the 4K streams' non-video FD frames it left out."""

    frames: int
    bytes: int
    dropped_frames: int
    dropped_bytes: int
    service_blocks: int
