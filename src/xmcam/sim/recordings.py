"""The simulated device's recordings: what OPFileQuery (1440) finds and OPPlayBack (1424 /
1420) downloads, sans I/O.

By default the catalogue is made up for the device's yesterday and today: per channel one
video file every ten minutes (144 a day, more than the 64 records one query answers, so a
client has to page), every fifth of them a motion (M) recording and the rest regular (R),
plus one motion picture an hour. As on a real device nothing is in the future: a made-up
file is found (and can be downloaded) only once the device's clock has passed its end, so
today's files appear as the day goes on. A video file's bytes are the device's main clip
once, in the DVRIP media container (docs/protocol.md §11), which is what `.h264` files on a real
device hold; a picture's are its JPEG in one FE frame. A JSON file (`xmcam sim
--recordings FILE`) or a list of `Recording` serves given files instead.

File names are written as real devices write them (docs/protocol.md §14):
`/idea0/2026-11-25/001/10.08.41-10.23.30[R][@7cb][0].h264`, the partition, the day, the
channel counted from 1, the times, the event letter, an index offset in hex and a serial.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

from xmcam.protocol import parse_device_time
from xmcam.sim.media import (
    MAX_CLIP_BYTES,
    MediaError,
    MediaLibrary,
    StreamKind,
    clip_from_bytes,
    load_picture,
    media_container,
    picture_container,
    read_bounded,
)

__all__ = [
    "MAX_RECORDS_PER_QUERY",
    "Catalogue",
    "Recording",
    "load_recordings",
    "query_time",
    "recording_name",
    "synthesised_catalogue",
]

MAX_RECORDS_PER_QUERY: Final = 64
"""Records in one OPFileQuery reply: the hard cap real devices have ([MOX], [KWE])."""
MAX_RECORDINGS: Final = 100_000
"""Entries a recordings file may list (a year of one channel at ten minutes a file is 52k)."""
KINDS: Final = ("h264", "jpg")
EVENT_LETTERS: Final = frozenset("AMRH")  # alarm, motion, regular, manual
_MAX_RECORDINGS_FILE: Final = 64 * 1024 * 1024
_SYNTHESISED_EVERY: Final = timedelta(minutes=10)
_MOTION_EVERY: Final = 5  # every fifth synthesised video file is a motion recording
_CONTAINER_START: Final = b"\x00\x00\x01"
_CONTAINER_TYPES: Final = frozenset(b"\xf9\xfa\xfc\xfd\xfe")
# The start of time as clients spell it in searches: `dvrip` sends its EPOCH this way, the
# vendor's app its log queries ([BES] command_codes/payloads/1442_OPLogQuery_request); no
# such date exists, and "0000-00-00 00:00:00" is `dvrip`'s spelling of no time at all.
_EPOCH_SPELLINGS: Final = {
    "2000-00-00 00:00:00": datetime(2000, 1, 1),
    "0000-00-00 00:00:00": datetime(2000, 1, 1),
}


def query_time(value: object) -> datetime | None:
    """A time in a search (OPFileQuery, OPLogQuery): device time, or the epoch as clients
    spell it; None when it is neither."""
    if isinstance(value, str) and value in _EPOCH_SPELLINGS:
        return _EPOCH_SPELLINGS[value]
    return parse_device_time(value)


def recording_name(
    channel: int,
    begin: datetime,
    end: datetime,
    events: str,
    kind: str,
    *,
    index: int = 0,
    serial: int = 0,
) -> str:
    """A file name as a device writes it, channel 0 being `001`."""
    letter = events[:1] or "R"
    folder = f"/idea0/{begin:%Y-%m-%d}/{channel + 1:03d}"
    return f"{folder}/{begin:%H.%M.%S}-{end:%H.%M.%S}[{letter}][@{index:x}][{serial}].{kind}"


@dataclass(frozen=True, slots=True)
class Recording:
    """One recorded file. `path` is where its content comes from: an Annex-B clip or a file
    already in the DVRIP container for `h264`, a JPEG for `jpg`; None is the device's main
    clip or snapshot. `name` is made the device's way when left empty."""

    channel: int
    begin: datetime
    end: datetime
    events: str = "R"
    kind: str = "h264"
    path: Path | None = None
    name: str = ""
    disk: int = 0
    serial: int = 0

    def __post_init__(self) -> None:
        if not self.name:
            name = recording_name(
                self.channel, self.begin, self.end, self.events, self.kind, serial=self.serial
            )
            object.__setattr__(self, "name", name)

    def overlaps(self, begin: datetime, end: datetime) -> bool:
        return self.begin <= end and self.end >= begin

    def has_event(self, letters: str) -> bool:
        """Whether the query's Event letters select this file (`*` is every file)."""
        return "*" in letters or any(letter in letters for letter in self.events)


@dataclass
class Catalogue:
    """The recordings of a device, and their bytes (made once per source and kept). With
    `hides_future` (the made-up catalogue), a file that ends after the `now` a search or a
    claim passes is not there yet."""

    recordings: list[Recording]
    hides_future: bool = False
    _by_name: dict[str, Recording] = field(default_factory=dict, init=False, repr=False)
    _sizes: dict[tuple[str, Path | None], int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.recordings.sort(key=lambda recording: (recording.begin, recording.name))
        self._by_name = {recording.name: recording for recording in self.recordings}

    def __len__(self) -> int:
        return len(self.recordings)

    def find(
        self,
        *,
        channel: int,
        begin: datetime,
        end: datetime,
        kind: str,
        events: str,
        now: datetime | None = None,
    ) -> list[Recording]:
        """The files of `channel` and `kind` overlapping [begin, end] whose events match,
        sorted by their begin time, at most one query's worth."""
        found: list[Recording] = []
        for recording in self.recordings:
            if recording.begin > end:
                break
            if (
                self._exists(recording, now)
                and recording.channel == channel
                and recording.kind == kind
                and recording.end >= begin
                and recording.has_event(events)
            ):
                found.append(recording)
                if len(found) == MAX_RECORDS_PER_QUERY:
                    break
        return found

    def by_name(self, name: str, *, now: datetime | None = None) -> Recording | None:
        recording = self._by_name.get(name)
        return recording if recording is not None and self._exists(recording, now) else None

    def _exists(self, recording: Recording, now: datetime | None) -> bool:
        return not self.hides_future or now is None or recording.end <= now

    def content(self, recording: Recording, library: MediaLibrary) -> bytes:
        """The file's bytes as the device sends them in a download."""
        if recording.kind == "jpg":
            jpeg = library.snapshot() if recording.path is None else load_picture(recording.path)
            return picture_container(jpeg, when=recording.begin)
        if recording.path is None:
            clip = library.clip(StreamKind.MAIN)
        else:
            data = read_bounded(recording.path, MAX_CLIP_BYTES, "recording")
            if data[:3] == _CONTAINER_START and data[3:4] and data[3] in _CONTAINER_TYPES:
                return data  # a file from a device: already the container
            clip = clip_from_bytes(data, str(recording.path))
        return media_container(
            clip, fps=library.settings.fps, audio=library.audio(), start_time=recording.begin
        )

    def size(self, recording: Recording, library: MediaLibrary) -> int:
        """The file's size in bytes (the same for every file made from one source: only the
        time stamps inside differ)."""
        key = (recording.kind, recording.path)
        size = self._sizes.get(key)
        if size is None:
            size = self._sizes[key] = len(self.content(recording, library))
        return size


def synthesised_catalogue(day: date, channels: int, *, days: int = 2) -> Catalogue:
    """`days` days of recordings on every channel, the last of them `day` (see the module's
    documentation); files in the future are hidden from searches and claims."""
    recordings: list[Recording] = []
    for number in range(days):
        midnight = datetime.combine(day - timedelta(days=days - 1 - number), time())
        for channel in range(channels):
            index = 0
            for slot in range(24 * 60 // 10):
                begin = midnight + slot * _SYNTHESISED_EVERY
                end = begin + _SYNTHESISED_EVERY - timedelta(seconds=1)
                events = "M" if slot % _MOTION_EVERY == _MOTION_EVERY - 1 else "R"
                name = recording_name(channel, begin, end, events, "h264", index=index)
                recordings.append(Recording(channel, begin, end, events, "h264", name=name))
                index += 0x7CB  # as the offsets of real files grow
            for hour in range(24):
                moment = midnight + timedelta(hours=hour, minutes=7, seconds=30)
                recordings.append(Recording(channel, moment, moment, "M", "jpg"))
    return Catalogue(recordings, hides_future=True)


# ---------------------------------------------------------------------- recordings files


def load_recordings(source: Path | Iterable[Recording]) -> Catalogue:
    """A catalogue from a JSON file, or from `Recording`s. The file is a JSON array of objects
    `{"channel": 0, "begin": "2026-11-25 10:08:41", "end": "2026-11-25 10:23:30",
    "events": "R", "kind": "h264", "path": "clip.h264"}` (`name`, `disk`, `serial` optional;
    a relative `path` is relative to the file). Raises MediaError in one line."""
    if not isinstance(source, Path):
        return Catalogue(list(source))
    try:
        with source.open("rb") as file:
            text = file.read(_MAX_RECORDINGS_FILE + 1)
        if len(text) > _MAX_RECORDINGS_FILE:
            raise MediaError(f"recordings file {source} is too large")
        items = json.loads(text)
    except OSError as error:
        raise MediaError(f"cannot read recordings file {source}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MediaError(f"recordings file {source} is not JSON") from None
    if not isinstance(items, list) or len(items) > MAX_RECORDINGS:
        raise MediaError(f"recordings file {source}: a JSON array of at most {MAX_RECORDINGS}")
    recordings = []
    for number, item in enumerate(items, 1):
        try:
            recordings.append(_recording(item, source.parent))
        except (TypeError, ValueError) as error:
            raise MediaError(f"recordings file {source}, item {number}: {error}") from None
    names = {recording.name for recording in recordings}
    if len(names) != len(recordings):
        raise MediaError(f"recordings file {source}: two recordings have the same name")
    paths = {recording.path for recording in recordings if recording.path is not None}
    missing = sorted(str(path) for path in paths if not path.is_file())
    if missing:
        raise MediaError(f"recordings file {source}: no such file {missing[0]}")
    return Catalogue(recordings)


def _recording(item: object, directory: Path) -> Recording:
    if not isinstance(item, dict):
        raise ValueError("a recording is a JSON object")
    unknown = set(item) - set(_FIELDS)
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    values = {key: _FIELDS[key](item[key]) for key in item}
    if "channel" not in values or "begin" not in values or "end" not in values:
        raise ValueError("channel, begin and end are required")
    if values["end"] < values["begin"]:
        raise ValueError("it ends before it begins")
    path = values.get("path")
    if isinstance(path, Path) and not path.is_absolute():
        values["path"] = directory / path
    return Recording(**values)


def _when(value: object) -> datetime:
    when = parse_device_time(value)
    if when is None:
        raise ValueError(f"a time is text such as '2026-11-25 10:08:41', not {value!r:.40}")
    return when


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise ValueError("channel, disk and serial are whole numbers 0..65535")
    return value


def _events(value: object) -> str:
    if not isinstance(value, str) or not value or not set(value) <= EVENT_LETTERS:
        raise ValueError(f"events are letters of {''.join(sorted(EVENT_LETTERS))}")
    return value


def _kind(value: object) -> str:
    if value not in KINDS:
        raise ValueError(f"kind is one of {', '.join(KINDS)}")
    return str(value)


def _text(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 255:
        raise ValueError("name is text of 1..255 characters")
    return value


def _path(value: object) -> Path:
    if not isinstance(value, str) or not value:
        raise ValueError("path is a file path")
    return Path(value)


_FIELDS: Final[dict[str, Callable[[Any], Any]]] = {
    "channel": _whole,
    "begin": _when,
    "end": _when,
    "events": _events,
    "kind": _kind,
    "path": _path,
    "name": _text,
    "disk": _whole,
    "serial": _whole,
}
