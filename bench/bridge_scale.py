"""One MQTT bridge process with thousands of simulated cameras: memory, idle CPU, start-up
time and alarm latency.

    python bench/bridge_scale.py                       # 1,000, 2,000 and 5,000 cameras
    python bench/bridge_scale.py --cameras 1000        # one size
    python bench/bridge_scale.py --quick               # a smoke run (100 cameras, short)

For each size, everything is started afresh:
- a Mosquitto broker (/usr/sbin/mosquitto) on 127.0.0.1, no persistence;
- simulator processes (this script with --serve), each running up to --per-process cameras
  (`xmcam.sim.Simulator`, one listening port each, serials SCALE00000...), which trigger
  alarms on demand;
- one bridge process, the real command: `python -m xmcam bridge mqtt --inventory FILE
  --connect-rate RATE --skew-interval 3600` (the clock poll is left out of "idle": keepalives
  only). It starts with its soft open-file limit at 1,024, as under systemd, so the bridge
  has to raise it itself (its log line is quoted in the results);
- this process: the subscriber (`xmcam/+/event`, `xmcam/+/availability`, QoS 0).

Figures:
- seconds from the bridge's start until the subscriber has seen every camera online;
- memory: the bridge's VmRSS 3 s after the last camera came online; per camera, as the
  difference with a bridge of one camera (measured first, same way) divided by N - 1, and
  the whole RSS / N;
- idle CPU: utime + stime of the bridge (/proc/PID/stat) over --idle seconds with nothing
  happening but keepalives, as a share of one core;
- alarm latency at --rate alarms/s in all for --seconds: trigger (in a simulator process,
  `time.monotonic()`, CLOCK_MONOTONIC, one clock for every process) to arrival at the
  subscriber, matched per camera in order, as bench/bridge_latency.py does.
With two cores or more, the bridge is pinned to the first, everything else to the others.
Targets at 5,000 cameras: <= 16 KiB per camera, idle CPU <= 10% of a core, p99 <= 100 ms.
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
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

MOSQUITTO = "/usr/sbin/mosquitto"
SYSTEMD_FILE_LIMIT = 1024  # a service's soft RLIMIT_NOFILE unless its unit says otherwise
TARGET_KIB_PER_CAMERA = 16.0
TARGET_IDLE_SHARE = 0.10
TARGET_P99_MS = 100.0


# ------------------------------------------------------------------ the simulator processes


async def serve(first: int, count: int, seed: int) -> None:
    """Run `count` simulators; print their ports; on "go RATE SECONDS" trigger alarms and
    print when; end on "stop" or EOF."""
    from xmcam.sim import Simulator  # noqa: PLC0415  (the child needs only this)

    async with contextlib.AsyncExitStack() as stack:
        sims = [
            await stack.enter_async_context(Simulator(serial=f"SCALE{first + index:05d}"))
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
        rng = random.Random(seed)
        started = time.monotonic()
        statuses = ["Stop"] * count
        triggers: list[tuple[int, str, float]] = []
        for number in range(int(rate * seconds)):
            delay = started + number / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            index = rng.randrange(count)
            statuses[index] = "Start" if statuses[index] == "Stop" else "Stop"
            triggers.append((first + index, statuses[index], time.monotonic()))
            sims[index].trigger_alarm(0, "VideoMotion", statuses[index])
        print(json.dumps({"triggers": triggers}), flush=True)
        await reader.readline()


# ------------------------------------------------------------------ processes and /proc


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cores() -> tuple[set[int] | None, set[int] | None]:
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
                child.wait(timeout=30)
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
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return port
        if time.monotonic() > deadline:
            raise SystemExit("mosquitto did not start")
        time.sleep(0.02)


def start_simulators(
    count: int, per_process: int, children: list[subprocess.Popen[bytes]], where: Any
) -> list[tuple[subprocess.Popen[bytes], list[int]]]:
    started = []
    for first in range(0, count, per_process):
        size = min(per_process, count - first)
        child = subprocess.Popen(  # noqa: S603 - this script, in our own interpreter
            [sys.executable, __file__, "--serve", str(first), str(size), str(first + 1)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        children.append(child)
        pin(child.pid, where)
        started.append(child)
    return [(child, read_json(child.stdout)["ports"]) for child in started]


def read_json(stream: IO[bytes] | None) -> dict[str, Any]:
    assert stream is not None
    line = stream.readline()
    if not line:
        raise SystemExit("a simulator process ended early")
    value: dict[str, Any] = json.loads(line)
    return value


def systemd_file_limit() -> None:
    """In the bridge's child, before exec: the soft open-file limit a service starts with."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(SYSTEMD_FILE_LIMIT, hard), hard))


class Recorder:
    """The subscriber: events per camera with their arrival time, and who is online."""

    def __init__(self) -> None:
        self.events: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.online: set[str] = set()
        self.changed = asyncio.Event()

    def take(self, topic: str, payload: bytes, arrived: float) -> None:
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
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))


async def _read(client: Any, recorder: Recorder) -> None:
    async for message in client.messages:
        recorder.take(message.topic.value, bytes(message.payload), time.monotonic())


# ------------------------------------------------------------------ one size


async def measure(args: argparse.Namespace, cameras: int, alarms: bool) -> dict[str, Any]:
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
        groups = start_simulators(cameras, args.per_process, children, other_cores)
        ports = [port for _, group in groups for port in group]
        inventory = directory / "cameras.toml"
        inventory.write_text(
            "".join(
                f'[[camera]]\nname = "cam{index:05d}"\nhost = "127.0.0.1"\nport = {port}\n'
                for index, port in enumerate(ports)
            )
        )
        recorder = Recorder()
        async with aiomqtt.Client("127.0.0.1", broker_port, timeout=30) as client:
            await client.subscribe([("xmcam/+/event", 0), ("xmcam/+/availability", 0)])
            reading = asyncio.create_task(_read(client, recorder))
            log_path = directory / "bridge.log"
            log = stack.enter_context(log_path.open("wb"))
            bridge = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "xmcam", "bridge", "mqtt", "--broker",
                 f"mqtt://127.0.0.1:{broker_port}", "--inventory", str(inventory),
                 "--skew-interval", "3600", "--connect-rate", f"{args.connect_rate}/s"],
                stdout=subprocess.DEVNULL,
                stderr=log,
                preexec_fn=systemd_file_limit,  # noqa: PLW1509 - no threads in this child yet
            )  # fmt: skip
            children.append(bridge)
            pin(bridge.pid, bridge_core)
            started = time.monotonic()
            await recorder.until(
                lambda: len(recorder.online - {"bridge"}) == cameras, 600, "all online"
            )
            all_online = time.monotonic() - started
            await asyncio.sleep(3)  # the start-up burst (discovery, states) settles
            rss = status_kib(bridge.pid, "VmRSS")
            files = len(os.listdir(f"/proc/{bridge.pid}/fd"))
            idle_before = cpu_seconds(bridge.pid)
            await asyncio.sleep(args.idle)
            idle_share = (cpu_seconds(bridge.pid) - idle_before) / args.idle
            result: dict[str, Any] = {
                "cameras": cameras,
                "simulator_processes": len(groups),
                "seconds_to_all_online": round(all_online, 1),
                "connect_rate_per_s": args.connect_rate,
                "rss_mib": round(rss / 1024, 1),
                "rss_kib": rss,
                "open_files": files,
                "idle_cpu_share_of_one_core": round(idle_share, 4),
            }
            if alarms:
                result.update(await _alarms(args, groups, recorder, bridge.pid))
                result["rss_peak_mib"] = round(status_kib(bridge.pid, "VmHWM") / 1024, 1)
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
        log.flush()
        lines = log_path.read_text(errors="replace").splitlines()
        result["file_limit_line"] = next((x for x in lines if "open-file limit" in x), None)
        result["log_lines"] = len(lines)
        return result


async def _alarms(
    args: argparse.Namespace,
    groups: list[tuple[subprocess.Popen[bytes], list[int]]],
    recorder: Recorder,
    pid: int,
) -> dict[str, Any]:
    cpu_before = cpu_seconds(pid)
    for child, _ in groups:
        assert child.stdin is not None
        child.stdin.write(f"go {args.rate / len(groups)} {args.seconds}\n".encode())
        child.stdin.flush()
    triggers = [
        tuple(item)
        for child, _ in groups
        for item in (await asyncio.to_thread(read_json, child.stdout))["triggers"]
    ]
    await recorder.until(lambda: recorder.received() >= len(triggers), 60, "events")
    cpu_used = cpu_seconds(pid) - cpu_before
    by_camera: dict[str, list[tuple[str, float]]] = {}
    for index, status, when in sorted(triggers, key=lambda item: item[2]):
        by_camera.setdefault(f"cam{index:05d}", []).append((status, when))
    latencies: list[float] = []
    mismatched = 0
    for camera, sent in by_camera.items():
        arrived = [e for e in recorder.events.get(camera, []) if e[1]["source"] == "session"]
        for (status, when), (arrival, event) in zip(sent, arrived, strict=False):
            mismatched += event["status"] != status
            latencies.append((arrival - when) * 1000)
    return {
        "alarms": len(triggers),
        "events_matched": len(latencies),
        "status_mismatches": mismatched,
        "alarm_rate_per_s": args.rate,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "max": round(max(latencies), 2),
        },
        "alarm_cpu_share_of_one_core": round(cpu_used / args.seconds, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--cameras", type=int, action="append", help="a size (repeatable; 1000 2000 5000)"
    )
    parser.add_argument("--per-process", type=int, default=500, help="cameras per simulator")
    parser.add_argument("--connect-rate", type=float, default=200.0, help="the bridge's, /s")
    parser.add_argument("--rate", type=float, default=100.0, help="alarms per second, in all")
    parser.add_argument("--seconds", type=float, default=20.0, help="of alarms")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds measured idle")
    parser.add_argument("--quick", action="store_true", help="100 cameras, short phases")
    parser.add_argument("--serve", nargs=3, type=int, metavar=("FIRST", "COUNT", "SEED"))
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(*args.serve))
        return 0
    if shutil.which(MOSQUITTO) is None:
        raise SystemExit(f"{MOSQUITTO} is needed (Debian: apt install mosquitto)")
    sizes = args.cameras or [1000, 2000, 5000]
    if args.quick:
        sizes, args.seconds, args.idle, args.per_process = [100], 3.0, 2.0, 50
    baseline = asyncio.run(measure(args, 1, alarms=False))
    results = []
    for size in sizes:
        result = asyncio.run(measure(args, size, alarms=True))
        per_camera = (result["rss_kib"] - baseline["rss_kib"]) / max(1, size - 1)
        result["kib_per_camera"] = round(per_camera, 1)
        result["kib_per_camera_whole_rss"] = round(result["rss_kib"] / size, 1)
        result["targets_met"] = {
            "memory": per_camera <= TARGET_KIB_PER_CAMERA,
            "idle_cpu": result["idle_cpu_share_of_one_core"] <= TARGET_IDLE_SHARE,
            "p99": result["latency_ms"]["p99"] <= TARGET_P99_MS,
        }
        results.append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
    report = {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "baseline_one_camera_rss_mib": baseline["rss_mib"],
        "results": results,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
