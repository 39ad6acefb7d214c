"""Device-supplied text is made safe for the operator's terminal; tables, JSON and progress."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json

from xmcam.cli.output import (
    Progress,
    dumps_safe,
    jsonable,
    pretty_json,
    print_fields,
    print_json,
    print_table,
    safe_text,
)


def test_safe_text_escapes_control_characters() -> None:
    assert safe_text("cam\x1b[2J\x07one") == "cam\\x1b[2J\\x07one"
    assert safe_text("a\nb\rc\x00") == "a\\x0ab\\x0dc\\x00"
    assert safe_text("x\x9by\x7f") == "x\\x9by\\x7f"


def test_safe_text_keeps_tabs_and_unicode() -> None:
    assert safe_text("通道\t1") == "通道\t1"


def test_safe_text_cuts_long_text() -> None:
    text = safe_text("a" * 500, limit=10)
    assert len(text) == 10
    assert text.endswith("…")


def test_dumps_safe_escapes_del_and_c1_but_keeps_unicode() -> None:
    assert dumps_safe({"t": "通\x1b\x9b\x7f"}) == '{"t": "通\\u001b\\u009b\\u007f"}'


def test_tables_and_fields_align_and_escape() -> None:
    stream = io.StringIO()
    print_table(("name", "n"), [("a\x1b[31m", 1), ("longer", None)], stream)
    assert stream.getvalue().splitlines() == ["name       n", "a\\x1b[31m  1", "longer     -"]
    stream = io.StringIO()
    print_fields([("model", "X"), ("alarm outputs", ["a", "b"]), ("ok", True)], stream)
    assert stream.getvalue().splitlines() == [
        "model:         X",
        "alarm outputs: a, b",
        "ok:            yes",
    ]


def test_json_output_is_plain_and_redacted() -> None:
    @dataclasses.dataclass
    class Thing:
        when: datetime.datetime
        items: tuple[int, ...]

    value = {"thing": Thing(datetime.datetime(2024, 1, 2, 3, 4, 5), (1, 2)), "PassWord": "x"}
    assert jsonable(value)["thing"] == {"when": "2024-01-02T03:04:05", "items": [1, 2]}
    stream = io.StringIO()
    print_json(value, stream)
    assert json.loads(stream.getvalue())["PassWord"] == "<redacted>"
    assert '"PassWord": "<redacted>"' in pretty_json(value)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_only_on_a_terminal() -> None:
    terminal = _Terminal()
    progress = Progress(terminal)
    progress.show("importing 1/2: General.General")
    progress.show("importing 2/2: X")
    progress.done()
    text = terminal.getvalue()
    assert "\rimporting 1/2: General.General" in text
    assert text.endswith("\r")
    pipe = io.StringIO()
    quiet = Progress(pipe)
    quiet.show("anything")
    quiet.done()
    assert pipe.getvalue() == ""
