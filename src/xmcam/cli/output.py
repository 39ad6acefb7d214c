"""Terminal output helpers shared by every command: safe text and exit codes.

Device-supplied strings (channel titles, host names, OSD text, file names) reach the
terminal through `safe_text()`: a hostile or broken device could otherwise embed escape
sequences that drive the operator's terminal (FIELD-NOTES.md §3.3).
"""

from __future__ import annotations

import enum
import json
import re
from typing import Any, Final

__all__ = ["ExitCode", "dumps_safe", "safe_text"]


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
