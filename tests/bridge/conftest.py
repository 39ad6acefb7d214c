"""A real Mosquitto broker for the bridge's tests, a subscriber that records what reaches it,
and a gate that cuts the bridge off from the broker on demand.

The broker is the Debian package's /usr/sbin/mosquitto with a generated configuration: one
listener on 127.0.0.1 on a free port, anonymous clients, no persistence (a restart forgets
every retained message and session, as a real crash without a persistence file does). It is
ready when it logs "running"; `kill()` ends it with SIGKILL and `start()` brings it back on
the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Any

import aiomqtt
import pytest

from tests.tools import require_tool

MOSQUITTO = "/usr/sbin/mosquitto"
READY_TIMEOUT = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Mosquitto:
    """One mosquitto process on 127.0.0.1:`port`, started and stopped by the tests."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._drain: threading.Thread | None = None
        self.log: list[str] = []

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.directory / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            f"user {getpass.getuser()}\n"  # as root it would switch to "mosquitto"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        )
        process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.process = process
        assert process.stderr is not None
        try:
            self._wait_ready(process.stderr)
        except BaseException:
            self.kill()
            raise
        self._drain = threading.Thread(target=self._read_rest, args=(process.stderr,))
        self._drain.start()

    def _wait_ready(self, stream: IO[bytes]) -> None:
        # Raw reads: a buffered readline() would keep lines that select() then never sees.
        deadline = time.monotonic() + READY_TIMEOUT
        pending = b""
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                assert left > 0, f"mosquitto did not start: {self.log}"
                if not selector.select(left):
                    continue
                chunk = os.read(stream.fileno(), 4096)
                assert chunk, f"mosquitto exited: {self.log}"
                *lines, pending = (pending + chunk).split(b"\n")
                self.log.extend(line.decode(errors="replace").strip() for line in lines)
                if any(line.endswith(b" running") for line in lines):
                    return

    def _read_rest(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.log.append(line.decode(errors="replace").strip())

    def kill(self) -> None:
        """End it at once, as a crash would: no goodbye to any client."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def pause(self) -> None:
        """Freeze it (SIGSTOP): connections stay up, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def _end(self, how: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)  # a paused broker would not end on SIGTERM
            process.send_signal(how)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # Mosquitto can miss a SIGTERM that arrives while it is still starting (its
            # handlers are not installed yet): the test is over either way, so end it hard.
            process.kill()
            process.wait(timeout=10)
        if self._drain is not None:
            self._drain.join(timeout=10)
            self._drain = None
        if process.stderr is not None:
            process.stderr.close()


@contextlib.contextmanager
def running_mosquitto(directory: Path) -> Iterator[Mosquitto]:
    """A started broker, stopped (and waited for) at the end. Without mosquitto installed the
    test is skipped (failed under CI: tests/tools.py)."""
    require_tool(MOSQUITTO)
    mosquitto = Mosquitto(directory)
    for _ in range(3):  # the free port may be taken between the probe and the start
        try:
            mosquitto.start()
            break
        except AssertionError:
            mosquitto.port = free_port()
    else:
        pytest.fail(f"mosquitto never started: {mosquitto.log}")
    try:
        yield mosquitto
    finally:
        mosquitto.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with running_mosquitto(tmp_path) as mosquitto:
        yield mosquitto


# ------------------------------------------------------------------ what reaches the broker


class Subscriber:
    """An MQTT client subscribed to everything (`#`), recording each message in order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[aiomqtt.Message] = []
        self._arrived = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Subscriber:
        client = aiomqtt.Client("127.0.0.1", self.port, timeout=5)
        await client.__aenter__()
        self._client = client
        await client.subscribe("#", qos=1)
        self._reader = asyncio.create_task(self._read(client))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._reader
        if self._client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.__aexit__(None, None, None)

    async def _read(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            async for message in client.messages:
                self.messages.append(message)
                self._arrived.set()

    async def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        assert self._client is not None
        await self._client.publish(topic, payload, qos=1, retain=retain)

    def on(self, topic: str) -> list[str]:
        """The payloads on `topic` so far, in order, as text."""
        return [text(message) for message in self.messages if message.topic.value == topic]

    async def wait_for(
        self, check: Callable[[Subscriber], bool], timeout: float = 4.0, what: str = ""
    ) -> None:
        """Wait until `check(self)` holds; it is tried again at each message."""
        try:
            async with asyncio.timeout(timeout):
                while not check(self):
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            seen = [(m.topic.value, text(m)) for m in self.messages[-20:]]
            pytest.fail(f"never happened: {what or check}; last messages: {seen}")

    async def wait_payload(self, topic: str, payload: str, timeout: float = 4.0) -> None:
        """Wait until `payload` is the latest message on `topic`."""
        await self.wait_for(
            lambda sub: sub.on(topic)[-1:] == [payload], timeout, f"{topic} = {payload}"
        )

    async def wait_count(self, topic: str, count: int, timeout: float = 4.0) -> list[str]:
        await self.wait_for(lambda sub: len(sub.on(topic)) >= count, timeout, f"{count} on {topic}")
        return self.on(topic)

    def events(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(payload) for payload in self.on(topic)]


def text(message: aiomqtt.Message) -> str:
    payload = message.payload
    return payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)


@contextlib.asynccontextmanager
async def subscribed(port: int) -> AsyncIterator[Subscriber]:
    async with Subscriber(port) as subscriber:
        yield subscriber


# ------------------------------------------------------------------ a gate before the broker


class Gate:
    """A TCP relay on 127.0.0.1 in front of the broker. Closed, it drops every connection
    through it and stops listening (a new connection is refused, as by a host whose broker
    is down), so a test decides when the bridge may reach the broker again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Gate:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def open(self) -> None:
        self._server = await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if server is not None:
            await server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, upstream_writer))
        pumps = [
            asyncio.create_task(self._pump(reader, upstream_writer)),
            asyncio.create_task(self._pump(upstream_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._tasks.difference_update(pumps)
            for end in (writer, upstream_writer):
                self._writers.discard(end)
                end.transport.abort()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
