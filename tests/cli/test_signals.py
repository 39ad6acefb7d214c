"""`xmcam.cli.signals`: SIGTERM taken as Ctrl-C in blocking code, under `asyncio.run()` and by
a loop's own handlers; the exit codes 130 and 143; signals only noted for the bridge. Real
signals sent to this process (the whole commands are tested in real processes by the
commands' tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator

import pytest

from xmcam.cli.signals import (
    INTERRUPTED,
    TERMINATED,
    interrupted_exit_code,
    signal_name,
    signals_noted,
    sigterm_as_ctrl_c,
    stop_signals,
    stopped_by,
)


@contextlib.contextmanager
def sigterm_taken() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM)
    undo = sigterm_as_ctrl_c()
    try:
        yield
    finally:
        undo()
    assert signal.getsignal(signal.SIGTERM) is before


def _spin() -> None:
    # Python runs a signal's handler between two bytecodes: give it some.
    for _ in range(1000):
        os.getpid()


def signal_self(number: signal.Signals) -> None:
    os.kill(os.getpid(), number)
    _spin()


def test_sigterm_in_blocking_code_is_a_keyboard_interrupt() -> None:
    with sigterm_taken(), pytest.raises(KeyboardInterrupt):
        signal_self(signal.SIGTERM)
    assert (stopped_by(), signal_name(), interrupted_exit_code()) == (
        signal.SIGTERM,
        "SIGTERM",
        TERMINATED,
    )


def test_ctrl_c_alone_exits_130() -> None:
    with sigterm_taken(), pytest.raises(KeyboardInterrupt):
        signal_self(signal.SIGINT)
    assert (stopped_by(), signal_name(), interrupted_exit_code()) == (None, "SIGINT", INTERRUPTED)


def test_sigterm_under_asyncio_run_cancels_the_command_as_ctrl_c_does() -> None:
    cleaned_up: list[bool] = []

    async def command() -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0)  # cleanup may still await (log out, finish a file)
            cleaned_up.append(True)

    with sigterm_taken(), pytest.raises(KeyboardInterrupt):
        asyncio.run(command())
    assert cleaned_up == [True]
    assert interrupted_exit_code() == TERMINATED


def test_sigterm_still_ends_a_command_whose_ctrl_c_is_ignored() -> None:
    # A background job of a shell script starts with SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with sigterm_taken(), pytest.raises(KeyboardInterrupt):
            signal_self(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGINT, previous)


def test_loop_handlers_take_both_signals_and_put_back_what_was_there() -> None:
    seen: list[signal.Signals] = []

    async def command() -> None:
        done = asyncio.Event()

        def on_signal(number: signal.Signals) -> None:
            seen.append(number)
            if len(seen) == 2:
                done.set()

        with stop_signals(on_signal) as taken:
            assert taken
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.wait_for(done.wait(), 10)
        # asyncio's own removal would have left SIGTERM at its default, which kills.
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL

    with sigterm_taken():
        asyncio.run(command())
    assert sorted(seen) == [signal.SIGINT, signal.SIGTERM]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_off_the_main_thread_nothing_changes() -> None:
    outcome: list[object] = []

    def body() -> None:
        undo = sigterm_as_ctrl_c()
        undo()

        async def loop_part() -> None:
            with stop_signals(lambda number: None) as taken:
                outcome.append(taken)

        asyncio.run(loop_part())
        with signals_noted():
            outcome.append("noted")

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=body)
    thread.start()
    thread.join(timeout=10)
    assert outcome == [False, "noted"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_signals_noted_never_raise() -> None:
    with sigterm_taken():
        with signals_noted():
            signal_self(signal.SIGINT)
            signal_self(signal.SIGTERM)
            assert stopped_by() == signal.SIGTERM
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
