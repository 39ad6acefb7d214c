"""Write the simulator profile `src/xmcam/sim/profiles/xm530.json` from `exchanges.json`.

Everything in the profile is the camera's own data as [BES] captured it (see extract.py),
arranged in the profile format (`xmcam.sim.profile`): the login reply, SystemInfo,
StorageInfo, accounts, the config tree (per-channel objects as templates), abilities, and
the firmware's habits as quirks. What the format of today cannot say goes under new keys
(`fixed_replies`, `log`, `channel_titles`, `discovery`, new quirks) documented in the
profile's `notes`. Every part names its [BES] files in `sources`.

Passwords: [BES] shows the accounts' Sofia hashes; we keep none of them. Every account of the
profile has the empty password's hash (the camera's factory default), so a client logs in
as `admin` with no password.

Run: `python tests/data/xm530/make_profile.py`
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).parent
EXCHANGES: Final = HERE / "exchanges.json"
PROFILE: Final = HERE.parents[2] / "src" / "xmcam" / "sim" / "profiles" / "xm530.json"
EMPTY_PASSWORD_HASH: Final = "tlJwpbo6"  # sofia_hash(""): the factory default

# Config names with one copy per video channel, alarm input or alarm output. Those captured
# as `X.[0]` are one element; those captured whole are arrays of one element per channel.
PER_CHANNEL: Final = {
    "video": (
        "AVEnc.Encode",
        "AVEnc.EncodeStaticParam",
        "AVEnc.SmartH264",
        "AVEnc.SmartH264V2",
        "AVEnc.VideoWidget",
        "Camera.ClearFog",
        "Camera.Param",
        "Camera.ParamEx",
        "Detect.BlindDetect",
        "Detect.HumanDetection",
        "Detect.LossDetect",
        "Detect.MotionDetect",
        "Record",
        "Simplify.Encode",
        "Storage.Snapshot",
        "Uart.PTZ",
        "fVideo.Volume",
    ),
    "alarm_in": ("Alarm.LocalAlarm",),
    "alarm_out": ("Alarm.AlarmOut",),
}

NOTES: Final = [
    "Data: everything is the Besder 6024PB's (XM530, V5.00.R02) as [BES] captured it; "
    "sources names the file of each part. Secrets are <redacted>; every account has the "
    "empty password (the captured hashes are not kept).",
    "quirks.session_id_style 'padded_lower': SessionIDs as 0x0000000b (8 lower-case hex "
    "digits), as every reply of session 0xb spells it.",
    "quirks.rets.unknown_ability 103: an ability name the camera lacks gets Ret 103 with "
    "the Name (AHDEncodeL, MaxPreRecord, NetOrder, VencMaxFps). rets.default_config 603: "
    "OPDefaultConfig resets and answers 603 (restart the system).",
    "quirks.unknown_config_null: a 607 reply to a config get carries the name with a null "
    'value: {"Name": N, N: null, "Ret": 607} (Ability.SerialNo, PMS.num, ...).',
    "quirks.reply_names: the Name of replies by reply message id: 'echo' repeats the "
    "request's Name, a string is written as it is, null leaves Name out (the time reply "
    "1453 has none). Replies not listed keep the simulator's usual Name.",
    "quirks.lenient_config_writes: the camera accepts writes that the captured get does not "
    "match exactly: arrays of another length (EventHandler.PtzLink of 64 rows where the get "
    "shows 32, System.ExUserMap.User of 1 user where it shows 2), 0 and 1 for booleans "
    "(NetWork.OnlineUpgrade), members left out, members the object does not have "
    "(Simplify.Encode.[0] written with Audio: taken, not kept). A value of another type is "
    "still refused (608).",
    "quirks.work_state_masks 'hex': WorkState's AlarmState masks are strings of 8 hex digits "
    '("0x00000000"), not numbers; quirks.work_state_channel_state false: WorkState has no '
    "ChannelState.",
    "fixed_replies: the reply to a request id, whatever its body (SessionID: null means the "
    "reply has no SessionID, as 1661).",
    "log: the camera's log; a query (1442) returns up to page_size records whose Position is "
    "at least its LogPosition (LogPosition 159 gives 159 first), oldest first.",
    "channel_titles: the titles 1048 answers. discovery: the NetWork.NetCommon object the "
    "camera's UDP search reply (1531) carries, which differs from the config's (another "
    "interface: MAC, HostIP, HostName).",
]


def _source(item: dict[str, Any]) -> str:
    return str(item.get("source") or item.get("request_source"))


def build(exchanges: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: PLR0912
    sources: dict[str, Any] = {}

    def first(message_id: int, name: str | None = None, case: str | None = None) -> dict[str, Any]:
        for item in exchanges:
            request = item["request"] or {}
            if (
                item["id"] == message_id
                and item["reply"] is not None
                and (name is None or request.get("Name") == name)
                and (case is None or item.get("case") == case)
            ):
                return item
        raise KeyError((message_id, name, case))

    login = first(1000, case="login accepted")
    login_reply = {k: v for k, v in login["reply"].items() if k != "SessionID"}
    sources["login_reply"] = _source(login)
    system = first(1020, "SystemInfo")
    storage = first(1020, "StorageInfo")
    sources["system_info"], sources["storage"] = _source(system), _source(storage)

    users = first(1472)
    groups = first(1474)
    authorities = first(1470)
    user_list = [dict(user, Password=EMPTY_PASSWORD_HASH) for user in users["reply"]["Users"]]
    sources["users"], sources["groups"] = _source(users), _source(groups)
    sources["authorities"] = _source(authorities)
    titles = first(1048, "ChannelTitle")
    sources["channel_titles"] = _source(titles)

    config: dict[str, Any] = {}
    per_channel: dict[str, dict[str, Any]] = {kind: {} for kind in PER_CHANNEL}
    config_sources: dict[str, str] = {}
    kinds = {name: kind for kind, names in PER_CHANNEL.items() for name in names}
    for item in exchanges:
        reply, request = item["reply"], item["request"] or {}
        name = request.get("Name")
        if item["id"] != 1042 or not reply or reply.get("Ret") != 100 or name not in reply:
            continue
        assert isinstance(name, str)
        base = name.removesuffix(".[0]")
        if base in config or any(base in templates for templates in per_channel.values()):
            continue  # captured twice: the first (later) capture holds
        value = reply[name]
        if base in kinds:
            if name == base:  # captured whole: one element per channel
                assert isinstance(value, list), name
                assert len(value) == 1, name
                value = value[0]
            per_channel[kinds[base]][base] = value
        else:
            assert name == base, name
            config[name] = value
        config_sources[base] = _source(item)
    # Written by the vendor's app and accepted (Ret 100), never read in [BES].
    language = next(
        item
        for item in exchanges
        if item["id"] == 1040 and item["request"]["Name"] == "BrowserLanguage"
    )
    config["BrowserLanguage"] = language["request"]["BrowserLanguage"]
    config_sources["BrowserLanguage"] = str(language["request_source"]) + " (a write, Ret 100)"
    missing = sorted(set(kinds) - set(config_sources))
    assert not missing, missing
    sources["config"] = dict(sorted(config_sources.items()))

    abilities: dict[str, Any] = {}
    ability_sources: dict[str, str] = {}
    unknown_abilities = []
    for item in exchanges:
        if item["id"] != 1360:
            continue
        name, reply = item["request"]["Name"], item["reply"]
        if reply["Ret"] == 100:
            abilities[name] = reply[name]
            ability_sources[name] = _source(item)
        else:
            unknown_abilities.append(_source(item))
    sources["abilities"] = ability_sources

    fixed: dict[str, Any] = {}
    fixed_sources: dict[str, str] = {}
    for message_id in (1050, 1460, 1525, 1660, 2000, 2008):
        item = first(message_id)
        reply = {k: v for k, v in item["reply"].items() if k != "SessionID"}
        if "SessionID" not in item["reply"]:
            reply["SessionID"] = None
        fixed[str(message_id)] = reply
        fixed_sources[str(message_id)] = _source(item)
    sources["fixed_replies"] = fixed_sources

    records: dict[int, dict[str, Any]] = {}
    log_sources = []
    for item in exchanges:
        if item["id"] == 1442:
            for record in item["reply"]["OPLogQuery"]:
                records.setdefault(record["Position"], record)
            log_sources.append(_source(item))
    sources["log"] = log_sources

    discovery = first(1530)
    sources["discovery"] = _source(discovery)

    def sourced(*pairs: tuple[str, int, str | None]) -> list[str]:
        return [_source(first(message_id, name)) for _, message_id, name in pairs]

    sources["quirks"] = {
        "session_id_style": _source(first(1042, "NetWork.AlarmServer")),
        "rets.wrong_password": _source(first(1000, case="wrong password")),
        "rets.unknown_user": _source(first(1000, case="unknown user")),
        "rets.unknown_config": _source(first(1042, "PMS.num")),
        "rets.unsupported": _source(first(1362, "ChannelSystemFunction@SmartH264")),
        "rets.unknown_ability": unknown_abilities,
        "rets.default_config": _source(first(1450, "OPDefaultConfig")),
        "unknown_config_null": [
            _source(first(1042, name))
            for name in ("Ability.SerialNo", "PMS.num", "NetWork.DigManagerShow")
        ],
        "reply_names": sourced(
            ("1041", 1040, "General.General"),
            ("1451", 1450, "OPTimeSetting"),
            ("1453", 1452, "OPTimeQuery"),
            ("1471", 1470, None),
            ("1473", 1472, None),
            ("1475", 1474, None),
        ),
        "lenient_config_writes": sourced(
            ("PtzLink", 1040, "Detect.BlindDetect.[0]"),
            ("Audio", 1040, "Simplify.Encode.[0]"),
            ("User", 1040, "System.ExUserMap"),
            ("booleans", 1040, "NetWork.OnlineUpgrade"),
        ),
        "reply_to_unguard": _source(next(i for i in exchanges if i["id"] == 1502)),
        "work_state_masks": _source(first(1020, "WorkState")),
        "work_state_channel_state": _source(first(1020, "WorkState")),
    }

    return {
        "name": "xm530",
        "description": (
            "A Besder 6024PB camera: XM530_50X50-WG_8M, one channel, firmware "
            "V5.00.R02.00030747.10010.349f17.0000000, as captured in [BES]."
        ),
        "channels": {"video": 1, "alarm_in": 1, "alarm_out": 1},
        "login_reply": login_reply,
        "system_info": system["reply"]["SystemInfo"],
        "users": user_list,
        "groups": groups["reply"]["Groups"],
        "authorities": authorities["reply"]["AuthorityList"],
        "channel_titles": titles["reply"]["ChannelTitle"],
        "config": config,
        "per_channel": per_channel,
        "abilities": abilities,
        "storage": storage["reply"]["StorageInfo"],
        "quirks": {
            "session_id_style": "padded_lower",
            "reply_to_unguard": False,
            "rets": {
                "wrong_password": 203,
                "unknown_user": 205,
                "unknown_config": 607,
                "unsupported": 102,
                "unknown_ability": 103,
                "default_config": 603,
            },
            "unknown_config_null": True,
            "reply_names": {
                "1041": "echo",
                "1451": "echo",
                "1453": None,
                "1471": "AuthorityList",
                "1473": "Users",
                "1475": "Groups",
            },
            "lenient_config_writes": True,
            "work_state_masks": "hex",
            "work_state_channel_state": False,
        },
        "fixed_replies": fixed,
        "log": {"page_size": 128, "records": [records[key] for key in sorted(records)]},
        "discovery": discovery["reply"]["NetWork.NetCommon"],
        "sources": sources,
        "notes": NOTES,
    }


def main() -> int:
    data = json.loads(EXCHANGES.read_text("utf-8"))
    profile = build(data["exchanges"])
    # One log record a line: a thousand records spread over seven lines each are unreadable.
    records = profile["log"]["records"]
    profile["log"]["records"] = [f"@record {index}" for index in range(len(records))]
    text = json.dumps(profile, ensure_ascii=False, indent=1)
    for index, record in enumerate(records):
        line = json.dumps(record, ensure_ascii=False)
        text = text.replace(json.dumps(f"@record {index}"), line, 1)
    PROFILE.write_text(text + "\n", encoding="utf-8")
    print(
        f"{PROFILE}: {len(profile['config'])} device-wide config names, "
        f"{sum(map(len, profile['per_channel'].values()))} per channel, "
        f"{len(profile['abilities'])} abilities"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
