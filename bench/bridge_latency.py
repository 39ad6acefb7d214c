"""The MQTT bridge with 200 simulated cameras: alarm-to-broker latency, CPU and memory.

    python bench/bridge_latency.py                 # 200 cameras, 100 alarms/s for 20 s
    python bench/bridge_latency.py --quick         # a smoke run (20 cameras, 5 s)

Processes, so that the bridge's own costs are what is measured:
- a Mosquitto broker (/usr/sbin/mosquitto) on 127.0.0.1, no persistence;
- two simulator processes (this script with --serve), each running half the cameras
  (`xmcam.sim.Simulator` on 127.0.0.1, port 0, serials BENCH0000...) and triggering alarms;
- one bridge process: the real command, `python -m xmcam bridge mqtt --inventory FILE`;
- this process: the subscriber (`xmcam/+/event`), which stamps every message on arrival.

Once every camera is online, each simulator process triggers alarms on cameras it picks at
random (seeded), alternately Start and Stop per camera, at a steady rate (the sum of both is
--rate), stamping each trigger just before `trigger_alarm()`. A trigger is matched to the
event of the same camera in the same position (pushes on one session arrive in order, and
the bridge keeps the order). Latency = arrival on the subscriber - trigger, both read with
`time.monotonic()`, which is Linux's CLOCK_MONOTONIC: one clock for every process on the
machine, so the difference across processes is meaningful.

The ratio: meanwhile this process publishes a probe every 20 ms (QoS 1, as the bridge does)
to the same broker on a second connection and times it on its subscription (the broker hop
alone, at the same load): the bridge's p50 and p99 are also shown as multiples of the
probe's. The subscriptions are QoS 0, so the subscriber's own acknowledgements are no part
of what is measured.

Bridge CPU: utime + stime of the bridge process (/proc/PID/stat) over the alarm phase, per
alarm and as a share of one core, and over --idle seconds before it (keepalives only, in
CPU milliseconds per second; /proc counts in 10 ms ticks).
Memory: its VmRSS with every camera online, and VmHWM (the peak) at the end. With two cores
or more, the bridge is pinned to the first core and everything else to the others.
Target: p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

MOSQUITTO = "/usr/sbin/mosquitto"
PROBE_TOPIC = "bench/probe"
PROBE_PERIOD = 0.02


# ------------------------------------------------------------------ the simulator processes


async def serve(first: int, count: int, seed: int) -> None:
    """Run `count` simulators; print their ports; on "go RATE SECONDS" trigger alarms and
    print when; end on "stop" or EOF."""
    from xmcam.sim import Simulator  # noqa: PLC0415  (the child needs only this)

    async with contextlib.AsyncExitStack() as stack:
        sims = [
            await stack.enter_async_context(Simulator(serial=f"BENCH{first + index:04d}"))
            for index in range(count)
        ]
        print(json.dumps({"ports": [sim.port for sim in sims]}), flush=True)
        reader = await _stdin_reader()
        command = (await reader.readline()).decode().split()
        if command[:1] != ["go"]:
            return
        rate, seconds = float(command[1]), float(command[2])
        triggers = await _trigger(sims, first, rate, seconds, random.Random(seed))
        print(json.dumps({"triggers": triggers}), flush=True)
        await reader.readline()  # "stop", or EOF


async def _stdin_reader() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _trigger(
    sims: Sequence[Any], first: int, rate: float, seconds: float, rng: random.Random
) -> list[tuple[int, str, float]]:
    """Alarms at a steady `rate` for `seconds`: (camera index, status, monotonic time)."""
    started = time.monotonic()
    statuses = ["Stop"] * len(sims)
    triggers: list[tuple[int, str, float]] = []
    for number in range(int(rate * seconds)):
        delay = started + number / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        index = rng.randrange(len(sims))
        statuses[index] = "Start" if statuses[index] == "Stop" else "Stop"
        triggers.append((first + index, statuses[index], time.monotonic()))
        sims[index].trigger_alarm(0, "VideoMotion", statuses[index])
    return triggers


# ------------------------------------------------------------------ the orchestra


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
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, name: str) -> int:
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
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            for stream in (child.stdin, child.stdout):
                if stream is not None:
                    stream.close()


def start_mosquitto(directory: Path, children: list[subprocess.Popen[bytes]]) -> int:
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
    count: int, processes_wanted: int, children: list[subprocess.Popen[bytes]], where: Any
) -> list[tuple[subprocess.Popen[bytes], list[int]]]:
    groups = []
    share = -(-count // processes_wanted)
    for first in range(0, count, share):
        size = min(share, count - first)
        child = subprocess.Popen(  # noqa: S603 - this script, in our own interpreter
            [sys.executable, __file__, "--serve", str(first), str(size), str(first + 1)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        children.append(child)
        pin(child.pid, where)
        groups.append(child)
    return [(child, _read_json(child.stdout)["ports"]) for child in groups]


def _read_json(stream: IO[bytes] | None) -> dict[str, Any]:
    assert stream is not None
    line = stream.readline()
    if not line:
        raise SystemExit("a simulator process ended early")
    value: dict[str, Any] = json.loads(line)
    return value


class Recorder:
    """The subscriber: every event's arrival time, per camera, and the probes' round trips."""

    def __init__(self) -> None:
        self.events: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.online: set[str] = set()
        self.probes: list[float] = []
        self.changed = asyncio.Event()

    def take(self, topic: str, payload: bytes, arrived: float) -> None:
        if topic == PROBE_TOPIC:
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

    async def until(self, check: Any, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"timed out waiting for {what}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    import aiomqtt  # noqa: PLC0415

    bridge_core, other_cores = cores()
    pin(0, other_cores)
    with (
        tempfile.TemporaryDirectory() as temporary,
        contextlib.ExitStack() as stack,
        processes() as children,
    ):
        directory = Path(temporary)
        broker_port = start_mosquitto(directory, children)
        pin(children[-1].pid, other_cores)
        groups = start_simulators(args.cameras, args.processes, children, other_cores)
        inventory = directory / "cameras.toml"
        ports = [port for _, group in groups for port in group]
        inventory.write_text(
            "".join(
                f'[[camera]]\nname = "cam{index:03d}"\nhost = "127.0.0.1"\nport = {port}\n'
                for index, port in enumerate(ports)
            )
        )
        recorder = Recorder()
        no_delay = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)  # as the bridge
        async with (
            aiomqtt.Client("127.0.0.1", broker_port, timeout=30, socket_options=no_delay) as client,
            aiomqtt.Client("127.0.0.1", broker_port, timeout=30, socket_options=no_delay) as prober,
        ):
            # QoS 0 to this subscriber: its acknowledgements are no part of what is measured.
            await client.subscribe([("xmcam/+/event", 0), ("xmcam/+/availability", 0)])
            await client.subscribe(PROBE_TOPIC, qos=0)
            reading = asyncio.create_task(_read(client, recorder))
            log = stack.enter_context((directory / "bridge.log").open("wb"))
            bridge = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "xmcam", "bridge", "mqtt", "--broker",
                 f"mqtt://127.0.0.1:{broker_port}", "--inventory", str(inventory),
                 "--skew-interval", "3600"],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip
            children.append(bridge)
            pin(bridge.pid, bridge_core)
            started = time.monotonic()
            await recorder.until(lambda: len(recorder.online) == len(ports), 120, "all online")
            all_online = time.monotonic() - started
            await asyncio.sleep(1)  # let the start-up burst (discovery, states) settle
            rss_online = status_kib(bridge.pid, "VmRSS")
            idle_before = cpu_seconds(bridge.pid)
            await asyncio.sleep(args.idle)  # keepalives only
            idle_share = (cpu_seconds(bridge.pid) - idle_before) / args.idle
            cpu_before = cpu_seconds(bridge.pid)
            per_process = args.rate / len(groups)
            for child, _ in groups:
                assert child.stdin is not None
                child.stdin.write(f"go {per_process} {args.seconds}\n".encode())
                child.stdin.flush()
            probing = asyncio.create_task(_probe(prober, args.seconds))
            triggers = [
                tuple(item)
                for child, _ in groups
                for item in (await asyncio.to_thread(_read_json, child.stdout))["triggers"]
            ]
            await recorder.until(lambda: recorder.received() >= len(triggers), 30, "events")
            cpu_used = cpu_seconds(bridge.pid) - cpu_before
            rss_peak = status_kib(bridge.pid, "VmHWM")
            await probing
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
        bridge_figures = {
            "cpu_seconds": cpu_used,
            "idle_share": idle_share,
            "rss_online_kib": rss_online,
            "rss_peak_kib": rss_peak,
            "seconds_to_all_online": all_online,
        }
        return _results(args, triggers, recorder, bridge_figures)


async def _read(client: Any, recorder: Recorder) -> None:
    async for message in client.messages:
        recorder.take(message.topic.value, bytes(message.payload), time.monotonic())


async def _probe(client: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await client.publish(PROBE_TOPIC, repr(time.monotonic()), qos=1)
        await asyncio.sleep(PROBE_PERIOD)


def _results(
    args: argparse.Namespace,
    triggers: Sequence[tuple[Any, ...]],
    recorder: Recorder,
    bridge: dict[str, float],
) -> dict[str, Any]:
    cpu_used, idle_share = bridge["cpu_seconds"], bridge["idle_share"]
    by_camera: dict[str, list[tuple[str, float]]] = {}
    for index, status, when in sorted(triggers, key=lambda item: item[2]):
        by_camera.setdefault(f"cam{index:03d}", []).append((status, when))
    latencies: list[float] = []
    mismatched = 0
    for camera, sent in by_camera.items():
        arrived = [
            item for item in recorder.events.get(camera, []) if item[1]["source"] == "session"
        ]
        for (status, when), (arrival, event) in zip(sent, arrived, strict=False):
            mismatched += event["status"] != status
            latencies.append(arrival - when)
    milliseconds = [value * 1000 for value in latencies]
    probes = [value * 1000 for value in recorder.probes]
    p50, p99 = percentile(milliseconds, 0.5), percentile(milliseconds, 0.99)
    probe_p50, probe_p99 = percentile(probes, 0.5), percentile(probes, 0.99)
    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cameras": args.cameras,
        "alarms": len(triggers),
        "events_matched": len(latencies),
        "status_mismatches": mismatched,
        "rate_per_s": args.rate,
        "seconds_to_all_online": round(bridge["seconds_to_all_online"], 2),
        "latency_ms": {
            "p50": round(p50, 2),
            "p90": round(percentile(milliseconds, 0.9), 2),
            "p99": round(p99, 2),
            "max": round(max(milliseconds), 2),
            "mean": round(statistics.fmean(milliseconds), 2),
        },
        "broker_hop_ms": {"p50": round(probe_p50, 2), "p99": round(probe_p99, 2)},
        "ratio_to_broker_hop": {"p50": round(p50 / probe_p50, 1), "p99": round(p99 / probe_p99, 1)},
        "bridge_cpu": {
            "seconds": round(cpu_used, 2),
            "share_of_one_core": round(cpu_used / args.seconds, 3),
            "idle_ms_per_s": round(idle_share * 1000, 1),
            "ms_per_alarm": round(cpu_used * 1000 / max(1, len(triggers)), 3),
        },
        "bridge_memory_mib": {
            "rss_all_online": round(bridge["rss_online_kib"] / 1024, 1),
            "peak": round(bridge["rss_peak_kib"] / 1024, 1),
        },
        "target_p99_ms": 100,
        "target_met": p99 <= 100,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0, help="alarms per second, in all")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=2, help="simulator processes")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds measured idle first")
    parser.add_argument("--quick", action="store_true", help="20 cameras for 5 s")
    parser.add_argument("--serve", nargs=3, type=int, metavar=("FIRST", "COUNT", "SEED"))
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(*args.serve))
        return 0
    if shutil.which(MOSQUITTO) is None:
        raise SystemExit(f"{MOSQUITTO} is needed (Debian: apt install mosquitto)")
    if args.quick:
        args.cameras, args.seconds, args.rate, args.idle = 20, 5.0, 50.0, 1.0
    results = asyncio.run(measure(args))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
