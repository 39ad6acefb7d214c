"""`xmcam files`: list recordings, and download them.

`files list` pages through the device's 64-record replies (the client does) and prints one
row per recording, numbered; `files download` takes those numbers or the device's file names
(for the same --from/--to/--channel/--type), or --all. A download is written to
`NAME.part` and renamed when whole: a file under its final name is always complete, an
existing one is skipped (unless --force), and an interrupted one stays `.part` (the device
cannot resume, so the next run starts it again). With --mp4 the recording is remuxed into
MP4 on the way (the `media` extra), with no re-encoding.

Each recording of a download gets a file of its own (`local_names()`): its base name on the
device, or, when several selected recordings share one (the same hour on two days, or in two
folders), that name with as many of the device's folders in front as tell them apart, and a
number when even their whole paths are alike. A name cut to `MAX_NAME` characters keeps its
extension.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import re
import sys
from pathlib import Path
from typing import Any, BinaryIO, Final

from xmcam.aio import AsyncCamera
from xmcam.cli.clock import parse_time
from xmcam.cli.output import (
    TIME_FORMAT,
    CommandError,
    ExitCode,
    Progress,
    print_json,
    print_table,
    safe_text,
)
from xmcam.cli.parsing import json_lines
from xmcam.cli.session import camera_command, channel_number, closing
from xmcam.cli.signals import signal_name
from xmcam.cli.snapshot import cannot_write
from xmcam.client.models import RecordFile
from xmcam.media.demux import MediaDemuxer
from xmcam.media.writer import ContainerWriter, require_media_support

__all__ = ["add_parser", "files_download", "files_list", "local_name", "local_names", "parse_when"]

KINDS: Final = ("video", "picture")
# Event letters (docs/protocol.md §14): Alarm, Motion, Regular, Hand (manual); `*` = all.
_EVENTS: Final = re.compile(r"\*|[AMRH]+")
# What a device-supplied file name may keep on this computer; the rest becomes "_".
_UNSAFE_IN_NAME: Final = re.compile(r"[^A-Za-z0-9._@\[\]-]")
# An extension: a dot and 1 to 8 letters or digits at the end (".h264", ".jpg").
_EXTENSION: Final = re.compile(r"\.[A-Za-z0-9]{1,8}\Z")
MAX_NAME: Final = 120


def parse_when(text: str, *, end: bool = False) -> datetime.datetime:
    """A time for --from/--to: "today", "yesterday", "now", a date ("2026-11-25": the start
    of that day, or its last second with `end`), or a date and time in ISO 8601
    ("2026-11-25 10:00", "2026-11-25T10:00:00"). Device-local, as recordings are."""
    word = text.strip().lower()
    today = datetime.date.today()
    day: datetime.date | None = None
    if word == "now":
        return datetime.datetime.now().replace(microsecond=0)
    if word in ("today", "yesterday"):
        day = today if word == "today" else today - datetime.timedelta(days=1)
    else:
        with contextlib.suppress(ValueError):
            day = datetime.date.fromisoformat(word)
    if day is None:
        return parse_time(text.strip())
    return datetime.datetime.combine(day, datetime.time.max if end else datetime.time.min).replace(
        microsecond=0
    )


def _window(args: argparse.Namespace) -> tuple[datetime.datetime, datetime.datetime]:
    start = parse_when(args.start)
    stop = parse_when(args.stop, end=True)
    if stop < start:
        raise CommandError("--to is before --from", ExitCode.USAGE)
    return start, stop


async def _records(camera: AsyncCamera, args: argparse.Namespace) -> list[RecordFile]:
    start, stop = _window(args)
    return await camera.files(start, stop, channel=args.channel, kind=args.type, events=args.events)


async def files_list(camera: AsyncCamera, args: argparse.Namespace) -> int:
    records = await _records(camera, args)
    if args.json:
        print_json(
            [
                {"index": number, **_record_fields(record)}
                for number, record in enumerate(records, start=1)
            ]
        )
        return ExitCode.SUCCESS
    if not records:
        print("xmcam: no recordings in that time", file=sys.stderr)
        return ExitCode.SUCCESS
    rows = [
        [
            number,
            record.begin.strftime(TIME_FORMAT),
            record.end.strftime("%H:%M:%S"),
            _megabytes(record.size),
            record.name,
        ]
        for number, record in enumerate(records, start=1)
    ]
    print_table(["#", "begin", "end", "size", "name"], rows)
    return ExitCode.SUCCESS


def _record_fields(record: RecordFile) -> dict[str, Any]:
    return {
        "name": record.name,
        "channel": record.channel,
        "begin": record.begin,
        "end": record.end,
        "size": record.size,
        "disk": record.disk,
        "serial": record.serial,
        "kind": record.kind,
    }


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _select(records: list[RecordFile], args: argparse.Namespace) -> list[RecordFile]:
    """The recordings the arguments name: 1-based numbers from `files list`, device file
    names (whole, or the last part), or all of them."""
    if args.all:
        return records
    chosen: list[RecordFile] = []
    for wanted in args.names:
        found = _find(records, wanted)
        if found is None:
            raise CommandError(
                f"no recording {safe_text(wanted)!r} in that time (see `xmcam files list`)",
                ExitCode.USAGE,
            )
        if found not in chosen:
            chosen.append(found)
    return chosen


def _find(records: list[RecordFile], wanted: str) -> RecordFile | None:
    if wanted.isascii() and wanted.isdigit():
        number = int(wanted)
        return records[number - 1] if 0 < number <= len(records) else None
    for record in records:
        if wanted in (record.name, record.name.rsplit("/", 1)[-1]):
            return record
    return None


def local_name(record: RecordFile, *, mp4: bool = False, folders: int = 0) -> str:
    """A safe file name for a recording on this computer: the last part of the device's
    name (never a path: the device could send `../`), odd characters as `_`, at most
    `MAX_NAME` characters with the extension kept. `folders` puts that many of the device's
    folders above the file in front (`2026-11-25_001_10.00.00-10.09.59[R][@0][0].h264`), to
    tell apart recordings of one name."""
    parts = [_safe_part(part) for part in record.name.replace("\\", "/").split("/")]
    base = parts[-1] or f"ch{record.channel}-{record.begin:%Y%m%d-%H%M%S}.h264"
    stem, extension = _split_extension(base)
    above = [part for part in parts[:-1] if part][-folders:] if folders > 0 else []
    if above:
        stem = "_".join([*above, stem])
    return _fit(stem, ".mp4" if mp4 else extension)


def local_names(records: list[RecordFile], *, mp4: bool = False) -> list[str]:
    """A distinct file name for each recording (`local_name()`), told apart by the device's
    folders when their base names are alike, then by a number (`-2`, `-3`) when their whole
    paths are. Compared case aside: some file systems make `A.h264` and `a.h264` one file."""
    names = [local_name(record, mp4=mp4) for record in records]
    alike: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        alike.setdefault(name.casefold(), []).append(index)
    for indices in alike.values():
        if len(indices) < 2:
            continue
        depth = max(records[i].name.replace("\\", "/").count("/") for i in indices)
        for folders in range(1, depth + 1):
            candidates = [local_name(records[i], mp4=mp4, folders=folders) for i in indices]
            if len({name.casefold() for name in candidates}) == len(candidates):
                for index, candidate in zip(indices, candidates, strict=True):
                    names[index] = candidate
                break  # else: no folder tells them apart; numbers will
    taken: set[str] = set()
    for index, name in enumerate(names):
        unique, number = name, 1
        while unique.casefold() in taken:
            number += 1
            stem, extension = _split_extension(name)
            unique = _fit(stem, extension, tag=f"-{number}")
        taken.add(unique.casefold())
        names[index] = unique
    return names


def _safe_part(part: str) -> str:
    return _UNSAFE_IN_NAME.sub("_", part).lstrip(".")


def _split_extension(name: str) -> tuple[str, str]:
    match = _EXTENSION.search(name)
    if match is None or match.start() == 0:
        return name, ""
    return name[: match.start()], match.group()


def _fit(stem: str, extension: str, *, tag: str = "") -> str:
    """`stem` + `tag` + `extension` in `MAX_NAME` characters: the stem is what gets cut."""
    return stem[: MAX_NAME - len(extension) - len(tag)] + tag + extension


def _targets(records: list[RecordFile], args: argparse.Namespace) -> list[Path]:
    """Where each recording goes: -o DIR (an existing directory, or a name ending in /),
    -o FILE for a single recording, else the current directory."""
    output = Path(args.output or ".")
    into_directory = output.is_dir() or (args.output or "").endswith(("/", "\\"))
    if not into_directory and len(records) > 1:
        raise CommandError(
            f"{safe_text(str(output))} is not a directory: -o names a file only for one recording",
            ExitCode.USAGE,
        )
    if not into_directory:
        return [output]
    output.mkdir(parents=True, exist_ok=True)
    return [output / name for name in local_names(records, mp4=args.mp4)]


async def files_download(camera: AsyncCamera, args: argparse.Namespace) -> int:
    records = _select(await _records(camera, args), args)
    if not records:
        print("xmcam: no recordings in that time", file=sys.stderr)
        return ExitCode.SUCCESS
    try:
        targets = _targets(records, args)
    except OSError as error:
        raise cannot_write(args.output, error) from None
    done = 0
    try:
        for record, target in zip(records, targets, strict=True):
            result: dict[str, Any] = {"name": record.name, "output": str(target)}
            if target.exists() and not args.force:
                result.update(skipped=True, bytes=target.stat().st_size)
            else:
                result.update(skipped=False, **await _download(camera, record, target, args))
            _report(result, args)
            done += 1
    except (asyncio.CancelledError, KeyboardInterrupt):
        # Ctrl-C or SIGTERM (xmcam.cli.signals): say how far it got; main() gives the exit
        # code (130 or 143).
        print(
            f"xmcam: stopped by {signal_name()}: {done} of {len(records)} recording(s) done",
            file=sys.stderr,
            flush=True,
        )
        raise
    return ExitCode.SUCCESS


async def _download(
    camera: AsyncCamera, record: RecordFile, target: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Fetch one recording into `target` through `target.part`. On any failure, Ctrl-C or
    SIGTERM the partial file stays `.part` (and the error goes on); a `.part` that got
    nothing is removed."""
    progress = Progress()
    try:
        sink: _RawSink | _Remux = _Remux(target) if args.mp4 else _RawSink(target)
    except OSError as error:
        raise cannot_write(target, error) from None
    received = 0
    try:
        async with closing(camera.download(record)) as chunks:
            async for chunk in chunks:
                sink.write(chunk)
                received += len(chunk)
                progress.show(_bar(record, received))
    except BaseException:
        progress.done()
        sink.abort()
        if sink.part.exists():
            print(f"xmcam: partial download kept as {safe_text(str(sink.part))}", file=sys.stderr)
        raise
    progress.done()
    sink.close()
    return {"bytes": received, **sink.summary()}


def _bar(record: RecordFile, received: int, width: int = 20) -> str:
    """A progress bar: received bytes of the recording's size (the device's own figure, in
    whole KiB, so it may end a little off 100%)."""
    fraction = min(received / record.size, 1.0) if record.size > 0 else 0.0
    filled = round(fraction * width)
    name = record.name.rsplit("/", 1)[-1]
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} "
        f"{received / 1e6:.1f}/{record.size / 1e6:.1f} MB  {name}"
    )


class _RawSink:
    """The recording's bytes as the device sends them (its DVRIP media container)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.part = target.with_name(target.name + ".part")
        self._file: BinaryIO = self.part.open("wb")
        self._written = 0

    def write(self, chunk: bytes) -> None:
        try:
            self._file.write(chunk)
        except OSError as error:
            raise cannot_write(self.part, error) from None
        self._written += len(chunk)

    def close(self) -> None:
        try:
            self._file.close()
            self.part.replace(self.target)
        except OSError as error:
            raise cannot_write(self.target, error) from None

    def abort(self) -> None:
        self._file.close()
        if not self._written:  # stopped before the first byte: nothing worth keeping
            self.part.unlink(missing_ok=True)

    def summary(self) -> dict[str, Any]:
        return {"remuxed": False}


class _Remux:
    """The recording's frames, demuxed as they come, into an MP4 (no re-encoding)."""

    def __init__(self, target: Path) -> None:
        self.demuxer = MediaDemuxer()
        self.writer = ContainerWriter(target, format="mp4")
        self.part = target.with_name(target.name + ".part")

    def write(self, chunk: bytes) -> None:
        for frame in self.demuxer.feed(chunk):
            self.writer.write(frame)

    def close(self) -> None:
        self.demuxer.eof()
        self.writer.close()

    def abort(self) -> None:
        self.writer.abort()

    def summary(self) -> dict[str, Any]:
        return {
            "remuxed": True,
            "frames": self.writer.frames_written,
            "duration": round(self.writer.duration, 3),
            "dropped_bytes": self.demuxer.dropped_bytes,
        }


def _report(result: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        print_json(result)
        return
    output = safe_text(result["output"])
    if result["skipped"]:
        print(f"{output}: exists, skipped (--force downloads it again)", flush=True)
    elif result["remuxed"]:
        print(
            f"{output}: {result['frames']} frames, {result['duration']:.1f} s "
            f"(from {_megabytes(result['bytes'])})",
            flush=True,
        )
    else:
        print(f"{output}: {_megabytes(result['bytes'])}", flush=True)


def _list_handler(args: argparse.Namespace) -> int:
    _check_filters(args)
    return camera_command(files_list)(args)


def _download_handler(args: argparse.Namespace) -> int:
    _check_filters(args)
    if not args.all and not args.names:
        raise CommandError(
            "name the recordings to download (numbers or names), or --all", ExitCode.USAGE
        )
    if args.all and args.names:
        raise CommandError("--all or recording names, not both", ExitCode.USAGE)
    if args.mp4:
        if args.type != "video":
            raise CommandError("--mp4 is for video recordings", ExitCode.USAGE)
        require_media_support()
    return camera_command(files_download)(args)


def _check_filters(args: argparse.Namespace) -> None:
    # A typo in a time or an event costs no login.
    _window(args)
    if not _EVENTS.fullmatch(args.events):
        raise CommandError(
            f"bad --events {safe_text(args.events)!r}: letters A M R H, or *", ExitCode.USAGE
        )


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="start",
        default="today",
        metavar="WHEN",
        help='start: "2026-11-25 10:00", "2026-11-25", "today", "yesterday", "now" '
        "(device time; default today 00:00)",
    )
    parser.add_argument(
        "--to",
        dest="stop",
        default="today",
        metavar="WHEN",
        help="end, the same forms; a day alone means its end (default: the end of today)",
    )
    parser.add_argument(
        "--channel", type=channel_number, default=0, metavar="N", help="channel (default 0)"
    )
    parser.add_argument(
        "--type", choices=KINDS, default="video", help="video or picture (default video)"
    )
    parser.add_argument(
        "--events",
        default="*",
        metavar="AMRH",
        help="only these events: A alarm, M motion, R regular, H manual (default *: all)",
    )


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "files",
        help="list and download recordings",
        description="List the recordings on the camera's disk, and download them.",
        epilog=(
            "examples:\n"
            "  xmcam files list --from '2026-11-25 10:00' --to '2026-11-25 12:00'\n"
            "  xmcam files download 1 3 --from yesterday --to yesterday -o clips/\n"
            "  xmcam files download --all --from today --mp4 -o clips/"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        help="list recordings, numbered",
        description="List the recordings in a time window, oldest first, numbered from 1.",
        epilog="example: xmcam files list --from today --channel 1 --events M",
    )
    _add_filters(listing)
    listing.set_defaults(handler=_list_handler)
    download = actions.add_parser(
        "download",
        help="download recordings",
        description=(
            "Download recordings by their number in `files list` (same --from/--to/"
            "--channel/--type) or their name, or --all. Each is written as NAME.part and "
            "renamed when whole; an existing file is skipped unless --force. Ctrl-C or "
            "SIGTERM stops: the recordings done are kept, a partial one stays NAME.part (the "
            "next run fetches it again), and the exit code is 130 (Ctrl-C) or 143 (SIGTERM)."
        ),
        epilog="example: xmcam files download 2 --from '2026-11-25 10:00' --mp4 -o clips/",
    )
    download.add_argument(
        "names", nargs="*", metavar="NAME_OR_INDEX", help="recordings: numbers or file names"
    )
    _add_filters(download)
    download.add_argument("--all", action="store_true", help="every recording in the window")
    download.add_argument(
        "-o",
        "--output",
        metavar="DIR_OR_FILE",
        help="a directory (default: here), or a file name for a single recording",
    )
    download.add_argument(
        "--mp4", action="store_true", help="remux into MP4 (no re-encoding; the media extra)"
    )
    download.add_argument(
        "--force", action="store_true", help="download again files that exist already"
    )
    json_lines(download)  # one object per recording, as each one ends
    download.set_defaults(handler=_download_handler)
