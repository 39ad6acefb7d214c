"""Field values as devices write them, read leniently and written the one way devices do.

Numbers come as JSON ints, as floats with no fraction (`25.0`), as decimal strings (`"25"`,
some firmware quotes every number) and as hex strings (`"0x0000B000"`: file lengths, disk
sizes, uptimes, masks), sometimes with blanks around. Times are device-local wall-clock
text, `2026-11-25 10:08:41`, with no zone. The client, the simulator and the datagram codecs
all read and write these fields through this module.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Final

__all__ = [
    "DEVICE_TIME_FORMAT",
    "format_device_time",
    "lenient_int",
    "parse_device_time",
]

DEVICE_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
"""How devices write a time (OPTimeQuery, OPTimeSetting, alarms, file records)."""

# Longer text is not a number or a time a device writes: never handed to int() or strptime.
_MAX_FIELD_TEXT: Final = 64
_DECIMAL: Final = re.compile(r"[+-]?[0-9]{1,20}(?:\.0*)?")  # ASCII only: "٣".isdigit() is True
_HEX: Final = re.compile(r"0[xX][0-9a-fA-F]{1,16}")


def lenient_int(
    value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """A whole number as devices write it: an int, a float with no fraction, a decimal string
    (`"25"`, `" -3 "`, `"25.0"`) or a hex one (`"0x1F"`, the prefix required); None for
    anything else (a bool, a fraction, junk) and for a number outside [minimum, maximum]."""
    # Text first: a reader that got here with a value is usually holding text (the callers
    # take a plain int themselves), and no string is a bool, an int or a float.
    if isinstance(value, str):
        text = value.strip() if len(value) <= _MAX_FIELD_TEXT else ""
        if _HEX.fullmatch(text):
            number = int(text, 16)
        elif _DECIMAL.fullmatch(text):
            number = int(text.partition(".")[0])
        else:
            return None
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            return None
        number = int(value)
    else:
        return None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        return None
    return number


def format_device_time(when: datetime) -> str:
    """`when` as devices write a time (whole seconds; any zone is not written)."""
    return when.strftime(DEVICE_TIME_FORMAT)


def parse_device_time(value: object) -> datetime | None:
    """A device's time field as a naive datetime (device-local), blanks around it ignored;
    None when it is not a time."""
    if not isinstance(value, str) or len(value) > _MAX_FIELD_TEXT:
        return None
    try:
        return datetime.strptime(value.strip(), DEVICE_TIME_FORMAT)
    except ValueError:
        return None
