"""The device's maintenance requests, sans I/O: its log (OPLogQuery 1442), the storage manager
(OPStorageManager 1460), upgrade information (1525) and the version list (2000), answered as
a real XM530 camera answers them ([BES] command_codes/payloads/, docs/protocol.md §13, §16, §18).

Theory of operation. The device keeps a log (`DeviceLog`): a numbered list of entries, the
oldest dropped past `MAX_LOG_ENTRIES` as the camera's own log wraps (its pages start at
Position 32 after a thousand entries). The connection writes entries as things happen
(logins and logouts; `record_request` for the requests that change the device: a config
saved, the clock set, a user added or removed, a password changed, a reboot, a disk's type
set), in the camera's words: `{"Data": "admin,DVRIP-Web:192.168.0.105", "Position": 922,
"Time": "2026-03-22 19:31:22", "Type": "LogIn", "User": "admin"}`. OPLogQuery answers pages
of `LOG_PAGE` entries from the `LogPosition` asked for, as the camera pages (the vendor's app
asks again from the last Position it got, so one entry comes twice); past the last entry the
list is null ([ASH]).

OPStorageManager sets a partition's type (`SetType`, Ret 100 as captured) and formats it
(`Clear`: its recordings are gone when the answer comes; the format is done by then, no
source shows a device reporting its progress on the wire), and takes `Recover` and
`Partition`. Upgrade information (1525) names the hardware, vendor `General`; the version
list (2000) is refused with Ret 514, as the XM530 refuses it.
"""

from __future__ import annotations

import copy
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from xmcam.protocol import Body, MessageId, Request, Ret, format_device_time
from xmcam.sim.context import RequestContext
from xmcam.sim.recordings import query_time

__all__ = [
    "LOG_PAGE",
    "MAINTENANCE_IDS",
    "MAX_LOG_ENTRIES",
    "DeviceLog",
    "LogEntry",
    "handle_maintenance",
    "is_maintenance",
    "record_alarm",
    "record_login",
    "record_request",
    "storage_info",
]

log = logging.getLogger("xmcam.sim")

MAINTENANCE_IDS: Final = frozenset(
    {
        MessageId.LOGSEARCH_REQ,
        MessageId.DISKMANAGER_REQ,
        MessageId.UPGRADE_INFO_REQ,
        MessageId.VERSION_LIST_REQ,
    }
)
LOG_PAGE: Final = 128
"""Entries in one OPLogQuery reply: the XM530's pages hold 128 (about 21 KB of JSON)."""
MAX_LOG_ENTRIES: Final = 1024
"""Entries the device keeps; older ones are dropped (the XM530 kept 1023)."""

# The log's Type filter: [CFG] 10.13 lists these kinds; clients send "LogAll".
_LOG_KINDS: Final[dict[str, frozenset[str]]] = {
    "Account": frozenset(
        {"LogIn", "LogOut", "Login", "Logout", "AddUser", "DeleteUser", "ModifyPassword"}
    ),
    "Config": frozenset({"SaveConfig", "RestoreConfig", "AccountRestore", "SetTime"}),
    "Data": frozenset({"SetDriverType"}),
    "Alarm": frozenset({"EventStart", "EventStop"}),
    "Record": frozenset(),
    "FileAccess": frozenset(),
    "System": frozenset({"Reboot", "ShutDown", "RecoverTime", "SaveSystemState", "NTP"}),
}
_ALL_KINDS: Final = ("LogAll", "All", "")
_STORAGE_TYPES: Final = frozenset({"ReadWrite", "ReadOnly", "Redundant", "Snapshot", "Data"})
_STORAGE_ACTIONS: Final = frozenset({"SetType", "Clear", "Recover", "Partition"})
_MAX_LOG_TEXT: Final = 128  # characters of Data or User kept per entry


@dataclass(frozen=True, slots=True)
class LogEntry:
    position: int
    time: datetime
    kind: str
    user: str
    data: str

    def as_json(self) -> dict[str, Any]:
        """The entry as the camera writes it (members in its order)."""
        return {
            "Data": self.data,
            "Position": self.position,
            "Time": format_device_time(self.time),
            "Type": self.kind,
            "User": self.user,
        }


class DeviceLog:
    """The device's log: numbered entries, stamped with the device's clock."""

    def __init__(self, clock: Callable[[], datetime], *, limit: int = MAX_LOG_ENTRIES) -> None:
        self._clock = clock
        self._entries: deque[LogEntry] = deque(maxlen=limit)
        self._next = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> list[LogEntry]:
        return list(self._entries)

    def now(self) -> datetime:
        return self._clock()

    def add(self, kind: str, user: str = "System", data: str = "") -> LogEntry:
        entry = LogEntry(
            self._next, self._clock(), kind, user[:_MAX_LOG_TEXT], data[:_MAX_LOG_TEXT]
        )
        self._next += 1
        self._entries.append(entry)
        return entry

    def clear(self) -> None:
        """Erase every entry (OPLogManager RemoveAll). Positions go on from where they
        were, so a client following the log by position misses nothing written later."""
        self._entries.clear()

    def page(
        self, position: int, begin: datetime, end: datetime, kinds: frozenset[str] | None
    ) -> list[LogEntry]:
        """At most one page of entries from `position` on, stamped within [begin, end], of
        the `kinds` asked for (None: every kind)."""
        found: list[LogEntry] = []
        for entry in self._entries:
            if entry.position < position or not begin <= entry.time <= end:
                continue
            if kinds is None or entry.kind in kinds:
                found.append(entry)
                if len(found) == LOG_PAGE:
                    break
        return found


# ---------------------------------------------------------------------- what the log records


def record_login(device_log: DeviceLog, kind: str, user: str, login_type: str, host: str) -> None:
    """A login or logout, as `admin,DVRIP-Web:192.168.0.105`."""
    device_log.add(kind, user, f"{user},{login_type or 'DVRIP-Web'}:{host}")


# The log's words for the alarm events of the wire (AlarmInfo Event): "MotionDetect,0"
# is a motion alarm on channel 0 (docs/protocol.md §16).
_ALARM_LOG_NAMES: Final = {
    "VideoMotion": "MotionDetect",
    "VideoBlind": "BlindDetect",
    "VideoLoss": "LossDetect",
    "LocalAlarm": "LocalAlarm",
    "LocalIO": "LocalAlarm",
}


def record_alarm(device_log: DeviceLog, channel: int, event: str, status: str) -> None:
    """An alarm starting or ending, as `EventStart` `MotionDetect,0`."""
    kind = "EventStart" if status == "Start" else "EventStop"
    device_log.add(kind, data=f"{_ALARM_LOG_NAMES.get(event, event)},{channel}")


def record_request(device_log: DeviceLog, request: Request, reply: dict[str, Any] | None) -> None:
    """Write what a request that succeeded changed, in the camera's words."""
    body = request.body
    if body is None or reply is None or reply.get("Ret") != Ret.OK:
        return
    message_id = request.message_id
    if message_id == MessageId.CONFIG_SET_REQ and body.name:
        # The last part of the name, as the camera writes it: General.Location -> Location.
        parts = [part for part in body.name.split(".") if not part.startswith("[")]
        device_log.add("SaveConfig", data=parts[-1] if parts else body.name)
    elif message_id == MessageId.SYSMANAGER_REQ:
        _record_operation(device_log, body)
    elif message_id in (MessageId.ADDUSER_REQ, MessageId.DELETEUSER_REQ):
        account = body.get("User")
        name = account.get("Name") if isinstance(account, dict) else body.name
        kind = "AddUser" if message_id == MessageId.ADDUSER_REQ else "DeleteUser"
        device_log.add(kind, str(name or ""))
    elif message_id == MessageId.MODIFYPASSWORD_REQ:
        device_log.add("ModifyPassword", data=str(body.get("UserName", "")))


def _record_operation(device_log: DeviceLog, body: Body) -> None:
    name = body.name or ""
    value = body.get(name)
    if name in ("OPTimeSetting", "OPTimeSettingNoRTC") and isinstance(value, str):
        device_log.add("SetTime", data=value)
    elif name == "OPMachine":
        device_log.add("ShutDown", data=format_device_time(device_log.now()))
    elif name == "OPDefaultConfig":
        device_log.add("RestoreConfig", data="Manual(netip)")


# ---------------------------------------------------------------------- the handlers


def is_maintenance(request: Request) -> bool:
    """Whether `handle_maintenance` answers the request: the ids above, and the log's
    manager (OPLogManager, which comes as a 1450 like the clock and the reboot)."""
    if request.message_id in MAINTENANCE_IDS:
        return True
    body = request.body
    return (
        request.message_id == MessageId.SYSMANAGER_REQ
        and body is not None
        and body.name == _LOG_MANAGER
    )


def handle_maintenance(
    context: RequestContext, request: Request, device_log: DeviceLog
) -> dict[str, Any]:
    """The reply to a maintenance request of a logged-in session."""
    body = request.body
    assert body is not None  # binary packets never reach the handlers
    message_id = request.message_id
    if message_id == MessageId.SYSMANAGER_REQ:
        return _log_manager(context, body, device_log)
    if message_id == MessageId.VERSION_LIST_REQ:
        return {"Name": "", "Ret": Ret.UPGRADE_FAILED}  # the XM530's answer
    if message_id == MessageId.UPGRADE_INFO_REQ:
        return _upgrade_info(context)
    authority = "QueryLog" if message_id == MessageId.LOGSEARCH_REQ else "StorageManager"
    if not _allowed(context, authority):
        return {"Name": body.name or "", "Ret": context.quirks.no_permission_ret}
    if message_id == MessageId.LOGSEARCH_REQ:
        return _log_query(body, device_log)
    return _storage_manager(context, body, device_log)


def _allowed(context: RequestContext, authority: str) -> bool:
    account = context.state.user(context.user or "")
    rights = account.get("AuthorityList") if account is not None else None
    return isinstance(rights, list) and authority in rights


def _upgrade_info(context: RequestContext) -> dict[str, Any]:
    info = context.profile.system_info
    upgrade = {
        "Hardware": str(info.get("HardWare", "")),
        "LogoArea": {"Begin": "", "End": ""},
        "Serial": "",
        "Vendor": "General",
    }
    return {"Name": "OPSystemUpgrade", "OPSystemUpgrade": upgrade, "Ret": Ret.OK}


_LOG_QUERY: Final = "OPLogQuery"
_LOG_MANAGER: Final = "OPLogManager"


def _log_manager(context: RequestContext, body: Body, device_log: DeviceLog) -> dict[str, Any]:
    """OPLogManager: RemoveAll erases the log ([CFG] 10.9; DelLog is the right it needs,
    [DOC] 5.13.1). LogOn and LogOff are taken and change nothing here."""
    if not _allowed(context, "DelLog"):
        return {"Name": "", "Ret": context.quirks.no_permission_ret}
    operation = body.get(_LOG_MANAGER)
    action = operation.get("Action") if isinstance(operation, dict) else None
    if action not in ("RemoveAll", "LogOn", "LogOff"):
        return {"Name": "", "Ret": Ret.ILLEGAL_REQUEST}
    if action == "RemoveAll":
        device_log.clear()
        log.info("the device log was cleared")
    return {"Name": "", "Ret": Ret.OK}


def _log_query(body: Body, device_log: DeviceLog) -> dict[str, Any]:
    query = body.get(_LOG_QUERY)
    if not isinstance(query, dict):
        return {"Name": _LOG_QUERY, "Ret": Ret.ILLEGAL_REQUEST}
    begin, end = query_time(query.get("BeginTime")), query_time(query.get("EndTime"))
    position, kind = query.get("LogPosition", 0), query.get("Type", "LogAll")
    if (
        begin is None
        or end is None
        or isinstance(position, bool)
        or not isinstance(position, int)
        or position < 0
        or not isinstance(kind, str)
    ):
        return {"Name": _LOG_QUERY, "Ret": Ret.ILLEGAL_REQUEST}
    kinds = None if kind in _ALL_KINDS else _LOG_KINDS.get(kind.removeprefix("Log"))
    entries = device_log.page(position, begin, end, kinds)
    listed = [entry.as_json() for entry in entries] if entries else None
    return {"Name": _LOG_QUERY, _LOG_QUERY: listed, "Ret": Ret.OK}


_STORAGE: Final = "OPStorageManager"


def _storage_manager(context: RequestContext, body: Body, device_log: DeviceLog) -> dict[str, Any]:
    operation = body.get(_STORAGE)
    if not isinstance(operation, dict):
        return {"Name": _STORAGE, "Ret": Ret.ILLEGAL_REQUEST}
    action, kind = operation.get("Action"), operation.get("Type", "ReadWrite")
    part, disk = operation.get("PartNo", 0), operation.get("SerialNo", 0)
    if (
        action not in _STORAGE_ACTIONS
        or not _is_partition(context.profile.storage, disk, part)
        or (action in ("SetType", "Clear") and kind not in _STORAGE_TYPES)
    ):
        return {"Name": _STORAGE, "Ret": Ret.ILLEGAL_REQUEST}
    if action == "SetType":
        device_log.add("SetDriverType", data=f"/mnt/idea{part},{kind}")
    elif action == "Clear":
        # Recordings name their disk by its place in StorageInfo (DiskNo 0 on an XM530
        # whose one SD card is PlysicalNo 1, [BES] 1021_StorageInfo and 1441 replies).
        removed = context.media.format_partition(_disk_index(context.profile.storage, disk), part)
        log.info("disk %d partition %d formatted: %d recordings gone", disk, part, removed)
    return {"Name": _STORAGE, "Ret": Ret.OK}


def _disk_index(storage: list[Any], disk: object) -> int:
    for index, item in enumerate(storage):
        if isinstance(item, dict) and item.get("PlysicalNo", index) == disk:
            return index
    return disk if isinstance(disk, int) else 0


def _is_partition(storage: list[Any], disk: object, part: object) -> bool:
    """Whether the device has partition `part` on physical disk `disk` (StorageInfo)."""
    numbers = (disk, part)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
        return False
    for index, item in enumerate(storage):
        if not isinstance(item, dict) or item.get("PlysicalNo", index) != disk:
            continue
        partitions = item.get("Partition")
        count = len(partitions) if isinstance(partitions, list) else item.get("PartNumber", 0)
        return isinstance(count, int) and isinstance(part, int) and part < count
    return False


# ------------------------------------------------------------------ storage information

_NO_TIME: Final = "0000-00-00 00:00:00"  # an empty partition's span (the simulator's choice)


def storage_info(storage: list[Any], formatted: set[tuple[int, int]]) -> list[Any]:
    """StorageInfo as it stands: the profile's disks as the real device reported them (its
    recordings are the simulator's, which the real figures stand for), and a partition
    formatted since (DiskNo, SerialNo) empty, as the file search finds it: all its space
    free and no recording span."""
    disks = copy.deepcopy(storage)
    for index, disk in enumerate(disks):
        parts = disk.get("Partition") if isinstance(disk, dict) else None
        for number, part in enumerate(parts if isinstance(parts, list) else []):
            if isinstance(part, dict) and (index, number) in formatted:
                for key in ("OldStartTime", "OldEndTime", "NewStartTime", "NewEndTime"):
                    part[key] = _NO_TIME
                part["RemainSpace"] = part.get("TotalSpace", part.get("RemainSpace"))
    return disks
