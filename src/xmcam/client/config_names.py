"""The config names xmcam knows, without I/O: which exist, which are per channel, which members
are the device's identity.

A camera never lists the config names it has: a client can only ask for a name and see whether
the device answers (Ret 100) or refuses (Ret 607 "config does not exist", 103 "illegal
request", or one of the empty replies some firmware sends instead). So a whole backup asks for
every name known from the vendor's documents and from captures of real devices, and keeps what
was answered (`xmcam.client.operations.probe_config`).

Sources, named per entry:

- [DOC]: the vendor's "DVR interface protocol" V1.0.0, §5.3.1 (the config name list), and the
  vendor's "config exchange format" V2.0 (both stored in OpenIPC/python-dvr : doc/);
- [BES]: the names a real XM530 camera (firmware V5.00.R02) answered, captured in
  KostasEreksonas/Besder-6024PB-XMA501-ip-camera-security-investigation :
  command_codes/payloads/1042_get_config_info_requests and 1040_set_config_info_requests;
- [EQU]: equake/hass-xmeye : docs/STREAM_INVESTIGATION.md (a root such as `Detect` answers
  with its whole tree, ~155 KB, and times out when written: ask per channel instead).

Per channel: a name whose value is one object per channel is asked for as `Name.[n]`, n from
0 to the device's count minus one (video channels: SystemInfo VideoInChannel + DigChannel;
alarm inputs: AlarmInChannel). [BES] asks for exactly these names that way; every other name,
arrays included (`Alarm.AlarmOut`, `NetWork.NetDDNS`), is read and written whole, as [BES] does.

Left out on purpose, because they are readouts, not settings (writing one back fails or means
nothing): `Ability.*` and `NetUse.DigitalAbility` (capabilities), `Status.*` (`Status.NatInfo`:
the cloud link's state), `NetWork.ChnStatus` (the recorder's channel states), `AppDowloadLink`
(the vendor's app links) [BES] [DOC].
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "KNOWN_CONFIGS",
    "ConfigName",
    "Scope",
    "base_name",
    "expand",
    "identity_members",
    "known_config",
    "select",
]

Scope = Literal["device", "video", "alarm_in"]
"""What a name's value is for: the whole device, or one per video channel / alarm input."""

MemberPath = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConfigName:
    """One known config name."""

    name: str
    scope: Scope = "device"
    identity: tuple[MemberPath, ...] = ()
    """Members that belong to this one device (its addresses, MAC, serial): an import from
    another device's backup must not overwrite them."""


# The device's own network identity: its addresses, its MAC, its serial number. [BES]'s
# NetWork.NetCommon has HostIP, Submask, GateWay and MAC; the seed's camera also has SN.
# Submask and GateWay go with HostIP: an address written without them, or theirs without it,
# can cut the device off the network just the same.
_ADDRESS: Final[tuple[MemberPath, ...]] = (("HostIP",), ("Submask",), ("GateWay",))
_NET_COMMON_IDENTITY: Final = (*_ADDRESS, ("MAC",), ("SN",))

KNOWN_CONFIGS: Final[tuple[ConfigName, ...]] = (
    # General
    ConfigName("General.General"),  # [DOC] [BES]
    ConfigName("General.Location"),  # [DOC] [BES]
    ConfigName("General.AutoMaintain"),  # [DOC] [BES]
    ConfigName("General.PwdSafety"),  # [BES]: the password-reset questions
    ConfigName("System.TimeZone"),  # [DOC] [BES]
    ConfigName("System.ExUserMap"),  # [DOC] [BES]
    ConfigName("BrowserLanguage"),  # [DOC] [BES] (written by the app)
    ConfigName("LocalHost"),  # [DOC]
    ConfigName("WorkMode"),  # [DOC]
    ConfigName("ChannelTitle"),  # [DOC] (also 1046/1048)
    # Video and encoding
    ConfigName("Simplify.Encode", "video"),  # [DOC]; [BES] writes Simplify.Encode.[0]
    ConfigName("AVEnc.Encode"),  # [DOC] [BES]
    ConfigName("AVEnc.EncodeStaticParam"),  # [DOC] [BES]
    ConfigName("AVEnc.SmartH264"),  # [BES]
    ConfigName("AVEnc.SmartH264V2", "video"),  # [BES] AVEnc.SmartH264V2.[0]
    ConfigName("AVEnc.VideoWidget"),  # [DOC] [BES]
    ConfigName("AVEnc.VideoColor"),  # [DOC]
    ConfigName("AVEnc.CombineEncode"),  # [DOC]
    ConfigName("Camera.Param", "video"),  # [DOC]; [BES] Camera.Param.[0]
    ConfigName("Camera.ParamEx", "video"),  # [DOC]; [BES] Camera.ParamEx.[0]
    ConfigName("Camera.ClearFog"),  # [DOC] [BES]
    ConfigName("Camera.WhiteLight"),  # [DOC]
    ConfigName("fVideo.GUISet"),  # [DOC] [BES]
    ConfigName("fVideo.Volume"),  # [BES]
    ConfigName("fVideo.OSDInfo"),  # [DOC]
    ConfigName("fVideo.Tour"),  # [DOC]
    ConfigName("fVideo.TVAdjust"),  # [DOC]
    ConfigName("fVideo.AudioInFormat"),  # [DOC]
    ConfigName("fVideo.Play"),  # [DOC]
    # Detection, alarms, recording
    ConfigName("Detect.MotionDetect", "video"),  # [DOC]; [BES] .[0]; [EQU]
    ConfigName("Detect.BlindDetect", "video"),  # [DOC]; [BES] .[0]
    ConfigName("Detect.LossDetect", "video"),  # [DOC]; [BES] .[0]
    ConfigName("Detect.HumanDetection", "video"),  # [DOC]; [BES] .[0]
    ConfigName("Alarm.LocalAlarm", "alarm_in"),  # [DOC]; [BES] Alarm.LocalAlarm.[0]
    ConfigName("Alarm.AlarmOut"),  # [DOC] [BES] (one array of every output)
    ConfigName("Alarm.NetAlarm"),  # [DOC]
    ConfigName("Alarm.NetIPConflict"),  # [DOC]
    ConfigName("Alarm.NetAbort"),  # [DOC]
    ConfigName("Alarm.PTZAlarmProtocol"),  # [DOC]
    ConfigName("Alarm.PIR"),  # [DOC]
    ConfigName("Record", "video"),  # [DOC]; [BES] Record.[0]
    ConfigName("Storage.Snapshot", "video"),  # [DOC]; [BES] Storage.Snapshot.[0]
    ConfigName("Storage.StorageNotExist"),  # [DOC] [BES]
    ConfigName("Storage.StorageLowSpace"),  # [DOC]
    ConfigName("Storage.StorageFailure"),  # [DOC]
    ConfigName("Storage.StoragePosition"),  # [BES]
    ConfigName("StorageGlobal"),  # [DOC]
    # Network
    ConfigName("NetWork.NetCommon", identity=_NET_COMMON_IDENTITY),  # [DOC] [BES]
    ConfigName("NetWork.NetDHCP"),  # [DOC] [BES]
    ConfigName("NetWork.NetDNS"),  # [DOC] [BES]
    ConfigName("NetWork.NetIPFilter"),  # [DOC] [BES]
    ConfigName("NetWork.NetDDNS"),  # [DOC] [BES]
    ConfigName("NetWork.NetEmail"),  # [DOC] [BES]
    ConfigName("NetWork.NetFTP"),  # [DOC] [BES]
    ConfigName("NetWork.NetNTP"),  # [DOC] [BES]
    ConfigName("NetWork.NetPPPoE"),  # [DOC]
    ConfigName("NetWork.NetARSP"),  # [DOC]
    ConfigName("NetWork.NetMobile"),  # [DOC]
    ConfigName("NetWork.Upnp"),  # [DOC] [BES]
    ConfigName("NetWork.AlarmServer"),  # [DOC] [BES]
    ConfigName("NetWork.RTSP"),  # [DOC] [BES]
    ConfigName("NetWork.Wifi", identity=_ADDRESS),  # [DOC] [BES]: the Wi-Fi address
    ConfigName("NetWork.Nat"),  # [DOC] [BES]
    ConfigName("NetWork.PMS"),  # [DOC] [BES]
    ConfigName("NetWork.RemoteDevice"),  # [DOC]
    ConfigName("NetWork.OnlineUpgrade"),  # [BES]
    ConfigName("NetWork.OnvifPwdCheckout"),  # [BES]
    ConfigName("NetWork.TranCommData"),  # [BES]
    ConfigName("NetWork.DigManagerShow"),  # [BES] (recorders; the camera refuses it: 607)
    ConfigName("OEMcfg.Correspondent"),  # [BES]: the ONVIF service's port and scopes
    # Serial ports and PTZ
    ConfigName("Uart.Comm"),  # [DOC] [BES]
    ConfigName("Uart.PTZ"),  # [DOC] [BES]
    ConfigName("Uart.RS485"),  # [DOC] [BES]
    ConfigName("Uart.PTZPreset"),  # [DOC]
    ConfigName("Uart.PTZTour"),  # [DOC]
)
"""Every known config name, in the order an export asks for them."""

_BY_NAME: Final[Mapping[str, ConfigName]] = {entry.name: entry for entry in KNOWN_CONFIGS}
_CHANNEL_SUFFIX: Final = re.compile(r"\.\[(\d{1,6})\]\Z")


def known_config(name: str) -> ConfigName | None:
    """The catalogue entry of `name` (`Camera.Param.[2]` is `Camera.Param`'s), or None."""
    return _BY_NAME.get(base_name(name))


def base_name(name: str) -> str:
    """`name` without its channel suffix: `Camera.Param` for `Camera.Param.[0]`."""
    return _CHANNEL_SUFFIX.sub("", name)


def expand(entry: ConfigName, counts: Mapping[Scope, int]) -> list[str]:
    """The names to ask for: the name itself for a device-wide entry, `Name.[n]` for each of
    the device's `counts[scope]` channels otherwise."""
    if entry.scope == "device":
        return [entry.name]
    return [f"{entry.name}.[{index}]" for index in range(counts.get(entry.scope, 0))]


def select(patterns: Iterable[str] | None) -> list[ConfigName]:
    """The entries `patterns` choose, in order, without repeats: every known name for None; a
    pattern with `*` or `?` chooses the known names it matches (`NetWork.*`, `*Detect*`); any
    other pattern is one name, known or not (an unknown one is asked for as given, to be kept
    if the device answers). Raises ValueError for a pattern that matches no known name."""
    if patterns is None:
        return list(KNOWN_CONFIGS)
    chosen: dict[str, ConfigName] = {}
    for pattern in patterns:
        for entry in _matches(pattern.strip()):
            chosen.setdefault(entry.name, entry)
    return list(chosen.values())


def _matches(pattern: str) -> list[ConfigName]:
    if not pattern:
        raise ValueError("an empty config name")
    if "*" not in pattern and "?" not in pattern:
        known = _BY_NAME.get(pattern)
        return [known if known is not None else ConfigName(pattern)]
    wildcard = re.compile(
        "".join(
            ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
        )
    )
    found = [entry for entry in KNOWN_CONFIGS if wildcard.fullmatch(entry.name)]
    if not found:
        raise ValueError(f"no known config name matches {pattern!r}")
    return found


def identity_members(name: str) -> list[MemberPath]:
    """The members of `name`'s value that are the device's identity. For a root such as
    `NetWork` (whose value holds every `NetWork.*` object under its last part), the paths
    start with that part: `("NetCommon", "HostIP")`."""
    entry = known_config(name)
    if entry is not None:
        return list(entry.identity)
    prefix = name + "."
    return [
        (entry.name[len(prefix) :], *path)
        for entry in KNOWN_CONFIGS
        if entry.name.startswith(prefix)
        for path in entry.identity
    ]
