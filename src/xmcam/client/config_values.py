"""Config values, without I/O: a partial value merged into the device's, the changes between
two values, `<redacted>` placeholders filled in, and the device's identity kept.

Why merge at all: a device wants the whole object back. It may take a partial one and reset
the members left out, or refuse it. The vendor's clients and others read, modify and write
back every member the device gave (kwebmn/dvrip-cam : docs/protocol.md; TheJenos/xmeye-control
: custom_components/xmeye/dvrip.py); writing single members of `Simplify.Encode` has crashed
cameras (CroatianMeteorNetwork/RMS : Utils/CameraControl.py). So a write of
`{"MachineName": "porch"}` sends the device's whole `General.General` with that one member
changed.

The merge rules (`merge`):

- an object merges into an object member by member, at every depth; members the partial
  leaves out keep the device's values, and a member the device lacks is added as given;
- an array is replaced as given, whole: arrays hold positional values (`Attribute: [9600,
  "None", 8, 1]`, schedules, masks) that cannot be merged member by member;
- to change some elements of an array, give an object keyed by index instead: `{"1":
  {"Enable": true}}` merges into element 1 and keeps the others (an index past the end is
  an error, as is any other object given for an array);
- anything else (a number, a string, null, an array or object given for a plain value)
  replaces the device's value.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any, Final

from xmcam.client.config_names import identity_members
from xmcam.client.models import ConfigChange
from xmcam.protocol.redaction import REDACTED

__all__ = ["changes", "fill_placeholders", "keep_identity", "merge", "path_text"]

Path = tuple[str | int, ...]

_ABSENT: Final = object()  # no member at this place (a member added or removed)


def merge(current: Any, partial: Any, where: str = "the value") -> Any:
    """`partial` merged into `current` by the rules above; a new value (neither input is
    changed). Raises ValueError for an object given for an array that is not keyed by index
    or names an element past its end; `where` names the place in the message."""
    if not isinstance(partial, dict):
        return copy.deepcopy(partial)
    if isinstance(current, dict):
        merged = {
            key: merge(item, partial[key], f"{where}.{key}")
            if key in partial
            else copy.deepcopy(item)
            for key, item in current.items()
        }
        for key, item in partial.items():
            if key not in current:
                merged[key] = copy.deepcopy(item)
        return merged
    if isinstance(current, list):
        return _merge_elements(current, partial, where)
    return copy.deepcopy(partial)


def _merge_elements(current: list[Any], partial: dict[str, Any], where: str) -> list[Any]:
    merged = copy.deepcopy(current)
    for key, item in partial.items():
        if not (key.isdecimal() and key.isascii() and len(key) <= 6):
            raise ValueError(
                f"{where} is an array of {len(current)} on the device: give the whole array, "
                f'or an object keyed by index such as {{"0": ...}} (not {key!r})'
            )
        index = int(key)
        if index >= len(current):
            raise ValueError(f"{where} has {len(current)} element(s); no element {index}")
        merged[index] = merge(current[index], item, f"{where}[{index}]")
    return merged


def fill_placeholders(value: Any, current: Any, where: str = "the value") -> Any:
    """`value` with every `<redacted>` (as an export writes secrets) replaced by what
    `current`, the device's value now, holds at the same place: a secret written back
    unchanged stays the device's. Raises ValueError where the device has nothing to keep."""
    if value == REDACTED:
        if current is _ABSENT or current is None or current == REDACTED:
            raise ValueError(f"{where} is {REDACTED}, and the device has no value there to keep")
        return copy.deepcopy(current)
    if isinstance(value, dict):
        here = current if isinstance(current, dict) else {}
        return {
            key: fill_placeholders(item, here.get(key, _ABSENT), f"{where}.{key}")
            for key, item in value.items()
        }
    if isinstance(value, list):
        there = current if isinstance(current, list) else []
        return [
            fill_placeholders(
                item, there[index] if index < len(there) else _ABSENT, f"{where}[{index}]"
            )
            for index, item in enumerate(value)
        ]
    return value


def keep_identity(name: str, value: Any, current: Any) -> tuple[Any, list[str]]:
    """`value` (to be written to `name`) with the device's identity members (its addresses,
    MAC, serial: `config_names`) set back to the device's `current` values, or left out
    where the device has none. Returns the new value and the members that differed."""
    kept: list[str] = []
    result = copy.deepcopy(value)
    for path in identity_members(name):
        parent = _parent(result, path)
        if parent is None or path[-1] not in parent:
            continue
        device_parent = _parent(current, path)
        if device_parent is not None and path[-1] in device_parent:
            if not _same(parent[path[-1]], device_parent[path[-1]]):
                kept.append(".".join(path))
            parent[path[-1]] = copy.deepcopy(device_parent[path[-1]])
        else:
            kept.append(".".join(path))
            del parent[path[-1]]
    return result, kept


def _parent(value: Any, path: Sequence[str]) -> dict[str, Any] | None:
    for key in path[:-1]:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else None


def changes(old: Any, new: Any) -> list[ConfigChange]:
    """Every leaf that differs between `old` and `new`, in order: a member added or removed,
    a plain value changed, or an array whose length changed (as one change). A bool is never
    equal to a number (`true` is not `1` to a device)."""
    return list(_changes(old, new, ()))


def _changes(old: Any, new: Any, path: Path) -> Iterator[ConfigChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(key for key in new if key not in old)]:
            yield from _changes(old.get(key, _ABSENT), new.get(key, _ABSENT), (*path, key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            yield from _changes(before, after, (*path, index))
    elif old is _ABSENT:
        yield ConfigChange(path, None, copy.deepcopy(new), "added")
    elif new is _ABSENT:
        yield ConfigChange(path, copy.deepcopy(old), None, "removed")
    elif not _same(old, new):
        yield ConfigChange(path, copy.deepcopy(old), copy.deepcopy(new), "changed")


def _same(old: Any, new: Any) -> bool:
    """Deep equality, with a bool never equal to a number."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, dict):
        return (
            isinstance(new, dict)
            and old.keys() == new.keys()
            and all(_same(item, new[key]) for key, item in old.items())
        )
    if isinstance(old, list):
        return (
            isinstance(new, list)
            and len(old) == len(new)
            and all(_same(before, after) for before, after in zip(old, new, strict=True))
        )
    if isinstance(new, dict | list):
        return False
    return bool(old == new)


def path_text(path: Path) -> str:
    """A member's place as text: `Server.Port`, `[1].Enable`; empty for the whole value."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
