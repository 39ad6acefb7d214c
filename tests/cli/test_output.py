"""Device-supplied text is made safe for the operator's terminal."""

from __future__ import annotations

from xmcam.cli.output import dumps_safe, safe_text


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
