"""discover() on 127.0.0.1: several simulators at once (a unicast probe to each stands in for
broadcast), repetition against a lossy device, de-duplication, junk from the network."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from xmcam.aio.discovery import discover
from xmcam.protocol.discovery import encode_search_reply
from xmcam.sim import Simulator

# The simulators answer on the test's loop, whose clock skips idle waits: a discovery's
# listening time takes no real time.
pytestmark = [pytest.mark.timeout(30), pytest.mark.virtual_time]


@contextlib.asynccontextmanager
async def simulators(count: int, **options: Any) -> AsyncIterator[list[Simulator]]:
    async with contextlib.AsyncExitStack() as stack:
        sims = [
            await stack.enter_async_context(
                Simulator(discovery_port=0, serial=f"sim-{n:02d}", **options)
            )
            for n in range(count)
        ]
        yield sims


def targets(sims: list[Simulator]) -> list[tuple[str, int]]:
    return [("127.0.0.1", cast(int, sim.discovery_port)) for sim in sims]


async def test_several_simulators_are_found_at_once() -> None:
    async with simulators(3) as sims:
        found = await discover(timeout=0.5, targets=targets(sims), bind=("127.0.0.1", 0))
    assert sorted(device.serial or "" for device in found) == ["sim-00", "sim-01", "sim-02"]
    assert {device.tcp_port for device in found} == {sim.port for sim in sims}
    assert len({device.mac for device in found}) == 3
    assert all(device.host == device.source == "127.0.0.1" for device in found)


async def test_repeated_replies_are_de_duplicated() -> None:
    async with simulators(2) as sims:
        # Each simulator is asked twice per round (two targets), three rounds: six replies.
        doubled = targets(sims) * 2
        found = await discover(timeout=0.5, targets=doubled, bind=("127.0.0.1", 0), interval=0.05)
        assert all(sim.discovery is not None and sim.discovery.replies == 6 for sim in sims)
    assert len(found) == 2


async def test_repetition_finds_a_device_that_skips_probes() -> None:
    async with simulators(1) as sims:
        responder = sims[0].discovery
        assert responder is not None
        responder.answer_every = 2
        responder.probes = 1  # the next probe is one it skips
        once = await discover(timeout=0.3, targets=targets(sims), bind=("127.0.0.1", 0), repeats=1)
        responder.probes = 1
        repeated = await discover(
            timeout=0.3, targets=targets(sims), bind=("127.0.0.1", 0), repeats=2, interval=0.05
        )
    assert once == []
    assert [device.serial for device in repeated] == ["sim-00"]


async def test_a_silent_device_is_not_found_and_nothing_raises() -> None:
    async with simulators(1) as sims:
        assert sims[0].discovery is not None
        sims[0].discovery.answer_every = 0
        assert await discover(timeout=0.3, targets=targets(sims), bind=("127.0.0.1", 0)) == []


async def test_an_empty_port_is_no_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # ICMP port unreachable comes back as error_received: logged, not raised.
    assert await discover(timeout=0.2, targets=[("127.0.0.1", port)], bind=("127.0.0.1", 0)) == []


class _Liar(asyncio.DatagramProtocol):
    """A 'device' that answers each probe with junk, a probe, and then one good reply."""

    def __init__(self, good: bytes) -> None:
        self.good = good
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        assert self.transport is not None
        for datagram in (b"junk", b"\xff" * 40, self.good[:30], data, self.good):
            self.transport.sendto(datagram, addr)


async def test_junk_datagrams_are_counted_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "xmcam.protocol.discovery")
    good = encode_search_reply({"MAC": "02:00:00:00:00:01", "SN": "liar", "TCPPort": 1})
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Liar(good), local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        found = await discover(timeout=0.3, targets=[("127.0.0.1", port)], bind=("127.0.0.1", 0))
    finally:
        transport.close()
    assert [device.serial for device in found] == ["liar"]
    assert "3 probes sent, 1 devices, 9 malformed datagrams skipped" in caplog.text


async def test_a_name_target_is_resolved() -> None:
    async with simulators(1) as sims:
        port = cast(int, sims[0].discovery_port)
        found = await discover(timeout=0.3, targets=[("localhost", port)], bind=("127.0.0.1", 0))
    assert [device.serial for device in found] == ["sim-00"]


async def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        await discover(timeout=0)
    with pytest.raises(ValueError, match="repeats"):
        await discover(repeats=0)


async def test_a_port_that_cannot_be_bound_raises_oserror() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))  # no SO_REUSEADDR: the port is not shared
        port = holder.getsockname()[1]
        with pytest.raises(OSError, match="in use"):
            await discover(timeout=0.1, targets=[("127.0.0.1", 9)], bind=("127.0.0.1", port))
