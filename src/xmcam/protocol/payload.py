"""JSON message bodies: the device-style writer and the lenient reader.

Writer. Devices format JSON the way the vendor's JSON library's "styled" writer does with its
line breaks folded to single spaces (docs/protocol.md §2.6): keys sorted, `" : "` between key and
value, `", "` between members, one space inside non-empty braces and brackets, `{}` and `[]`
when empty. The seed capture shows exactly this in both directions:

    { "Name" : "KeepAlive", "SessionID" : "0x00000001" }

then a terminator counted in the data length: `\\n` after client requests, `\\n\\0` after device
replies. Strings are written as UTF-8 with JSON escapes for quotes, backslashes and control
characters only.

Reader. Parse leniently: strip any mix of NUL, CR, LF and white space around the text, decode
UTF-8 with replacement characters, accept a body that is a JSON string holding the JSON
(double encoding, python-dvr#3), drop trailing commas (they appear in the vendor doc's own
examples), and strip white space from keys (`"DeviceType "`, `" SessionID "`) while
remembering the spelling the peer used. Everything else is a PayloadError: the body must be
a JSON object of bounded size and depth.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any, Final

from xmcam.errors import PayloadError
from xmcam.protocol.header import DEFAULT_LIMITS, Limits
from xmcam.protocol.redaction import redact

__all__ = [
    "CLIENT_TERMINATOR",
    "DEVICE_TERMINATOR",
    "Body",
    "JsonObject",
    "SessionIdStyle",
    "decode_body",
    "encode_body",
    "encode_json",
    "format_session_id",
    "parse_session_id",
]

JsonObject = dict[str, Any]
"""A decoded JSON object. Values are whatever `json` produces: dict, list, str, int, float,
bool or None."""

CLIENT_TERMINATOR: Final = b"\n"
DEVICE_TERMINATOR: Final = b"\n\x00"

_quote: Any = encode_basestring  # C implementation: escapes quotes, backslash, control chars


def encode_json(value: object) -> str:
    """One JSON value in the device style (see the module docstring). Raises TypeError for a
    value JSON cannot hold, and ValueError for a float that is not finite."""
    return _dump(value)


# The writer tests exact types first (str, int, dict, list make up nearly every real body)
# and leaves bool, None, float, tuples and subclasses to the slower general path.


def _dump(value: object) -> str:
    kind = type(value)
    if kind is str:
        return _quote(value)  # type: ignore[no-any-return]
    if kind is int:
        return int.__repr__(value)
    if kind is dict:
        return _dump_object(value)  # type: ignore[arg-type]
    if kind is list:
        return _dump_array(value)  # type: ignore[arg-type]
    return _dump_other(value)


def _dump_object(value: dict[Any, Any]) -> str:
    if not value:
        return "{}"
    members = []
    for key in sorted(value):
        if not isinstance(key, str):
            raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
        item = value[key]
        kind = type(item)
        if kind is str:
            members.append(f"{_quote(key)} : {_quote(item)}")
        elif kind is int:
            members.append(f"{_quote(key)} : {int.__repr__(item)}")
        else:
            members.append(f"{_quote(key)} : {_dump(item)}")
    return "{ " + ", ".join(members) + " }"


def _dump_array(value: list[Any] | tuple[Any, ...]) -> str:
    if not value:
        return "[]"
    return "[ " + ", ".join([_dump(item) for item in value]) + " ]"


def _dump_other(value: object) -> str:
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, str):
        return _quote(value)  # type: ignore[no-any-return]
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("JSON cannot hold NaN or infinity")
        return float.__repr__(value)
    if isinstance(value, dict):
        return _dump_object(value)
    if isinstance(value, list | tuple):
        return _dump_array(value)
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def encode_body(body: Mapping[str, Any], terminator: bytes = CLIENT_TERMINATOR) -> bytes:
    """A message body: the object in the device style, UTF-8, then the terminator.

    >>> encode_body({"SessionID": "0x00000001", "Name": "KeepAlive"})
    b'{ "Name" : "KeepAlive", "SessionID" : "0x00000001" }\\n'
    """
    content = body if type(body) is dict else dict(body)
    text = _dump_object(content)
    try:
        return text.encode("utf-8") + terminator
    except UnicodeEncodeError:
        # A lone surrogate (valid in JSON as "\ud800", so a device can send one) has no
        # UTF-8 form: write it back as the same escape.
        return text.encode("utf-8", "backslashreplace") + terminator


@dataclass(frozen=True, slots=True, init=False)
class Body:
    """A decoded message body.

    `data` has every key stripped of surrounding white space, at every depth.
    `original_keys` maps a stripped key back to the spelling the peer used, for the keys
    whose spelling differed (`{"DeviceType": "DeviceType "}`), so a peer that needs its own
    spelling echoed can have it.
    """

    data: JsonObject
    original_keys: Mapping[str, str] = field(default_factory=dict)
    terminator: bytes = b""
    """What followed the JSON text: any mix of NUL, CR, LF and spaces, or nothing."""
    double_encoded: bool = False
    """The JSON arrived as a JSON string holding the JSON."""

    def __init__(
        self,
        data: JsonObject,
        original_keys: Mapping[str, str] | None = None,
        terminator: bytes = b"",
        double_encoded: bool = False,
    ) -> None:
        # The decoder makes a Body per frame. The __init__ a frozen dataclass generates sets
        # each field through object.__setattr__; the fields' slot setters do the same work
        # for half the cost. No `original_keys`: a new empty dict, as the field's default.
        _set_body_data(self, data)
        _set_body_keys(self, {} if original_keys is None else original_keys)
        _set_body_terminator(self, terminator)
        _set_body_double_encoded(self, double_encoded)

    def __repr__(self) -> str:
        # Secret members (passwords, their hashes) are redacted: reprs end up in logs.
        return (
            f"Body(data={redact(self.data)!r}, original_keys={dict(self.original_keys)!r}, "
            f"terminator={self.terminator!r}, double_encoded={self.double_encoded})"
        )

    def get(self, key: str, default: Any = None) -> Any:
        """`data.get(key, default)`."""
        return self.data.get(key, default)

    @property
    def name(self) -> str | None:
        """The `Name` member, when it is a string."""
        value = self.data.get("Name")
        return value if isinstance(value, str) else None

    @property
    def ret(self) -> int | None:
        """The `Ret` code, when present and a whole number (some firmware sends it quoted)."""
        value = self.data.get("Ret")
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            digits = value.strip()
            # isascii: "²".isdigit() is True; the length bound keeps int() within its limit.
            if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_RET_DIGITS:
                return int(digits)
        return None

    @property
    def session_id(self) -> int | None:
        """The `SessionID` member as a number, or None when absent or unreadable."""
        value = self.data.get("SessionID")
        if value is None:
            return None
        try:
            return parse_session_id(value)
        except PayloadError:
            return None


_MAX_RET_DIGITS: Final = 10
# The slot setters of Body's fields, for its __init__.
_set_body_data: Final = vars(Body)["data"].__set__
_set_body_keys: Final = vars(Body)["original_keys"].__set__
_set_body_terminator: Final = vars(Body)["terminator"].__set__
_set_body_double_encoded: Final = vars(Body)["double_encoded"].__set__
_WHITESPACE_AND_NULS: Final = b"\x00\r\n\t "
_TEXT_TERMINATORS: Final = "\x00\r\n\t "
# A JSON string literal, or a comma that only white space separates from a closing bracket.
# A string left open runs to the end of the text: without that alternative the scan would
# restart at every quote of an unterminated string, quadratic in a hostile body's length.
_STRING: Final = r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)'
_TRAILING_COMMA: Final = re.compile("(" + _STRING + r")|,(?=\s*[}\]])", re.DOTALL)
_STRUCTURE: Final = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)


def decode_body(payload: bytes | bytearray | memoryview, limits: Limits = DEFAULT_LIMITS) -> Body:
    """Read a message body leniently (see the module docstring). An empty body (or one of
    only terminator bytes) is an empty object. Raises PayloadError and nothing else."""
    raw = payload if type(payload) is bytes else bytes(payload)
    if len(raw) > limits.max_json_size:
        raise PayloadError(
            f"JSON body of {len(raw)} bytes is over the limit of {limits.max_json_size}"
        )
    # JSON text cannot hold a raw NUL (it must be escaped), so the text ends at the first NUL
    # after it; whatever follows (more NULs, stray bytes) is terminator. The usual body (text,
    # then `\n` or `\n\0`) has no NUL left once its end is stripped: one copy instead of three.
    text_part = raw.rstrip(_WHITESPACE_AND_NULS)
    if 0 in text_part:  # a NUL byte (an int operand: no buffer to look up, no error to clear)
        start = len(raw) - len(raw.lstrip(_WHITESPACE_AND_NULS))
        end = raw.find(b"\x00", start)
        text_part = raw[start : len(raw) if end < 0 else end].rstrip(_WHITESPACE_AND_NULS)
        terminator = raw[start + len(text_part) :]
    else:
        terminator = raw[len(text_part) :]
        text_part = text_part.lstrip(_WHITESPACE_AND_NULS)
    if not text_part:
        return Body({}, {}, raw)
    text = text_part.decode("utf-8", "replace")
    # The depth bound's bracket count. Most bodies have no array: `in` finds that by one
    # memchr, a quarter of the time of a `str.count` over the text (bench/client_vs_python_dvr.py).
    opening = text.count("{") + (text.count("[") if "[" in text else 0)
    if opening <= limits.max_json_depth:
        # The usual body, read by the quick way of `_loads` written out here (one Python
        # call less per reply): an object, no spaced key, nothing after the value.
        try:
            value, end = _quick_scan(text, 0)
        except (ValueError, RecursionError, StopIteration, _SpacedKey):
            pass
        else:
            if end == len(text) and type(value) is dict:
                return Body(value, None, terminator)
    spellings: dict[str, str] = {}
    value = _loads(text, limits, spellings)
    double_encoded = False
    if type(value) is not dict:
        if isinstance(value, str):
            # Some firmware sends the JSON as a JSON string (python-dvr#3): decode once more.
            double_encoded = True
            try:
                value = _loads(value.strip(_TEXT_TERMINATORS), limits, spellings)
            except PayloadError as error:
                raise PayloadError(
                    f"a message body must be a JSON object, not a string (read as JSON: {error})"
                ) from None
        if not isinstance(value, dict):
            raise PayloadError(f"a message body must be a JSON object, not {_json_type(value)}")
    return Body(value, spellings, terminator, double_encoded)


def _loads(text: str, limits: Limits, spellings: dict[str, str]) -> Any:
    # Counting brackets is one fast pass in C; the exact depth is measured only when the
    # count alone cannot rule out excessive nesting.
    if text.count("{") + text.count("[") > limits.max_json_depth:
        _check_depth(text, limits.max_json_depth)
    try:
        # The quick way: objects built by the C reader, only their keys looked at. It
        # serves every body but the rare one with a spaced key (the login reply's
        # "DeviceType "); those, and whatever it refuses, go the careful way below, which
        # also repairs trailing commas and explains errors. The C scanner is called
        # directly: `text` has no white space at its ends, so the value must end the text.
        value, end = _quick_scan(text, 0)
        if end == len(text):
            return value
    except (ValueError, RecursionError, StopIteration, _SpacedKey):
        pass

    def strip_keys(pairs: list[tuple[str, Any]]) -> JsonObject:
        obj: JsonObject = {}
        for key, item in pairs:
            clean = key.strip()
            if clean != key:
                spellings.setdefault(clean, key)
            obj[clean] = item
        return obj

    try:
        try:
            return json.loads(text, object_pairs_hook=strip_keys, parse_constant=_no_constant)
        except ValueError as first_error:
            # ValueError covers malformed JSON and integers over Python's digit limit.
            repaired = _TRAILING_COMMA.sub(lambda match: match.group(1) or "", text)
            if repaired != text:
                try:
                    return json.loads(
                        repaired, object_pairs_hook=strip_keys, parse_constant=_no_constant
                    )
                except ValueError:
                    pass
            raise PayloadError(f"body is not valid JSON: {_short(first_error)}") from None
    except RecursionError:
        # Reachable only when Limits.max_json_depth is set above the interpreter's own limit.
        raise PayloadError("JSON nested too deeply") from None


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's reader accepts them unless told otherwise, and a
    # body holding one could not be written back.
    raise ValueError(f"{name} is not a JSON value")


class _SpacedKey(Exception):  # noqa: N818  (a signal inside _loads, never raised out of it)
    """An object key with white space at an end: the quick reader cannot keep it."""


# Keys already found without white space at their ends. The same few dozen names come in
# every reply, and an object whose keys are all among them needs no look at each (one set
# operation in C instead of a `str.strip` per key: 0.2 µs against 0.5 for SystemInfo's 21
# keys). Only clean keys are kept, and no more than `_CLEAN_KEYS_MAX`: a peer sending new
# names only has them checked, never kept.
_clean_keys: Final[set[str]] = set()
_CLEAN_KEYS_MAX: Final = 1024


def _refuse_spaced_keys(obj: JsonObject) -> JsonObject:
    if _clean_keys.issuperset(obj):
        return obj
    for key in obj:
        if key.strip() is not key:  # str.strip returns the very same object when clean
            raise _SpacedKey
    if len(_clean_keys) + len(obj) <= _CLEAN_KEYS_MAX:
        _clean_keys.update(obj)
    return obj


_QUICK_DECODER: Final = json.JSONDecoder(
    object_hook=_refuse_spaced_keys, parse_constant=_no_constant
)
# Its C scanner, called without the two Python frames and regex matches of decode().
_quick_scan: Final[Callable[[str, int], tuple[Any, int]]] = _QUICK_DECODER.scan_once  # type: ignore[attr-defined]


def _check_depth(text: str, max_depth: int) -> None:
    depth = 0
    for match in _STRUCTURE.finditer(text):
        symbol = match.group()
        if symbol in "{[":
            depth += 1
            if depth > max_depth:
                raise PayloadError(f"JSON nested deeper than {max_depth} levels")
        elif symbol in "}]":
            depth -= 1


def _short(error: ValueError) -> str:
    text = str(error)
    return text if len(text) <= 120 else text[:117] + "..."


_JSON_TYPE_NAMES: Final = ((bool, "a boolean"), (int, "a number"), (float, "a number"),
                            (list, "an array"), (str, "a string"), (dict, "an object"))  # fmt: skip


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    for kind, name in _JSON_TYPE_NAMES:  # bool before int: True is an int too
        if isinstance(value, kind):
            return name
    return f"type {type(value).__name__}"


class SessionIdStyle(enum.Enum):
    """How a SessionID is spelled in a JSON body (docs/protocol.md §4). The header always holds
    the same value as a number. The seed capture uses PADDED, and SHORT in a few places."""

    PADDED = "0x%08X"
    """`0x00000001`: 8 upper-case hex digits (the vendor doc, the seed)."""
    PADDED_LOWER = "0x%08x"
    """`0x0000000b`: 8 lower-case hex digits (an XM530 on V5.00.R02: [BES] 1043 replies)."""
    SHORT = "0x%x"
    """`0x1`, `0xb`: no padding, lower case (the seed's SystemInfo reply and config set)."""
    BARE = "%08X"
    """`00000001`: no prefix (the vendor doc's logout example)."""
    FUNSDK = "0x%010X"
    """`0x000001869F`: 10 hex digits (FunSDK / iCSee)."""


def format_session_id(session_id: int, style: SessionIdStyle = SessionIdStyle.PADDED) -> str:
    """The SessionID string for a body.

    >>> format_session_id(11, SessionIdStyle.SHORT)
    '0xb'
    """
    if not 0 <= session_id <= 0xFFFFFFFF:
        raise ValueError(f"session id {session_id} does not fit in 32 bits")
    return style.value % session_id


_MAX_SESSION_ID_DIGITS: Final = 16  # generous: FunSDK pads to 10, nobody uses more


def parse_session_id(value: object) -> int:
    """A SessionID in any spelling seen on real devices (`0x0000000B`, `0xb`, `00000001`,
    `0x000001869f`, or a plain number) as an int. Raises PayloadError otherwise."""
    if isinstance(value, bool):
        raise PayloadError("SessionID is a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        digits = value.strip()
        if digits[:2] in ("0x", "0X"):
            digits = digits[2:]
        if not digits or len(digits) > _MAX_SESSION_ID_DIGITS or not _is_hex(digits):
            raise PayloadError(f"unreadable SessionID {value[:24]!r}")
        number = int(digits, 16)
    else:
        kind = "a fractional number" if isinstance(value, float) else _json_type(value)
        raise PayloadError(f"SessionID must be a string or a whole number, not {kind}")
    if not 0 <= number <= 0xFFFFFFFF:
        raise PayloadError(f"SessionID {number} does not fit in 32 bits")
    return number


_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")


def _is_hex(text: str) -> bool:
    return all(char in _HEX_DIGITS for char in text)
