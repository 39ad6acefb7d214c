"""The rig the MQTT bridge benchmarks share (`bridge_latency.py`, `bridge_scale.py`): a
Mosquitto broker, simulator processes that trigger alarms on demand, the bridge's figures read
from /proc, and the subscriber that stamps what the bridge publishes. Loopback only; every
child is stopped at the end, also on error or Ctrl-C.

A simulator process is the benchmark script itself, run with `--serve FIRST COUNT SEED`: it
calls `serve()`, prints its ports as a JSON line, and on "go RATE SECONDS" triggers alarms
on its cameras and prints when it did (`start_alarms()`, `collect_triggers()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

MOSQUITTO = "/usr/sbin/mosquitto"

SimulatorGroup = tuple[subprocess.Popen[bytes], list[int]]
"""A simulator process and the ports of its cameras."""
Trigger = tuple[int, str, float]
"""An alarm a simulator process triggered: (camera number, "Start" or "Stop", monotonic time)."""


# ------------------------------------------------------------------ in a simulator process


async def serve(first: int, count: int, seed: int, serial: str) -> None:
    """Run `count` simulators (serials `serial.format(number)`, numbered from `first`); print
    their ports; on "go RATE SECONDS" trigger alarms and print when; end on "stop" or EOF."""
    from xmcam.sim import Simulator  # noqa: PLC0415  (the child needs only this)

    async with contextlib.AsyncExitStack() as stack:
        sims = [
            await stack.enter_async_context(Simulator(serial=serial.format(first + index)))
            for index in range(count)
        ]
        print(json.dumps({"ports": [sim.port for sim in sims]}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        command = (await reader.readline()).decode().split()
        if command[:1] != ["go"]:
            return
        rate, seconds = float(command[1]), float(command[2])
        triggers = await _trigger(sims, first, rate, seconds, random.Random(seed))
        print(json.dumps({"triggers": triggers}), flush=True)
        await reader.readline()  # "stop", or EOF


async def _trigger(
    sims: Sequence[Any], first: int, rate: float, seconds: float, rng: random.Random
) -> list[Trigger]:
    """Alarms at a steady `rate` for `seconds` on cameras picked at random, alternately Start
    and Stop per camera, each stamped just before it is triggered."""
    started = time.monotonic()
    statuses = ["Stop"] * len(sims)
    triggers: list[Trigger] = []
    for number in range(int(rate * seconds)):
        delay = started + number / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        index = rng.randrange(len(sims))
        statuses[index] = "Start" if statuses[index] == "Stop" else "Stop"
        triggers.append((first + index, statuses[index], time.monotonic()))
        sims[index].trigger_alarm(0, "VideoMotion", statuses[index])
    return triggers


# ------------------------------------------------------------------ processes and /proc


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cores() -> tuple[set[int] | None, set[int] | None]:
    """(the bridge's cores, everyone else's), or (None, None) with a single core."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return {available[0]}, set(available[1:])


def pin(pid: int, where: set[int] | None) -> None:
    if where is not None:
        os.sched_setaffinity(pid, where)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (/proc counts in ticks, 10 ms here)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, name: str) -> int:
    """A line of /proc/PID/status in KiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise LookupError(name)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Children to stop at the end, whatever happens."""
    children: list[subprocess.Popen[bytes]] = []
    try:
        yield children
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in reversed(children):
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            for stream in (child.stdin, child.stdout):
                if stream is not None:
                    stream.close()


def start_mosquitto(directory: Path, children: list[subprocess.Popen[bytes]]) -> int:
    """A broker on a free loopback port, no persistence; its port once it accepts."""
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"user {os.environ.get('USER', 'root')}\nlog_dest none\nmax_queued_messages 100000\n"
    )
    children.append(subprocess.Popen([MOSQUITTO, "-c", str(config)]))  # noqa: S603 - fixed path
    deadline = time.monotonic() + 5
    while True:  # ready when it accepts a connection
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return port
        if time.monotonic() > deadline:
            raise SystemExit("mosquitto did not start")
        time.sleep(0.02)


def start_simulators(
    script: str,
    count: int,
    per_process: int,
    children: list[subprocess.Popen[bytes]],
    where: set[int] | None,
) -> list[SimulatorGroup]:
    """`count` cameras, `per_process` at most in each process (`script --serve`), pinned to
    `where`; each process with its ports, once every one has printed them."""
    started = []
    for first in range(0, count, per_process):
        size = min(per_process, count - first)
        child = subprocess.Popen(  # noqa: S603 - the benchmark script, in our own interpreter
            [sys.executable, script, "--serve", str(first), str(size), str(first + 1)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        children.append(child)
        pin(child.pid, where)
        started.append(child)
    return [(child, read_json(child.stdout)["ports"]) for child in started]


def read_json(stream: IO[bytes] | None) -> dict[str, Any]:
    """The next line a simulator process printed."""
    assert stream is not None
    line = stream.readline()
    if not line:
        raise SystemExit("a simulator process ended early")
    value: dict[str, Any] = json.loads(line)
    return value


def write_inventory(path: Path, ports: Sequence[int], name: str) -> None:
    """The bridge's inventory: a camera per port, named `name.format(index)`."""
    path.write_text(
        "".join(
            f'[[camera]]\nname = "{name.format(index)}"\nhost = "127.0.0.1"\nport = {port}\n'
            for index, port in enumerate(ports)
        )
    )


def start_alarms(groups: Sequence[SimulatorGroup], rate: float, seconds: float) -> None:
    """Every simulator process triggers alarms for `seconds`, `rate` per second in all."""
    for child, _ in groups:
        assert child.stdin is not None
        child.stdin.write(f"go {rate / len(groups)} {seconds}\n".encode())
        child.stdin.flush()


async def collect_triggers(groups: Sequence[SimulatorGroup]) -> list[Trigger]:
    """What `start_alarms()` triggered, once every process has finished."""
    return [
        (int(number), str(status), float(when))
        for child, _ in groups
        for number, status, when in (await asyncio.to_thread(read_json, child.stdout))["triggers"]
    ]


# ------------------------------------------------------------------ the subscriber


class Recorder:
    """The subscriber: events per camera with their arrival time, who is online, and (when
    given a probe topic) the probes' round trips."""

    def __init__(self, probe_topic: str | None = None) -> None:
        self.probe_topic = probe_topic
        self.events: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.online: set[str] = set()
        self.probes: list[float] = []
        self.changed = asyncio.Event()

    def take(self, topic: str, payload: bytes, arrived: float) -> None:
        if topic == self.probe_topic:
            self.probes.append(arrived - float(payload))
            return
        _, camera, kind = topic.split("/", 2)
        if kind == "event":
            self.events.setdefault(camera, []).append((arrived, json.loads(payload)))
        elif kind == "availability":
            (self.online.add if payload == b"online" else self.online.discard)(camera)
        self.changed.set()

    def received(self) -> int:
        return sum(len(items) for items in self.events.values())

    async def until(self, check: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"timed out waiting for {what}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))

    def latencies(self, triggers: Sequence[Trigger], name: str) -> tuple[list[float], int]:
        """Each trigger matched to the event of the same camera (`name.format(number)`) in the
        same position (pushes on one session arrive in order, and the bridge keeps it): the
        latencies in seconds, and how many matched events had another status."""
        by_camera: dict[str, list[tuple[str, float]]] = {}
        for number, status, when in sorted(triggers, key=lambda item: item[2]):
            by_camera.setdefault(name.format(number), []).append((status, when))
        latencies: list[float] = []
        mismatched = 0
        for camera, sent in by_camera.items():
            arrived = [e for e in self.events.get(camera, []) if e[1]["source"] == "session"]
            for (status, when), (arrival, event) in zip(sent, arrived, strict=False):
                mismatched += event["status"] != status
                latencies.append(arrival - when)
        return latencies, mismatched


async def read_messages(client: Any, recorder: Recorder) -> None:
    """Feed an aiomqtt client's messages to `recorder`, stamped on arrival."""
    async for message in client.messages:
        recorder.take(message.topic.value, bytes(message.payload), time.monotonic())
