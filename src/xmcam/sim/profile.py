"""Simulator profiles: what device a simulator pretends to be.

A profile is a JSON file (see `profiles/ipc-seed.json`, the camera of the seed capture):

- `system_info`, `login_reply`: the SystemInfo object and the login reply's fields;
- `channels`: how many video channels, alarm inputs and alarm outputs;
- `users`, `groups`, `authorities`: the accounts (passwords stored as Sofia hashes only);
- `hidden_accounts`: accounts the firmware has but does not tell its owner of (the `default`
  account of XM firmware, CVE-2018-17919), and `keep_hidden_accounts`: whether they stay
  enabled when the simulator is given a password (by default they are then disabled);
- `config`: device-wide config objects by dotted name (`General.General`);
- `per_channel`: config objects with one copy per video channel (`Camera.Param`), alarm input
  (`Alarm.LocalAlarm`) or alarm output (`Alarm.AlarmOut`), written once as a template;
- `abilities` (1360): any JSON value per name (objects, lists such as `ComProtocol`, strings
  such as `MultiVstd`), `storage` (StorageInfo);
- `channel_titles`: the titles 1048 answers (default `CAM01`, `CAM02`, ...);
- `fixed_replies`: the reply to a message id the simulator has no handler for, whatever the
  request (`"SessionID": null` in one: the reply has no SessionID);
- `quirks`: how this firmware differs (SessionID spelling, terminator, Ret codes, lockout,
  session expiry, silence before login, reply Names, WorkState's masks, ...);
- `media`: the clips it streams, its frame rate, its snapshot (`xmcam.sim.media`); a built-in
  profile names its own clips relative to the `xmcam.sim` package (`clips/main.h265`);
- `encryption`: whether it speaks the encrypted FunSDK session, and how
  (`xmcam.sim.encryption`).

Other top-level members (`sources`, `notes`, and data the simulator does not serve yet, such
as the `xm530` profile's `log` and `discovery`) are read by people, not by the loader.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from xmcam.protocol import Ret, SessionIdStyle
from xmcam.sim.encryption import EncryptionMode, EncryptionSettings, parse_encryption_settings
from xmcam.sim.media import MediaError, MediaSettings, parse_media_settings

__all__ = [
    "BUILTIN_PROFILES",
    "ChannelCounts",
    "Profile",
    "ProfileError",
    "Quirks",
    "load_profile",
]

BUILTIN_PROFILES: Final = ("ipc-seed", "nvr-8ch", "xm530", "v506")
DEFAULT_PROFILE: Final = "ipc-seed"
_MAX_CHANNELS: Final = 256


class ProfileError(ValueError):
    """A profile file that cannot be used, with the reason in one line."""


@dataclass(frozen=True, slots=True)
class ChannelCounts:
    video: int = 1
    alarm_in: int = 1
    alarm_out: int = 1


@dataclass(frozen=True, slots=True)
class Quirks:
    """How a firmware differs from the next. The defaults are the seed's camera."""

    session_id_style: SessionIdStyle = SessionIdStyle.PADDED
    # Replies whose SessionID is spelled differently (the seed's SystemInfo reply says "0x1").
    session_id_style_by_reply: dict[int, SessionIdStyle] = field(default_factory=dict)
    # Top-level reply keys spelled the firmware's way, e.g. {"SessionID": " SessionID "}. (The
    # login reply's `"DeviceType "` is written as such in the profile's login_reply.)
    key_spellings: dict[str, str] = field(default_factory=dict)
    # "random": every session gets an unpredictable 32-bit id (never 0 or 99999, FunSDK's
    # negotiation id), so that no one can name another's session in a media claim.
    # "sequential": ids count up from first_session_id, as the seed's camera and most
    # firmware do (a replay of the seed needs session 1); a guessed id then takes over
    # another's stream from the same address.
    session_ids: str = "random"
    first_session_id: int = 1
    terminator: bytes = b"\n\x00"
    # "silent": requests before login get nothing (docs/protocol.md §6.1); "reply": Ret 105.
    unauthenticated: str = "silent"
    reply_to_unguard: bool = False
    wrong_password_ret: int = Ret.WRONG_PASSWORD
    # The seed's camera answers an unknown user with 205, "user locked" in the vendor's table.
    unknown_user_ret: int = Ret.USER_LOCKED
    locked_ret: int = Ret.USER_LOCKED
    unknown_config_ret: int = Ret.CONFIG_NOT_FOUND
    bad_config_value_ret: int = Ret.CONFIG_PARSE_ERROR
    unsupported_ret: int = Ret.UNSUPPORTED_VERSION
    no_permission_ret: int = Ret.NO_PERMISSION
    max_failed_logins: int = 5
    lockout_seconds: float = 1800.0
    # A session ends when nothing arrived for this many AliveIntervals.
    session_expiry_intervals: float = 3.0
    # A connection that has not logged in is closed after this many seconds (~30 s, [MAD]).
    unauthenticated_timeout: float = 30.0
    reboot_delay: float = 2.0
    # Media (docs/simulator.md, "Media"): a claim on a second connection never answered (the
    # Vatilon H44); live streams that start mid-GOP; OPSNAP answered with a JPEG, a Ret code
    # (102, 108 as NVRs) or silence.
    monitor_claim_silent: bool = False
    # A pre-login negotiation (the encrypted session's 1413) met with silence rather than a
    # refusal: how firmware that never heard of the session might take it (unobserved; the
    # client's auto mode must survive it with a new connection).
    negotiation_silent: bool = False
    monitor_mid_gop: bool = False
    snapshot: str | int = "jpeg"
    # An ability name the device lacks (the XM530 answers 103 with the Name, [BES]
    # 1361_AHDEncodeL_response); the Ret of a factory reset (the XM530: 603, "restart the
    # system", [BES] 1451_OPDefaultConfig_response).
    unknown_ability_ret: int = Ret.CONFIG_NOT_FOUND
    default_config_ret: int = Ret.OK
    # A 607 reply to a config read carries the name with a null value ({"Name": N, N: null}).
    unknown_config_null: bool = False
    # The Name of replies by reply message id: "echo" (the request's Name), a fixed text, or
    # None (no Name at all: the XM530's time reply 1453). Replies not listed keep their own.
    reply_names: dict[int, str | None] = field(default_factory=dict)
    # Config writes the device takes although they do not match the value it shows: arrays of
    # another length, 0 and 1 for booleans, members it does not have (taken, not kept) (the
    # XM530: [BES] 1040 requests).
    lenient_config_writes: bool = False
    # WorkState's AlarmState masks: numbers ("int") or 8 hex digits in a string ("hex"); and
    # whether WorkState has a ChannelState array.
    work_state_masks: str = "int"
    work_state_channel_state: bool = True
    # The snapshot's JPEG cut into 8192-byte 1561 packets (EndFlag 1 on the last, as [ICP]
    # and [JEN] read it), where by default it goes whole in one packet.
    snapshot_split: bool = False
    # How a download ends: an empty packet with EndFlag 1 after the data, which both kinds
    # of client take (python-dvr waits for an empty packet, `dvrip` for EndFlag); "flag":
    # EndFlag 1 on the last data packet; "empty": an empty packet with EndFlag 0.
    download_end: str = "empty-flag"
    # A Start (1410) or DownloadStart (1420) arriving on the connection that holds its claim
    # (the single-socket flow) gets no JSON reply on real cameras: the media follow at once,
    # and go2rtc and python-dvr read whatever comes next as media. True answers it (1411 /
    # 1421), as the simulator did before.
    start_reply: bool = False
    # Frames packed together into 1412 packets (an audio frame in the packet of the video
    # frame it goes with; unpaced, cut at 8192 bytes whatever the frames). Real cameras send
    # one frame per packet (a big frame over several), which python-dvr's reader needs.
    media_packing: bool = False
    # The firmware upgrade (sim/upgrade.py): the largest image taken; seconds between the
    # 1524 progress frames; how it ends: "515" (progress, 515, reboot), "reboot" (progress to
    # 100, then the reboot without a 515, as some flashes do: CroatianMeteorNetwork/RMS#968),
    # "silent" (progress, then nothing: a flash that hangs, nothing installed, no reboot).
    upgrade_max_size: int = 64 * 1024 * 1024
    upgrade_step_delay: float = 0.2
    upgrade_end: str = "515"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str
    channels: ChannelCounts
    system_info: dict[str, Any]
    login_reply: dict[str, Any]
    users: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    authorities: list[str]
    config: dict[str, Any]
    per_channel: dict[str, dict[str, Any]]
    abilities: dict[str, Any]
    storage: list[Any]
    quirks: Quirks
    media: MediaSettings = field(default_factory=MediaSettings)
    channel_titles: list[str] = field(default_factory=list)
    fixed_replies: dict[int, dict[str, Any]] = field(default_factory=dict)
    encryption: EncryptionSettings = field(default_factory=EncryptionSettings)
    hidden_accounts: tuple[str, ...] = ()
    keep_hidden_accounts: bool = False
    disabled_accounts: frozenset[str] = frozenset()
    """Accounts that cannot log in (hidden ones, disabled): refused as unknown users."""

    @property
    def alive_interval(self) -> int:
        value = self.login_reply.get("AliveInterval", 20)
        return value if isinstance(value, int) and value > 0 else 20

    def with_channels(self, video: int) -> Profile:
        """The same device with another number of video channels (`--channels N`)."""
        if not 1 <= video <= _MAX_CHANNELS:
            raise ProfileError(f"channels must be 1..{_MAX_CHANNELS}, not {video}")
        counts = ChannelCounts(video, self.channels.alarm_in, self.channels.alarm_out)
        login = dict(self.login_reply, ChannelNum=video)
        # A recorder counts digital channels, a camera its sensors.
        key = "DigChannel" if self.system_info.get("DigChannel") else "VideoInChannel"
        info = dict(self.system_info, **{key: video})
        return _replace(self, channels=counts, login_reply=login, system_info=info)

    def with_alive_interval(self, seconds: int) -> Profile:
        """The same device with another keepalive period (tests use short ones)."""
        return _replace(self, login_reply=dict(self.login_reply, AliveInterval=seconds))

    def with_quirks(self, **changes: Any) -> Profile:
        fields = {name: getattr(self.quirks, name) for name in Quirks.__slots__}
        fields.update(changes)
        return _replace(self, quirks=Quirks(**fields))

    def with_media(self, **changes: Any) -> Profile:
        """The same device streaming other clips (`MediaSettings` fields)."""
        return _replace(self, media=self.media.with_changes(**changes))

    def with_encryption(self, mode: str | EncryptionMode) -> Profile:
        """The same device with the encrypted session off, optional or required
        (`--encryption`)."""
        try:
            chosen = EncryptionMode(mode)
        except ValueError:
            modes = ", ".join(item.value for item in EncryptionMode)
            raise ProfileError(f"encryption must be one of {modes}, not {mode!r}") from None
        return _replace(self, encryption=self.encryption.with_mode(chosen))

    def with_hidden_accounts(self, enabled: bool, *, besides: str | None = None) -> Profile:
        """The same device with its hidden accounts enabled or disabled (never `besides`,
        the account the simulator was told clients log in with)."""
        disabled = frozenset() if enabled else frozenset(self.hidden_accounts) - {besides}
        return _replace(self, disabled_accounts=disabled)

    def with_password(self, user: str, password_hash: str) -> Profile:
        """The same device where `user` exists with this password hash."""
        users = copy.deepcopy(self.users)
        for account in users:
            if account.get("Name") == user:
                account["Password"] = password_hash
                break
        else:
            template: dict[str, Any] = copy.deepcopy(users[0]) if users else {"Group": "admin"}
            template.update(Name=user, Password=password_hash, Reserved=False)
            users.append(template)
        return _replace(self, users=users)


def _replace(profile: Profile, **changes: Any) -> Profile:
    fields = {name: getattr(profile, name) for name in Profile.__slots__}
    fields.update(changes)
    return Profile(**fields)


def load_profile(source: str | Path | None = None) -> Profile:
    """A built-in profile by name (`"ipc-seed"`, `"nvr-8ch"`, `"xm530"`), or a profile file
    by path.
    None is the default profile, the seed's camera."""
    name = DEFAULT_PROFILE if source is None else source
    if isinstance(name, str) and name in BUILTIN_PROFILES:
        package = resources.files("xmcam.sim")
        text = package.joinpath("profiles", f"{name}.json").read_text("utf-8")
        return parse_profile(text, origin=name, media_root=Path(str(package)))
    path = Path(name)
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        builtin = ", ".join(BUILTIN_PROFILES)
        raise ProfileError(
            f"cannot read profile {path}: {error.strerror} (built-in profiles: {builtin})"
        ) from None
    except UnicodeDecodeError:
        raise ProfileError(f"profile {path} is not UTF-8 text") from None
    return parse_profile(text, origin=str(path))


def parse_profile(text: str, *, origin: str = "profile", media_root: Path | None = None) -> Profile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProfileError(f"{origin}: not JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{origin}: a profile is a JSON object")
    reader = _Reader(data, origin)
    channels = reader.obj("channels")
    counts = ChannelCounts(
        video=_count(channels.get("video", 1), "channels.video", origin),
        alarm_in=_count(channels.get("alarm_in", 0), "channels.alarm_in", origin, minimum=0),
        alarm_out=_count(channels.get("alarm_out", 0), "channels.alarm_out", origin, minimum=0),
    )
    per_channel = reader.obj("per_channel")
    for kind in per_channel:
        if kind not in ("video", "alarm_in", "alarm_out") or not isinstance(
            per_channel[kind], dict
        ):
            raise ProfileError(f"{origin}: per_channel.{kind} is not video/alarm_in/alarm_out")
    return Profile(
        name=str(data.get("name", origin)),
        description=str(data.get("description", "")),
        channels=counts,
        system_info=reader.obj("system_info"),
        login_reply=reader.obj("login_reply"),
        users=reader.objects("users"),
        groups=reader.objects("groups"),
        authorities=[str(item) for item in reader.array("authorities")],
        config=reader.obj("config"),
        per_channel=per_channel,
        abilities=reader.obj("abilities"),
        storage=reader.array("storage"),
        quirks=_quirks(reader.obj("quirks"), origin),
        media=_media(reader.obj("media"), origin, media_root),
        channel_titles=_titles(reader.array("channel_titles"), origin),
        fixed_replies=_fixed_replies(reader.obj("fixed_replies"), origin),
        encryption=_encryption(data.get("encryption", {}), origin),
        hidden_accounts=_hidden_accounts(reader.array("hidden_accounts"), data, origin),
        keep_hidden_accounts=_flag(data.get("keep_hidden_accounts", False), origin),
    )


def _encryption(raw: object, origin: str) -> EncryptionSettings:
    try:
        return parse_encryption_settings(raw)
    except ValueError as error:
        raise ProfileError(f"{origin}: {error}") from None


def _hidden_accounts(raw: list[Any], data: dict[str, Any], origin: str) -> tuple[str, ...]:
    names = {user.get("Name") for user in data.get("users", []) if isinstance(user, dict)}
    for name in raw:
        if name not in names:
            raise ProfileError(f"{origin}: hidden_accounts: {name!r} is not one of its users")
    return tuple(str(name) for name in raw)


def _flag(value: object, origin: str) -> bool:
    if not isinstance(value, bool):
        raise ProfileError(f"{origin}: keep_hidden_accounts must be true or false")
    return value


_MAX_TITLE: Final = 64


def _titles(raw: list[Any], origin: str) -> list[str]:
    if not all(isinstance(title, str) and len(title) <= _MAX_TITLE for title in raw):
        raise ProfileError(f"{origin}: channel_titles must be texts of {_MAX_TITLE} characters")
    return [str(title) for title in raw]


def _fixed_replies(raw: dict[str, Any], origin: str) -> dict[int, dict[str, Any]]:
    replies: dict[int, dict[str, Any]] = {}
    for key, body in raw.items():
        if not (key.isascii() and key.isdigit() and int(key) <= 0xFFFF):
            raise ProfileError(f"{origin}: fixed_replies: {key!r} is not a message id")
        ret = body.get("Ret") if isinstance(body, dict) else None
        if isinstance(ret, bool) or not isinstance(ret, int):
            raise ProfileError(f"{origin}: fixed_replies.{key} must be an object with a Ret")
        replies[int(key)] = body
    return replies


def _media(raw: dict[str, Any], origin: str, root: Path | None) -> MediaSettings:
    try:
        settings = parse_media_settings(raw, origin)
    except MediaError as error:
        raise ProfileError(str(error)) from None
    if root is None:
        return settings
    # A built-in profile's clips are files of the package.
    paths = {
        name: root / path
        for name in ("main", "extra", "extra2", "audio", "snapshot")
        if (path := getattr(settings, name)) is not None and not path.is_absolute()
    }
    return settings.with_changes(**paths)


class _Reader:
    def __init__(self, data: dict[str, Any], origin: str) -> None:
        self._data = data
        self._origin = origin

    def obj(self, key: str) -> dict[str, Any]:
        value = self._data.get(key, {})
        if not isinstance(value, dict):
            raise ProfileError(f"{self._origin}: {key} must be a JSON object")
        return value

    def array(self, key: str) -> list[Any]:
        value = self._data.get(key, [])
        if not isinstance(value, list):
            raise ProfileError(f"{self._origin}: {key} must be a JSON array")
        return value

    def objects(self, key: str) -> list[dict[str, Any]]:
        items = self.array(key)
        if not all(isinstance(item, dict) and isinstance(item.get("Name"), str) for item in items):
            raise ProfileError(f"{self._origin}: every item of {key} needs a Name")
        return items


def _count(value: object, what: str, origin: str, *, minimum: int = 1) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not minimum <= value <= _MAX_CHANNELS
    ):
        raise ProfileError(f"{origin}: {what} must be a whole number {minimum}..{_MAX_CHANNELS}")
    return value


_STYLES: Final = {style.name.lower(): style for style in SessionIdStyle}
_RET_QUIRKS: Final = {
    "wrong_password": "wrong_password_ret",
    "unknown_user": "unknown_user_ret",
    "locked": "locked_ret",
    "unknown_config": "unknown_config_ret",
    "bad_config_value": "bad_config_value_ret",
    "unsupported": "unsupported_ret",
    "no_permission": "no_permission_ret",
    "unknown_ability": "unknown_ability_ret",
    "default_config": "default_config_ret",
}
_DEFAULT_QUIRKS: Final = Quirks()
_MAX_SESSION_ID: Final = 0x7FFFFFFF
_MAX_SECONDS: Final = 1e9


def _quirks(raw: dict[str, Any], origin: str) -> Quirks:
    """The quirks of a profile, each checked: a value of the wrong type or range is refused
    here, in one line, rather than failing at the first login that uses it."""
    fields: dict[str, Any] = {}
    try:
        for key, value in raw.items():
            if key == "rets":
                fields.update(_rets(value))
            elif key in _SPECIAL_QUIRKS:
                fields[key] = _SPECIAL_QUIRKS[key](value)
            elif key in Quirks.__slots__:
                fields[key] = _plain_quirk(key, value)
            else:
                raise ValueError(f"unknown quirk {key!r}")
        return Quirks(**fields)
    except (TypeError, ValueError) as error:
        raise ProfileError(f"{origin}: {error}") from None


def _mapping(value: object, where: str) -> list[tuple[str, Any]]:
    if not isinstance(value, dict):
        raise ValueError(f"quirks.{where} must be a JSON object")
    return list(value.items())


def _rets(value: object) -> dict[str, int]:
    rets: dict[str, int] = {}
    for name, code in _mapping(value, "rets"):
        if name not in _RET_QUIRKS:
            raise ValueError(f"quirks.rets: unknown reply {name!r} ({', '.join(_RET_QUIRKS)})")
        rets[_RET_QUIRKS[name]] = _whole(code, f"rets.{name}", 0)
    return rets


def _style(value: object, where: str) -> SessionIdStyle:
    if not isinstance(value, str) or value.lower() not in _STYLES:
        raise ValueError(f"quirks.{where} must be one of {', '.join(_STYLES)}")
    return _STYLES[value.lower()]


def _whole(value: object, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"quirks.{where} must be a whole number")
    if not minimum <= value <= _MAX_SESSION_ID:
        raise ValueError(f"quirks.{where} must be {minimum}..{_MAX_SESSION_ID}")
    return value


def _plain_quirk(key: str, value: object) -> Any:
    default = getattr(_DEFAULT_QUIRKS, key)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"quirks.{key} must be true or false")
        return value
    if isinstance(default, int):
        return _whole(value, key, 1)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"quirks.{key} must be a number of seconds")
    if not 0 <= value <= _MAX_SECONDS:  # NaN fails too
        raise ValueError(f"quirks.{key} must be 0..{_MAX_SECONDS:.0f}")
    return float(value)


def _unauthenticated(value: object) -> str:
    if value not in ("silent", "reply"):
        raise ValueError("quirks.unauthenticated must be 'silent' or 'reply'")
    return str(value)


def _terminator(value: object) -> bytes:
    if not isinstance(value, str) or not all(ord(char) < 256 for char in value):
        raise ValueError("quirks.terminator must be text of characters U+0000..U+00FF")
    return value.encode("latin-1")


def _key_spellings(value: object) -> dict[str, str]:
    spellings = _mapping(value, "key_spellings")
    if not all(isinstance(spelling, str) for _, spelling in spellings):
        raise ValueError("quirks.key_spellings must map names to text")
    return dict(spellings)


def _styles_by_reply(value: object) -> dict[int, SessionIdStyle]:
    styles: dict[int, SessionIdStyle] = {}
    for key, style in _mapping(value, "session_id_style_by_reply"):
        if not (key.isascii() and key.isdigit()):
            raise ValueError(f"quirks.session_id_style_by_reply: {key!r} is not a message id")
        styles[int(key)] = _style(style, f"session_id_style_by_reply.{key}")
    return styles


def _snapshot(value: object) -> str | int:
    if value in ("jpeg", "silent"):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SESSION_ID:
        raise ValueError("quirks.snapshot must be 'jpeg', 'silent' or a Ret code")
    return value


DOWNLOAD_ENDS: Final = ("empty-flag", "flag", "empty")


def _download_end(value: object) -> str:
    if value not in DOWNLOAD_ENDS:
        raise ValueError(f"quirks.download_end must be one of {', '.join(DOWNLOAD_ENDS)}")
    return str(value)


def _reply_names(value: object) -> dict[int, str | None]:
    names: dict[int, str | None] = {}
    for key, name in _mapping(value, "reply_names"):
        if not (key.isascii() and key.isdigit() and int(key) <= 0xFFFF):
            raise ValueError(f"quirks.reply_names: {key!r} is not a message id")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"quirks.reply_names.{key} must be 'echo', a text or null")
        names[int(key)] = name
    return names


SESSION_ID_KINDS: Final = ("random", "sequential")


def _session_ids(value: object) -> str:
    if value not in SESSION_ID_KINDS:
        raise ValueError(f"quirks.session_ids must be one of {', '.join(SESSION_ID_KINDS)}")
    return str(value)


UPGRADE_ENDS: Final = ("515", "reboot", "silent")


def _upgrade_end(value: object) -> str:
    if value not in UPGRADE_ENDS:
        raise ValueError(f"quirks.upgrade_end must be one of {', '.join(UPGRADE_ENDS)}")
    return str(value)


def _work_state_masks(value: object) -> str:
    if value not in ("int", "hex"):
        raise ValueError("quirks.work_state_masks must be 'int' or 'hex'")
    return str(value)


_SPECIAL_QUIRKS: Final[dict[str, Callable[[Any], Any]]] = {
    "session_id_style": lambda value: _style(value, "session_id_style"),
    "session_id_style_by_reply": _styles_by_reply,
    "key_spellings": _key_spellings,
    "terminator": _terminator,
    "unauthenticated": _unauthenticated,
    "snapshot": _snapshot,
    "download_end": _download_end,
    "reply_names": _reply_names,
    "work_state_masks": _work_state_masks,
    "session_ids": _session_ids,
    "upgrade_end": _upgrade_end,
}
