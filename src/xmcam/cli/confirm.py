"""One confirmation rule for the commands that cannot be undone (reboot, format, remove a
user, upgrade firmware, restore defaults, clear the log).

On a terminal the command asks and does nothing unless the answer is yes; `--yes` skips the
question. When stdin is not a terminal (a script, cron, a pipe) nothing is asked, as with
`apt-get -y`-style tools run non-interactively: the command line is the decision, and the
warnings still go to stderr so a log shows them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from xmcam.cli.output import CommandError, ExitCode

__all__ = ["add_yes_option", "confirm", "require_confirmation"]


def add_yes_option(parser: argparse.ArgumentParser) -> None:
    """`-y/--yes` on a command that asks before it acts."""
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="do not ask for confirmation (nothing is asked when stdin is not a terminal)",
    )


def confirm(
    question: str,
    *,
    assume_yes: bool,
    warnings: Sequence[str] = (),
    stdin: TextIO | None = None,
    stderr: TextIO | None = None,
) -> bool:
    """Whether to go on: True with `assume_yes` or without a terminal; on a terminal, the
    warnings, then `question [y/N]`, and True only for y or yes (end of input is no)."""
    stdin = sys.stdin if stdin is None else stdin
    stderr = sys.stderr if stderr is None else stderr
    for line in warnings:
        print(f"xmcam: warning: {line}", file=stderr)
    if assume_yes or not _is_terminal(stdin):
        return True
    print(f"{question} [y/N] ", end="", file=stderr, flush=True)
    answer = stdin.readline()
    if not answer:
        print(file=stderr)
    return answer.strip().lower() in {"y", "yes"}


def require_confirmation(question: str, *, assume_yes: bool, warnings: Sequence[str] = ()) -> None:
    """`confirm()`, raising a one-line error (exit 1) when the answer is no."""
    if not confirm(question, assume_yes=assume_yes, warnings=warnings):
        raise CommandError(
            "not confirmed; nothing was done (--yes skips the question)", ExitCode.FAILURE
        )


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False
