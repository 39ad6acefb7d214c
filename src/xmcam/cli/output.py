"""Terminal output helpers shared by every command: safe text, JSON, tables, progress and
exit codes.

Device-supplied strings (channel titles, host names, OSD text, file names, serial numbers)
reach the terminal through one rule, `is_unsafe()`, applied by `safe_text()` to text, by
`dumps_safe()` and `pretty_json()` to JSON, and by `TerminalFormatter` to log lines. A hostile
or broken device could otherwise embed escape sequences that drive the operator's terminal
(docs/protocol.md §F3.3), or bidirectional overrides (U+202E and friends, the "Trojan Source"
trick, CVE-2021-42574) that make a line read as something other than what it holds. In text
they show as `\x1b`, `\u202e`; in JSON as `\u202e`, which a JSON reader turns back into
exactly the string the device sent.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import logging
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Final, TextIO

from xmcam.protocol import DEVICE_TIME_FORMAT, redact

__all__ = [
    "CommandError",
    "ExitCode",
    "Progress",
    "TerminalFormatter",
    "dumps_safe",
    "is_unsafe",
    "jsonable",
    "pretty_json",
    "print_fields",
    "print_json",
    "print_table",
    "safe_text",
    "warn_password_on_command_line",
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


# The Unicode categories a terminal must not get raw: Cc, the C0 and C1 controls and DEL
# (ESC starts a sequence, 0x9b is a one-byte CSI on some terminals); Cf, the invisible format
# characters, among them the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069), the marks (U+200E, U+200F, U+061C) and the zero-width characters; Zl and Zp,
# the line and paragraph separators some terminals break lines at; Cs, lone surrogates (JSON
# can carry them; no terminal encoding can print them). Tab is the one control kept.
_UNSAFE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Printable ASCII (and tab) is never unsafe: only the rest is looked up.
_SUSPECT_IN_TEXT: Final = re.compile("[^\t\x20-\x7e]")
# In JSON text, newlines are the indentation's (json escapes those inside strings).
_SUSPECT_IN_JSON: Final = re.compile("[^\t\n\x20-\x7e]")
MAX_TEXT: Final = 200
TIME_FORMAT: Final = DEVICE_TIME_FORMAT
"""How the command shows a time to people: the device's own way of writing one, to the
second (cameras keep whole seconds)."""


def is_unsafe(char: str) -> bool:
    """Whether a character must not reach a terminal as it is: a control, an invisible
    format character (the bidirectional overrides among them), a line or paragraph separator,
    or a lone surrogate. Tab is kept."""
    return char != "\t" and unicodedata.category(char) in _UNSAFE_CATEGORIES


def safe_text(text: str, limit: int | None = MAX_TEXT) -> str:
    """`text` with every unsafe character (`is_unsafe()`) shown as an escape (`\\x1b`,
    `\\u202e`, `\\U000e0041`) and cut to `limit` characters (None: not cut)."""
    cleaned = _SUSPECT_IN_TEXT.sub(_escape_in_text, text)
    if limit is None or len(cleaned) <= limit:
        return cleaned
    return cleaned[: limit - 1] + "…"


def _escape_in_text(match: re.Match[str]) -> str:
    char = match.group()
    if not is_unsafe(char):
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _escape_in_json(match: re.Match[str]) -> str:
    char = match.group()
    if not is_unsafe(char):
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    # JSON spells a character beyond the BMP as its UTF-16 surrogate pair.
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def _json_for_terminal(text: str) -> str:
    return _SUSPECT_IN_JSON.sub(_escape_in_json, text)


def dumps_safe(value: Any) -> str:
    """JSON on one line for a terminal or a pipe: non-ASCII kept readable, every unsafe
    character (`is_unsafe()`) escaped as `\\uXXXX` (json escapes C0 itself; the rest is done
    here). A JSON reader gets back exactly the strings given."""
    return _json_for_terminal(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")))


def warn_password_on_command_line(option: str, variable: str) -> None:
    """One line on stderr: a password given as `option` is in the command line, which other
    users see in `ps` (and the shell keeps in its history); `variable` is the way around."""
    print(
        f"xmcam: warning: a password in {option} shows in `ps` and in the shell's history; "
        f"set {variable} instead",
        file=sys.stderr,
        flush=True,
    )


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
    return _json_for_terminal(json.dumps(redact(jsonable(value)), ensure_ascii=False, indent=2))


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


class TerminalFormatter(logging.Formatter):
    """A log formatter for stderr: the message (which may quote what a device sent) with
    every unsafe character escaped, so that a log line is one line and reads as it is; the
    lines of a traceback are escaped one by one."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        if getattr(record, "multiline", False):  # rows of our own (a hex dump), each escaped
            return _lines_for_terminal(super().formatMessage(record))
        return safe_text(super().formatMessage(record), limit=None)

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return _lines_for_terminal(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return _lines_for_terminal(super().formatStack(stack_info))


def _lines_for_terminal(text: str) -> str:
    return "\n".join(safe_text(line, limit=None) for line in text.split("\n"))


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
