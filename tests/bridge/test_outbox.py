"""The outbox: FIFO, bounded with the oldest dropped, messages put back at the head."""

from __future__ import annotations

import asyncio
import logging

import pytest

from xmcam.bridge.outbox import Message, Outbox


def message(number: int) -> Message:
    return Message("t", str(number).encode())


async def test_messages_leave_in_order_and_wait_when_there_are_none() -> None:
    outbox = Outbox()
    waiting = asyncio.ensure_future(outbox.take())
    await asyncio.sleep(0)
    assert not waiting.done()
    outbox.put(message(1))
    outbox.put(message(2))
    assert await waiting == message(1)
    outbox.delivered()
    assert await outbox.take() == message(2)


async def test_a_message_put_back_goes_first() -> None:
    outbox = Outbox()
    for number in range(3):
        outbox.put(message(number))
    taken = await outbox.take()
    outbox.put_back(taken)
    assert [await outbox.take() for _ in range(3)] == [message(0), message(1), message(2)]


async def test_full_it_drops_the_oldest_counts_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = Outbox(limit=3)
    for number in range(7):
        outbox.put(message(number))
    assert len(outbox) == 3
    assert outbox.dropped == 4
    assert [await outbox.take() for _ in range(3)] == [message(4), message(5), message(6)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one when it starts dropping, one when it has caught up
    assert "4 message(s) dropped" in warnings[1]
    outbox.put(message(7))  # the next outage is logged again
    outbox.put(message(8))
    outbox.put(message(9))
    outbox.put(message(10))
    assert outbox.dropped == 5
    assert sum("dropping" in r.getMessage() for r in caplog.records) == 2


async def test_drained_waits_for_the_last_delivery() -> None:
    outbox = Outbox()
    await outbox.drained()  # empty at the start
    outbox.put(message(1))
    drained = asyncio.ensure_future(outbox.drained())
    await outbox.take()
    await asyncio.sleep(0)
    assert not drained.done()  # taken is not delivered
    outbox.delivered()
    await asyncio.wait_for(drained, 1)
    assert outbox.topics() == set()
    outbox.put(Message("a", b""))
    outbox.put(Message("b", b""))
    assert outbox.topics() == {"a", "b"}


def test_the_limit_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Outbox(0)
