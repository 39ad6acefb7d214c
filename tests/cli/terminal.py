"""Standard input that says it is a terminal, for the commands that ask before they act
(`xmcam.cli.confirm`: asked on a terminal only)."""

from __future__ import annotations

import io

import pytest


class Terminal(io.StringIO):
    """Typed answers, on what `isatty()` calls a terminal."""

    def isatty(self) -> bool:
        return True


def answer_on_a_terminal(monkeypatch: pytest.MonkeyPatch, typed: str) -> Terminal:
    """Make standard input a terminal on which the user types `typed`."""
    terminal = Terminal(typed)
    monkeypatch.setattr("sys.stdin", terminal)
    return terminal
