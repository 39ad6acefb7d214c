"""SIGTERM ends a command the way Ctrl-C does.

systemd, `docker stop`, `kill` and `timeout` stop a program with SIGTERM, whose default
action kills Python on the spot: a recording would stay an unfinished `.part`, a watch would
not log out. While `main()` runs a command, SIGTERM is therefore turned into Ctrl-C
(`sigterm_as_ctrl_c()`): it raises SIGINT in the process, so whatever Ctrl-C does at that
moment happens. That is KeyboardInterrupt in blocking code; the cancellation of the command's
task under `asyncio.run()` (whose own SIGINT handler cancels the main task, so every `finally`
and `async with` runs and the session logs out); or the command's own handler where it took
both signals with `stop_signals()` (`stream` finishes its file, the MQTT bridge says
offline). When Ctrl-C is ignored (a background job of a shell script), SIGTERM raises
KeyboardInterrupt itself: it must still end the command.

The exit code after such an interrupt is 128 + the signal's number, as a shell reports for a
process the signal killed: 130 after Ctrl-C (SIGINT), 143 after SIGTERM
(`interrupted_exit_code()`). Commands whose normal end is a signal say otherwise in their
help: `stream` exits 0 once anything was recorded, `bridge mqtt` always exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Final

__all__ = [
    "INTERRUPTED",
    "TERMINATED",
    "interrupted_exit_code",
    "reset",
    "signal_name",
    "signals_noted",
    "sigterm_as_ctrl_c",
    "stop_signals",
    "stopped_by",
]

INTERRUPTED: Final = 128 + signal.SIGINT  # 130: a shell's code for a command ended by Ctrl-C
TERMINATED: Final = 128 + signal.SIGTERM  # 143: the same for SIGTERM

STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


class _Received:
    """The stop signal the running command got last (None: none yet)."""

    number: signal.Signals | None = None


def reset() -> None:
    """Forget earlier signals (main() runs many commands in one process under test)."""
    _Received.number = None


def note(number: int) -> None:
    """Remember that stop signal `number` came (for the exit code and the summary)."""
    _Received.number = signal.Signals(number)


def stopped_by() -> signal.Signals | None:
    """The stop signal the command got last, if any."""
    return _Received.number


def signal_name() -> str:
    """The name of the stop signal, for messages: SIGTERM, or SIGINT (also for a
    KeyboardInterrupt with no signal noted: that is Ctrl-C)."""
    return (_Received.number or signal.SIGINT).name


def interrupted_exit_code() -> int:
    """The exit code of a command a stop signal ended: 143 after SIGTERM, else 130."""
    return 128 + (_Received.number or signal.SIGINT)


def _on_sigterm(number: int, frame: FrameType | None) -> None:
    note(number)
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        raise KeyboardInterrupt
    # Whatever Ctrl-C does now: Python's KeyboardInterrupt, asyncio.run()'s cancellation of
    # the main task, or a loop's handler (which only the signal itself reaches, through the
    # loop's wake-up file descriptor).
    signal.raise_signal(signal.SIGINT)


def sigterm_as_ctrl_c() -> Callable[[], None]:
    """Take SIGTERM as Ctrl-C until the returned undo is called. Off the main thread (where
    Python cannot set handlers) nothing changes."""
    reset()
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        return lambda: None

    def undo() -> None:
        signal.signal(signal.SIGTERM, previous)

    return undo


def _note_only(number: int, frame: FrameType | None) -> None:
    note(number)


@contextlib.contextmanager
def signals_noted() -> Iterator[None]:
    """While this lasts, SIGINT and SIGTERM are only noted (`stopped_by()`), never raised:
    for a command whose every stop is a clean one (the MQTT bridge), over the stretches no
    loop handler covers (importing, starting and closing the event loop), where a
    KeyboardInterrupt could strike inside asyncio's own code. The command looks at
    `stopped_by()` once its loop handlers (`stop_signals()`) are in place."""
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    try:
        for number in STOP_SIGNALS:
            signal.signal(number, _note_only)
    except ValueError:  # not the main thread: nothing was changed
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:
                signal.signal(number, handler)


@contextlib.contextmanager
def stop_signals(on_signal: Callable[[signal.Signals], None]) -> Iterator[bool]:
    """Within the running event loop, call `on_signal(signal)` for SIGINT and SIGTERM
    instead of interrupting; yields whether it could (not off the main thread, nor on
    Windows). The handlers in place before are put back afterwards (asyncio's own removal
    would leave SIGTERM at its default, which kills)."""
    loop = asyncio.get_running_loop()
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}

    def handle(number: signal.Signals) -> None:
        note(number)
        on_signal(number)

    added: list[signal.Signals] = []
    try:
        for number in STOP_SIGNALS:
            loop.add_signal_handler(number, handle, number)
            added.append(number)
    except (NotImplementedError, RuntimeError, ValueError):
        _restore(loop, added, previous)
        yield False
        return
    try:
        yield True
    finally:
        _restore(loop, added, previous)


def _restore(
    loop: asyncio.AbstractEventLoop,
    added: list[signal.Signals],
    previous: dict[signal.Signals, Any],
) -> None:
    for number in added:
        loop.remove_signal_handler(number)
        handler = previous[number]
        if handler is not None:  # None: set outside Python, cannot be put back
            signal.signal(number, handler)
