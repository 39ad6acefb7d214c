"""Terminal output helpers shared by every command: safe text, JSON, tables, progress and
exit codes.

Device-supplied strings (channel titles, host names, OSD text, file names) reach the
terminal through `safe_text()`: a hostile or broken device could otherwise embed escape
sequences that drive the operator's terminal (FIELD-NOTES.md §3.3).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final, TextIO

from xmcam.protocol import redact

__all__ = [
    "CommandError",
    "ExitCode",
    "Progress",
    "dumps_safe",
    "jsonable",
    "pretty_json",
    "print_fields",
    "print_json",
    "print_table",
    "safe_text",
]


class ExitCode(enum.IntEnum):
    """What `xmcam` exits with, so that scripts can tell failures apart."""

    SUCCESS = 0
    FAILURE = 1
    """Anything not covered below."""
    USAGE = 2
    """Bad command line (argparse's own code)."""
    CONNECTION = 3
    """The device could not be reached, or the connection broke."""
    TIMEOUT = 4
    """The device did not answer in time."""
    AUTHENTICATION = 5
    """The device refused the login, or the account is locked."""
    DEVICE = 6
    """The device answered with a failure Ret code."""
    PROTOCOL = 7
    """The device (or the input) sent bytes that break the protocol."""


# C0 controls but tab, DEL, the C1 controls (0x9b is a one-byte CSI on some terminals), and
# lone surrogates (JSON can carry them; no terminal encoding can print them).
_UNSAFE: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_IN_JSON: Final = re.compile("[\x7f-\x9f\ud800-\udfff]")
MAX_TEXT: Final = 200


def safe_text(text: str, limit: int = MAX_TEXT) -> str:
    """`text` with control characters shown as escapes and cut to `limit` characters."""
    cleaned = _UNSAFE.sub(_escape, text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def dumps_safe(value: Any) -> str:
    """JSON on one line for a terminal or a pipe: non-ASCII kept readable, every control
    character and lone surrogate escaped (json escapes C0 itself; the rest is done here)."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class CommandError(Exception):
    """A failure the command explains itself: one line for stderr and the exit code to use.

    For what the user got wrong (a bad JSON argument, a file that cannot be read) and what a
    command finds wrong after the device answered (some config names not imported).
    """

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILURE) -> None:
        super().__init__(message)
        self.code = code


def jsonable(value: Any) -> Any:
    """`value` as plain JSON types: dataclasses as objects, datetimes in ISO 8601, enums as
    their values, tuples and sets as arrays."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return value


def print_json(value: Any, stream: TextIO | None = None) -> None:
    """One line of JSON (for `--json`), secrets redacted, control characters escaped."""
    print(dumps_safe(redact(jsonable(value))), file=stream or sys.stdout, flush=True)


def pretty_json(value: Any) -> str:
    """Indented JSON for people, secrets redacted, control characters escaped."""
    text = json.dumps(redact(jsonable(value)), ensure_ascii=False, indent=2)
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def print_fields(pairs: Sequence[tuple[str, object]], stream: TextIO | None = None) -> None:
    """Labelled values, one a line, the values aligned."""
    width = max((len(label) for label, _ in pairs), default=0)
    for label, value in pairs:
        print(f"{label + ':':<{width + 1}} {_cell(value)}", file=stream or sys.stdout)


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], stream: TextIO | None = None
) -> None:
    """A plain text table: a header line, then one line per row, columns aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [
        max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)
    ]
    for row in [list(headers), *cells]:
        line = "  ".join(f"{text:<{width}}" for text, width in zip(row, widths, strict=True))
        print(line.rstrip(), file=stream or sys.stdout)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(item) for item in value) or "-"
    return safe_text(str(value))


class Progress:
    """A one-line progress counter on stderr, shown only when stderr is a terminal (a pipe
    or a log file gets nothing: the counter rewrites its own line)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.shown = self.stream.isatty()
        self._width = 0

    def show(self, text: str) -> None:
        if self.shown:
            line = safe_text(text, limit=78)
            self.stream.write("\r" + line.ljust(self._width))
            self.stream.flush()
            self._width = len(line)

    def done(self) -> None:
        if self.shown and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
