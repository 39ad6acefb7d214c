"""The simulator's discovery responder on 127.0.0.1: replies from NetCommon with the real TCP
port, identities of several simulators of one profile, the fault knob, junk ignored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.waiting import until
from xmcam.protocol import encode_frame
from xmcam.protocol.discovery import parse_search_reply, search_probe
from xmcam.sim import Simulator, SimulatorThread, load_profile
from xmcam.sim.discovery import with_identity

pytestmark = pytest.mark.timeout(30)


class Probe(asyncio.DatagramProtocol):
    """A client socket on 127.0.0.1 that keeps what it receives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, Any]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.received.put_nowait((data, addr))


@pytest.fixture
async def client() -> AsyncIterator[tuple[asyncio.DatagramTransport, Probe]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Probe, local_addr=("127.0.0.1", 0))
    yield transport, protocol
    transport.close()


async def test_no_udp_unless_asked() -> None:
    async with Simulator() as sim:
        assert sim.discovery is None
        assert sim.discovery_port is None


async def test_a_probe_gets_the_state_s_net_common_with_the_real_port(
    client: tuple[asyncio.DatagramTransport, Probe],
) -> None:
    transport, probe = client
    async with Simulator(discovery_port=0) as sim:
        assert sim.discovery_port
        transport.sendto(search_probe(), ("127.0.0.1", sim.discovery_port))
        data, addr = await asyncio.wait_for(probe.received.get(), 2)
        assert addr == ("127.0.0.1", sim.discovery_port)
        device = parse_search_reply(data, addr[0])
        assert device.tcp_port == sim.port
        assert device.host == "127.0.0.1"
        assert device.serial == "58e7fa5e6e262535"  # the seed camera's
        assert device.mac == "00:12:31:6e:26:25"
        assert device.channels == 1
        assert device.device_type == 40
        assert device.tcp_max_conn == 10
        assert device.raw["HostName"] == "LocalHost"
        # The reply reads the state: a config change shows in the next reply.
        net_common = sim.state.get_config("NetWork.NetCommon")
        sim.state.set_config("NetWork.NetCommon", dict(net_common, HostName="Garage"))
        transport.sendto(search_probe(), ("127.0.0.1", sim.discovery_port))
        data, _ = await asyncio.wait_for(probe.received.get(), 2)
        assert parse_search_reply(data, "127.0.0.1").name == "Garage"
        assert (sim.discovery.probes, sim.discovery.replies) == (2, 2)  # type: ignore[union-attr]


async def test_a_probe_with_a_body_is_answered_and_junk_is_not(
    client: tuple[asyncio.DatagramTransport, Probe],
) -> None:
    transport, probe = client
    async with Simulator(discovery_port=0) as sim:
        port = sim.discovery_port
        assert port is not None
        for junk in (b"", b"hello", b"\x00" * 20, encode_frame(1000, b"{}"), search_probe()[:19]):
            transport.sendto(junk, ("127.0.0.1", port))
        transport.sendto(encode_frame(1530, b'{ "Name" : "" }\n'), ("127.0.0.1", port))
        data, _ = await asyncio.wait_for(probe.received.get(), 2)
        assert parse_search_reply(data, "127.0.0.1").tcp_port == sim.port
        assert sim.discovery is not None
        assert sim.discovery.probes == 1
        assert probe.received.empty()


async def test_answer_every_is_the_fault_knob(
    client: tuple[asyncio.DatagramTransport, Probe],
) -> None:
    transport, probe = client
    async with Simulator(discovery_port=0) as sim:
        assert sim.discovery is not None
        assert sim.discovery_port is not None
        sim.discovery.answer_every = 2
        for _ in range(4):
            transport.sendto(search_probe(), ("127.0.0.1", sim.discovery_port))
        await asyncio.wait_for(probe.received.get(), 2)
        await asyncio.wait_for(probe.received.get(), 2)
        responder = sim.discovery
        responder.answer_every = 0  # silent
        transport.sendto(search_probe(), ("127.0.0.1", sim.discovery_port))
        await until(lambda: responder.probes >= 5)  # the silent probe was read
        assert (responder.probes, responder.replies) == (5, 2)
        assert probe.received.empty()


async def test_serial_and_mac_tell_simulators_of_one_profile_apart() -> None:
    async with (
        Simulator(serial="cam-one") as one,
        Simulator(serial="cam-two") as two,
        Simulator(serial="cam-three", mac="02:00:00:00:00:03") as three,
    ):
        macs = {sim.state.get_config("NetWork.NetCommon")["MAC"] for sim in (one, two, three)}
        assert len(macs) == 3
        assert "02:00:00:00:00:03" in macs
        assert all(mac.startswith("00:12:31:") for mac in macs - {"02:00:00:00:00:03"})
        assert one.profile.system_info["SerialNo"] == "cam-one"
        assert two.state.get_config("NetWork.NetCommon")["SN"] == "cam-two"


def test_with_identity_checks_its_arguments() -> None:
    profile = load_profile()
    assert with_identity(profile, mac="AA:BB:CC:DD:EE:FF").config["NetWork.NetCommon"]["MAC"] == (
        "aa:bb:cc:dd:ee:ff"
    )
    assert with_identity(profile, serial="x").system_info["SerialNo"] == "x"
    assert profile.system_info["SerialNo"] == "58e7fa5e6e262535"  # the original is unchanged
    with pytest.raises(ValueError, match="MAC"):
        with_identity(profile, mac="00:11:22")
    with pytest.raises(ValueError, match="serial"):
        with_identity(profile, serial="")


def test_the_thread_wrapper_answers_too() -> None:
    import socket  # noqa: PLC0415

    with SimulatorThread(discovery_port=0) as sim:
        port = sim.simulator.discovery_port
        assert port is not None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2)
            sock.bind(("127.0.0.1", 0))
            sock.sendto(search_probe(), ("127.0.0.1", port))
            data, addr = sock.recvfrom(65536)
        assert parse_search_reply(data, addr[0]).tcp_port == sim.port
