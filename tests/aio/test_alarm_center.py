"""The asyncio alarm center on 127.0.0.1: pushes from real sockets and from the simulator,
garbage, slowloris and oversized clients, the connection cap, a slow consumer, many pushes
at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from tests.waiting import until
from xmcam.aio.alarm_center import AlarmCenterServer
from xmcam.errors import StateError
from xmcam.protocol import encode_frame
from xmcam.protocol.alarm_center import (
    MAX_ALARM_CENTER_MESSAGE,
    AlarmCenterMessage,
    encode_alarm_center_message,
)

# On a loop whose clock skips idle waits: the read timeouts take no real time.
pytestmark = [pytest.mark.timeout(30), pytest.mark.virtual_time]


def packet(serial: str = "S1", channel: int = 0, status: str = "Start") -> bytes:
    return encode_alarm_center_message(
        serial=serial, address="127.0.0.1", channel=channel, status=status, start_time="x"
    )


async def send(
    port: int, data: bytes, *, close: bool = True, source: str = "127.0.0.1"
) -> asyncio.StreamWriter:
    _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(data)
    await writer.drain()
    if close:
        writer.close()
        await writer.wait_closed()
    return writer


@contextlib.asynccontextmanager
async def center(
    **options: object,
) -> AsyncIterator[tuple[AlarmCenterServer, asyncio.Queue[AlarmCenterMessage]]]:
    received: asyncio.Queue[AlarmCenterMessage] = asyncio.Queue()
    server = AlarmCenterServer("127.0.0.1", 0, on_message=received.put_nowait, **options)  # type: ignore[arg-type]
    async with server:
        yield server, received


async def test_a_push_reaches_the_callback_with_its_source() -> None:
    async with center() as (server, received):
        assert server.port > 0
        await send(server.port, packet("CAM-A", 3))
        message = await asyncio.wait_for(received.get(), 2)
    assert (message.serial, message.channel, message.event) == ("CAM-A", 3, "VideoMotion")
    assert message.source == "127.0.0.1"
    assert server.stats.messages == 1
    assert server.stats.rejected == 0


async def test_a_push_split_byte_by_byte_and_two_in_one_write() -> None:
    async with center() as (server, received):
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for byte in packet("ONE"):
            writer.write(bytes([byte]))
            await writer.drain()
        writer.write(packet("TWO") + packet("THREE"))
        writer.close()
        await writer.wait_closed()
        serials = [(await asyncio.wait_for(received.get(), 2)).serial for _ in range(3)]
    assert serials == ["ONE", "TWO", "THREE"]


async def test_an_async_callback_is_awaited_in_order() -> None:
    seen: list[str | None] = []

    async def slow(message: AlarmCenterMessage) -> None:
        await asyncio.sleep(0.01)
        seen.append(message.status)

    async with AlarmCenterServer("127.0.0.1", 0, on_message=slow) as server:
        for status in ("Start", "Stop", "Start", "Stop"):
            await send(server.port, packet(status=status))
        await until(lambda: len(seen) == 4)
    assert seen == ["Start", "Stop", "Start", "Stop"]


async def test_a_failing_callback_is_logged_and_the_server_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str | None] = []

    def fragile(message: AlarmCenterMessage) -> None:
        if message.serial == "BAD":
            raise RuntimeError("boom")
        seen.append(message.serial)

    async with AlarmCenterServer("127.0.0.1", 0, on_message=fragile) as server:
        await send(server.port, packet("BAD"))
        await send(server.port, packet("GOOD"))
        await until(lambda: seen == ["GOOD"])
    assert server.stats.callback_errors == 1
    assert "on_message callback failed" in caplog.text


async def test_messages_iterates_until_the_server_stops() -> None:
    server = AlarmCenterServer("127.0.0.1", 0)
    await server.start()
    await send(server.port, packet("A"))
    await send(server.port, packet("B"))
    await until(lambda: server.stats.messages == 2)
    await server.stop()
    serials = [message.serial async for message in server.messages()]
    assert serials == ["A", "B"]


async def test_messages_refuses_misuse() -> None:
    with pytest.raises(StateError):
        await anext(AlarmCenterServer("127.0.0.1", 0).messages())
    async with center() as (server, _):
        with pytest.raises(StateError):
            await anext(server.messages())
        with pytest.raises(StateError):
            await server.start()
    with pytest.raises(ValueError, match="positive"):
        AlarmCenterServer(read_timeout=0)


@pytest.mark.parametrize(
    "junk",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x00" * 64,
        encode_frame(1508, b"}{ not json"),
        encode_frame(1508, b'{"Name": "KeepAlive"}'),  # JSON, but no alarm
    ],
)
async def test_garbage_is_counted_and_never_stops_the_server(junk: bytes) -> None:
    async with center() as (server, received):
        await send(server.port, junk)
        await until(lambda: server.stats.rejected == 1)
        await send(server.port, packet("AFTER"))
        message = await asyncio.wait_for(received.get(), 2)
    assert message.serial == "AFTER"
    assert server.stats.messages == 1


async def test_good_messages_before_garbage_are_kept() -> None:
    async with center() as (server, received):
        await send(server.port, packet("KEPT") + b"\x13garbage")
        assert (await asyncio.wait_for(received.get(), 2)).serial == "KEPT"
        await until(lambda: server.stats.rejected == 1)


async def test_an_oversized_length_is_refused_at_the_header() -> None:
    async with center() as (server, _):
        header = encode_frame(1508, b"")[:16] + (MAX_ALARM_CENTER_MESSAGE + 1).to_bytes(4, "little")
        writer = await send(server.port, header, close=False)
        # Closed at once, before any data: the read sees EOF (or a reset), not a hang.
        reader_closed = await asyncio.wait_for(_closed_by_peer(writer), 2)
        assert reader_closed
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        assert server.stats.rejected == 1


async def _closed_by_peer(writer: asyncio.StreamWriter) -> bool:
    transport = writer.transport
    while not transport.is_closing():
        try:
            writer.write(b"\x00" * 1024)
            await writer.drain()
        except OSError:
            return True
        await asyncio.sleep(0.01)
    return True


async def test_a_packet_cut_off_by_eof_is_rejected() -> None:
    async with center() as (server, received):
        await send(server.port, packet("CUT")[:-4])
        await until(lambda: server.stats.rejected == 1)
        assert received.empty()


async def test_silent_and_slowloris_clients_are_closed_at_the_read_timeout() -> None:
    async with center(read_timeout=0.3) as (server, received):
        _, silent = await asyncio.open_connection("127.0.0.1", server.port)
        slow_reader, slow = await asyncio.open_connection("127.0.0.1", server.port)
        data = packet("SLOW")
        for byte in data[:10]:  # a byte every 20 ms: the whole message would take 4 s
            slow.write(bytes([byte]))
            await slow.drain()
            await asyncio.sleep(0.02)
        await until(lambda: server.stats.timed_out == 2)
        assert await asyncio.wait_for(slow_reader.read(), 2) == b""
        for writer in (silent, slow):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        assert received.empty()
        await send(server.port, packet("FAST"))
        assert (await asyncio.wait_for(received.get(), 2)).serial == "FAST"


async def test_at_the_cap_the_oldest_idle_connection_makes_room() -> None:
    async with center(max_connections=3) as (server, received):
        held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(3)]
        await until(lambda: len(server.peers) == 3)
        await send(server.port, packet("ACCEPTED"))
        assert (await asyncio.wait_for(received.get(), 2)).serial == "ACCEPTED"
        assert server.stats.evicted == 1
        assert await asyncio.wait_for(held[0][0].read(), 2) == b""  # the oldest went
        for _, writer in held:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await until(lambda: not server.peers)


async def test_an_idle_connection_gets_the_first_byte_deadline_only() -> None:
    async with center(first_byte_timeout=0.5, read_timeout=5) as (server, received):
        loop = asyncio.get_running_loop()
        opened = loop.time()
        idle_reader, idle = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(idle_reader.read(), 10) == b""
        assert 0.5 <= loop.time() - opened < 1.0  # not the 5 s a message may take
        # A message that has begun has the whole read_timeout to finish.
        started = loop.time()
        slow_reader, slow = await asyncio.open_connection("127.0.0.1", server.port)
        data = packet("SLOW")
        slow.write(data[:10])
        await asyncio.sleep(2)
        slow.write(data[10:])
        assert (await asyncio.wait_for(received.get(), 5)).serial == "SLOW"
        # After its message, the connection waits for the next one's first byte: 0.5 s.
        assert await asyncio.wait_for(slow_reader.read(), 10) == b""
        assert 2.5 <= loop.time() - started < 3.5
        for writer in (idle, slow):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        assert server.stats.timed_out == 2


async def test_a_consumer_that_falls_behind_loses_the_oldest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "xmcam.protocol.alarm_center")
    server = AlarmCenterServer("127.0.0.1", 0, queue_size=2)
    async with server:
        for serial in ("1", "2", "3", "4"):
            await send(server.port, packet(serial))
        await until(lambda: server.stats.messages == 4)
    assert server.stats.dropped == 2
    assert [message.serial async for message in server.messages()] == ["3", "4"]
    assert "behind" in caplog.text


async def test_many_concurrent_pushes_all_arrive() -> None:
    # From eight addresses: one address gets 32 connections at once at most.
    async with center() as (server, received):
        await asyncio.gather(
            *(
                send(server.port, packet(f"CAM{n:03d}"), source=f"127.0.0.{1 + n % 8}")
                for n in range(200)
            )
        )
        serials = {(await asyncio.wait_for(received.get(), 5)).serial for _ in range(200)}
    assert serials == {f"CAM{n:03d}" for n in range(200)}
    assert server.stats.connections == 200
    assert server.stats.rejected == 0


# ------------------------------------------------------------------ silencing the center


class PlaceHolders:
    """The attack: `count` sockets from `addresses` (in turn) that connect, send `prefix` (a
    few bytes of a message that never ends, or nothing), and hold on; each one the server
    closes is opened again at once, so the flood never lets up."""

    def __init__(self, port: int, count: int, addresses: list[str], prefix: bytes = b"") -> None:
        self.port = port
        self.prefix = prefix
        self.opened = 0
        self.open_now = 0
        self._tasks = [
            asyncio.create_task(self._hold(addresses[n % len(addresses)])) for n in range(count)
        ]

    async def _hold(self, address: str) -> None:
        while True:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", self.port, local_addr=(address, 0)
            )
            self.opened += 1
            self.open_now += 1
            try:
                writer.write(self.prefix)
                await reader.read()  # until the server closes it
            except OSError:
                pass
            finally:
                self.open_now -= 1
                writer.close()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def flood(
    port: int, count: int, addresses: list[str], prefix: bytes = b""
) -> AsyncIterator[PlaceHolders]:
    holders = PlaceHolders(port, count, addresses, prefix)
    try:
        yield holders
    finally:
        await holders.stop()


async def _every_genuine_push_arrives(
    server: AlarmCenterServer, received: asyncio.Queue[AlarmCenterMessage], holders: PlaceHolders
) -> None:
    await until(lambda: holders.opened >= 300)  # the flood is on: 300 places held, and more
    for number in range(25):
        await send(server.port, packet(f"GENUINE{number}"))
        message = await asyncio.wait_for(received.get(), 5)
        assert message.serial == f"GENUINE{number}"
        assert message.source == "127.0.0.1"
    assert received.empty()
    assert server.stats.evicted > 0


async def test_300_idle_sockets_from_one_host_silence_nothing() -> None:
    async with center() as (server, received), flood(server.port, 300, ["127.0.0.2"]) as holders:
        await _every_genuine_push_arrives(server, received, holders)
        # The flooding host holds 32 places at most; the rest were its own, dropped for it.
        from_attacker = [peer for peer in server.peers if peer.address == "127.0.0.2"]
        assert len(from_attacker) <= 32


async def test_300_idle_sockets_from_many_hosts_silence_nothing() -> None:
    hosts = [f"127.0.0.{n}" for n in range(2, 32)]  # 30 hosts, 10 sockets each: 256 is full
    async with center() as (server, received), flood(server.port, 300, hosts) as holders:
        await _every_genuine_push_arrives(server, received, holders)
        assert len(server.peers) <= 256


async def test_300_never_ending_messages_from_many_hosts_silence_nothing() -> None:
    hosts = [f"127.0.0.{n}" for n in range(2, 32)]
    prefix = packet("NEVER")[:12]  # a header begun, never finished: not idle
    async with (
        center() as (server, received),
        flood(server.port, 300, hosts, prefix) as holders,
    ):
        await _every_genuine_push_arrives(server, received, holders)
