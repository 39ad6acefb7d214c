"""tests/waiting.py: a condition is checked first, then on a period, until a deadline in the
loop's time (or the monotonic clock's, for blocking code)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.waiting import until, wait_until


@pytest.mark.virtual_time
async def test_until_returns_once_the_condition_holds() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    flag = asyncio.Event()
    loop.call_later(0.2, flag.set)
    await until(flag.is_set)
    assert 0.2 <= loop.time() - started < 0.25


@pytest.mark.virtual_time
async def test_until_checks_before_it_waits() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await until(lambda: True)
    assert loop.time() == pytest.approx(started, abs=0.01)


@pytest.mark.virtual_time
async def test_until_fails_at_its_deadline_in_the_loop_time() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(AssertionError, match=r"never came true within 0\.5 s"):
        await until(lambda: False, 0.5)
    assert 0.5 <= loop.time() - started < 0.55


def test_wait_until_sees_a_change_made_by_another_thread() -> None:
    done = threading.Event()
    threading.Timer(0.02, done.set).start()
    wait_until(done.is_set)
    assert done.is_set()


def test_wait_until_fails_at_its_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"never came true within 0\.05 s"):
        wait_until(lambda: False, 0.05)
    assert time.monotonic() - started >= 0.05
