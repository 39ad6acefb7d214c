"""The simulator's maintenance requests, as a real XM530 answers them ([BES]): the log
(OPLogQuery 1442) with its pages, the storage manager (OPStorageManager 1460), upgrade
information (1525) and the version list (2000)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from tests.sim.helpers import ManualClock, Wire, logged_in
from tests.sim.media_client import DvripSocket
from xmcam.protocol import MessageId, sofia_hash
from xmcam.sim import SimulatedDevice, Simulator, load_profile
from xmcam.sim.maintenance import LOG_PAGE, MAX_LOG_ENTRIES, DeviceLog
from xmcam.sim.profile import Profile

NOW = datetime(2026, 4, 1, 12, 49, 33)


def device(profile: Profile | None = None) -> SimulatedDevice:
    return SimulatedDevice(profile or load_profile(), clock=ManualClock(), wall_clock=lambda: NOW)


@pytest.fixture
def wire() -> Wire:
    return logged_in(device())


def log_query(
    position: int = 0,
    kind: str = "LogAll",
    begin: str = "2000-00-00 00:00:00",
    end: str = "2126-04-01 13:51:42",
) -> dict[str, Any]:
    # The vendor app's query, epoch spelling and all ([BES] 1442_OPLogQuery_request).
    body = {"BeginTime": begin, "EndTime": end, "LogPosition": position, "Type": kind}
    return {"Name": "OPLogQuery", "OPLogQuery": body}


def entries(wire: Wire, **query: Any) -> list[dict[str, Any]] | None:
    reply = wire.call(MessageId.LOGSEARCH_REQ, log_query(**query))
    assert reply.frame.message_id == MessageId.LOGSEARCH_RSP
    assert (reply.body.name, reply.ret) == ("OPLogQuery", 100)
    found = reply.body.data["OPLogQuery"]
    assert found is None or isinstance(found, list)
    return found


def session_of(wire: Wire) -> str:
    """The SessionID the device writes for the wire's session."""
    return f"0x{wire.client.session_id:08X}"


def storage(action: str, part: int = 0, disk: int = 0, kind: str = "ReadWrite") -> dict[str, Any]:
    operation = {"Action": action, "PartNo": part, "SerialNo": disk, "Type": kind}
    return {"Name": "OPStorageManager", "OPStorageManager": operation}


# ---------------------------------------------------------------------- fixed replies


def test_version_list_is_refused_with_514_as_the_xm530_does(wire: Wire) -> None:
    reply = wire.call(MessageId.VERSION_LIST_REQ, {"Name": "OPVersionList"})
    assert reply.frame.message_id == MessageId.VERSION_LIST_RSP
    assert reply.body.data == {"Name": "", "Ret": 514, "SessionID": session_of(wire)}


def test_upgrade_info(wire: Wire) -> None:
    reply = wire.call(MessageId.UPGRADE_INFO_REQ, {"Name": "OPSystemUpgrade"})
    assert reply.frame.message_id == MessageId.UPGRADE_INFO_RSP
    assert reply.body.data == {
        "Name": "OPSystemUpgrade",
        "OPSystemUpgrade": {
            "Hardware": "HI3516D_83H50N",  # the profile's, where the XM530 names its own
            "LogoArea": {"Begin": "", "End": ""},
            "Serial": "",
            "Vendor": "General",
        },
        "Ret": 100,
        "SessionID": session_of(wire),
    }


# ---------------------------------------------------------------------- the log


def test_the_log_records_what_happens(wire: Wire) -> None:
    general = wire.call(1042, {"Name": "General.General"}).body.data["General.General"]
    assert wire.call(1040, {"Name": "General.General", "General.General": general}).ok
    assert wire.call(1040, {"Name": "Camera.Param.[0]", "Camera.Param.[0]": {}}).ret == 100
    time_set = {"Name": "OPTimeSetting", "OPTimeSetting": "2026-04-01 12:50:04"}
    assert wire.call(1450, time_set).ok
    user = {
        "AuthorityList": ["Monitor_01"],
        "Group": "user",
        "Memo": "",
        "Name": "nameuser",
        "Password": sofia_hash("pw"),
        "Sharable": True,
    }
    assert wire.call(1482, {"Name": "User", "User": user}).ok
    assert wire.call(1486, {"Name": "nameuser"}).ok
    assert wire.call(1482, {"Name": "User", "User": {}}).ret != 100  # refused: not logged
    assert wire.call(MessageId.DISKMANAGER_REQ, storage("SetType")).ok
    found = entries(wire)
    assert found is not None
    assert [(entry["Type"], entry["User"], entry["Data"]) for entry in found] == [
        ("RecoverTime", "System", "2026-04-01 12:49:33"),
        ("LogIn", "admin", "admin,DVRIP-Web:127.0.0.1"),
        ("SaveConfig", "System", "General"),
        ("SaveConfig", "System", "Param"),
        ("SetTime", "System", "2026-04-01 12:50:04"),
        ("AddUser", "nameuser", ""),
        ("DeleteUser", "nameuser", ""),
        ("SetDriverType", "System", "/mnt/idea0,ReadWrite"),
    ]
    assert [entry["Position"] for entry in found] == list(range(8))
    assert found[0] == {
        "Data": "2026-04-01 12:49:33",
        "Position": 0,
        "Time": "2026-04-01 12:49:33",
        "Type": "RecoverTime",
        "User": "System",
    }
    assert list(found[0]) == ["Data", "Position", "Time", "Type", "User"]  # the camera's order
    assert wire.call(1002, {"Name": ""}).ok  # logout
    wire.login()
    kinds = [entry["Type"] for entry in entries(wire) or []]
    assert kinds[-2:] == ["LogOut", "LogIn"]
    accounts = entries(wire, kind="Account") or []
    assert {entry["Type"] for entry in accounts} == {"LogIn", "LogOut", "AddUser", "DeleteUser"}


def test_the_log_pages_as_the_camera_pages(wire: Wire) -> None:
    device_log = wire.device.device_log
    for number in range(300):
        device_log.add("SaveConfig", data=f"Item{number}")
    total = len(device_log)
    assert total == 302  # RecoverTime and the LogIn first
    pages, position = [], 0
    while True:  # the vendor app's paging: from the last Position it got ([BES] 1442_*.json)
        page = entries(wire, position=position)
        if page is None:
            break
        pages.append([entry["Position"] for entry in page])
        if len(page) < LOG_PAGE:
            break
        position = page[-1]["Position"]
    assert [len(page) for page in pages] == [128, 128, 48]
    assert pages[0][0] == 0
    assert pages[1][0] == pages[0][-1]  # the last entry of a page opens the next
    assert pages[2][-1] == total - 1
    # Past the end, the list is null ([ASH]); so is a window holding no entry.
    assert entries(wire, position=total) is None
    assert entries(wire, begin="2027-01-01 00:00:00", end="2027-12-31 23:59:59") is None


def test_the_log_keeps_its_last_entries() -> None:
    clock_reading = iter(range(10**6))
    device_log = DeviceLog(lambda: datetime(2026, 1, 1, 0, 0, next(clock_reading) % 60))
    for number in range(MAX_LOG_ENTRIES + 50):
        device_log.add("LogIn", "admin", f"admin,DVRIP-Web:10.0.0.{number % 250}")
    assert len(device_log) == MAX_LOG_ENTRIES
    assert device_log.entries[0].position == 50  # the oldest are gone, numbers go on
    everything = (datetime(2000, 1, 1), datetime(2100, 1, 1))
    assert [entry.position for entry in device_log.page(0, *everything, None)] == list(
        range(50, 50 + LOG_PAGE)
    )
    assert device_log.page(0, *everything, frozenset({"LogOut"})) == []
    long = device_log.add("SaveConfig", data="x" * 10_000)
    assert len(long.data) == 128  # bounded


@pytest.mark.parametrize(
    "body",
    [
        {"Name": "OPLogQuery"},
        log_query(begin="yesterday"),
        log_query(position=-1),
        {"Name": "OPLogQuery", "OPLogQuery": {"BeginTime": "2000-00-00 00:00:00", "EndTime": 1}},
    ],
)
def test_bad_log_queries_get_103(wire: Wire, body: dict[str, Any]) -> None:
    assert wire.call(MessageId.LOGSEARCH_REQ, body).ret == 103


def test_who_may_read_the_log_and_manage_storage() -> None:
    profile = load_profile().with_password("default", sofia_hash("viewer"))
    wire = logged_in(device(profile), "default", "viewer")
    assert entries(wire)  # the default account has QueryLog
    assert wire.call(MessageId.DISKMANAGER_REQ, storage("Clear")).ret == 107  # not StorageManager


async def test_a_login_over_tcp_is_logged_with_the_client_address() -> None:
    async with Simulator(wall_clock=lambda: NOW) as sim:
        control = await DvripSocket.logged_in(sim)
        reply = await control.call(MessageId.LOGSEARCH_REQ, log_query())
        logins = [entry for entry in reply.body.data["OPLogQuery"] if entry["Type"] == "LogIn"]
        assert [entry["Data"] for entry in logins] == ["admin,DVRIP-Web:127.0.0.1"]
        await control.close()


# ---------------------------------------------------------------------- the storage manager


def test_set_type_as_captured(wire: Wire) -> None:
    # [BES] 1460_OPStorageManager_request.json and its 1461: Ret 100.
    reply = wire.call(MessageId.DISKMANAGER_REQ, storage("SetType"))
    assert reply.frame.message_id == MessageId.DISKMANAGER_RSP
    expected = {"Name": "OPStorageManager", "Ret": 100, "SessionID": session_of(wire)}
    assert reply.body.data == expected


def test_a_format_erases_the_partition(wire: Wire) -> None:
    media = wire.device.media
    yesterday = datetime.combine(date(2026, 3, 31), datetime.min.time())
    search = {
        "Name": "OPFileQuery",
        "OPFileQuery": {
            "BeginTime": "2026-03-31 00:00:00",
            "EndTime": "2026-03-31 23:59:59",
            "Channel": 0,
            "Event": "*",
            "Type": "h264",
        },
    }
    assert wire.call(MessageId.FILESEARCH_REQ, search).ret == 100
    assert any(recording.begin >= yesterday for recording in media.catalogue.recordings)
    # The vendor app's format: Clear, Type Data, partition by partition.
    assert wire.call(MessageId.DISKMANAGER_REQ, storage("Clear", kind="Data")).ok
    assert len(media.catalogue) == 0
    assert wire.call(MessageId.FILESEARCH_REQ, search).ret == 119
    for action in ("Recover", "Partition"):
        assert wire.call(MessageId.DISKMANAGER_REQ, storage(action)).ok


@pytest.mark.parametrize(
    "body",
    [
        storage("SetType", part=1),  # the seed's camera has one partition
        storage("SetType", disk=1),
        storage("SetType", kind="Fast"),
        storage("Explode"),
        storage("Clear", part=-1),
        {"Name": "OPStorageManager"},
    ],
)
def test_bad_storage_requests_get_103(wire: Wire, body: dict[str, Any]) -> None:
    assert wire.call(MessageId.DISKMANAGER_REQ, body).ret == 103
    assert len(wire.device.media.catalogue) > 0  # nothing was erased
