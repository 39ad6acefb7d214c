"""The seed capture's frames, as golden test vectors.

`tests/data/seed-capture.txt` is a byte-exact copy of the project's seed: an annotated capture
of a client (192.168.1.11) talking to an XM camera (192.168.1.12) on TCP 34567. Each hex dump
in it is one Ethernet frame. This module strips the Ethernet, IPv4 and TCP headers and keeps
the TCP payload, which is exactly one DVRIP packet per dump.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "ALARM_OUT_CLOSE",
    "ALARM_OUT_MANUAL",
    "EXPECTED_BODIES",
    "EXPECTED_HEADERS",
    "SEED_FRAMES",
    "SEED_LOGIN_REPLY",
    "SEED_PATH",
    "SEED_SYSTEM_INFO",
    "SeedFrame",
    "load_seed_frames",
]

SEED_PATH: Final = Path(__file__).parent / "data" / "seed-capture.txt"

CLIENT_IP: Final = bytes([192, 168, 1, 11])
DEVICE_IP: Final = bytes([192, 168, 1, 12])

_DUMP_LINE: Final = re.compile(r"^([0-9a-f]{4})   ((?:[0-9a-f]{2} ){0,15}[0-9a-f]{2})")
_ETHERNET_HEADER: Final = 14


@dataclass(frozen=True)
class SeedFrame:
    index: int
    from_client: bool
    payload: bytes  # the TCP payload: one whole DVRIP packet


def _ethernet_frames(text: str) -> list[bytes]:
    frames: list[bytearray] = []
    for line in text.splitlines():
        match = _DUMP_LINE.match(line)
        if match is None:
            continue
        offset = int(match.group(1), 16)
        data = bytes.fromhex(match.group(2))
        if offset == 0:
            frames.append(bytearray())
        assert len(frames[-1]) == offset, f"dump line out of order: {line!r}"
        frames[-1] += data
    return [bytes(frame) for frame in frames]


def _tcp_payload(ethernet: bytes) -> tuple[bytes, bytes]:
    ip = ethernet[_ETHERNET_HEADER:]
    ip_header = (ip[0] & 0x0F) * 4
    total_length = int.from_bytes(ip[2:4], "big")
    tcp = ip[ip_header:total_length]
    tcp_header = (tcp[12] >> 4) * 4
    return ip[12:16], tcp[tcp_header:]


def load_seed_frames() -> list[SeedFrame]:
    frames = []
    for index, ethernet in enumerate(_ethernet_frames(SEED_PATH.read_text(encoding="utf-8"))):
        source, payload = _tcp_payload(ethernet)
        assert source in (CLIENT_IP, DEVICE_IP)
        frames.append(SeedFrame(index, source == CLIENT_IP, payload))
    return frames


SEED_FRAMES: Final = load_seed_frames()

# What each seed frame holds: (from client, message id, session id, sequence, version).
# The seed camera's SystemInfo object and login reply fields, as captured (frames 1 and 3).
SEED_SYSTEM_INFO: Final[dict[str, Any]] = {
    "AlarmInChannel": 1,
    "AlarmOutChannel": 1,
    "AudioInChannel": 1,
    "BuildTime": "2020-02-26 17:11:38",
    "CombineSwitch": 0,
    "DeviceModel": "",
    "DeviceRunTime": "0x00001278",
    "DeviceType": 40,
    "DigChannel": 0,
    "EncryptVersion": "Unknown",
    "ExtraChannel": 0,
    "HardWare": "HI3516D_83H50N",
    "HardWareVersion": "1.01",
    "SerialNo": "58e7fa5e6e262535",
    "SoftWareVersion": "V4.03.R12.G7914927.12012.145902.0020000",
    "TalkInChannel": 1,
    "TalkOutChannel": 1,
    "UpdataTime": "",
    "UpdataType": "0x00000000",
    "VideoInChannel": 1,
    "VideoOutChannel": 1,
}
SEED_LOGIN_REPLY: Final[dict[str, Any]] = {
    "AliveInterval": 20,
    "ChannelNum": 1,
    "DataUseAES": False,
    "DeviceType ": "IPC",  # sic: the trailing space is the camera's own
    "ExtraChannel": 0,
    "Ret": 100,
}


EXPECTED_HEADERS: Final = [
    (True, 1000, 0, 0, 0),  # login
    (False, 1001, 1, 0, 1),  # login reply
    (True, 1020, 1, 0, 0),  # SystemInfo
    (False, 1021, 1, 0, 1),  # SystemInfo reply
    (False, 1501, 1, 0, 1),  # guard reply
    (True, 1006, 1, 0, 0),  # KeepAlive
    (False, 1007, 1, 0, 1),  # KeepAlive reply
    (True, 1040, 1, 1, 0),  # alarm out MANUAL
    (False, 1041, 1, 1, 1),  # its reply
    (True, 1040, 1, 2, 0),  # alarm out CLOSE
    (True, 1502, 1, 0, 0),  # unguard
]


ALARM_OUT_MANUAL: Final = [{"AlarmOutStatus": "OPEN", "AlarmOutType": "MANUAL"}]
ALARM_OUT_CLOSE: Final = [{"AlarmOutStatus": "OPEN", "AlarmOutType": "CLOSE"}]

# The decoded body of each seed frame, keys as the reader normalises them.
EXPECTED_BODIES: Final[list[dict[str, Any]]] = [
    {"EncryptType": "MD5", "LoginType": "DVRIP-Web", "PassWord": "tlJwpbo6", "UserName": "admin"},
    {
        "AliveInterval": 20,
        "ChannelNum": 1,
        "DataUseAES": False,
        "DeviceType": "IPC",
        "ExtraChannel": 0,
        "Ret": 100,
        "SessionID": "0x00000001",
    },
    {"Name": "SystemInfo", "SessionID": "0x00000001"},
    {"Name": "SystemInfo", "Ret": 100, "SessionID": "0x1", "SystemInfo": SEED_SYSTEM_INFO},
    {"Name": "", "Ret": 100, "SessionID": "0x00000001"},
    {"Name": "KeepAlive", "SessionID": "0x00000001"},
    {"Name": "KeepAlive", "Ret": 100, "SessionID": "0x00000001"},
    {"Alarm.AlarmOut": ALARM_OUT_MANUAL, "Name": "Alarm.AlarmOut", "SessionID": "0x1"},
    {"Name": "", "Ret": 100, "SessionID": "0x00000001"},
    {"Alarm.AlarmOut": ALARM_OUT_CLOSE, "Name": "Alarm.AlarmOut", "SessionID": "0x1"},
    {"Name": "", "SessionID": "0x00000001"},
]
