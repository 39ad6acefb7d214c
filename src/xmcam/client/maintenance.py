"""The device's log, its disks and its factory defaults, without I/O: the procedures behind
`logs()`, `clear_log()`, `format_storage()`, `restore_defaults()` and `rename_channel()` of
both clients (see `xmcam.client.operations` for how a procedure is driven).

Theory of operation. The log (OPLogQuery 1442) comes in pages: the device answers up to a
page of entries from the `LogPosition` asked for, and the next page is asked from the last
entry's `Position` + 1 until the list is null or empty (docs/protocol.md §16). The vendor's
app asks again from the last Position itself and gets that entry twice; asking from the one
after it loses nothing and repeats nothing. Every entry is checked: one whose Position does
not move forward ends the paging, so a device that answers the same page forever cannot hold
the client (at most `MAX_LOG_PAGES` pages are asked for in any case).

A format (OPStorageManager 1460 `Clear`) goes partition by partition, as the vendor's app does
it, with `Type` `Data` (docs/protocol.md §13). Factory defaults (1450 OPDefaultConfig) name
every section, true for those to reset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from xmcam.client.operations import Procedure, abilities, ask, channel_titles, storage_info
from xmcam.errors import DeviceError
from xmcam.protocol.codes import MessageId
from xmcam.protocol.fields import format_device_time, lenient_int, parse_device_time

__all__ = [
    "ABILITY_NAMES",
    "DEFAULT_SECTIONS",
    "LOG_KINDS",
    "MAX_LOG_PAGES",
    "FormattedPartition",
    "LogEntry",
    "all_abilities",
    "clear_log",
    "format_storage",
    "log_page",
    "logs",
    "rename_channel",
    "restore_defaults",
]

LOG_KINDS: Final = ("All", "Config", "Data", "Alarm", "Record", "Account", "FileAccess")
"""The log's kinds a query may ask for ([CFG] 10.13); sent as `LogAll`, `LogConfig`, ..."""

DEFAULT_SECTIONS: Final = (
    "Account",
    "Alarm",
    "CommPtz",
    "Encode",
    "General",
    "NetCommon",
    "NetServer",
    "Preview",
    "Record",
)
"""OPDefaultConfig's sections ([DOC], [CFG] 10.3), in the order devices write them."""

ABILITY_NAMES: Final = (
    "SystemFunction",
    "EncodeCapability",
    "Encode264ability",
    "BlindCapability",
    "MotionArea",
    "Camera",
    "TalkAudioFormat",
    "DDNSService",
    "ComProtocol",
    "PTZProtocol",
    "UartProtocol",
    "MultiLanguage",
    "MultiVstd",
    "SupportExtRecord",
    "DimenCode",
    "QuestionDelivery",
)
"""The ability names (1360) clients ask for: [DOC] 5.4 and those an XM530 answered ([BES]
command_codes/payloads/1361_*). A device has no request that lists its own."""

MAX_LOG_PAGES: Final = 4096
"""Pages one `logs()` asks for at most: a log holds about a thousand entries (an XM530 kept
1023, 128 a page), so only a device that never ends its list gets near this."""

# Devices keep their clock in a 32-bit time_t; a window past 2037 is refused by some.
_LOG_BEGIN: Final = datetime(2000, 1, 1)
_LOG_END: Final = datetime(2037, 12, 31, 23, 59, 59)
_LOG_QUERY: Final = "OPLogQuery"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One entry of the device's log (OPLogQuery): `{"Data": "admin,DVRIP-Web:192.168.0.5",
    "Position": 922, "Time": "2026-03-22 19:31:22", "Type": "LogIn", "User": "admin"}`.
    `time` is device-local, None when the device wrote no readable time."""

    position: int
    time: datetime | None
    kind: str
    user: str
    data: str
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class FormattedPartition:
    """A partition a format erased: its disk (`PlysicalNo`) and its number on the disk."""

    disk: int
    partition: int


def _kind(kind: str) -> str:
    if kind not in LOG_KINDS:
        raise ValueError(f"log kind must be one of {', '.join(LOG_KINDS)}, not {kind!r}")
    return f"Log{kind}"


def log_page(
    position: int = 0,
    *,
    begin: datetime | None = None,
    end: datetime | None = None,
    kind: str = "All",
) -> Procedure[list[LogEntry]]:
    """One page of the log from `position` on (empty past the last entry)."""
    query = {
        "BeginTime": format_device_time(begin or _LOG_BEGIN),
        "EndTime": format_device_time(end or _LOG_END),
        "LogPosition": position,
        "Type": _kind(kind),
    }
    reply = yield from ask(MessageId.LOGSEARCH_REQ, {"Name": _LOG_QUERY, _LOG_QUERY: query})
    # Real devices list the entries under OPLogQuery ([ASH]); [DOC] calls the list LogList.
    items = reply.body.get(_LOG_QUERY)
    if items is None:
        items = reply.body.get("LogList")
    return [entry for entry in map(_entry, items if isinstance(items, list) else []) if entry]


def _entry(item: object) -> LogEntry | None:
    if not isinstance(item, dict):
        return None
    position = lenient_int(item.get("Position"), minimum=0)
    if position is None:
        return None
    return LogEntry(
        position=position,
        time=parse_device_time(item.get("Time")),
        kind=_text(item.get("Type")),
        user=_text(item.get("User")),
        data=_text(item.get("Data")),
        raw=item,
    )


def logs(
    *,
    begin: datetime | None = None,
    end: datetime | None = None,
    kind: str = "All",
    position: int = 0,
) -> Procedure[list[LogEntry]]:
    """Every entry from `position` on, page after page (next = last Position + 1), in the
    device's order, none twice."""
    found: list[LogEntry] = []
    for _ in range(MAX_LOG_PAGES):
        page = yield from log_page(position, begin=begin, end=end, kind=kind)
        fresh = [entry for entry in page if entry.position >= position]
        if not fresh:
            break
        for entry in fresh:
            if entry.position >= position:  # in order: anything else was seen already
                found.append(entry)
                position = entry.position + 1
    return found


def all_abilities(names: Iterable[str] | None = None) -> Procedure[dict[str, Any]]:
    """Every ability of `names` (default `ABILITY_NAMES`) the device answers, by name; the
    names it refuses (607, or any other failure Ret) are left out."""
    found: dict[str, Any] = {}
    for name in ABILITY_NAMES if names is None else names:
        try:
            found[name] = yield from abilities(name)
        except DeviceError:
            continue
    return found


def clear_log() -> Procedure[None]:
    """Erase the device's log (OPLogManager RemoveAll, docs/protocol.md §13)."""
    body = {"Name": "OPLogManager", "OPLogManager": {"Action": "RemoveAll"}}
    yield from ask(MessageId.SYSMANAGER_REQ, body)


def format_storage(disk: int | None = None) -> Procedure[list[FormattedPartition]]:
    """Format every partition of `disk` (its PlysicalNo; None: every disk): every recording
    on it is erased. ValueError when the device has no such disk."""
    disks = yield from storage_info()
    targets: list[FormattedPartition] = []
    for index, item in enumerate(disks):
        number = item.number if item.number is not None else index
        if disk is None or number == disk:
            targets.extend(FormattedPartition(number, part) for part in range(len(item.partitions)))
    if disk is not None and not targets:
        known = ", ".join(str(item.number) for item in disks) or "none"
        raise ValueError(f"the device has no disk {disk} (its disks: {known})")
    for target in targets:
        operation = {
            "Action": "Clear",
            "PartNo": target.partition,
            "SerialNo": target.disk,
            "Type": "Data",
        }
        yield from ask(
            MessageId.DISKMANAGER_REQ, {"Name": "OPStorageManager", "OPStorageManager": operation}
        )
    return targets


def restore_defaults(sections: Iterable[str]) -> Procedure[int | None]:
    """Reset the chosen sections (`DEFAULT_SECTIONS`) to the factory's values; the Ret the
    device answered (603 or 150 on firmware that wants a restart for it)."""
    chosen = set(sections)
    unknown = chosen - set(DEFAULT_SECTIONS)
    if unknown or not chosen:
        names = ", ".join(sorted(unknown)) or "none"
        raise ValueError(f"sections must be among {', '.join(DEFAULT_SECTIONS)} (got {names})")
    value = {section: section in chosen for section in DEFAULT_SECTIONS}
    body = {"Name": "OPDefaultConfig", "OPDefaultConfig": value}
    reply = yield from ask(MessageId.SYSMANAGER_REQ, body)
    return reply.ret


def rename_channel(channel: int, title: str) -> Procedure[list[str]]:
    """Give one channel a new title (the device takes the whole list, 1046: the others are
    sent back as they were read, 1048); the titles as written."""
    titles = yield from channel_titles()
    if not 0 <= channel < len(titles):
        raise ValueError(f"the device has channels 0 to {len(titles) - 1}, not {channel}")
    titles[channel] = title
    body = {"Name": "ChannelTitle", "ChannelTitle": titles}
    yield from ask(MessageId.CONFIG_CHANNELTITLE_SET_REQ, body)
    return titles


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
