"""The one confirmation rule: asked on a terminal, skipped by --yes, never asked otherwise."""

from __future__ import annotations

import argparse
import io

import pytest

from xmcam.cli.confirm import add_yes_option, confirm, require_confirmation
from xmcam.cli.output import CommandError, ExitCode


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Closed(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("y\n", True), ("YES\n", True), ("n\n", False), ("\n", False), ("", False)],
)
def test_a_terminal_is_asked_and_only_yes_goes_on(answer: str, expected: bool) -> None:
    stderr = io.StringIO()
    assert confirm("Format?", assume_yes=False, stdin=_Terminal(answer), stderr=stderr) is expected
    assert "Format? [y/N]" in stderr.getvalue()


def test_yes_skips_the_question_but_not_the_warnings() -> None:
    stderr = io.StringIO()
    terminal = _Terminal("n\n")
    assert confirm(
        "Reboot?", assume_yes=True, warnings=["it restarts"], stdin=terminal, stderr=stderr
    )
    assert stderr.getvalue() == "xmcam: warning: it restarts\n"
    assert terminal.read() == "n\n"  # nothing was read


@pytest.mark.parametrize("stdin", [io.StringIO("n\n"), _Closed()])
def test_without_a_terminal_nothing_is_asked(stdin: io.StringIO) -> None:
    stderr = io.StringIO()
    assert confirm("Reboot?", assume_yes=False, stdin=stdin, stderr=stderr)
    assert "[y/N]" not in stderr.getvalue()


def test_a_no_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal("no\n"))
    with pytest.raises(CommandError) as raised:
        require_confirmation("Erase?", assume_yes=False)
    assert raised.value.code is ExitCode.FAILURE
    assert "--yes" in str(raised.value)


def test_the_yes_option() -> None:
    parser = argparse.ArgumentParser()
    add_yes_option(parser)
    assert parser.parse_args(["-y"]).yes
    assert not parser.parse_args([]).yes
