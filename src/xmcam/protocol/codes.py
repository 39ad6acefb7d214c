"""DVRIP message ids and Ret (return) codes (docs/protocol.md §3 and §5).

Message ids: a request has an even id and its reply is the request id + 1 (1000 → 1001).
The exception is 1504, the alarm push: the device sends it on its own, and its "reply" 1505
exists in the vendor table but no device needs it. A few messages in the 1410-1419 AVTalk and
monitor block (1413, 1415, 1417) and 1525 are odd-numbered requests that still follow the
"+ 1" rule. One-way data messages (media, progress, end of file) have no reply at all.

The vendor document ([DOC] §6.2) lists its first block off by one (login 999/1000, logout
1001/1002, keepalive 1005/1006, ...). The values below are the ones seen on the wire, confirmed
by several independent clients and captures; no firmware using 999 or 1005 is documented.

Ret codes: the meanings are the vendor's ([DOC] §6.1). Some firmware reuses a code for
something else; where known, the disagreement is noted next to the code.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "MEDIA_ANSWERS",
    "MEDIA_MESSAGE_IDS",
    "RET_MEANINGS",
    "SEARCH_EMPTY_RETS",
    "SUCCESS_RETS",
    "MessageId",
    "Ret",
    "describe_ret",
    "is_success",
    "message_name",
    "reply_id",
    "ret_meaning",
]


class MessageId(enum.IntEnum):
    """Known DVRIP message ids (the u16 at header offset 14), with wire values.

    The comment after each member is the JSON ``Name`` (or object key) the message carries,
    where known.
    """

    # Session.
    LOGIN_REQ = 1000  # no Name in the request (UserName/PassWord/EncryptType/LoginType)
    LOGIN_RSP = 1001  # Name "" or absent
    LOGOUT_REQ = 1002  # Name ""
    LOGOUT_RSP = 1003  # Name ""
    FORCELOGOUT_REQ = 1004  # device -> client in [DOC]; Name unknown
    FORCELOGOUT_RSP = 1005  # Name unknown
    KEEPALIVE_REQ = 1006  # KeepAlive
    KEEPALIVE_RSP = 1007  # KeepAlive (Name "" on some firmware)
    # 1008/1009 are unnamed in every source. A forged 1009 with {"Ret":100,"SessionID":"0x0"}
    # bypasses authentication on vulnerable firmware (CVE-2024-3765), hence the names.
    AUTH_BYPASS_PROBE_REQ = 1008  # Name unknown
    AUTH_BYPASS_PROBE_RSP = 1009  # Name unknown (CVE-2024-3765)
    ENCRYPTION_INFO_REQ = 1010  # body {} (FunSDK capability info)
    ENCRYPTION_INFO_RSP = 1011  # capability info, plain

    # System info and configuration.
    SYSINFO_REQ = 1020  # SystemInfo, StorageInfo, WorkState (+ OEMInfo on some)
    SYSINFO_RSP = 1021  # SystemInfo, StorageInfo, WorkState
    CONFIG_SET_REQ = 1040  # any config name
    CONFIG_SET_RSP = 1041  # any config name
    CONFIG_GET_REQ = 1042  # any config name
    CONFIG_GET_RSP = 1043  # any config name
    DEFAULT_CONFIG_GET_REQ = 1044  # any config name
    DEFAULT_CONFIG_GET_RSP = 1045  # any config name
    CONFIG_CHANNELTITLE_SET_REQ = 1046  # ChannelTitle ([DOC] spells it CHANNELTILE)
    CONFIG_CHANNELTITLE_SET_RSP = 1047  # ChannelTitle
    CONFIG_CHANNELTITLE_GET_REQ = 1048  # ChannelTitle
    CONFIG_CHANNELTITLE_GET_RSP = 1049  # ChannelTitle
    CONFIG_CHANNELTITLE_DOT_SET_REQ = 1050  # bitmap channel titles; Name unknown
    CONFIG_CHANNELTITLE_DOT_SET_RSP = 1051  # Name unknown
    SYSTEM_DEBUG_REQ = 1052  # Name unknown
    SYSTEM_DEBUG_RSP = 1053  # Name unknown
    ABILITY_GET_REQ = 1360  # SystemFunction, EncodeCapability, TalkAudioFormat, ...
    ABILITY_GET_RSP = 1361  # SystemFunction, EncodeCapability, TalkAudioFormat, ...
    ABILITY_EXTRA_REQ = 1362  # SmartH264 and similar abilities (seen in client tables)
    ABILITY_EXTRA_RSP = 1363  # Name unknown

    # PTZ and live monitoring.
    PTZ_REQ = 1400  # OPPTZControl
    PTZ_RSP = 1401  # OPPTZControl (often Name "")
    MONITOR_REQ = 1410  # OPMonitor (Start/Stop/Pause/Continue/Request)
    MONITOR_RSP = 1411  # OPMonitor
    MONITOR_DATA = 1412  # binary live media, device -> client
    MONITOR_CLAIM_REQ = 1413  # OPMonitor Claim (odd request id; also FunSDK pre-login)
    MONITOR_CLAIM_RSP = 1414  # OPMonitor
    AVTALK_REQ = 1415  # AVTalk start/stop (odd request id)
    AVTALK_RSP = 1416  # AVTalk
    AVTALK_CLAIM_REQ = 1417  # AVTalk Claim (odd request id)
    AVTALK_CLAIM_RSP = 1418  # AVTalk
    AVTALK_DATA = 1419  # binary AVTalk media

    # Playback, download and talk.
    PLAY_REQ = 1420  # OPPlayBack (Start/Stop/Pause/Fast/Slow/Locate/DownloadStart/...)
    PLAY_RSP = 1421  # OPPlayBack
    PLAY_DATA = 1422  # binary playback media
    PLAY_EOF = 1423  # OPPlayBack EOF notification, device -> client
    PLAY_CLAIM_REQ = 1424  # OPPlayBack Claim
    PLAY_CLAIM_RSP = 1425  # OPPlayBack
    DOWNLOAD_DATA = 1426  # binary download media
    TALK_REQ = 1430  # OPTalk Start/Stop
    TALK_RSP = 1431  # OPTalk
    TALK_CU_PU_DATA = 1432  # binary audio, client -> device
    TALK_PU_CU_DATA = 1433  # binary audio, device -> client
    TALK_CLAIM_REQ = 1434  # OPTalk Claim
    TALK_CLAIM_RSP = 1435  # OPTalk

    # Searches, system management, time, disks.
    FILESEARCH_REQ = 1440  # OPFileQuery
    FILESEARCH_RSP = 1441  # OPFileQuery ([DOC]: FileList)
    LOGSEARCH_REQ = 1442  # OPLogQuery
    LOGSEARCH_RSP = 1443  # OPLogQuery ([DOC]: LogList)
    FILESEARCH_BYTIME_REQ = 1444  # OPFileQuery (by time)
    FILESEARCH_BYTIME_RSP = 1445  # OPFileQuery
    CALENDAR1_REQ = 1446  # OPSCalendar1 ([SOF])
    CALENDAR1_RSP = 1447  # OPSCalendar1
    UNKNOWN_SEARCH1_REQ = 1448  # an unidentified search ([SOF])
    UNKNOWN_SEARCH1_RSP = 1449  # in FunSDK's unencrypted list
    SYSMANAGER_REQ = 1450  # OPMachine, OPLogManager, OPDefaultConfig, OPTimeSetting
    SYSMANAGER_RSP = 1451  # same names as the request
    TIMEQUERY_REQ = 1452  # OPTimeQuery
    TIMEQUERY_RSP = 1453  # OPTimeQuery
    DISKMANAGER_REQ = 1460  # OPStorageManager
    DISKMANAGER_RSP = 1461  # OPStorageManager

    # Users and groups.
    FULLAUTHORITYLIST_GET_REQ = 1470  # AuthorityList
    FULLAUTHORITYLIST_GET_RSP = 1471  # AuthorityList
    USERS_GET_REQ = 1472  # Users
    USERS_GET_RSP = 1473  # Users
    GROUPS_GET_REQ = 1474  # Groups
    GROUPS_GET_RSP = 1475  # Groups
    ADDGROUP_REQ = 1476  # Group
    ADDGROUP_RSP = 1477  # Group
    MODIFYGROUP_REQ = 1478  # Group + GroupName
    MODIFYGROUP_RSP = 1479  # Group
    DELETEGROUP_REQ = 1480  # Name = the group's name
    DELETEGROUP_RSP = 1481  # Name unknown
    ADDUSER_REQ = 1482  # User
    ADDUSER_RSP = 1483  # User
    MODIFYUSER_REQ = 1484  # User + UserName
    MODIFYUSER_RSP = 1485  # User
    DELETEUSER_REQ = 1486  # Name = the user's name
    DELETEUSER_RSP = 1487  # Name unknown
    MODIFYPASSWORD_REQ = 1488  # ModifyPassword-style body (no object key)
    MODIFYPASSWORD_RSP = 1489  # ModifyPassword-style body

    # Alarms.
    GUARD_REQ = 1500  # Name "" (alarm subscribe)
    GUARD_RSP = 1501  # Name ""
    UNGUARD_REQ = 1502  # Name ""
    UNGUARD_RSP = 1503  # Name ""
    ALARM_REQ = 1504  # AlarmInfo; device-initiated push
    ALARM_RSP = 1505  # AlarmInfo; never needed
    NET_ALARM_REQ = 1506  # OPNetAlarm
    NET_ALARM_RSP = 1507  # OPNetAlarm
    ALARMCENTER_MSG = 1508  # alarm-center message (device -> server, TCP 15002)

    # Firmware upgrade.
    UPGRADE_REQ = 1520  # OPSystemUpgrade
    UPGRADE_RSP = 1521  # OPSystemUpgrade
    UPGRADE_DATA = 1522  # binary firmware bytes
    UPGRADE_DATA_RSP = 1523  # optional acknowledgement; Name unknown
    UPGRADE_PROGRESS = 1524  # Name "", Ret = percent; device -> client, no reply
    UPGRADE_INFO_REQ = 1525  # OPSystemUpgrade per [PYD], unverified (odd request id)
    UPGRADE_INFO_RSP = 1526  # Name unknown

    # UDP discovery and IP set (port 34569).
    IPSEARCH_REQ = 1530  # no body
    IPSEARCH_RSP = 1531  # NetWork.NetCommon
    IP_SET_REQ = 1532  # NetCommon-like object (no fixed Name)
    IP_SET_RSP = 1533  # Ret only

    # Config import/export, keyboard, snapshot.
    CONFIG_IMPORT_REQ = 1540  # Name unknown
    CONFIG_IMPORT_RSP = 1541  # Name unknown
    CONFIG_EXPORT_REQ = 1542  # Name unknown
    CONFIG_EXPORT_RSP = 1543  # binary zip (< 64 KB)
    LOG_EXPORT_REQ = 1544  # Name unknown
    LOG_EXPORT_RSP = 1545  # Name unknown
    NET_KEYBOARD_REQ = 1550  # OPNetKeyboard
    NET_KEYBOARD_RSP = 1551  # OPNetKeyboard
    NET_SNAP_REQ = 1560  # OPSNAP
    NET_SNAP_RSP = 1561  # raw JPEG (JSON with a Ret on error)
    SET_IFRAME_REQ = 1562  # force an I-frame; Name unknown
    SET_IFRAME_RSP = 1563  # Name unknown
    # Serial ports and transparent serial data ([DOC] 6.2.20; names per [SOF]).
    RS232_READ_REQ = 1570
    RS232_READ_RSP = 1571
    RS232_WRITE_REQ = 1572
    RS232_WRITE_RSP = 1573
    RS485_READ_REQ = 1574
    RS485_READ_RSP = 1575
    RS485_WRITE_REQ = 1576
    RS485_WRITE_RSP = 1577
    TRANSPARENT_COMM_REQ = 1578
    TRANSPARENT_COMM_RSP = 1579
    RS485_TRANSPARENT_DATA_REQ = 1580
    RS485_TRANSPARENT_DATA_RSP = 1581
    RS232_TRANSPARENT_DATA_REQ = 1582
    RS232_TRANSPARENT_DATA_RSP = 1583

    # Time sync, photo upload, later additions.
    SYNC_TIME_REQ = 1590  # time sync at network login; Name unknown
    SYNC_TIME_RSP = 1591  # Name unknown
    PHOTO_GET_REQ = 1600  # snapshot upload; Name unknown
    PHOTO_GET_RSP = 1601  # Name unknown
    TUP_DATA1_REQ = 1610  # OPTUpData ([SOF])
    TUP_DATA1_RSP = 1611  # OPTUpData
    TUP_DATA2_REQ = 1612  # OPTUpData
    TUP_DATA2_RSP = 1613  # OPTUpData
    MAIL_TEST_REQ = 1636  # OPMailTest
    MAIL_TEST_RSP = 1637  # OPMailTest
    NET_SEARCH_REQ = 1640  # OPNetSerach (sic)
    NET_FILE_CONTROL_REQ = 1642  # OPNetFileContral (sic)
    NET_FILE_CONTROL_RSP = 1643  # OPNetFileContral (sic)
    CUSTOM_CONFIG_EXPORT_REQ = 1644  # custom (OEM) config export; Name unknown
    FUNSDK_1645 = 1645  # unidentified; in FunSDK's unencrypted list ([AND])
    MUSIC_FILE_QUERY_REQ = 1646  # OPMusicFileQuery
    GET_SAFETY_ABILITY_REQ = 1650  # GetSafetyAbility
    RANDOM_USER_REQ = 1660  # GetRandomUser / ChangeRandomUser (no session needed)
    RANDOM_USER_RSP = 1661  # GetRandomUser / ChangeRandomUser

    # 2000+ "OP*" operations.
    VERSION_LIST_REQ = 2000  # OPVersionList
    VERSION_LIST_RSP = 2001  # OPVersionList (VersionDate, VersionName)
    FTP_TEST_REQ = 2008  # OPFTPTest
    CONSUMER_PRO_CMD_REQ = 2012  # OPConsumerProCmd
    CONSUMER_PRO_CMD_RSP = 2013  # OPConsumerProCmd
    VERSION_REP_REQ = 2016  # OPVersionRep
    VERSION_REP_RSP = 2017  # OPVersionRep
    RECORD_CALENDAR_REQ = 2026  # OPSCalendar
    RECORD_CALENDAR_RSP = 2027  # OPSCalendar
    BREVIARY_PIC_REQ = 2038  # OPBreviaryPic (thumbnails)
    BREVIARY_PIC_RSP = 2039  # OPBreviaryPic
    TELNET_CONTROL_REQ = 2040  # OPTelnetControl (TelnetCommand, EnableKey)
    TELNET_CONTROL_RSP = 2041  # OPTelnetControl
    PGS_STATE_GET_REQ = 2210  # OPGetPgsState ([SOF])
    PGS_STATE_GET_RSP = 2211  # OPGetPgsState
    PGS_IMAGE_GET_REQ = 2212  # OPPgsGetImg
    PGS_IMAGE_GET_RSP = 2213  # OPPgsGetImg
    CUSTOM_DATA_SET_REQ = 2214  # OPSetCustomData
    CUSTOM_DATA_SET_RSP = 2215  # OPSetCustomData
    CUSTOM_DATA_GET_REQ = 2216  # OPGetCustomData
    CUSTOM_DATA_GET_RSP = 2217  # OPGetCustomData
    ACTIVATION_CODE_GET_REQ = 2218  # OPGetActivationCode
    ACTIVATION_CODE_GET_RSP = 2219  # OPGetActivationCode
    DVR_INFO_CONTROL_REQ = 2220  # OPCtrlDVRInfo
    DVR_INFO_CONTROL_RSP = 2221  # OPCtrlDVRInfo
    # Pet feeders ([PYD] OPFEED_QCODES; replies assumed to be request + 1).
    FEED_BOOK_SET_REQ = 2300  # OPFeedBook
    FEED_BOOK_SET_RSP = 2301  # OPFeedBook
    FEED_BOOK_GET_REQ = 2302  # OPFeedBook
    FEED_BOOK_GET_RSP = 2303  # OPFeedBook
    FEED_MANUAL_REQ = 2304  # OPFeedManual {"Servings": n}
    FEED_MANUAL_RSP = 2305  # OPFeedManual {"Feeded": n, "NotFeeding": n}
    FEED_HISTORY_GET_REQ = 2306  # OPFeedHistory
    FEED_HISTORY_GET_RSP = 2307  # OPFeedHistory
    FEED_HISTORY_SET_REQ = 2308  # OPFeedHistory
    FEED_HISTORY_SET_RSP = 2309  # OPFeedHistory
    FILE_REQ = 3502  # OPFile
    FILE_RSP = 3503  # OPFile (reply id per [SOF])

    # Ids known only by number: in FunSDK's unencrypted list ([AND]) or sofiactl's table.
    UNKNOWN_2062_REQ = 2062
    UNKNOWN_2062_RSP = 2063
    UNKNOWN_2122_RAW_DATA = 2122  # raw data ([SOF])
    UNKNOWN_2123 = 2123
    UNKNOWN_2140 = 2140
    UNKNOWN_3016 = 3016


# Requests whose id is odd; their reply is still id + 1 (docs/protocol.md §3 and §19).
_ODD_REQUEST_IDS: Final[frozenset[int]] = frozenset(
    {
        MessageId.MONITOR_CLAIM_REQ,
        MessageId.AVTALK_REQ,
        MessageId.AVTALK_CLAIM_REQ,
        MessageId.UPGRADE_INFO_REQ,
    }
)

_MAX_MESSAGE_ID: Final = 0xFFFF  # the id is a u16 on the wire


def reply_id(request_id: int) -> int:
    """The id of the reply to `request_id`: the request id + 1.

    Works for unknown even ids too. 1504 (the device-initiated alarm push) gives 1505 although
    no device needs that reply.

    Raises ValueError for an odd id (a reply has no reply), except for the few known
    odd-numbered requests (1413, 1415, 1417, 1525), and for an id whose reply would not fit
    in the u16 header field.
    """
    if not 0 <= request_id < _MAX_MESSAGE_ID:
        raise ValueError(f"message id {request_id} is out of range 0..{_MAX_MESSAGE_ID - 1}")
    if request_id % 2 and request_id not in _ODD_REQUEST_IDS:
        raise ValueError(f"message id {request_id} is odd: a reply, which has no reply")
    return request_id + 1


def message_name(message_id: int) -> str:
    """The MessageId name of `message_id`, or ``MSG_<id>`` for an unknown id. Never raises."""
    try:
        return MessageId(message_id).name
    except ValueError:
        return f"MSG_{int(message_id)}"


MEDIA_MESSAGE_IDS: Final[frozenset[int]] = frozenset(
    {
        MessageId.MONITOR_DATA,
        MessageId.AVTALK_DATA,
        MessageId.PLAY_DATA,
        MessageId.DOWNLOAD_DATA,
        MessageId.TALK_CU_PU_DATA,
        MessageId.TALK_PU_CU_DATA,
        MessageId.UPGRADE_DATA,
        MessageId.NET_SNAP_RSP,  # raw JPEG over packets ended by EndFlag (docs/protocol.md §12.2)
    }
)
"""Messages whose header bytes 12/13 are Channel/EndFlag (not TotalPacket/CurPacket) and
whose payload is binary, not JSON."""

MEDIA_ANSWERS: Final[Mapping[int, frozenset[int]]] = MappingProxyType(
    {
        MessageId.MONITOR_REQ: frozenset({MessageId.MONITOR_DATA}),
        MessageId.PLAY_REQ: frozenset({MessageId.PLAY_DATA, MessageId.DOWNLOAD_DATA}),
    }
)
"""Requests the media they start may answer instead of a reply: a Start (1410) by its live
media (1412), a Start or DownloadStart (1420) by its playback or download data (1422, 1426).
Sent on the connection that holds the claim (the single-socket flow), these get no JSON reply
from cameras, only the media ([G2R] sends Start and reads media at once, docs/protocol.md
§10, §15)."""


class Ret(enum.IntEnum):
    """Common Ret codes of DVRIP replies ([DOC] §6.1). Devices may send others."""

    OK = 100
    UNKNOWN_ERROR = 101
    UNSUPPORTED_VERSION = 102
    ILLEGAL_REQUEST = 103
    ALREADY_LOGGED_IN = 104
    NOT_LOGGED_IN = 105
    BAD_CREDENTIALS = 106
    NO_PERMISSION = 107
    TIMEOUT = 108
    SEARCH_FAILED = 109
    SEARCH_COMPLETE = 110
    SEARCH_PARTIAL = 111
    USER_EXISTS = 112
    USER_NOT_FOUND = 113
    GROUP_EXISTS = 114
    GROUP_NOT_FOUND = 115
    RESERVED_116 = 116
    MESSAGE_FORMAT_ERROR = 117
    PTZ_PROTOCOL_NOT_SET = 118
    NO_FILE_FOUND = 119
    CONFIG_NOT_ENABLED = 120
    CHANNEL_NOT_CONNECTED = 121
    ENCRYPTION_ERROR = 124
    OK_NEEDS_REBOOT = 150
    LOGIN_NOT_LOGGED_IN = 202
    WRONG_PASSWORD = 203
    ILLEGAL_USER = 204
    USER_LOCKED = 205
    USER_BLACKLISTED = 206
    USER_ALREADY_LOGGED_IN = 207
    ILLEGAL_INPUT = 208
    DUPLICATE_INDEX = 209
    OBJECT_NOT_FOUND_QUERY = 210
    OBJECT_NOT_FOUND = 211
    ACCOUNT_IN_USE = 212
    SUBSET_OUT_OF_RANGE = 213
    ILLEGAL_PASSWORD = 214
    PASSWORDS_DO_NOT_MATCH = 215
    RESERVED_ACCOUNT = 216
    NO_SUCH_USER = 430
    ILLEGAL_COMMAND = 502
    TALK_ALREADY_OPEN = 503
    TALK_NOT_OPEN = 504
    UPGRADE_STARTED = 511
    UPGRADE_NOT_STARTED = 512
    UPGRADE_DATA_ERROR = 513
    UPGRADE_FAILED = 514
    UPGRADE_SUCCEEDED = 515
    RESTORE_DEFAULT_FAILED = 521
    NEEDS_REBOOT = 522
    DEFAULT_CONFIG_ILLEGAL = 523
    NEEDS_APP_RESTART = 602
    NEEDS_SYSTEM_RESTART = 603
    WRITE_FILE_ERROR = 604
    FEATURE_NOT_SUPPORTED = 605
    VERIFICATION_FAILED = 606
    CONFIG_NOT_FOUND = 607
    CONFIG_PARSE_ERROR = 608


_MEANINGS: Final[dict[Ret, str]] = {
    Ret.OK: "ok",
    Ret.UNKNOWN_ERROR: "unknown error",
    # Also "unsupported command or section" on some firmware; OPSNAP on an old DVR.
    Ret.UNSUPPORTED_VERSION: "version not supported",
    Ret.ILLEGAL_REQUEST: "illegal request",
    Ret.ALREADY_LOGGED_IN: "user already logged in",
    Ret.NOT_LOGGED_IN: "user not logged in",
    Ret.BAD_CREDENTIALS: "wrong username or password",
    Ret.NO_PERMISSION: "no permission",
    Ret.TIMEOUT: "timeout",
    Ret.SEARCH_FAILED: "search failed, no file found",
    Ret.SEARCH_COMPLETE: "search ok, all files returned",
    Ret.SEARCH_PARTIAL: "search ok, partial list returned",
    Ret.USER_EXISTS: "user already exists",
    Ret.USER_NOT_FOUND: "user does not exist",
    Ret.GROUP_EXISTS: "group already exists",
    Ret.GROUP_NOT_FOUND: "group does not exist",
    Ret.RESERVED_116: "reserved",  # blank in [DOC]; [KIN] "Reserved"
    Ret.MESSAGE_FORMAT_ERROR: "message format error",
    # [MOX]: "no permission for the PTZ protocol".
    Ret.PTZ_PROTOCOL_NOT_SET: "PTZ protocol not set",
    Ret.NO_FILE_FOUND: "no file found",
    # [DOC] literally reads "set to enabled"; "not enabled" is the accepted reading.
    Ret.CONFIG_NOT_ENABLED: "config not enabled",
    # [MOX]: "could not parse the request".
    Ret.CHANNEL_NOT_CONNECTED: "digital channel not connected",
    # Not in [DOC]; meaning from [MOX] and [PYD].
    Ret.ENCRYPTION_ERROR: "encryption algorithm error",
    Ret.OK_NEEDS_REBOOT: "success, device needs reboot",
    # [MOX]: "reserved account is not authorised".
    Ret.LOGIN_NOT_LOGGED_IN: "user not logged in",
    Ret.WRONG_PASSWORD: "wrong password",
    # [ASH]: "wrong username"; [MOX]: "account disabled".
    Ret.ILLEGAL_USER: "illegal user",
    # Besder firmware answers 205 for a wrong user name; [PYD] also has "IP locked";
    # the FunSDK lockout after repeated failures is 205 too.
    Ret.USER_LOCKED: "user locked",
    # [MOX]: "time outside the allowed range".
    Ret.USER_BLACKLISTED: "user blacklisted",
    # [PYD] and [MOX]: "blacklisted".
    Ret.USER_ALREADY_LOGGED_IN: "user already logged in",
    Ret.ILLEGAL_INPUT: "illegal input",
    Ret.DUPLICATE_INDEX: "duplicate index, e.g. user already exists",
    Ret.OBJECT_NOT_FOUND_QUERY: "object does not exist, query",
    Ret.OBJECT_NOT_FOUND: "object does not exist",
    Ret.ACCOUNT_IN_USE: "account in use",
    # [JEN]: "permission table error".
    Ret.SUBSET_OUT_OF_RANGE: "subset out of range, rights exceed the group's",
    Ret.ILLEGAL_PASSWORD: "illegal password",
    Ret.PASSWORDS_DO_NOT_MATCH: "passwords do not match",
    Ret.RESERVED_ACCOUNT: "reserved account",
    # Not in [DOC]; seen in captures of one camera (KostasEreksonas notes).
    Ret.NO_SUCH_USER: "user not found",
    Ret.ILLEGAL_COMMAND: "illegal command",
    Ret.TALK_ALREADY_OPEN: "talk already open",
    Ret.TALK_NOT_OPEN: "talk not open",
    Ret.UPGRADE_STARTED: "upgrade started",
    Ret.UPGRADE_NOT_STARTED: "upgrade not started",
    Ret.UPGRADE_DATA_ERROR: "upgrade data error",
    # [ASH] swaps 514 and 515 (a bug there).
    Ret.UPGRADE_FAILED: "upgrade failed",
    Ret.UPGRADE_SUCCEEDED: "upgrade succeeded",
    Ret.RESTORE_DEFAULT_FAILED: "restore default failed",
    Ret.NEEDS_REBOOT: "device needs reboot",
    Ret.DEFAULT_CONFIG_ILLEGAL: "default config illegal",
    # [MOX]: "reboot required".
    Ret.NEEDS_APP_RESTART: "application needs restart",
    # [MOX]: "configuration must be saved".
    Ret.NEEDS_SYSTEM_RESTART: "system needs restart",
    # [MOX]: "invalid parameter value".
    Ret.WRITE_FILE_ERROR: "write file error",
    # [MOX]: "no such user".
    Ret.FEATURE_NOT_SUPPORTED: "feature not supported",
    Ret.VERIFICATION_FAILED: "verification failed",
    # Also the usual answer for a config name the device does not support.
    Ret.CONFIG_NOT_FOUND: "config does not exist",
    # [MOX]: "configuration is locked".
    Ret.CONFIG_PARSE_ERROR: "config parse error",
}

RET_MEANINGS: Final[Mapping[int, str]] = MappingProxyType(
    {int(code): text for code, text in _MEANINGS.items()}
)
"""Short English meaning of each known Ret code, in the vendor doc's sense."""

SUCCESS_RETS: Final[frozenset[int]] = frozenset(
    {
        Ret.OK,
        Ret.SEARCH_COMPLETE,
        Ret.SEARCH_PARTIAL,
        Ret.OK_NEEDS_REBOOT,
        Ret.TALK_ALREADY_OPEN,
        Ret.UPGRADE_STARTED,
        Ret.UPGRADE_SUCCEEDED,
        Ret.NEEDS_REBOOT,
        Ret.NEEDS_APP_RESTART,
        Ret.NEEDS_SYSTEM_RESTART,
    }
)
"""Ret codes that mean the request succeeded (docs/protocol.md §5 recommended set)."""

SEARCH_EMPTY_RETS: Final[frozenset[int]] = frozenset({Ret.SEARCH_FAILED, Ret.NO_FILE_FOUND})
"""Ret codes a search answers when nothing matched: an empty result, not an error."""


def ret_meaning(ret: int) -> str:
    """The meaning of `ret`, e.g. "wrong password", or "unknown Ret code <ret>"."""
    meaning = RET_MEANINGS.get(ret)
    if meaning is None:
        return f"unknown Ret code {int(ret)}"
    return meaning


def is_success(ret: int) -> bool:
    """Whether `ret` means success (a member of SUCCESS_RETS)."""
    return ret in SUCCESS_RETS


def describe_ret(ret: int) -> str:
    """`ret` and its meaning, e.g. "Ret 203 (wrong password)"."""
    return f"Ret {int(ret)} ({ret_meaning(ret)})"
