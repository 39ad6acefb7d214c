"""The simulator's alarm-center push, to a real AlarmCenterServer on 127.0.0.1: configured at
start or over the config API, in order, one connection each, a dead server survived, many
simulators pushing at once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest

import xmcam
from tests.waiting import until
from xmcam.aio.alarm_center import AlarmCenterServer
from xmcam.protocol.alarm_center import AlarmCenterMessage
from xmcam.sim import Simulator
from xmcam.sim.alarm_push import alarm_server_target, configure_alarm_center

pytestmark = pytest.mark.timeout(30)


@contextlib.asynccontextmanager
async def center() -> AsyncIterator[tuple[AlarmCenterServer, asyncio.Queue[AlarmCenterMessage]]]:
    received: asyncio.Queue[AlarmCenterMessage] = asyncio.Queue()
    async with AlarmCenterServer("127.0.0.1", 0, on_message=received.put_nowait) as server:
        yield server, received


async def next_message(received: asyncio.Queue[AlarmCenterMessage]) -> AlarmCenterMessage:
    return await asyncio.wait_for(received.get(), 3)


async def test_an_alarm_reaches_the_alarm_center_configured_at_start() -> None:
    async with (
        center() as (server, received),
        Simulator(alarm_center=("127.0.0.1", server.port)) as sim,
    ):
        config = sim.state.get_config("NetWork.AlarmServer")[0]  # the first of the servers
        assert config["Enable"] is True
        assert config["Server"]["Address"] == "0x0100007F"
        assert config["Server"]["Port"] == server.port
        sim.trigger_alarm(channel=0, event="VideoMotion", status="Start")
        start = await next_message(received)
        sim.trigger_alarm(channel=0, event="VideoMotion", status="Stop")
        stop = await next_message(received)
        assert sim.alarm_push.sent == 2
    assert (start.serial, start.address, start.channel) == ("58e7fa5e6e262535", "127.0.0.1", 0)
    assert (start.event, start.status, start.type) == ("VideoMotion", "Start", "Alarm")
    assert stop.status == "Stop"
    assert stop.start_time == start.start_time  # a Stop carries its Start's time
    assert start.started_at is not None
    assert server.stats.connections == 2  # one short connection per alarm


async def test_pushes_keep_the_order_of_the_alarms() -> None:
    async with (
        center() as (server, received),
        Simulator(profile="nvr-8ch", alarm_center=("127.0.0.1", server.port)) as sim,
    ):
        expected = []
        for channel in range(4):
            for status in ("Start", "Stop"):
                sim.trigger_alarm(channel=channel, event="VideoMotion", status=status)
                expected.append((channel, status))
        got = [await next_message(received) for _ in expected]
    assert [(message.channel, message.status) for message in got] == expected
    assert {message.serial for message in got} == {"9b3a0c72d1f6e804"}


async def test_no_push_while_the_alarm_center_is_disabled() -> None:
    async with center() as (server, _), Simulator() as sim:
        sim.trigger_alarm()
        assert alarm_server_target(sim.state.get_config("NetWork.AlarmServer")) is None
        assert sim.alarm_push.sent == sim.alarm_push.failed == 0
        assert server.stats.connections == 0


async def test_the_alarm_center_can_be_set_over_the_config_api() -> None:
    async with center() as (server, received), Simulator() as sim:
        async with xmcam.connect(sim.host, sim.port, timeout=5) as camera:
            config = await camera.get_config("NetWork.AlarmServer")  # a list of servers
            config[0]["Enable"] = True
            config[0]["Server"]["Address"] = "0x0100007F"
            config[0]["Server"]["Port"] = server.port
            await camera.set_config("NetWork.AlarmServer", config)
        sim.trigger_alarm(channel=0, event="HumanDetect", status="Start")
        message = await next_message(received)
        assert message.event == "HumanDetect"
        config[0]["Alarm"] = False  # alarms off, logs only: nothing is pushed
        sim.state.set_config("NetWork.AlarmServer", config)
        sim.trigger_alarm(channel=0, event="HumanDetect", status="Stop")
        await asyncio.sleep(0.1)
        assert received.empty()


async def test_a_network_alarm_from_a_client_is_pushed_too() -> None:
    async with (
        center() as (server, received),
        Simulator(alarm_center=("127.0.0.1", server.port)) as sim,
        xmcam.connect(sim.host, sim.port, timeout=5) as camera,
    ):
        await camera.net_alarm(1)  # OPNetAlarm (1506): the NetAlarm input of channel 0
        message = await next_message(received)
        await camera.net_alarm(0)
        ended = await next_message(received)
    assert (message.event, message.channel, message.status) == ("NetAlarm", 0, "Start")
    assert (ended.event, ended.status) == ("NetAlarm", "Stop")


async def test_a_dead_alarm_center_costs_only_its_messages() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        dead_port = holder.getsockname()[1]  # nothing listens there once it is closed
    async with Simulator(alarm_center=("127.0.0.1", dead_port)) as sim:
        sim.trigger_alarm()
        sim.trigger_alarm(status="Stop")
        await until(lambda: sim.alarm_push.failed >= 2)
        assert sim.alarm_push.sent == 0
        async with center() as (server, received):  # the center comes (back) up elsewhere
            configure_alarm_center(sim.state, "127.0.0.1", server.port)
            sim.trigger_alarm()
            assert (await next_message(received)).status == "Start"


def test_alarm_server_target_reads_the_config_leniently() -> None:
    base = {"Enable": True, "Alarm": True, "Server": {"Address": "0x0100007F", "Port": 15002}}
    assert alarm_server_target(base) == ("127.0.0.1", 15002)
    named = {**base, "Server": {"Address": "0x00000000", "Name": " localhost ", "Port": 15003}}
    assert alarm_server_target(named) == ("localhost", 15003)
    for broken in (
        None,
        {**base, "Enable": False},
        {**base, "Alarm": False},
        {**base, "Server": "x"},
        {**base, "Server": {"Address": "0x0100007F", "Port": 0}},
        {**base, "Server": {"Address": "0x0100007F", "Port": True}},
        {**base, "Server": {"Address": "0x00000000", "Port": 15002}},
        {**base, "Server": {"Address": "nonsense", "Port": 15002}},
    ):
        assert alarm_server_target(broken) is None


def test_alarm_server_target_takes_the_first_enabled_server_of_a_list() -> None:
    off = {"Enable": False, "Alarm": True, "Server": {"Address": "0x0100007F", "Port": 1}}
    on = {"Enable": True, "Alarm": True, "Server": {"Address": "0x0100007F", "Port": 15002}}
    logs_only = {**on, "Alarm": False, "Server": {"Address": "0x0200007F", "Port": 2}}
    assert alarm_server_target([off, logs_only, on, {**on, "Server": {"Port": 3}}]) == (
        "127.0.0.1",
        15002,
    )
    assert alarm_server_target([off, logs_only]) is None
    assert alarm_server_target([]) is None


async def test_the_xm530_s_list_of_alarm_servers() -> None:
    async with center() as (server, received), Simulator(profile="xm530") as sim:
        configure_alarm_center(sim.state, "127.0.0.1", server.port)
        servers = sim.state.get_config("NetWork.AlarmServer")
        assert len(servers) == 5  # the camera's five, the first one set
        assert servers[0]["Enable"] is True
        assert servers[0]["Server"]["Port"] == server.port
        assert all(entry["Enable"] is False for entry in servers[1:])
        sim.trigger_alarm(channel=0, event="VideoMotion", status="Start")
        message = await next_message(received)
        assert (message.serial, message.event) == ("09d53d540f99b818", "VideoMotion")


async def test_configure_alarm_center_takes_a_name_and_checks_the_port() -> None:
    async with Simulator() as sim:
        configure_alarm_center(sim.state, "alarms.example", 15003)
        server = sim.state.get_config("NetWork.AlarmServer")[0]["Server"]
        assert (server["Name"], server["Address"], server["Port"]) == (
            "alarms.example",
            "0x00000000",
            15003,
        )
        with pytest.raises(ValueError, match="port"):
            configure_alarm_center(sim.state, "127.0.0.1", 0)


async def test_many_simulators_push_at_once() -> None:
    async with center() as (server, received), contextlib.AsyncExitStack() as stack:
        sims = [
            await stack.enter_async_context(
                Simulator(serial=f"cam-{n:02d}", alarm_center=("127.0.0.1", server.port))
            )
            for n in range(20)
        ]
        for _ in range(5):
            for sim in sims:
                sim.trigger_alarm(status="Start")
                sim.trigger_alarm(status="Stop")
        got = [await next_message(received) for _ in range(200)]
    assert {message.serial for message in got} == {f"cam-{n:02d}" for n in range(20)}
    for n in range(20):  # each camera's edges arrive in order
        statuses = [message.status for message in got if message.serial == f"cam-{n:02d}"]
        assert statuses == ["Start", "Stop"] * 5
    assert server.stats.rejected == 0
