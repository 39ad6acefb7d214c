"""Waiting for state that changes without an event to await: a simulator's or a server's
counters, a log's text. Where an event, a task or a reply can be awaited, tests await that
instead; these re-check a condition on a short period until it holds or a deadline passes.

`until()` waits on the running event loop's clock, so on a virtual-time loop
(tests/virtual_time.py) the deadline is in virtual seconds and the checks cost no real
waiting. `wait_until()` is the same for blocking code whose state changes in another thread
(a `SimulatorThread`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

__all__ = ["CHECK_PERIOD", "until", "wait_until"]

CHECK_PERIOD: Final = 0.005
"""Seconds between two checks of the condition."""


def _never_came_true(seconds: float) -> AssertionError:
    return AssertionError(f"the condition never came true within {seconds:g} s")


async def until(condition: Callable[[], object], seconds: float = 3.0) -> None:
    """Return once `condition()` is true; AssertionError when it is still false after
    `seconds` of the loop's time. The condition is checked first, before any wait."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() >= deadline:
            raise _never_came_true(seconds)
        await asyncio.sleep(CHECK_PERIOD)


def wait_until(condition: Callable[[], object], seconds: float = 3.0) -> None:
    """`until()` for blocking code: sleeps between the checks, on the monotonic clock."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            raise _never_came_true(seconds)
        time.sleep(CHECK_PERIOD)
