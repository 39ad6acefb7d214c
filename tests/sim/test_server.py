"""The simulator over real TCP on 127.0.0.1: every fault knob, bad input that closes one
connection while the others are served, TCPMaxConn, expiry, reboot, the thread wrapper."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.seed import SEED_FRAMES
from tests.waiting import until
from xmcam.protocol import (
    AlarmMessage,
    ClientConnection,
    ClientEvent,
    LoginReply,
    MessageId,
    Reply,
    UnexpectedFrame,
    encode_body,
    encode_frame,
)
from xmcam.sim import Simulator, SimulatorThread, load_profile
from xmcam.sim import server as server_module
from xmcam.sim.faults import GARBAGE_MESSAGE_ID, Faults

# The asyncio tests run on a loop whose clock skips idle waits (tests/virtual_time.py): the
# simulator keeps that loop's time, so its expiries, delays and reboots take no real time.
pytestmark = [pytest.mark.timeout(30), pytest.mark.virtual_time]


class RawClient:
    """The core's client role on an asyncio stream: just enough to drive the simulator."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.protocol = ClientConnection()
        self.events: list[ClientEvent] = []
        self.reads = 0

    @classmethod
    async def open(cls, simulator: Simulator) -> RawClient:
        reader, writer = await asyncio.open_connection(simulator.host, simulator.port)
        return cls(reader, writer)

    async def next_event(self, timeout: float = 2.0) -> ClientEvent:
        while not self.events:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionResetError("closed by the simulator")
            self.reads += 1
            self.events += self.protocol.receive_data(data)
        return self.events.pop(0)

    async def login(self, password: str = "") -> LoginReply:
        self.writer.write(self.protocol.login("admin", password))
        reply = await self.next_event()
        assert isinstance(reply, LoginReply)
        return reply

    async def call(self, message_id: int, body: dict[str, Any], timeout: float = 2.0) -> Reply:
        self.writer.write(self.protocol.request(message_id, body))
        while True:
            event = await self.next_event(timeout)
            if isinstance(event, Reply):
                return event

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator() as running:
        yield running


async def test_serves_the_seed_login_byte_for_byte() -> None:
    # The seed's camera numbered its sessions from 1 (the simulator's own are random).
    async with Simulator(load_profile().with_quirks(session_ids="sequential")) as simulator:
        reader, writer = await asyncio.open_connection(simulator.host, simulator.port)
        writer.write(SEED_FRAMES[0].payload)
        expected = SEED_FRAMES[1].payload
        assert await asyncio.wait_for(reader.readexactly(len(expected)), 2) == expected
        writer.close()
        await writer.wait_closed()


async def test_many_clients_and_alarm_pushes(simulator: Simulator) -> None:
    clients = [await RawClient.open(simulator) for _ in range(3)]
    for client in clients:
        assert (await client.login()).ok
    assert simulator.session_count == 3
    assert (await clients[0].call(MessageId.GUARD_REQ, {"Name": ""})).ok
    assert simulator.trigger_alarm(0, "VideoMotion", "Start") == 1
    alarm = await clients[0].next_event()
    assert isinstance(alarm, AlarmMessage)
    assert alarm.body.data["AlarmInfo"]["Event"] == "VideoMotion"
    for client in clients:
        await client.close()


async def test_reply_delay(simulator: Simulator) -> None:
    client = await RawClient.open(simulator)
    await client.login()
    simulator.faults.reply_delay = 0.3
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await client.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})).ok
    assert loop.time() - started >= 0.29
    await client.close()


async def test_silent_ids_never_answer(simulator: Simulator) -> None:
    client = await RawClient.open(simulator)
    await client.login()
    simulator.faults.silent_ids = {MessageId.SYSINFO_REQ}
    with pytest.raises(TimeoutError):
        await client.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"}, timeout=0.3)
    await client.close()


async def test_drop_after_frames(simulator: Simulator) -> None:
    simulator.faults.drop_after_frames = 2
    client = await RawClient.open(simulator)
    await client.login()
    with pytest.raises(ConnectionResetError):
        await client.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    await client.close()


async def test_write_chunk_splits_replies_into_many_reads(simulator: Simulator) -> None:
    client = await RawClient.open(simulator)
    await client.login()
    simulator.faults.write_chunk = 7
    reads = client.reads
    reply = await client.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
    assert reply.body.data["SystemInfo"]["HardWare"] == "HI3516D_83H50N"
    assert client.reads - reads > 5  # 655 bytes in 7-byte pieces: never one read
    await client.close()


async def test_split_writes_never_interleave(simulator: Simulator) -> None:
    client = await RawClient.open(simulator)
    await client.login()
    simulator.faults.write_chunk = 1
    simulator.faults.garbage = True  # two frames per reply, each split into single bytes
    reply = await client.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
    assert reply.body.data["SystemInfo"]["HardWare"] == "HI3516D_83H50N"
    await client.close()


async def test_coalesce_packs_a_reply_and_a_push_into_one_write(simulator: Simulator) -> None:
    client = await RawClient.open(simulator)
    await client.login()
    await client.call(MessageId.GUARD_REQ, {"Name": ""})
    simulator.faults.coalesce = True
    client.writer.write(client.protocol.request(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}))
    simulator.trigger_alarm()
    data = await asyncio.wait_for(client.reader.read(65536), 2)
    kinds = sorted(type(event).__name__ for event in client.protocol.receive_data(data))
    assert kinds == ["AlarmMessage", "Reply"]  # both in the one read
    await client.close()


async def test_omit_terminator(simulator: Simulator) -> None:
    client = await RawClient.open(simulator)
    await client.login()
    simulator.faults.omit_terminator = True
    reply = await client.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    assert reply.ok
    assert reply.frame.payload.endswith(b"}")
    assert reply.body.terminator == b""
    await client.close()


async def test_omit_terminator_applies_to_alarm_pushes(simulator: Simulator) -> None:
    client = await RawClient.open(simulator)
    await client.login()
    await client.call(MessageId.GUARD_REQ, {"Name": ""})
    simulator.faults.omit_terminator = True
    simulator.trigger_alarm()
    alarm = await client.next_event()
    assert isinstance(alarm, AlarmMessage)
    assert alarm.frame.payload.endswith(b"}")
    await client.close()


async def test_garbage_frames_come_before_replies(simulator: Simulator) -> None:
    client = await RawClient.open(simulator)
    await client.login()
    simulator.faults.garbage = True
    client.writer.write(client.protocol.request(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}))
    junk = await client.next_event()
    assert isinstance(junk, UnexpectedFrame)
    assert junk.frame.message_id == GARBAGE_MESSAGE_ID
    assert isinstance(await client.next_event(), Reply)
    await client.close()


def test_faults_describe_themselves() -> None:
    assert Faults().describe() == "none"
    assert Faults(reply_delay=1.5, coalesce=True).describe() == "reply_delay=1.5, coalesce=True"


@pytest.mark.parametrize(
    "poison",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # a bad head byte
        struct.pack("<BBBBIIBBHI", 0xFF, 0, 0, 0, 0, 0, 0, 0, 1000, 0x80000000),  # absurd length
        struct.pack("<BBBBIIBBHI", 0xFF, 0, 0, 0, 0, 0, 0, 0, 1000, 5) + b"{bad}",  # broken JSON
        struct.pack("<BBBBIIBBHI", 0xFF, 0, 0, 0, 0, 0, 0, 0, 1000, 4) + b"\xff\xfe\xfd\xfc",
    ],
    ids=["head-byte", "length", "json", "non-utf8"],
)
async def test_bad_input_closes_that_connection_only(
    simulator: Simulator, poison: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    good = await RawClient.open(simulator)
    await good.login()
    reader, writer = await asyncio.open_connection(simulator.host, simulator.port)
    writer.write(poison)
    assert await asyncio.wait_for(reader.read(100), 2) == b""  # closed, nothing said
    writer.close()
    await writer.wait_closed()
    assert (await good.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})).ok
    assert "closed" in caplog.text
    await good.close()


async def test_tcp_max_conn_over_tcp(tmp_path: Path) -> None:
    profile = load_profile()
    config = dict(profile.config)
    config["NetWork.NetCommon"] = dict(config["NetWork.NetCommon"], TCPMaxConn=2)
    data = json.loads(Path("src/xmcam/sim/profiles/ipc-seed.json").read_text())
    data["config"] = config
    path = tmp_path / "two.json"
    path.write_text(json.dumps(data))
    async with Simulator(path) as simulator:
        first, second = await RawClient.open(simulator), await RawClient.open(simulator)
        await first.login()
        await second.login()
        reader, writer = await asyncio.open_connection(simulator.host, simulator.port)
        assert await asyncio.wait_for(reader.read(100), 2) == b""
        writer.close()
        await writer.wait_closed()
        await first.close()
        await second.close()


async def test_idle_sessions_expire_and_keepalive_holds_them() -> None:
    profile = load_profile().with_alive_interval(1).with_quirks(session_expiry_intervals=1.0)
    async with Simulator(profile) as simulator:
        idle, busy = await RawClient.open(simulator), await RawClient.open(simulator)
        await idle.login()
        await busy.login()
        for _ in range(6):  # 1.8 s: past the 1 s expiry
            await asyncio.sleep(0.3)
            assert (await busy.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})).ok
        assert await asyncio.wait_for(idle.reader.read(100), 2) == b""
        assert simulator.session_count == 1
        await idle.close()
        await busy.close()


async def test_reboot_drops_everyone_and_listens_again() -> None:
    profile = load_profile().with_quirks(reboot_delay=0.2)
    async with Simulator(profile) as simulator:
        port = simulator.port
        client = await RawClient.open(simulator)
        await client.login()
        body = {"Name": "OPMachine", "OPMachine": {"Action": "Reboot"}}
        assert (await client.call(MessageId.SYSMANAGER_REQ, body)).ok
        assert await asyncio.wait_for(client.reader.read(100), 2) == b""
        await client.close()
        await until(lambda: simulator.listening)
        assert simulator.port == port
        again = await RawClient.open(simulator)
        assert (await again.login()).ok
        assert simulator.reboots == 1
        await again.close()


async def test_alarm_every() -> None:
    async with Simulator(alarm_every=0.1) as simulator:
        client = await RawClient.open(simulator)
        await client.login()
        await client.call(MessageId.GUARD_REQ, {"Name": ""})
        statuses: list[str] = []
        while len(statuses) < 2:
            event = await client.next_event()
            if isinstance(event, AlarmMessage):
                statuses.append(event.body.data["AlarmInfo"]["Status"])
        assert statuses in (["Start", "Stop"], ["Stop", "Start"])
        await client.close()


async def test_state_file_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    async with Simulator(state_path=path) as simulator:
        client = await RawClient.open(simulator)
        await client.login()
        body = {"Name": "General.General", "General.General": {"MachineName": "Porch"}}
        assert (await client.call(MessageId.CONFIG_SET_REQ, body)).ok
        await client.close()
    async with Simulator(state_path=path) as simulator:
        assert simulator.state.get_config("General.General")["MachineName"] == "Porch"


async def test_user_and_password_options() -> None:
    async with Simulator(user="owner", password="s3cret") as simulator:
        client = await RawClient.open(simulator)
        client.writer.write(client.protocol.login("owner", "s3cret"))
        reply = await client.next_event()
        assert isinstance(reply, LoginReply)
        assert reply.ok
        await client.close()


def test_simulator_thread_for_blocking_code() -> None:
    with SimulatorThread(channels=2) as simulator:
        assert simulator.simulator.profile.channels.video == 2
        with socket.create_connection((simulator.host, simulator.port), timeout=2) as sock:
            client = ClientConnection()
            sock.sendall(client.login("admin", ""))
            events = client.receive_data(sock.recv(4096))
            assert isinstance(events[0], LoginReply)
            assert simulator.call(lambda: simulator.simulator.session_count) == 1
            sock.sendall(client.request(MessageId.GUARD_REQ, {"Name": ""}))
            client.receive_data(sock.recv(4096))
            assert simulator.trigger_alarm() == 1
            (alarm,) = client.receive_data(sock.recv(4096))
            assert isinstance(alarm, AlarmMessage)
            simulator.drop_connections()
            assert sock.recv(100) == b""
        assert simulator.faults is simulator.simulator.faults
        assert simulator.state is simulator.simulator.state


# ---------------------------------------------------------------------- hostile clients


def _keepalive(session: int, sequence: int) -> bytes:
    body = encode_body({"Name": "KeepAlive", "SessionID": f"0x{session:08X}"})
    return encode_frame(MessageId.KEEPALIVE_REQ, body, session_id=session, sequence=sequence)


async def _flood_without_reading(simulator: Simulator, seconds: float) -> socket.socket:
    """A client that logs in, then sends config reads as fast as it can and reads nothing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((simulator.host, simulator.port))
    client = ClientConnection()
    sock.sendall(client.login("admin", ""))
    await asyncio.sleep(0.05)
    client.receive_data(sock.recv(4096))
    sock.setblocking(False)
    session = client.session_id or 0
    body = encode_body({"Name": "Detect", "SessionID": f"0x{session:08X}"})
    burst = encode_frame(MessageId.CONFIG_GET_REQ, body, session_id=session) * 50
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        with contextlib.suppress(BlockingIOError):
            sock.send(burst)
        await asyncio.sleep(0)
    return sock


def _unsent(simulator: Simulator) -> int:
    return sum(link.unsent for link in simulator.links.values())


async def test_a_client_that_never_reads_cannot_fill_the_memory(simulator: Simulator) -> None:
    sock = await _flood_without_reading(simulator, 0.5)
    try:
        assert _unsent(simulator) <= server_module.MAX_UNSENT
        good = await RawClient.open(simulator)  # everyone else is served meanwhile
        assert (await good.login()).ok
        assert (await good.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})).ok
        await good.close()
    finally:
        sock.close()


async def test_alarm_pushes_to_a_session_that_never_reads_are_bounded(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(server_module, "MAX_UNSENT", 64 * 1024)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((simulator.host, simulator.port))
    try:
        client = ClientConnection()
        sock.sendall(client.login("admin", ""))
        await asyncio.sleep(0.05)
        client.receive_data(sock.recv(4096))
        sock.sendall(client.request(MessageId.GUARD_REQ, {"Name": ""}))
        await asyncio.sleep(0.05)
        for count in range(40000):  # up to ~8 MiB of pushes, more than the kernel takes
            simulator.trigger_alarm()
            assert _unsent(simulator) <= 64 * 1024
            if count % 500 == 0 and "cut off" in caplog.text:
                break
        await asyncio.sleep(0.05)
        assert count < 39999
        assert simulator.connection_count == 0  # cut off, not buffered for ever
    finally:
        sock.close()


async def test_a_closed_connection_that_never_reads_frees_its_slot(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "CLOSE_GRACE", 0.1)
    sock = await _flood_without_reading(simulator, 0.2)
    try:
        assert simulator.connection_count == 1
        simulator.drop_connections()  # as expiry does: close, but the replies cannot leave
        for _ in range(40):
            await asyncio.sleep(0.025)
            if simulator.connection_count == 0:
                break
        assert simulator.connection_count == 0
    finally:
        sock.close()


async def _two_keepalives(simulator: Simulator, first: Faults, then: Faults) -> list[int]:
    """Sequence numbers of the replies to two keepalives, the knobs changed between them."""
    client = await RawClient.open(simulator)
    await client.login()
    simulator.faults.__dict__.update(vars(first))
    session = client.protocol.session_id or 0
    client.writer.write(_keepalive(session, 10))
    await asyncio.sleep(0.002)
    simulator.faults.__dict__.update(vars(then))
    client.writer.write(_keepalive(session, 11))
    sequences: list[int] = []
    while len(sequences) < 2:
        event = await client.next_event()  # replies to requests it did not send: unexpected
        if isinstance(event, UnexpectedFrame) and event.frame.message_id == 1007:
            sequences.append(event.frame.sequence)
    await client.close()
    return sequences


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (Faults(reply_delay=0.2), Faults()),
        (Faults(reply_delay=0.2), Faults(reply_delay=0.01)),
        (Faults(coalesce=True), Faults()),
        (Faults(write_chunk=1), Faults()),
        (Faults(write_chunk=1), Faults(write_chunk=5000)),
        (Faults(write_chunk=3, coalesce=True, garbage=True, reply_delay=0.05), Faults()),
        (Faults(), Faults(write_chunk=2, coalesce=True, garbage=True, reply_delay=0.01)),
    ],
    ids=[
        "delay-off",
        "delay-shorter",
        "coalesce-off",
        "chunk-off",
        "chunk-bigger",
        "all-off",
        "all-on",
    ],
)
async def test_knobs_changed_mid_stream_keep_replies_whole_and_in_order(
    simulator: Simulator, first: Faults, then: Faults
) -> None:
    assert await _two_keepalives(simulator, first, then) == [10, 11]


async def test_two_reboot_requests_reboot_once() -> None:
    profile = load_profile().with_quirks(reboot_delay=0.1)
    async with Simulator(profile) as simulator:
        client = await RawClient.open(simulator)
        await client.login()
        session = client.protocol.session_id or 0
        body = {"Name": "OPMachine", "OPMachine": {"Action": "Reboot"}, "SessionID": hex(session)}
        frame = encode_frame(MessageId.SYSMANAGER_REQ, encode_body(body), session_id=session)
        client.writer.write(frame + frame)
        await asyncio.sleep(0.4)
        assert simulator.listening
        assert simulator.reboots == 1
        tasks = simulator._tasks  # noqa: SLF001  (no task of the simulator died)
        failed = [task for task in tasks if task.done() and task.exception()]
        assert failed == []
        await client.close()
