"""Device-supplied text is made safe for the operator's terminal; tables, JSON and progress."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import logging
import sys
import unicodedata
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Run
from xmcam.cli import ExitCode
from xmcam.cli.output import (
    Progress,
    TerminalFormatter,
    dumps_safe,
    is_unsafe,
    jsonable,
    pretty_json,
    print_fields,
    print_json,
    print_table,
    safe_text,
)
from xmcam.sim import SimulatorThread
from xmcam.sim.recordings import Recording


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


# What the attack run put in device strings: the right-to-left override that makes
# "porch\u202egpj.exe" read "porchexe.jpg", the isolates, the marks, zero-width characters, a
# line separator, an invisible tag character beyond the BMP, and the old controls.
HOSTILE = (
    "cam\u202egpj.exe\u202c\u2066x\u2069\u200f\u061c\u200b\ufeff\u2028\U000e0041\x1b[2J\x9b\x07"
)
BIDI_AND_INVISIBLE = (
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u2028\u2029\U000e0001\U000e007f"
)


def unsafe_in(text: str) -> list[str]:
    """The characters a terminal must not get, as found in `text` (newlines aside): the test's
    own reading of the rule, independent of the code under test."""
    return sorted(
        {
            f"U+{ord(char):04X}"
            for char in text
            if char not in "\t\n" and unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs")
        }
    )


def test_bidi_overrides_and_invisible_characters_are_escaped() -> None:
    assert safe_text("porch\u202egpj.exe") == "porch\\u202egpj.exe"
    assert safe_text("\U000e0041") == "\\U000e0041"
    escaped = safe_text(BIDI_AND_INVISIBLE, limit=None)
    assert escaped.isascii()
    assert all(is_unsafe(char) for char in BIDI_AND_INVISIBLE)


def test_every_control_and_format_character_is_escaped() -> None:
    unsafe = "".join(
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp", "Cs") and code != 9
    )
    assert safe_text(unsafe, limit=None).isascii()
    assert all(is_unsafe(char) for char in unsafe)
    # And nothing else: letters, marks, symbols, spaces of every script stay as they are.
    kept = "通道 Ünïcødé עברית العربية 🎥 \u00a0\t"
    assert safe_text(kept) == kept


def test_json_escapes_them_and_reads_back_exactly() -> None:
    value = {"name": HOSTILE, "list": [BIDI_AND_INVISIBLE, "\ud800"]}
    for text in (dumps_safe(value), pretty_json(value)):
        assert unsafe_in(text) == []
        assert json.loads(text) == value
    assert "\\u202e" in dumps_safe(value)
    assert "\\udb40\\udc41" in dumps_safe(value)  # U+E0041 as JSON spells it


def test_log_lines_are_escaped_and_stay_one_line() -> None:
    formatter = TerminalFormatter("%(name)s: %(message)s")
    record = logging.LogRecord(
        "xmcam.bridge",
        logging.INFO,
        __file__,
        1,
        "camera %s: online",
        (HOSTILE + "\nforged",),
        None,
    )
    line = formatter.format(record)
    assert "\n" not in line
    assert line.isascii()
    assert line.startswith("xmcam.bridge: camera cam\\u202egpj.exe")
    try:
        raise ValueError("bad \u202e value")
    except ValueError:
        record.exc_info = sys.exc_info()
    record.exc_text = None
    text = formatter.format(record)
    assert "bad \\u202e value" in text
    assert text.count("\n") >= 2  # the traceback keeps its lines


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


# ------------------------------------------------------------------ the attack, per command


@pytest.fixture
def hostile_camera() -> Iterator[SimulatorThread]:
    """A camera whose every string a command prints carries the hostile characters: the
    serial (info, raw, discover), the machine name (config get), a user's memo (users
    list), a recording's name (files list)."""
    begin = datetime.datetime.combine(datetime.date.today(), datetime.time(10))
    recording = Recording(
        0, begin, begin + datetime.timedelta(minutes=5), name=f"/idea0/{HOSTILE}.h264"
    )
    with SimulatorThread(serial=HOSTILE, discovery_port=0, recordings=[recording]) as sim:
        general = sim.state.get_config("General.General")
        sim.call(sim.state.set_config, "General.General", {**general, "MachineName": HOSTILE})
        admin = sim.state.user("admin")
        assert admin is not None
        admin["Memo"] = HOSTILE
        yield sim


def _commands(sim: SimulatorThread) -> list[list[str]]:
    camera = ["-H", f"127.0.0.1:{sim.port}", "--timeout", "3"]
    search = ["--bind", "127.0.0.1:0", "--timeout", "0.3"]
    return [
        [*camera, "info"],
        [*camera, "config", "get", "General.General"],
        [*camera, "users", "list"],
        [*camera, "files", "list"],
        [*camera, "raw", "1020", '{"Name": "SystemInfo"}'],
        ["discover", *search, "--target", f"127.0.0.1:{sim.simulator.discovery_port}"],
    ]


def test_no_command_lets_a_device_drive_the_terminal(
    hostile_camera: SimulatorThread, run_cli: Run
) -> None:
    for argv in _commands(hostile_camera):
        result = run_cli("-vv", *argv)
        assert result.code == ExitCode.SUCCESS, (argv, result.err)
        for output in (result.out, result.err):
            assert unsafe_in(output) == [], argv
        assert "\\u202e" in result.out, argv  # shown, escaped


def test_json_output_keeps_the_device_strings_exact(
    hostile_camera: SimulatorThread, run_cli: Run
) -> None:
    for argv in _commands(hostile_camera):
        result = run_cli("--json", *argv)
        assert result.code == ExitCode.SUCCESS, (argv, result.err)
        assert unsafe_in(result.out) == [], argv
        records = [json.loads(line) for line in result.out.splitlines()]
        assert any(HOSTILE in text for text in _strings_in(records)), argv


def _strings_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)
