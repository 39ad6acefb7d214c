"""`xmcam.watch`: gaps reported as events, reconnects with backoff, no retried logins."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

import xmcam
from tests.aio.test_camera import guarded, run
from tests.waiting import until
from xmcam.aio import Backoff
from xmcam.client.models import AlarmEvent, ConnectionEvent
from xmcam.errors import AccountLockedError, AuthenticationError, ConnectionClosedError
from xmcam.sim import Simulator, load_profile

FAST = Backoff(initial=0.01, maximum=0.05)


def test_backoff_is_exponential_capped_and_fully_jittered() -> None:
    backoff = Backoff(initial=1.0, maximum=60.0, factor=2.0)
    assert [backoff.delay(attempt, lambda: 1.0) for attempt in range(8)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        32.0,
        60.0,
        60.0,
    ]
    assert backoff.delay(3, lambda: 0.25) == 2.0
    assert backoff.delay(10_000, lambda: 0.5) == 30.0  # no overflow however long it fails
    assert backoff.delay(0, lambda: 0.0) == 0.0


def test_watch_reports_the_gap_and_resumes_after_a_drop() -> None:
    async def test(sim: Simulator) -> None:
        watcher = xmcam.watch(sim.host, sim.port, backoff=FAST, timeout=1)
        async with contextlib.aclosing(watcher) as events:
            waiting = asyncio.ensure_future(anext(events))
            await until(lambda: guarded(sim))
            sim.trigger_alarm(0, "VideoMotion", "Start")
            first = await waiting
            assert isinstance(first, AlarmEvent)
            assert first.status == "Start"

            sim.drop_connections()
            gap = await anext(events)
            assert isinstance(gap, ConnectionEvent)
            assert gap.kind == "disconnected"
            assert isinstance(gap.error, ConnectionClosedError)
            assert await anext(events) == ConnectionEvent("reconnected")
            assert guarded(sim)  # subscribed again before "reconnected"

            sim.trigger_alarm(0, "VideoMotion", "Stop")
            again = await anext(events)
            assert isinstance(again, AlarmEvent)
            assert again.status == "Stop"
        assert sim.device.login_attempts == 2

    run(test)


def test_watch_keeps_trying_while_the_camera_is_down() -> None:
    profile = load_profile().with_quirks(reboot_delay=0.3)

    async def test(sim: Simulator) -> None:
        async with contextlib.aclosing(xmcam.watch(sim.host, sim.port, backoff=FAST)) as events:
            waiting = asyncio.ensure_future(anext(events))
            await until(lambda: guarded(sim))
            sim.reboot_soon()  # the port is closed for 0.3 s
            gap = await waiting
            assert isinstance(gap, ConnectionEvent)
            assert gap.kind == "disconnected"
            assert await anext(events) == ConnectionEvent("reconnected")  # one event per gap
            assert sim.reboots == 1
            sim.trigger_alarm()
            assert isinstance(await anext(events), AlarmEvent)

    run(test, Simulator(profile))


def test_watch_raises_an_authentication_error_after_one_attempt() -> None:
    async def test(sim: Simulator) -> None:
        with pytest.raises(AuthenticationError) as caught:
            async for _ in xmcam.watch(sim.host, sim.port, password="hunter2", backoff=FAST):
                pass  # pragma: no cover - nothing is yielded
        assert caught.value.ret == 203
        assert sim.device.login_attempts == 1

    run(test)


def test_watch_raises_a_lockout_after_one_attempt() -> None:
    async def test(sim: Simulator) -> None:
        for _ in range(5):  # someone else burns the account's attempts
            with pytest.raises(AuthenticationError):
                await xmcam.connect(sim.host, sim.port, password="hunter2")
        assert sim.device.is_locked("admin")
        attempts = sim.device.login_attempts
        with pytest.raises(AccountLockedError):
            async for _ in xmcam.watch(sim.host, sim.port, backoff=FAST):
                pass  # pragma: no cover - nothing is yielded
        assert sim.device.login_attempts == attempts + 1

    run(test)


def test_watch_stops_when_the_password_changed_during_a_gap() -> None:
    async def test(sim: Simulator) -> None:
        async with contextlib.aclosing(xmcam.watch(sim.host, sim.port, backoff=FAST)) as events:
            waiting = asyncio.ensure_future(anext(events))
            await until(lambda: guarded(sim))
            sim.device.state.users[0]["Password"] = xmcam.sofia_hash("hunter2")
            sim.drop_connections()
            gap = await waiting
            assert isinstance(gap, ConnectionEvent)
            assert gap.kind == "disconnected"
            with pytest.raises(AuthenticationError):
                await anext(events)
        assert sim.device.login_attempts == 2  # the first login, and one attempt to return

    run(test)


def test_a_camera_that_drops_every_session_is_retried_ever_more_slowly() -> None:
    backoff = Backoff(initial=0.05, maximum=1.0, settle=10.0)

    async def test(sim: Simulator) -> None:
        async def kick_everyone() -> None:
            while True:
                await asyncio.sleep(0.005)
                if guarded(sim):
                    sim.drop_connections()

        kicker = asyncio.create_task(kick_everyone())
        watcher = xmcam.watch(sim.host, sim.port, backoff=backoff, draw=lambda: 1.0, timeout=1)
        async with contextlib.aclosing(watcher) as events:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.6):
                    async for _ in events:
                        pass
        kicker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await kicker
        # Delays 0.05, 0.1, 0.2, 0.4, 0.8 s: about six logins in 1.6 s, not one per 0.05 s.
        assert 2 <= sim.device.login_attempts <= 8

    run(test)


def test_a_connection_that_lasted_resets_the_delay() -> None:
    # Without the reset the delays would be 0.05, 1, 5, 5 s; with it, always 0.05 s.
    backoff = Backoff(initial=0.05, maximum=5.0, factor=20.0, settle=0.2)

    async def test(sim: Simulator) -> None:
        watcher = xmcam.watch(sim.host, sim.port, backoff=backoff, draw=lambda: 1.0, timeout=2)
        seen: list[object] = []

        async def consume() -> None:  # appends as events come: it is cancelled, not ended
            async for event in watcher:
                seen.append(event)  # noqa: PERF401

        consumer = asyncio.create_task(consume())
        clock = asyncio.get_running_loop().time
        reconnected = ConnectionEvent("reconnected")
        for gaps in range(1, 4):  # each connection lasts past `settle`, then drops
            await until(lambda: guarded(sim))
            await asyncio.sleep(0.25)
            started = clock()
            sim.drop_connections()
            await until(lambda: seen.count(reconnected) == gaps)  # noqa: B023 (awaited here)
            assert clock() - started < 0.8  # 0.05 s and a login, never the 1 s of a second try
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await watcher.aclose()
        assert seen.count(reconnected) == 3

    run(test)


def test_watch_calls_on_connect_after_every_login_and_subscription() -> None:
    calls: list[bool] = []

    async def test(sim: Simulator) -> None:
        async def connected(camera: xmcam.AsyncCamera) -> None:
            calls.append(camera.subscribed and guarded(sim))
            await camera.work_state()  # the session is usable from here

        watcher = xmcam.watch(sim.host, sim.port, backoff=FAST, on_connect=connected)
        async with contextlib.aclosing(watcher) as events:
            waiting = asyncio.ensure_future(anext(events))
            await until(lambda: len(calls) == 1)
            sim.drop_connections()
            assert isinstance(await waiting, ConnectionEvent)
            assert await anext(events) == ConnectionEvent("reconnected")
        assert calls == [True, True]

    run(test)
