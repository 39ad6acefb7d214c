"""Tests for xmcam.protocol.payload: the device-style JSON writer, the lenient body reader and
SessionID spellings."""

from __future__ import annotations

import collections
import enum
import json
import math
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.seed import EXPECTED_BODIES, SEED_FRAMES
from xmcam.errors import PayloadError
from xmcam.protocol import EncryptType, MessageId
from xmcam.protocol.header import HEADER_SIZE, Limits
from xmcam.protocol.payload import (
    CLIENT_TERMINATOR,
    DEVICE_TERMINATOR,
    Body,
    SessionIdStyle,
    decode_body,
    encode_body,
    encode_json,
    format_session_id,
    parse_session_id,
)

# ==========================================================================================
# Writer
# ==========================================================================================


def test_writer_device_style() -> None:
    assert encode_json({"A": 1, "B": [1, 2]}) == '{ "A" : 1, "B" : [ 1, 2 ] }'


def test_writer_nested_objects() -> None:
    value = {"A": {"B": {"C": 1}, "D": [{"E": "x"}, [True]]}}
    assert encode_json(value) == (
        '{ "A" : { "B" : { "C" : 1 }, "D" : [ { "E" : "x" }, [ true ] ] } }'
    )


def test_writer_sorts_keys_at_every_depth() -> None:
    value = {"b": 1, "a": 2, "C": {"z": 0, "y": 0}}
    # Plain code point order: upper case before lower case.
    assert encode_json(value) == '{ "C" : { "y" : 0, "z" : 0 }, "a" : 2, "b" : 1 }'


def test_writer_empty_containers() -> None:
    assert encode_json({}) == "{}"
    assert encode_json([]) == "[]"
    assert encode_json(()) == "[]"
    assert encode_json({"A": {}, "B": [], "C": [{}]}) == '{ "A" : {}, "B" : [], "C" : [ {} ] }'


def test_writer_literals() -> None:
    assert encode_json(True) == "true"
    assert encode_json(False) == "false"
    assert encode_json(None) == "null"
    assert encode_json({"A": True, "B": False, "C": None}) == (
        '{ "A" : true, "B" : false, "C" : null }'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (-7, "-7"), (100, "100"), (2**40, "1099511627776"), (10**30, "1" + "0" * 30)],
)
def test_writer_integers(value: int, text: str) -> None:
    assert encode_json(value) == text


def test_writer_int_enum_is_a_number() -> None:
    class Code(enum.IntEnum):
        OK = 100

    assert encode_json({"Ret": Code.OK}) == '{ "Ret" : 100 }'


@pytest.mark.parametrize("value", [1.5, -0.25, 0.1, 1e100, -1e-100, 0.0, -0.0, 123456789.125])
def test_writer_floats(value: float) -> None:
    text = encode_json(value)
    assert text == repr(value)
    parsed = json.loads(text)
    assert isinstance(parsed, float)
    assert parsed == value
    assert math.copysign(1.0, parsed) == math.copysign(1.0, value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_writer_rejects_non_finite_floats(value: float) -> None:
    with pytest.raises(ValueError, match="NaN or infinity"):
        encode_json(value)
    with pytest.raises(ValueError, match="NaN or infinity"):
        encode_json({"A": [value]})


def test_writer_unicode_is_raw_utf8() -> None:
    assert encode_json("Caméra 前门") == '"Caméra 前门"'
    body = encode_body({"ChannelTitle": ["Caméra 前门"]})
    assert "Caméra 前门".encode() in body
    assert b"\\u" not in body


def test_writer_escapes_quotes_backslashes_and_control_characters() -> None:
    assert encode_json('a"b') == '"a\\"b"'
    assert encode_json("a\\b") == '"a\\\\b"'
    assert encode_json("line\nnext\ttab\r") == '"line\\nnext\\ttab\\r"'
    assert encode_json("\x00\x01\x1f") == '"\\u0000\\u0001\\u001f"'
    # Slashes are not escaped (devices escape them; we need not).
    assert encode_json("/idea0/x") == '"/idea0/x"'
    tricky = 'q"\\\n\x00/é'
    assert json.loads(encode_json(tricky)) == tricky


def test_writer_escapes_keys_too() -> None:
    assert encode_json({'k"\n': 1}) == '{ "k\\"\\n" : 1 }'


def test_writer_tuples_are_arrays() -> None:
    assert encode_json((1, "a", (2,))) == '[ 1, "a", [ 2 ] ]'
    assert encode_json({"A": (1, 2)}) == '{ "A" : [ 1, 2 ] }'


@pytest.mark.parametrize("value", [{1: "a"}, {None: 1}, {("a",): 1}, {"A": {2: "b"}}])
def test_writer_rejects_non_string_keys(value: dict[Any, Any]) -> None:
    with pytest.raises(TypeError, match="keys must be strings"):
        encode_json(value)


def test_writer_rejects_mixed_keys() -> None:
    with pytest.raises(TypeError):
        encode_json({1: "a", "b": 2})


@pytest.mark.parametrize(
    ("value", "type_name"),
    [({1, 2}, "set"), (b"bytes", "bytes"), (object(), "object"), (1j, "complex")],
)
def test_writer_rejects_unsupported_types(value: object, type_name: str) -> None:
    with pytest.raises(TypeError, match=f"cannot write a {type_name} as JSON"):
        encode_json(value)
    with pytest.raises(TypeError, match=type_name):
        encode_json({"A": [value]})


def test_encode_body_terminators() -> None:
    body = {"SessionID": "0x00000001", "Name": "KeepAlive"}
    text = b'{ "Name" : "KeepAlive", "SessionID" : "0x00000001" }'
    assert CLIENT_TERMINATOR == b"\n"
    assert DEVICE_TERMINATOR == b"\n\x00"
    assert encode_body(body) == text + b"\n"
    assert encode_body(body, DEVICE_TERMINATOR) == text + b"\n\x00"
    assert encode_body(body, b"\x00") == text + b"\x00"
    assert encode_body(body, b"") == text


def test_encode_body_takes_any_mapping() -> None:
    assert encode_body(MappingProxyType({"Name": ""})) == b'{ "Name" : "" }\n'
    assert encode_body({}) == b"{}\n"


@pytest.mark.parametrize("index", range(len(SEED_FRAMES)))
def test_writer_reproduces_every_seed_body(index: int) -> None:
    frame = SEED_FRAMES[index]
    payload = frame.payload[HEADER_SIZE:]
    body = decode_body(payload)
    # Put back the peer's own key spelling ("DeviceType ") before writing.
    data = {body.original_keys.get(key, key): value for key, value in body.data.items()}
    terminator = CLIENT_TERMINATOR if frame.from_client else DEVICE_TERMINATOR
    assert encode_body(data, terminator) == payload


# ==========================================================================================
# Reader
# ==========================================================================================


@pytest.mark.parametrize(
    "terminator",
    [
        b"\n\x00",
        b"\x00",
        b"\n",
        b"",
        b"\x00\x00\x00",
        b"\n\x00\x00",
        b"\r\n",
        b"\r\n\x00",
        b"\r",
        b" \t\n\x00",
    ],
)
def test_reader_terminators(terminator: bytes) -> None:
    body = decode_body(b'{ "Name" : "KeepAlive", "Ret" : 100 }' + terminator)
    assert body.data == {"Name": "KeepAlive", "Ret": 100}
    assert body.terminator == terminator
    assert body.double_encoded is False
    assert body.original_keys == {}


@pytest.mark.parametrize("prefix", [b"\x00", b" ", b"\n", b"\r\n\t ", b"\x00\x00 \n"])
def test_reader_leading_nuls_and_white_space(prefix: bytes) -> None:
    body = decode_body(prefix + b'{"Ret":100}\n\x00')
    assert body.data == {"Ret": 100}
    assert body.terminator == b"\n\x00"


def test_reader_ignores_stray_bytes_after_a_nul() -> None:
    body = decode_body(b'{"Ret":100}\n\x00\xff\xfegarbage{"x":')
    assert body.data == {"Ret": 100}
    assert body.terminator == b'\n\x00\xff\xfegarbage{"x":'


def test_reader_text_ends_at_first_nul() -> None:
    body = decode_body(b'{"A":1}\x00{"B":2}\x00')
    assert body.data == {"A": 1}


def test_reader_seed_bodies() -> None:
    for frame, expected in zip(SEED_FRAMES, EXPECTED_BODIES, strict=True):
        body = decode_body(frame.payload[HEADER_SIZE:])
        assert body.data == expected
        assert body.terminator == (b"\n" if frame.from_client else b"\n\x00")


def test_reader_normalises_keys_and_remembers_spelling() -> None:
    body = decode_body(b'{ "DeviceType " : "IPC", " SessionID " : "0x1", "Ret" : 100 }\n\x00')
    assert body.data == {"DeviceType": "IPC", "SessionID": "0x1", "Ret": 100}
    assert body.original_keys == {"DeviceType": "DeviceType ", "SessionID": " SessionID "}
    assert body.session_id == 1


def test_reader_normalises_keys_at_nested_depth() -> None:
    raw = (
        b'{ "Name" : "OPMonitor", " OPMonitor " : { "Action" : "Claim", '
        b'"Parameter" : { " Channel" : 0, "StreamType " : "Main" } }, '
        b'"List" : [ { "\\tExtraChannel\\n" : 1 } ] }'
    )
    body = decode_body(raw)
    assert body.data == {
        "Name": "OPMonitor",
        "OPMonitor": {"Action": "Claim", "Parameter": {"Channel": 0, "StreamType": "Main"}},
        "List": [{"ExtraChannel": 1}],
    }
    assert body.original_keys == {
        "OPMonitor": " OPMonitor ",
        "Channel": " Channel",
        "StreamType": "StreamType ",
        "ExtraChannel": "\tExtraChannel\n",
    }


def test_reader_double_encoded() -> None:
    inner = '{ "AliveInterval" : 21, "DeviceType " : "HVR", "Ret" : 100, "SessionID" : "0x57" }'
    raw = json.dumps(inner).encode() + b"\n\x00"
    body = decode_body(raw)
    assert body.double_encoded is True
    assert body.data == {"AliveInterval": 21, "DeviceType": "HVR", "Ret": 100, "SessionID": "0x57"}
    assert body.original_keys == {"DeviceType": "DeviceType "}
    assert body.terminator == b"\n\x00"
    assert body.ret == 100
    assert body.session_id == 0x57


def test_reader_double_encoded_with_white_space_inside_the_string() -> None:
    body = decode_body(json.dumps('\n  {"Ret":100} \r\n').encode())
    assert body.double_encoded is True
    assert body.data == {"Ret": 100}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"A":1,}', {"A": 1}),
        (b'{"A":[1,2,],}', {"A": [1, 2]}),
        (b'{ "A" : [ 1, 2 , ] , }', {"A": [1, 2]}),
        (b'{"A":{"B":1,\n},"C":[{"D":2,},],}', {"A": {"B": 1}, "C": [{"D": 2}]}),
    ],
)
def test_reader_trailing_commas(raw: bytes, expected: dict[str, Any]) -> None:
    assert decode_body(raw).data == expected


def test_reader_trailing_comma_repair_keeps_commas_inside_strings() -> None:
    body = decode_body(b'{"A":"x,}","B":"y, ]","C":"q\\",]","D":[1,],}')
    assert body.data == {"A": "x,}", "B": "y, ]", "C": 'q",]', "D": [1]}


def test_reader_trailing_comma_repair_that_does_not_help() -> None:
    with pytest.raises(PayloadError, match="not valid JSON"):
        decode_body(b'{"A":1,,}')


def test_reader_trailing_commas_in_a_double_encoded_body() -> None:
    body = decode_body(json.dumps('{"A":[1,],}').encode())
    assert body.double_encoded is True
    assert body.data == {"A": [1]}


def test_reader_replaces_invalid_utf8() -> None:
    body = decode_body(b'{"ChannelTitle":["Cam\xff\xfe1","\xc3\xa9"]}')
    assert body.data == {"ChannelTitle": ["Cam\ufffd\ufffd1", "é"]}


def test_reader_invalid_utf8_in_a_key() -> None:
    body = decode_body(b'{"Na\xffme":1}')
    assert body.data == {"Na\ufffdme": 1}


def test_reader_escaped_slashes() -> None:
    body = decode_body(b'{"FileName":"\\/idea0\\/2024-01-01\\/001.h264"}\n\x00')
    assert body.get("FileName") == "/idea0/2024-01-01/001.h264"


@pytest.mark.parametrize("raw", [b"", b"\n\x00", b"\x00", b"\x00\x00\x00", b" \r\n", b"\t"])
def test_reader_empty_body_is_empty_object(raw: bytes) -> None:
    body = decode_body(raw)
    assert body.data == {}
    assert body.original_keys == {}
    assert body.double_encoded is False


def test_reader_empty_body_is_a_body() -> None:
    body = decode_body(b"")
    assert isinstance(body, Body)
    assert body.terminator == b""
    assert body.name is None
    assert body.ret is None
    assert body.session_id is None


def test_reader_unsupported_config_reply_shape() -> None:
    # docs/protocol.md §4: an unsupported config may answer {"":[""]}.
    assert decode_body(b'{"":[""]}').data == {"": [""]}


@pytest.mark.parametrize(
    ("raw", "type_name"),
    [
        (b"[null]", "an array"),
        (b"[]", "an array"),
        (b"5", "a number"),
        (b"-1.5e3", "a number"),
        (b"null", "null"),
        (b"true", "a boolean"),
        (b"false", "a boolean"),
        (json.dumps(json.dumps("x")).encode(), "a string"),
        (json.dumps("[1, 2]").encode(), "an array"),
        (json.dumps("42").encode(), "a number"),
    ],
)
def test_reader_rejects_bodies_that_are_not_objects(raw: bytes, type_name: str) -> None:
    with pytest.raises(PayloadError, match=f"must be a JSON object, not {type_name}$"):
        decode_body(raw + b"\n\x00")


def test_reader_rejects_a_string_holding_no_json() -> None:
    with pytest.raises(PayloadError):
        decode_body(b'"hello"')


def test_reader_accepts_bytearray_and_memoryview() -> None:
    raw = b'{"Ret":100}\n\x00'
    assert decode_body(bytearray(raw)).data == {"Ret": 100}
    assert decode_body(memoryview(raw)).data == {"Ret": 100}


def test_reader_size_limit() -> None:
    raw = b'{"A":"12345"}'  # 13 bytes
    assert decode_body(raw, Limits(max_json_size=13)).data == {"A": "12345"}
    with pytest.raises(PayloadError, match="14 bytes is over the limit of 13"):
        decode_body(raw + b"\x00", Limits(max_json_size=13))


def test_reader_size_limit_counts_before_stripping() -> None:
    with pytest.raises(PayloadError, match="limit"):
        decode_body(b"{}" + b"\x00" * 100, Limits(max_json_size=50))


def test_reader_default_size_limit() -> None:
    filler = "x" * (1024 * 1024)
    with pytest.raises(PayloadError, match="over the limit"):
        decode_body(json.dumps({"A": filler}).encode())


def _nested(depth: int) -> bytes:
    # `depth` levels of objects and arrays, alternating, starting with an object.
    text = "1"
    for level in range(depth - 1):
        text = f"[{text}]" if level % 2 == 0 else f'{{"k":{text}}}'
    return ("{" + '"k":' + text + "}").encode()


def test_nested_helper_depth() -> None:
    assert _nested(1) == b'{"k":1}'
    assert _nested(3) == b'{"k":{"k":[1]}}'


def test_reader_depth_exactly_at_limit_is_fine() -> None:
    limits = Limits(max_json_depth=3)
    assert decode_body(_nested(3), limits).data == {"k": {"k": [1]}}


def test_reader_depth_over_limit_raises() -> None:
    with pytest.raises(PayloadError, match="nested deeper than 3 levels"):
        decode_body(_nested(4), Limits(max_json_depth=3))


def test_reader_default_depth_limit() -> None:
    assert decode_body(_nested(32)).data["k"] is not None
    with pytest.raises(PayloadError, match="deeper than 32"):
        decode_body(_nested(33))


def test_reader_very_deep_nesting_is_a_payload_error() -> None:
    raw = b'{"k":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(PayloadError, match="nested deeper"):
        decode_body(raw)


def test_reader_brackets_inside_strings_do_not_count() -> None:
    limits = Limits(max_json_depth=2)
    raw = b'{"A":"{{{{[[[[","B":["]]]{{\\"[["],"C\\"{[":{}}'
    assert decode_body(raw, limits).data == {"A": "{{{{[[[[", "B": [']]]{{"[['], 'C"{[': {}}


def test_reader_siblings_do_not_add_up_to_depth() -> None:
    limits = Limits(max_json_depth=2)
    raw = b'{"A":[1],"B":[2],"C":{},"D":[3],"E":[]}'
    assert decode_body(raw, limits).data == {"A": [1], "B": [2], "C": {}, "D": [3], "E": []}


def test_reader_depth_limit_applies_to_double_encoded_body() -> None:
    with pytest.raises(PayloadError, match="deeper than 3"):
        decode_body(json.dumps(_nested(4).decode()).encode(), Limits(max_json_depth=3))


def test_reader_huge_integer_is_a_payload_error_with_a_short_message() -> None:
    raw = b'{"A":' + b"7" * 5000 + b"}"
    with pytest.raises(PayloadError) as info:
        decode_body(raw)
    message = str(info.value)
    assert message.startswith("body is not valid JSON: ")
    detail = message.removeprefix("body is not valid JSON: ")
    assert len(detail) == 120
    assert detail.endswith("...")


def test_reader_huge_integer_with_trailing_comma_is_still_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="not valid JSON"):
        decode_body(b'{"A":' + b"7" * 5000 + b",}")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"A":',
        b"{",
        b"}",
        b'{"A" 1}',
        b"{'A':1}",
        b"\xff\xfe",
        b'{"A":1}}',
        b"garbage",
        b'{"A":tru}',
    ],
)
def test_reader_broken_json(raw: bytes) -> None:
    with pytest.raises(PayloadError, match="body is not valid JSON: ") as info:
        decode_body(raw)
    message = str(info.value)
    assert not message.endswith("...")
    assert len(message) <= len("body is not valid JSON: ") + 120


@settings(max_examples=300, database=None)
@given(st.binary(max_size=200))
def test_reader_raises_only_payload_error(raw: bytes) -> None:
    try:
        body = decode_body(raw)
    except PayloadError:
        return
    assert isinstance(body.data, dict)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet="abcXYZ._09", min_size=1), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, database=None)
@given(st.dictionaries(st.text(alphabet="abcXYZ._09", min_size=1), _json_values, max_size=5))
def test_writer_and_reader_round_trip(data: dict[str, Any]) -> None:
    for terminator in (CLIENT_TERMINATOR, DEVICE_TERMINATOR):
        raw = encode_body(data, terminator)
        assert json.loads(raw.rstrip(b"\n\x00")) == data
        body = decode_body(raw, Limits(max_json_depth=64))
        assert body.data == data
        assert body.terminator == terminator


# --- Body ---------------------------------------------------------------------------------


def test_body_defaults() -> None:
    body = Body({"A": 1})
    assert body.original_keys == {}
    assert body.terminator == b""
    assert body.double_encoded is False


def test_body_get() -> None:
    body = Body({"A": 1, "N": None})
    assert body.get("A") == 1
    assert body.get("B") is None
    assert body.get("B", "default") == "default"
    assert body.get("N", "default") is None


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ({"Name": "KeepAlive"}, "KeepAlive"),
        ({"Name": ""}, ""),
        ({"Name": 5}, None),
        ({"Name": None}, None),
        ({}, None),
    ],
)
def test_body_name(data: dict[str, Any], name: str | None) -> None:
    assert Body(data).name == name


@pytest.mark.parametrize(
    ("value", "ret"),
    [
        (100, 100),
        (203, 203),
        (-1, -1),
        ("100", 100),
        (" 100 ", 100),
        (True, None),
        (False, None),
        ("abc", None),
        ("", None),
        ("-1", None),
        (100.0, None),
        (None, None),
        ([100], None),
    ],
)
def test_body_ret(value: object, ret: int | None) -> None:
    assert Body({"Ret": value}).ret == ret


def test_body_ret_missing() -> None:
    assert Body({}).ret is None
    assert decode_body(b'{"Ret" : "100"}').ret == 100


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0660\u0660", "1" * 5000, "1" * 11])
def test_body_ret_unreadable_digit_strings_are_none(value: str) -> None:
    body = decode_body(json.dumps({"Ret": value}).encode())
    assert body.ret is None


@pytest.mark.parametrize(
    ("data", "session_id"),
    [
        ({"SessionID": "0x00000001"}, 1),
        ({"SessionID": "0xb"}, 11),
        ({"SessionID": 7}, 7),
        ({}, None),
        ({"SessionID": None}, None),
        ({"SessionID": "garbage"}, None),
        ({"SessionID": ""}, None),
        ({"SessionID": True}, None),
        ({"SessionID": [1]}, None),
        ({"SessionID": "0x100000000"}, None),
    ],
)
def test_body_session_id(data: dict[str, Any], session_id: int | None) -> None:
    assert Body(data).session_id == session_id


# ==========================================================================================
# SessionID
# ==========================================================================================


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("0x0000000B", 11),
        ("0xb", 11),
        ("0XB", 11),
        ("0x0000000b", 11),
        ("00000001", 1),
        ("0000000B", 11),
        ("0x000001869f", 0x1869F),
        ("0x000001869F", 0x1869F),
        ("0x0000000002", 2),
        (" 0x1 ", 1),
        ("\t0x00000057\n", 0x57),
        ("0x0", 0),
        ("0", 0),
        ("0xFFFFFFFF", 0xFFFFFFFF),
        ("0x" + "0" * 15 + "1", 1),  # 16 digits: the longest accepted
        (5, 5),
        (0, 0),
        (0xFFFFFFFF, 0xFFFFFFFF),
    ],
)
def test_parse_session_id(value: object, number: int) -> None:
    assert parse_session_id(value) == number


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (True, "boolean"),
        (False, "boolean"),
        (1.0, "string or a whole number"),
        (1.5, "string or a whole number"),
        ([1], "not an array"),
        (None, "not null"),
        ({"a": 1}, "string or a whole number"),
        ("", "unreadable"),
        ("   ", "unreadable"),
        ("0x", "unreadable"),
        ("0X", "unreadable"),
        (" 0x ", "unreadable"),
        ("0xZZ", "unreadable"),
        ("xyz", "unreadable"),
        ("0x-1", "unreadable"),
        ("-1", "unreadable"),
        ("+1", "unreadable"),
        ("0x 1", "unreadable"),
        ("1 2", "unreadable"),
        ("0x0x1", "unreadable"),
        ("0x\uff11", "unreadable"),  # a full-width digit is not a hex digit
        ("0x" + "0" * 16 + "1", "unreadable"),  # 17 digits
        ("1" * 17, "unreadable"),
        ("0x100000000", "does not fit in 32 bits"),
        ("FFFFFFFFFFFFFFFF", "does not fit in 32 bits"),
        (2**32, "does not fit in 32 bits"),
        (-1, "does not fit in 32 bits"),
    ],
)
def test_parse_session_id_errors(value: object, match: str) -> None:
    with pytest.raises(PayloadError, match=match):
        parse_session_id(value)


def test_parse_session_id_error_quotes_at_most_24_characters() -> None:
    with pytest.raises(PayloadError) as info:
        parse_session_id("z" * 1000)
    assert "z" * 24 in str(info.value)
    assert "z" * 25 not in str(info.value)


@pytest.mark.parametrize(
    ("number", "style", "text"),
    [
        (1, SessionIdStyle.PADDED, "0x00000001"),
        (1, SessionIdStyle.SHORT, "0x1"),
        (1, SessionIdStyle.BARE, "00000001"),
        (1, SessionIdStyle.FUNSDK, "0x0000000001"),
        (11, SessionIdStyle.PADDED, "0x0000000B"),
        (11, SessionIdStyle.SHORT, "0xb"),
        (11, SessionIdStyle.BARE, "0000000B"),
        (11, SessionIdStyle.FUNSDK, "0x000000000B"),
        (0x1869F, SessionIdStyle.FUNSDK, "0x000001869F"),
        (0, SessionIdStyle.PADDED, "0x00000000"),
        (0, SessionIdStyle.SHORT, "0x0"),
        (0xFFFFFFFF, SessionIdStyle.PADDED, "0xFFFFFFFF"),
        (0xFFFFFFFF, SessionIdStyle.SHORT, "0xffffffff"),
        (0xFFFFFFFF, SessionIdStyle.BARE, "FFFFFFFF"),
        (0xFFFFFFFF, SessionIdStyle.FUNSDK, "0x00FFFFFFFF"),
    ],
)
def test_format_session_id(number: int, style: SessionIdStyle, text: str) -> None:
    assert format_session_id(number, style) == text
    assert parse_session_id(text) == number


def test_format_session_id_default_is_the_seeds_padded_style() -> None:
    assert format_session_id(1) == "0x00000001"
    assert format_session_id(0x57) == "0x00000057"


@pytest.mark.parametrize("style", list(SessionIdStyle))
@pytest.mark.parametrize("number", [-1, 2**32, -(2**40)])
def test_format_session_id_out_of_range(style: SessionIdStyle, number: int) -> None:
    with pytest.raises(ValueError, match="does not fit in 32 bits"):
        format_session_id(number, style)


@settings(max_examples=200, database=None)
@given(st.integers(min_value=0, max_value=0xFFFFFFFF), st.sampled_from(list(SessionIdStyle)))
def test_session_id_round_trip(number: int, style: SessionIdStyle) -> None:
    assert parse_session_id(format_session_id(number, style)) == number


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "body",
    [b'"' + b'\\"' * 400_000, b'"' + b'\\"' * 200_000 + b"[" * 40, b'{"a":"' + b"\\" * 500_000],
)
def test_hostile_unterminated_strings_are_rejected_in_linear_time(body: bytes) -> None:
    # These took hours before the string patterns matched an unterminated string to the end.
    with pytest.raises(PayloadError):
        decode_body(body, Limits(max_json_size=2 * 1024 * 1024))


def test_writer_handles_subclasses_of_the_json_types() -> None:
    assert encode_json(EncryptType.MD5) == '"MD5"'
    assert encode_json(MessageId.CONFIG_SET_REQ) == "1040"
    assert (
        encode_json(collections.OrderedDict(b=1, a=EncryptType.NONE)) == '{ "a" : "NONE", "b" : 1 }'
    )
    assert encode_json({"k": [True, None, 1.5, (1,)]}) == '{ "k" : [ true, null, 1.5, [ 1 ] ] }'
    assert encode_body(collections.OrderedDict(Name="")) == b'{ "Name" : "" }\n'


def test_reader_survives_nesting_past_the_interpreters_limit() -> None:
    body = b'{"k":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(PayloadError, match="nested too deeply"):
        decode_body(body, Limits(max_json_depth=10**6, max_json_size=10**7))


def test_parse_session_id_names_an_unexpected_type() -> None:
    with pytest.raises(PayloadError, match="not type object"):
        parse_session_id(object())


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_reader_rejects_nan_and_infinity(constant: bytes) -> None:
    with pytest.raises(PayloadError, match="not a JSON value"):
        decode_body(b'{"A" : ' + constant + b"}")


def test_a_lone_surrogate_from_the_wire_is_written_back_as_its_escape() -> None:
    body = decode_body(b'{ "Title" : "cam\\ud800x" }')
    assert body.data["Title"] == "cam\ud800x"
    written = encode_body(body.data)
    assert written == b'{ "Title" : "cam\\ud800x" }\n'
    assert decode_body(written).data == body.data


def test_a_decoded_body_is_the_same_as_one_built_by_hand() -> None:
    body = decode_body(b'{ " Name" : "x", "Ret" : 100 }\n\x00')
    assert type(body) is Body
    assert body == Body({"Name": "x", "Ret": 100}, {"Name": " Name"}, b"\n\x00", False)
    assert repr(body) == repr(Body({"Name": "x", "Ret": 100}, {"Name": " Name"}, b"\n\x00"))


def test_keys_seen_clean_before_do_not_hide_a_spaced_one() -> None:
    # The quick reader remembers clean keys (bounded); a spaced spelling of a remembered key,
    # or a spaced key among remembered ones, must still be found and stripped.
    clean = decode_body(b'{ "DeviceType" : "IPC", "Ret" : 100 }\n')
    assert clean.original_keys == {}
    again = decode_body(b'{ "DeviceType" : "IPC", "Ret" : 100 }\n')
    assert again.data == {"DeviceType": "IPC", "Ret": 100}
    spaced = decode_body(b'{ "DeviceType " : "IPC", "Ret" : 100 }\n')
    assert spaced.data == {"DeviceType": "IPC", "Ret": 100}
    assert spaced.original_keys == {"DeviceType": "DeviceType "}


def test_an_object_of_many_new_keys_is_checked_and_not_remembered() -> None:
    keys = [f"Key{index}" for index in range(1100)]  # more than the reader keeps
    body = decode_body(json.dumps(dict.fromkeys(keys, 1)).encode())
    assert list(body.data) == keys
    spaced = decode_body(json.dumps({**dict.fromkeys(keys, 1), "Key1 ": 2}).encode())
    assert spaced.original_keys == {"Key1": "Key1 "}
