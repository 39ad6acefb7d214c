"""What a simulated device remembers: its config tree, accounts, channel titles and clock.

The state starts from a profile and can be kept in a JSON file across restarts. Every write
of that file is atomic (a temporary file in the same directory, flushed, then renamed over the
old one), so killing the simulator at any moment leaves either the old state or the new.

Every change goes through `DeviceState.changes()`: it is stored when the change is made, or
undone when it cannot be (`StateSaveError`), so that the device never acknowledges a write it
did not keep. Values JSON cannot carry (infinite numbers, a lone UTF-16 surrogate) are refused
before they reach the state (`BadConfigValue`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from xmcam.sim.profile import Profile, ProfileError

__all__ = [
    "BadConfigValue",
    "DeviceState",
    "PtzCommand",
    "StateFileError",
    "StateSaveError",
    "atomic_write_json",
    "carriable",
]

log = logging.getLogger("xmcam.sim")

STATE_FORMAT: Final = 1
# The device clock may be set anywhere in years 1..9999: never further from the host's.
_MAX_TIME_OFFSET: Final = 10_000 * 366 * 86_400.0
_MAX_STRING: Final = 4096
_MAX_ARRAY: Final = 4096  # elements in one array of a lenient write
# A group of config names read or written as one object: `Detect` holds `Detect.MotionDetect`...
_ROOT_SEPARATOR: Final = "."


class StateFileError(ValueError):
    """A state file that cannot be used (the simulator refuses to start rather than lose it)."""


class BadConfigValue(ValueError):  # noqa: N818  (a reason, not a failure of the simulator)
    """A config write whose value does not fit the object it replaces."""


class StateSaveError(RuntimeError):
    """The state file could not be written: the change was undone (and logged)."""


def carriable(value: Any) -> bool:
    """Whether JSON can carry `value` there and back: no infinite or NaN number (`1e999`
    reads as infinity), no text that UTF-8 cannot hold (a lone surrogate, `"\\ud800"`), at
    any depth, keys included."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(carriable(key) and carriable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(carriable(item) for item in value)
    return True


@dataclass(frozen=True, slots=True)
class PtzCommand:
    channel: int
    command: str
    preset: int
    step: int


# The temporaries of atomic_write_json: `.NAME.xmcam-` + mkstemp's 8 random characters +
# `.tmp`. Only files named so are ever removed (a user's `.cam.json.backup` is not ours).
_TEMPORARY_MARK: Final = ".xmcam-"
_TEMPORARY_SUFFIX: Final = ".tmp"


def _temporary_name(path: Path) -> re.Pattern[str]:
    mark, suffix = re.escape(_TEMPORARY_MARK), re.escape(_TEMPORARY_SUFFIX)
    return re.compile(rf"\.{re.escape(path.name)}{mark}[a-z0-9_]{{8}}{suffix}")


def atomic_write_json(path: Path, data: object) -> None:
    """Write `data` as JSON to `path` so that a crash leaves the old file or the new one."""
    directory = path.parent
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}{_TEMPORARY_MARK}", suffix=_TEMPORARY_SUFFIX, dir=directory
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            # allow_nan=False: an infinity written as `Infinity` is not JSON, and would come
            # back at the next start.
            json.dump(data, handle, ensure_ascii=False, allow_nan=False, indent=1, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class DeviceState:
    """The mutable state of one simulated device."""

    profile: Profile
    config: dict[str, Any]
    users: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    channel_titles: list[str]
    time_offset: float = 0.0  # device clock minus host clock, seconds
    net_alarm_state: int = 0
    ptz_log: list[PtzCommand] = field(default_factory=list)
    path: Path | None = None
    wall_clock: Callable[[], datetime] = datetime.now
    _factory: DeviceState | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_profile(
        cls,
        profile: Profile,
        *,
        path: Path | None = None,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> DeviceState:
        state = cls(
            profile=profile,
            config=factory_config(profile),
            users=copy.deepcopy(profile.users),
            groups=copy.deepcopy(profile.groups),
            channel_titles=_factory_titles(profile),
            path=path,
            wall_clock=wall_clock or datetime.now,
        )
        if path is not None and path.exists():
            state._load(path)
        elif path is not None and not path.parent.is_dir():
            raise StateFileError(f"{path}: no directory {path.parent} to keep the state in")
        if path is not None:
            _remove_stale_temporaries(path)
        return state

    # ------------------------------------------------------------------ config tree

    def get_config(self, name: str) -> Any:
        """The value under a config name, or None when the device has no such name.
        `X.[n]` is element n of a per-channel array; a root (`Detect`) is the object of all
        names under it."""
        if name in self.config:
            return copy.deepcopy(self.config[name])
        if name == "ChannelTitle":
            return list(self.channel_titles)
        element = _split_index(name)
        if element is not None:
            base, index = element
            value = self.config.get(base)
            if isinstance(value, list) and index < len(value):
                return copy.deepcopy(value[index])
            return None
        children = self._children(name)
        if children:
            return {suffix: copy.deepcopy(self.config[full]) for suffix, full in children.items()}
        return None

    def set_config(self, name: str, value: Any) -> None:
        """Replace the value under a config name. Raises KeyError for an unknown name and
        BadConfigValue for a value of the wrong shape; the state is unchanged in both cases."""
        if name == "ChannelTitle":
            self.set_channel_titles(value)
            return
        with self.changes():
            self._set_config(name, value)

    def _set_config(self, name: str, value: Any) -> None:
        if name in self.config:
            self.config[name] = conform(self.config[name], value, name, lenient=self._lenient)
        elif (element := _split_index(name)) is not None:
            base, index = element
            current = self.config.get(base)
            if not isinstance(current, list) or index >= len(current):
                raise KeyError(name)
            current[index] = conform(current[index], value, name, lenient=self._lenient)
        elif children := self._children(name):
            if not isinstance(value, dict):
                raise BadConfigValue(f"{name} must be an object")
            unknown = set(value) - set(children)
            if unknown:
                raise BadConfigValue(f"{name} has no {sorted(unknown)[0]}")
            checked = {
                children[key]: conform(self.config[children[key]], item, key, lenient=self._lenient)
                for key, item in value.items()
            }
            self.config.update(checked)
        else:
            raise KeyError(name)

    def default_config(self, name: str) -> Any:
        """The factory value of a config name (1044), or None."""
        return self.factory().get_config(name)

    def factory(self) -> DeviceState:
        """The device as it left the factory, made once: read it, copy from it, never change it."""
        if self._factory is None:
            self._factory = DeviceState.from_profile(self.profile)
        return self._factory

    @property
    def _lenient(self) -> bool:
        return self.profile.quirks.lenient_config_writes

    def config_names(self) -> list[str]:
        return sorted(self.config)

    def _children(self, root: str) -> dict[str, str]:
        prefix = root + _ROOT_SEPARATOR
        return {full[len(prefix) :]: full for full in self.config if full.startswith(prefix)}

    def set_channel_titles(self, titles: Any) -> None:
        count = self.profile.channels.video
        if not isinstance(titles, list) or not all(isinstance(item, str) for item in titles):
            raise BadConfigValue("ChannelTitle must be an array of strings")
        if len(titles) > count or any(len(item) > 64 for item in titles):
            raise BadConfigValue(f"ChannelTitle holds at most {count} titles of 64 characters")
        if not carriable(titles):
            raise BadConfigValue("ChannelTitle holds text JSON cannot carry")
        with self.changes():
            self.channel_titles = list(titles) + self.channel_titles[len(titles) :]

    # ------------------------------------------------------------------ derived views

    def alarm_outputs(self) -> list[dict[str, Any]]:
        value = self.config.get("Alarm.AlarmOut", [])
        return value if isinstance(value, list) else []

    def alarm_out_mask(self) -> int:
        """Bit n set when output n is switched on (MANUAL), as WorkState reports it."""
        mask = 0
        for index, output in enumerate(self.alarm_outputs()):
            if isinstance(output, dict) and output.get("AlarmOutType") == "MANUAL":
                mask |= 1 << index
        return mask

    def device_time(self) -> datetime:
        """The device's clock. It stops at the ends of the calendar rather than overflow (a
        client may set it to 9999-12-31 23:59:59)."""
        host = self.wall_clock()
        try:
            return host + timedelta(seconds=self.time_offset)
        except OverflowError:
            return datetime.max if self.time_offset > 0 else datetime.min

    def set_device_time(self, when: datetime) -> None:
        with self.changes():
            self.time_offset = (when - self.wall_clock()).total_seconds()

    # ------------------------------------------------------------------ accounts

    def user(self, name: str) -> dict[str, Any] | None:
        return next((user for user in self.users if user.get("Name") == name), None)

    def group(self, name: str) -> dict[str, Any] | None:
        return next((group for group in self.groups if group.get("Name") == name), None)

    # ------------------------------------------------------------------ persistence

    @contextlib.contextmanager
    def changes(self) -> Iterator[None]:
        """Change the state inside the block; the change is stored when it ends. When it
        cannot be stored, or the block raises, the state is put back as it was and the error
        goes on (a failed store as StateSaveError): a device must never acknowledge a write
        it did not keep. Changes replace top-level config values and per-channel elements,
        and may change accounts in place."""
        before = (
            {
                name: list(value) if isinstance(value, list) else value
                for name, value in self.config.items()
            },
            copy.deepcopy(self.users),
            copy.deepcopy(self.groups),
            list(self.channel_titles),
            self.time_offset,
        )
        try:
            yield
            self.save()
        except BaseException:
            self.config, self.users, self.groups, self.channel_titles, self.time_offset = before
            raise

    def save(self) -> None:
        """Write the state file. Raises StateSaveError, after a log line, when it cannot be
        written (disk full, directory gone, a value JSON cannot carry): the file keeps what
        it had."""
        if self.path is None:
            return
        try:
            self._write(self.path)
        except (OSError, ValueError, TypeError) as error:
            reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
            log.error("cannot save the state to %s: %s; the change is undone", self.path, reason)
            raise StateSaveError(f"cannot save the state to {self.path}: {reason}") from None

    def _write(self, path: Path) -> None:
        atomic_write_json(
            path,
            {
                "format": STATE_FORMAT,
                "profile": self.profile.name,
                "config": self.config,
                "users": self.users,
                "groups": self.groups,
                "channel_titles": self.channel_titles,
                "time_offset": self.time_offset,
                # What the per-channel arrays were made for: a restart with another
                # --channels is then told apart from a damaged file (`_check_channels`).
                "channels": self.profile.channels.video,
            },
        )

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise StateFileError(f"cannot read state file {path}: {error}") from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise StateFileError(f"{path} is not an xmcam simulator state file")
        config, users, groups = data.get("config"), data.get("users"), data.get("groups")
        titles, offset = data.get("channel_titles"), data.get("time_offset", 0.0)
        if not (
            isinstance(config, dict)
            and isinstance(users, list)
            and isinstance(groups, list)
            and isinstance(titles, list)
            and isinstance(offset, int | float)
        ):
            raise StateFileError(f"{path}: damaged state file")
        self._check_channels(path, data, config)
        try:
            for name, value in config.items():
                if name in self.config:
                    self.config[name] = conform(
                        self.config[name], value, name, lenient=self._lenient
                    )
        except BadConfigValue as error:
            raise StateFileError(f"{path}: {error}") from None
        if isinstance(offset, bool) or not abs(offset) <= _MAX_TIME_OFFSET:  # NaN fails too
            raise StateFileError(f"{path}: time_offset {offset!r} is not a clock offset")
        if not carriable([users, groups, titles]):
            raise StateFileError(f"{path}: damaged state file (text JSON cannot carry)")
        self.users = [user for user in users if isinstance(user, dict)]
        self.groups = [group for group in groups if isinstance(group, dict)]
        count = self.profile.channels.video
        kept = [str(title) for title in titles][:count]
        self.channel_titles = kept + self.channel_titles[len(kept) :]  # one title per channel
        self.time_offset = float(offset)

    def _check_channels(self, path: Path, data: dict[str, Any], config: dict[str, Any]) -> None:
        """Raise StateFileError, saying what to do, when the file was made for another
        number of video channels than this simulator has (`--channels`): its per-channel
        arrays cannot fit. The count is the file's own record of it; a file written before
        it kept one is measured by its per-channel arrays (channel titles are not counted:
        a file may name fewer channels than it has)."""
        made_for = data.get("channels")
        if type(made_for) is not int:
            lengths = [
                len(config[name])
                for name in self.profile.per_channel.get("video", {})
                if isinstance(config.get(name), list)
            ]
            made_for = lengths[0] if lengths else None
        have = self.profile.channels.video
        if made_for is not None and made_for != have:
            raise StateFileError(
                f"{path} was made for {made_for} video channel(s), and this simulator has "
                f"{have}: use --channels {made_for}, or another state file (this one is kept "
                "as it is)"
            )


def _remove_stale_temporaries(path: Path) -> None:
    """Delete what a write killed half-way left beside the state file: the state file
    itself is whole, old or new, and these would otherwise pile up. Only files this code
    makes are touched: named as `atomic_write_json` names them (`.NAME.xmcam-XXXXXXXX.tmp`),
    plain files (not links) of this user; anything else beside it is the user's."""
    pattern = _temporary_name(path)
    for stale in path.parent.glob(f".{path.name}{_TEMPORARY_MARK}*{_TEMPORARY_SUFFIX}"):
        try:
            status = stale.lstat()
            if not pattern.fullmatch(stale.name) or not stat.S_ISREG(status.st_mode):
                continue
            if hasattr(os, "getuid") and status.st_uid != os.getuid():
                continue
            stale.unlink()
            log.info("removed %s, left by a write that was cut short", stale)
        except OSError as error:  # pragma: no cover - gone meanwhile, or read-only
            log.warning("cannot remove %s: %s", stale, error.strerror or error)


def factory_config(profile: Profile) -> dict[str, Any]:
    """The config tree of a new device: device-wide objects, and one copy of each
    per-channel template for every channel of its kind."""
    tree = copy.deepcopy(profile.config)
    counts = {
        "video": profile.channels.video,
        "alarm_in": profile.channels.alarm_in,
        "alarm_out": profile.channels.alarm_out,
    }
    for kind, templates in profile.per_channel.items():
        for name, template in templates.items():
            if name in tree:
                raise ProfileError(f"{profile.name}: {name} is both device-wide and per channel")
            tree[name] = [copy.deepcopy(template) for _ in range(counts[kind])]
    return tree


def _factory_titles(profile: Profile) -> list[str]:
    """The profile's channel titles, then `CAMnn` for the channels it names none for."""
    count = profile.channels.video
    given = profile.channel_titles[:count]
    return given + [f"CAM{n:02d}" for n in range(len(given) + 1, count + 1)]


def _split_index(name: str) -> tuple[str, int] | None:
    """`("Camera.Param", 0)` for `Camera.Param.[0]`, else None."""
    base, dot, last = name.rpartition(".")
    if not dot or not (last.startswith("[") and last.endswith("]")) or not last[1:-1].isdigit():
        return None
    if len(last) > 8:
        return None
    return base, int(last[1:-1])


def conform(current: Any, new: Any, where: str, *, lenient: bool = False) -> Any:
    """`new` checked against the shape of `current`: objects keep their keys (a write may
    leave some out: they keep their values), arrays their length, scalars their type.
    Returns the merged value; raises BadConfigValue naming the first misfit.

    `lenient` is a firmware that takes more (the XM530, [BES] 1040 requests): arrays of
    another length (each element shaped like the one it replaces, or like the first), 0 or
    1 for a boolean (stored as false or true), and members the object does not have (taken,
    not kept). A value of another type is refused all the same."""
    if isinstance(current, dict):
        if not isinstance(new, dict):
            raise BadConfigValue(f"{where} must be an object")
        merged = copy.deepcopy(current)
        for key, item in new.items():
            if key not in current and lenient:
                continue  # taken and dropped ([BES] writes Simplify.Encode.[0] with Audio)
            if key not in current:
                raise BadConfigValue(f"{where} has no {key!r}")
            merged[key] = conform(current[key], item, f"{where}.{key}", lenient=lenient)
        return merged
    if isinstance(current, list):
        if lenient and isinstance(new, list) and current and len(new) <= _MAX_ARRAY:
            shapes = [current[i] if i < len(current) else current[0] for i in range(len(new))]
            return [
                conform(shape, item, f"{where}[{i}]", lenient=True)
                for i, (shape, item) in enumerate(zip(shapes, new, strict=True))
            ]
        if not isinstance(new, list) or len(new) != len(current):
            raise BadConfigValue(f"{where} must be an array of {len(current)}")
        return [
            conform(old, item, f"{where}[{i}]", lenient=lenient)
            for i, (old, item) in enumerate(zip(current, new, strict=True))
        ]
    if lenient and isinstance(current, bool) and type(new) is int and new in (0, 1):
        return bool(new)
    return _conform_scalar(current, new, where)


def _conform_scalar(current: Any, new: Any, where: str) -> Any:
    if not carriable(new):
        raise BadConfigValue(f"{where}: a value JSON cannot carry (infinite, or a lone surrogate)")
    if isinstance(current, bool):
        if not isinstance(new, bool):
            raise BadConfigValue(f"{where} must be true or false")
    elif isinstance(current, int | float):
        if isinstance(new, bool) or not isinstance(new, int | float):
            raise BadConfigValue(f"{where} must be a number")
    elif isinstance(current, str):
        if not isinstance(new, str) or len(new) > _MAX_STRING:
            raise BadConfigValue(f"{where} must be a string")
    elif current is not None:  # pragma: no cover - profiles hold JSON values only
        raise BadConfigValue(f"{where} cannot be written")
    elif isinstance(new, dict | list):
        raise BadConfigValue(f"{where} must be a plain value")
    return new
