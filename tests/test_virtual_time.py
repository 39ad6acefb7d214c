"""tests/virtual_time.py: the loop skips idle waits but never past I/O or a thread's work,
the marker picks it, and the manual clock moves only forward, by hand."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests import virtual_time
from tests.virtual_time import ManualClock, VirtualTimeLoop


def test_an_hour_of_sleep_takes_no_real_time() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.sleep(3600)
        return loop.time() - started

    real = time.monotonic()
    assert virtual_time.run(main()) >= 3600
    assert time.monotonic() - real < 5


def test_timers_fire_in_order_at_their_times() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        fired: list[tuple[str, float]] = []

        async def at(name: str, delay: float) -> None:
            await asyncio.sleep(delay)
            fired.append((name, loop.time() - start))

        await asyncio.gather(at("late", 30), at("early", 10), at("middle", 20))
        return fired

    fired = virtual_time.run(main())
    assert [name for name, _ in fired] == ["early", "middle", "late"]
    for (_, when), due in zip(fired, (10, 20, 30), strict=True):
        assert due <= when < due + 1


def test_bytes_on_a_socket_beat_a_later_timer() -> None:
    # The echo server answers at once; the client's deadline is a minute away. The loop must
    # see the answer rather than skip to the deadline.
    async def main() -> bytes:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.read(100))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            answers = []
            for _ in range(50):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"ping")
                answers.append(await asyncio.wait_for(reader.read(100), 60))
                writer.close()
                await writer.wait_closed()
            assert set(answers) == {b"ping"}
            return answers[0]
        finally:
            server.close()
            await server.wait_closed()

    assert virtual_time.run(main()) == b"ping"


def test_work_in_a_thread_is_waited_for_in_real_time() -> None:
    async def main() -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        thread = asyncio.ensure_future(asyncio.to_thread(time.sleep, 0.05))
        timer = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        assert loop.threads_out == 1
        done, _ = await asyncio.wait({thread, timer}, return_when=asyncio.FIRST_COMPLETED)
        first = "thread" if thread in done else "timer"
        await timer
        return first, loop.threads_out

    assert virtual_time.run(main()) == ("thread", 0)


def test_the_clock_never_goes_back() -> None:
    loop = VirtualTimeLoop()
    try:
        before = loop.time()
        loop.skip(-5)
        assert loop.skipped == 0
        loop.skip(2.5)
        assert loop.skipped == 2.5
        assert loop.time() >= before + 2.5
    finally:
        loop.close()


@pytest.mark.virtual_time
async def test_the_marker_runs_the_test_on_virtual_time() -> None:
    assert isinstance(asyncio.get_running_loop(), VirtualTimeLoop)


async def test_without_the_marker_the_loop_is_the_usual_one() -> None:
    assert not isinstance(asyncio.get_running_loop(), VirtualTimeLoop)


def test_the_manual_clock_moves_only_by_hand() -> None:
    clock = ManualClock(100.0)
    assert clock() == 100.0
    time.sleep(0.01)
    assert clock() == 100.0
    clock.advance(0.5)
    assert clock() == 100.5
    with pytest.raises(ValueError, match="never goes back"):
        clock.advance(-1)
    assert clock() == 100.5
