"""The outbox: FIFO, bounded with the oldest dropped, messages put back at the head."""

from __future__ import annotations

import asyncio
import logging

import pytest

from xmcam.bridge.outbox import Message, Outbox, deliver


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


class Broker:
    """A stand-in for the publish call: records the order publishes start in, and lets the
    test acknowledge (or fail) each one."""

    def __init__(self) -> None:
        self.started: list[Message] = []
        self.acks: dict[bytes, asyncio.Future[None]] = {}

    async def publish(self, message: Message) -> None:
        self.started.append(message)
        self.acks[message.payload] = asyncio.get_running_loop().create_future()
        await self.acks[message.payload]

    def ack(self, number: int) -> None:
        self.acks[str(number).encode()].set_result(None)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def delivering_five() -> tuple[Outbox, Broker, asyncio.Future[None], asyncio.Future[None]]:
    """Five messages waiting, and `deliver()` started on them with a window of three."""
    outbox, broker = Outbox(), Broker()
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    for number in range(5):
        outbox.put(message(number))
    delivering = asyncio.ensure_future(deliver(outbox, broker.publish, failed, window=3))
    await settle()
    return outbox, broker, failed, delivering


async def test_deliver_keeps_a_window_in_flight_and_retires_in_order() -> None:
    outbox, broker, failed, delivering = await delivering_five()
    assert broker.started == [message(0), message(1), message(2)]  # the window is full
    assert outbox.in_flight == 3
    broker.ack(1)  # acknowledged, but message 0 before it is not: it does not retire yet
    await settle()
    assert broker.started[3:] == [message(3)]  # its slot went to the next one
    assert outbox.in_flight == 4
    broker.ack(0)
    await settle()
    assert broker.started[4:] == [message(4)]
    assert outbox.in_flight == 3  # 0 and 1 retired, in order; 2, 3 and 4 in flight
    for number in (2, 3, 4):
        broker.ack(number)
    await asyncio.wait_for(outbox.drained(), 1)
    delivering.cancel()
    await asyncio.gather(delivering, return_exceptions=True)
    assert not failed.done()


async def test_deliver_puts_back_what_was_not_acknowledged_in_order() -> None:
    outbox, broker, failed, delivering = await delivering_five()
    broker.ack(0)
    broker.ack(2)  # acknowledged after 1, which fails: it stays delivered
    broker.acks[b"1"].set_exception(ConnectionError("gone"))
    await settle()
    assert isinstance(failed.exception(), ConnectionError)
    delivering.cancel()  # what the session does on a failure
    await asyncio.gather(delivering, return_exceptions=True)
    assert outbox.in_flight == 0
    assert [await outbox.take() for _ in range(len(outbox))] == [message(1), *map(message, (3, 4))]
