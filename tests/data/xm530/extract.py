"""Rebuild `exchanges.json` from a git mirror of [BES].

[BES] is KostasEreksonas/Besder-6024PB-XMA501-ip-camera-security-investigation, whose folder
`command_codes/payloads/` holds the requests a client sent to a Besder 6024PB camera (XM530,
firmware V5.00.R02) and the replies the camera gave, one JSON body per file; some files start
with a line holding the message id. This script reads those files straight from the mirror's
git objects (no work tree needed), pairs every request with its reply, overwrites every secret
(password hashes, keys) with `<redacted>`, and writes our own format:

    {"device": ..., "source": ..., "notes": [...],
     "exchanges": [{"id": 1042, "request": {...}, "reply_id": 1043, "reply": {...},
                    "source": "[BES] command_codes/payloads/<reply file>",
                    "request_source": "[BES] command_codes/payloads/<request file>",
                    "case": "...", "note": "..."}, ...]}

`request` or `reply` is null where [BES] has no such body (the failed logins' requests, the
authority/user/group list requests, an unguard's reply, a snapshot's JPEG, a config export's
data). Run:

    python tests/data/xm530/extract.py /work/.mirror/<owner>+<name>/repo [COMMIT]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

from xmcam.protocol.redaction import REDACTED, SECRET_KEYS

PAYLOADS: Final = "command_codes/payloads/"
OUTPUT: Final = Path(__file__).with_name("exchanges.json")
_ID_LINE: Final = re.compile(r"\A\s*(\d{3,5})\s*\n")


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args],  # noqa: S607  (git from PATH, a tool script)
        check=True,
        capture_output=True,
        text=True,
        encoding="utf-8",
    ).stdout


class Capture:
    """One [BES] payload file: its message id (from the id line or the file name), its body."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path[len(PAYLOADS) :]
        match = _ID_LINE.match(text)
        name_id = re.match(r"(\d{4})", Path(path).name)
        if match:
            self.message_id = int(match.group(1))
            text = text[match.end() :]
        else:
            assert name_id is not None, path
            self.message_id = int(name_id.group(1))
        self.body: dict[str, Any] | None = json.loads(text) if text.strip() else None

    @property
    def name(self) -> str | None:
        if self.body is None:
            return None
        value = self.body.get("Name")
        return value if isinstance(value, str) else None

    @property
    def source(self) -> str:
        return f"[BES] {PAYLOADS}{self.path}"


def load(git_dir: str, commit: str) -> dict[str, Capture]:
    listing = _git(git_dir, "ls-tree", "-r", "--name-only", commit, "--", PAYLOADS)
    captures = {}
    for path in listing.splitlines():
        if path.endswith(".json"):
            capture = Capture(path, _git(git_dir, "show", f"{commit}:{path}"))
            captures[capture.path] = capture
    return captures


def _redact(value: Any) -> Any:
    """`value` with every secret overwritten, at any depth. An empty secret ("" or null) is
    kept: it is no secret, and it says the device has none set."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if key.strip().lower() in SECRET_KEYS and item not in ("", None)
            else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def exchange(
    request: Capture | None,
    reply: Capture | None,
    *,
    message_id: int | None = None,
    case: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    request_id = request.message_id if request else message_id
    assert request_id is not None
    entry: dict[str, Any] = {
        "id": request_id,
        "request": _redact(request.body) if request and request.body is not None else None,
        "reply_id": request_id + 1,
        "reply": _redact(reply.body) if reply and reply.body is not None else None,
    }
    if reply is not None:
        assert reply.message_id == request_id + 1, (request, reply.path)
        entry["source"] = reply.source
    if request is not None:
        entry["request_source"] = request.source
    if case:
        entry["case"] = case
    if note:
        entry["note"] = note
    return entry


def build(captures: dict[str, Capture]) -> list[dict[str, Any]]:
    used: set[str] = set()

    def take(path: str) -> Capture:
        used.add(path)
        return captures[path]

    def in_folder(folder: str) -> list[Capture]:
        return sorted(
            (
                c
                for p, c in captures.items()
                if p.startswith(folder) and "/" not in p[len(folder) :]
            ),
            key=lambda c: c.path,
        )

    def by_name(requests: str, replies: str) -> list[dict[str, Any]]:
        """Pair the requests of one folder with the replies of another by Name."""
        answers = {c.name: c for c in in_folder(replies)}
        pairs = []
        for request in in_folder(requests):
            reply = answers.pop(request.name, None)
            used.add(request.path)
            if reply is not None:
                used.add(reply.path)
            pairs.append(exchange(request, reply))
        assert not answers, f"replies without a request in {replies}: {sorted(map(str, answers))}"
        return pairs

    out: list[dict[str, Any]] = []
    # Sessions: login, keepalive.
    out.append(
        exchange(
            take("1000_login_request.json"),
            take("1001_login_response/1001_login_response_successful.json"),
            case="login accepted",
        )
    )
    for case, file in (
        ("wrong password", "incorrect_password"),
        ("unknown user", "incorrect_username"),
    ):
        out.append(
            exchange(
                None,
                take(f"1001_login_response/1001_login_response_{file}.json"),
                message_id=1000,
                case=case,
            )
        )
    out.append(
        exchange(take("1006_keep_alive_request.json"), take("1007_keep_alive_response.json"))
    )
    # Information, config, abilities: paired by Name.
    out += by_name("1020_system_info_request/", "1021_system_info_response/")
    out += by_name("1042_get_config_info_requests/", "1043_get_config_info_responses/")
    out += by_name(
        "1042_get_config_info_requests/general/", "1043_get_config_info_responses/general/"
    )
    ntp_set = "1042_get_config_info_requests/network/1042_network_net_ntp_enable_request.json"
    ntp_set_reply = (
        "1043_get_config_info_responses/network/1043_network_net_ntp_enable_response.json"
    )
    network = [c for c in in_folder("1042_get_config_info_requests/network/") if c.path != ntp_set]
    network_replies = {
        c.name: c
        for c in in_folder("1043_get_config_info_responses/network/")
        if c.path != ntp_set_reply
    }
    for request in network:
        reply = network_replies.pop(request.name)
        used.update((request.path, reply.path))
        out.append(exchange(request, reply))
    assert not network_replies
    out.append(
        exchange(
            take(ntp_set),
            take(ntp_set_reply),
            note=(
                "filed by [BES] as a 1042 get, but the request carries the object and the "
                "reply carries none, as a set (1040) does"
            ),
        )
    )
    out += by_name("1040_set_config_info_requests/", "1041_set_config_info_responses/")
    out.append(
        exchange(take("1048_channel_title_request.json"), take("1049_channel_title_response.json"))
    )
    out.append(
        exchange(
            take("1050_CONFIG_CHANNELTILE_DOT_SET.json"),
            take("1051_CONFIG_CHANNELTILE_DOT_SET_RSP.json"),
            note="[BES] stores the request as an empty file (its body is binary title dots)",
        )
    )
    out += by_name("1360_system_ability_request/", "1361_system_ability_response/")
    out += by_name("1362_SMARTH264_REQ/", "1363_SMARTH264_RESP/")
    # Live monitoring: the vendor app's two-socket flow.
    monitor = "1410_op_monitor_request/1410_op_monitor_"
    replies = "1411_op_monitor_response/1411_op_monitor_"
    out.append(
        exchange(take(f"{monitor}start_request.json"), take(f"{replies}start_response.json"))
    )
    out.append(exchange(take(f"{monitor}stop_request.json"), take(f"{replies}stop_response.json")))
    for action in ("start", "stop"):
        out.append(
            exchange(
                take(f"{monitor}{action}_request_extra_stream.json"),
                None,
                note="[BES] shows no reply of its own for the extra stream",
            )
        )
    claim = "1413_op_monitor_claim_request/1413_op_monitor_claim_request"
    out.append(exchange(take(f"{claim}.json"), take("1414_op_monitor_claim_response.json")))
    out.append(
        exchange(
            take(f"{claim}_extra_stream.json"),
            None,
            note="[BES] shows no reply of its own for the extra stream",
        )
    )
    # Files and logs.
    out.append(
        exchange(take("1440_OPFileQuery_request.json"), take("1441_OPFileQuery_response.json"))
    )
    for request in in_folder("1442_OPLogQuery_request/"):
        frame = int(Path(request.path).stem.split("_")[1])
        used.add(request.path)
        out.append(exchange(request, take(f"1443_OPLogQuery_response/1443_{frame + 1}.json")))
    # System management.
    for name in ("OPDefaultConfig", "OPTimeSetting"):
        out.append(exchange(take(f"1450_{name}_request.json"), take(f"1451_{name}_response.json")))
    out.append(
        exchange(take("1452_op_time_query_request.json"), take("1453_op_time_query_response.json"))
    )
    out.append(
        exchange(
            take("1460_OPStorageManager_request.json"), take("1461_OPStorageManager_response.json")
        )
    )
    # Accounts.
    for number, name in ((1470, "OPAuthorityList"), (1472, "OPUsersList"), (1474, "OPGroupsList")):
        out.append(
            exchange(
                take(f"{number}_{name}_request.json"),
                take(f"{number + 1}_{name}_response.json"),
                note="[BES] stores only the request's message id, not its body",
            )
        )
    out.append(
        exchange(take("1482_OPUserInfo_request.json"), take("1483_OPUserInfo_response.json"))
    )
    out.append(
        exchange(take("1486_OPUserDelete_request.json"), take("1487_OPUserDelete_response.json"))
    )
    # Alarms.
    out.append(exchange(take("1500_guard_request.json"), take("1501_guard_response.json")))
    out.append(
        exchange(take("1502_unguard_request.json"), None, note="[BES] shows no reply to an unguard")
    )
    # Upgrade, discovery, export, snapshot, time without RTC, random user, versions, FTP test.
    out.append(
        exchange(
            take("1525_op_system_upgrade_request.json"),
            take("1526_op_system_upgrade_response.json"),
        )
    )
    out.append(
        exchange(
            None,
            take("1531_IPSEARCH_RSP_response.json"),
            message_id=1530,
            note="a UDP search reply (port 34569); [BES] does not store the search",
        )
    )
    out.append(
        exchange(
            take("1542_configure_export_request.json"),
            take("1543_configure_export_response.json"),
            note="[BES] stores only the reply's message id: the exported data is not kept",
        )
    )
    out.append(
        exchange(
            take("1560_op_snapshot_request.json"),
            None,
            note="the camera answers with a JPEG in 1561 packets; [BES] does not store it",
        )
    )
    out.append(
        exchange(
            take("1590_op_time_setting_no_rtc_request.json"),
            take("1591_op_time_setting_no_rtc_response.json"),
        )
    )
    out.append(
        exchange(take("1660_GetRandomUser_request.json"), take("1661_GetRandomUser_response.json"))
    )
    out.append(
        exchange(take("2000_OPVersionList.request.json"), take("2001_OPVersionList.response.json"))
    )
    out.append(exchange(take("2008_OPFTPTest_request.json"), take("2009_OPFTPTest_response.json")))
    left = sorted(set(captures) - used)
    assert not left, f"payload files not used: {left}"
    return out


NOTES: Final = [
    "Every body is as [BES] shows it, member order included; secrets (password hashes, the "
    "camera's ExUserMap tokens, Wi-Fi keys) are overwritten with <redacted>; empty ones are "
    "kept as they are.",
    "SessionID values are those of the captured sessions (0x1, 0x2, 0x6, 0xb): a replay "
    "puts its own session there, spelled as the camera spells it (8 lower-case hex digits).",
    "AppDowloadLink's links hold backslashes before each slash as [BES] stores them (the "
    "camera's JSON writer escapes '/').",
    "Where a name was captured twice (e.g. General.General, NetWork.NetDHCP), both replies "
    "are kept, the later capture (session 0xb) first.",
]


def main(argv: list[str]) -> int:
    if not 2 <= len(argv) <= 3:
        print(__doc__)
        return 2
    git_dir = argv[1]
    commit = _git(git_dir, "rev-parse", argv[2] if len(argv) == 3 else "HEAD").strip()
    captures = load(git_dir, commit)
    data = {
        "device": {
            "camera": "Besder 6024PB",
            "hardware": "XM530_50X50-WG_8M",
            "firmware": "V5.00.R02.00030747.10010.349f17.0000000",
        },
        "source": (
            "[BES] github.com/KostasEreksonas/Besder-6024PB-XMA501-ip-camera-security-"
            f"investigation, commit {commit}, folder {PAYLOADS}"
        ),
        "notes": NOTES,
        "exchanges": build(captures),
    }
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"{OUTPUT}: {len(data['exchanges'])} exchanges from {len(captures)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
