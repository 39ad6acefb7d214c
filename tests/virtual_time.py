"""Virtual time for the tests: an event loop that skips its idle waits, and a clock to turn
by hand for blocking code.

Theory of operation. A test of keepalives and expiries spends nearly all its time waiting for
a timer while nothing else happens. `VirtualTimeLoop` keeps its clock at the real monotonic
clock plus the time it has skipped: whenever the loop would block with nothing ready and a
timer due later, it jumps its clock to that timer instead of sleeping. Real sockets on
127.0.0.1 keep working: bytes written to a loopback socket are normally readable at the other
end by the time the write returns, so a loop that holds both ends (the client and the
simulator) sees every byte before it decides it is idle. Before each jump it still waits
`REAL_GRACE` of real time for I/O, for the rare delivery a loaded kernel defers; that is also
what each skipped wait costs (a condition polled every 5 ms for a virtual second costs about
0.2 s). Work in other threads is what it cannot see: while a call passed to
`run_in_executor()` (a name lookup, `asyncio.to_thread()`) is out, the loop waits in real
time. Other threads, subprocesses and `time.monotonic()` readers do not see the skipped time,
so a test on this loop keeps everything it waits for on the loop (`Simulator`, not
`SimulatorThread`).

An asyncio test runs on it with the `virtual_time` marker (tests/conftest.py hands pytest-asyncio
the loop factory); `run()` runs a coroutine on it like `asyncio.run()`. Blocking code that
takes a clock (`xmcam.Camera(clock=...)`, `SimulatorThread(clock=...)`) is given a
`ManualClock`, which only moves when the test says so.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, Final, TypeVar

__all__ = ["REAL_GRACE", "ManualClock", "VirtualTimeLoop", "run"]

T = TypeVar("T")

REAL_GRACE: Final = 0.001
"""Real seconds an idle loop waits for I/O before it skips to its next timer."""


class _IdleSkippingSelector(selectors.DefaultSelector):
    """The loop's selector: where the loop would block, it skips time instead."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None or self._loop.threads_out:
            return super().select(timeout)  # nothing to skip to, or a thread may wake us
        started = time.monotonic()
        ready = super().select(min(timeout, REAL_GRACE))
        if not ready:
            self._loop.skip(timeout - (time.monotonic() - started))
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps over the waits in which nothing happens."""

    def __init__(self) -> None:
        self.skipped = 0.0
        """Seconds the clock has jumped so far."""
        self.threads_out = 0
        """Calls handed to an executor and not yet back."""
        super().__init__(_IdleSkippingSelector(self))

    def time(self) -> float:
        return time.monotonic() + self.skipped

    def skip(self, seconds: float) -> None:
        """Move the clock `seconds` ahead of real time (a negative amount does nothing)."""
        self.skipped += max(seconds, 0.0)

    def run_in_executor(  # type: ignore[override]
        self, executor: Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self.threads_out += 1
        future.add_done_callback(self._thread_back)
        return future

    def _thread_back(self, _future: asyncio.Future[Any]) -> None:
        self.threads_out -= 1


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on a VirtualTimeLoop."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main)


class ManualClock:
    """A monotonic clock (seconds, a float) that moves only by `advance()`. Reading it from
    another thread is safe: it is one float, replaced whole."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        self.now += seconds
