"""The client against its peer, python-dvr's `DVRIPCam`, on the same simulator, in one run.

    python bench/client_vs_python_dvr.py           # the full run (about two minutes)
    python bench/client_vs_python_dvr.py --quick   # a smoke run
    python bench/client_vs_python_dvr.py --cpu-only --cprofile FILE   # (a) and a profile

The simulator (`python -m xmcam sim`) always runs in processes of its own, so that only the
client's work is counted. With two cores or more, the client is pinned to the first core and
the simulators to the others.

(a) CPU time per request of the blocking clients, `xmcam.Camera` and `DVRIPCam`: the same
    request N times on one logged-in session each (config get of General.General,
    SystemInfo, and SystemInfo with its serial number read from the result), process CPU
    time (`time.process_time`) of this process, in alternating rounds; the best and the
    median round are shown. The garbage collector runs as usual: it is part of what a client
    costs. Target: xmcam at most the peer's. With `--cprofile FILE`, xmcam's requests are
    then made once more under cProfile (process CPU time as its clock), the statistics
    written to FILE and the costliest functions printed.

(b) Alarm watching from one process. Each client runs in a fresh child process of this script
    against fresh simulators whose profile raises NetWork.NetCommon.TCPMaxConn:
    - xmcam: 1,000 `AsyncCamera`s, each logged in with its keepalive task and iterating
      `async for event in cam.alarms()` (guard, then the pushes) in its own task.
    - python-dvr: fewer cameras (200 by default; per-camera figures scale), each logged in
      (its keep-alive timer thread) with an alarm thread. Its `alarmStart()` starts the alarm
      thread before sending the guard, and that thread takes the connection's lock and holds
      it in a 10 s read, so the guard's reply waits 10 s, and the next camera's `alarmStart()`
      was seen starved for minutes. The benchmark therefore sends the same guard
      (`get_command("", 1500)`, what `alarmStart()` sends) first and then starts the same
      alarm thread (`DVRIPCam.alarm_thread`) itself; the threads and objects are the library's.
    Memory per camera is (VmRSS with every camera watched - VmRSS before) / cameras, read from
    /proc/self/status after a garbage collection. Alarm latency: a separate, unguarded control
    connection per simulator sends 1506 OPNetAlarm State 1, then State 0; each pushes a NetAlarm
    Start (then Stop) to every guarded session. The clock starts when the trigger is sent and
    stops when each watcher's loop receives the event (a push carries its time only to the
    second). Targets: xmcam's memory per camera at most half the peer's, p99 at most 50 ms.

Loopback only. Every wait is bounded; the children and the simulators are stopped at the end,
also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime
import gc
import importlib.resources
import io
import json
import logging
import os
import platform
import pstats
import resource
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
if str(REPO_ROOT / "src") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "src"))

from dvrip import DVRIPCam  # noqa: E402  (python-dvr's module; untyped)

import xmcam  # noqa: E402
from xmcam.aio import AsyncCamera  # noqa: E402

HOST: Final = "127.0.0.1"
SIM_START_TIMEOUT: Final = 20.0  # seconds for a simulator to print its port
CHILD_TIMEOUT: Final = 600.0  # seconds for one alarm-watching child, then it is killed
ROUND_TIMEOUT: Final = 10.0  # seconds for one alarm to reach every watcher
# Seconds between triggers: 20 triggers then span more than half the AliveInterval (20 s), so
# every session sends a keepalive while alarms are measured.
ROUND_PAUSE: Final = 0.5
SETUP_TIMEOUT: Final = 180.0  # seconds for every camera to log in and subscribe
CONNECT_CONCURRENCY: Final = 50  # logins in flight at once (the listen backlog is 100)
LATENCY_TARGET_MS: Final = 50.0
MEMORY_TARGET: Final = 0.5  # xmcam's memory per camera / the peer's
RESULT_PREFIX: Final = "RESULT "


# --------------------------------------------------------------------------- process facts


def vm_rss_kib() -> int:
    """This process's resident set size in KiB (VmRSS)."""
    return _proc_status_field("VmRSS")


def os_threads() -> int:
    """This process's kernel threads."""
    return _proc_status_field("Threads")


def _proc_status_field(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {name} in /proc/self/status")


def raise_open_files(needed: int) -> int:
    """Raise RLIMIT_NOFILE towards `needed` (up to the hard limit); return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def cores() -> tuple[set[int] | None, set[int] | None]:
    """(client cores, simulator cores), or (None, None) when there are too few to split."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return {available[0]}, set(available[1:])


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- simulators


def write_profile(directory: Path, max_connections: int) -> Path:
    """The default profile (the seed's camera) with TCPMaxConn raised, as a file."""
    text = (
        importlib.resources.files("xmcam.sim")
        .joinpath("profiles", "ipc-seed.json")
        .read_text("utf-8")
    )
    data = json.loads(text)
    data["config"]["NetWork.NetCommon"]["TCPMaxConn"] = max_connections
    path = directory / f"ipc-seed-{max_connections}.json"
    path.write_text(json.dumps(data, indent=1), "utf-8")
    return path


@contextlib.contextmanager
def simulators(count: int, profile: Path | None, sim_cores: set[int] | None) -> Iterator[list[int]]:
    """`count` simulator processes on 127.0.0.1; yields their ports; stops them at the end."""
    processes: list[subprocess.Popen[str]] = []
    try:
        ports = []
        for _ in range(count):
            command = [sys.executable, "-m", "xmcam", "sim", "--host", HOST, "--port", "0"]
            if profile is not None:
                command += ["--profile", str(profile)]
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
            )
            processes.append(process)
            if sim_cores is not None:
                os.sched_setaffinity(process.pid, sim_cores)
            ports.append(_read_port(process))
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _read_port(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], SIM_START_TIMEOUT)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("listening on "):
        raise RuntimeError(f"the simulator did not start (it said {line!r})")
    return int(line.rsplit(":", 1)[1])


# --------------------------------------------------------------------------- (a) CPU per request


@dataclass
class CpuSeries:
    """CPU seconds per request of one client doing one request, one value per round."""

    client: str
    request: str
    per_request: list[float] = field(default_factory=list)


def quiet_python_dvr() -> None:
    # python-dvr logs each packet at DEBUG, its login's password hash included: keep it above.
    logging.getLogger("dvrip").setLevel(logging.INFO)


def cpu_per_request(run: Callable[[], object], count: int) -> float:
    gc.collect()
    start = time.process_time()
    for _ in range(count):
        run()
    return (time.process_time() - start) / count


def bench_cpu(port: int, count: int, rounds: int, profile: Path | None = None) -> list[CpuSeries]:
    quiet_python_dvr()
    peer: Any = DVRIPCam(HOST, port=port, user="admin", password="")
    if not peer.login():
        raise RuntimeError("python-dvr could not log in to the simulator")
    try:
        with xmcam.Camera(HOST, port) as camera:
            # Both read the same objects: check it once, so that like is compared with like.
            assert camera.get_config("General.General") == peer.get_info("General.General")
            assert camera.system_info().serial == peer.get_system_info()["SerialNo"]
            workloads: list[tuple[str, str, Callable[[], object]]] = [
                (
                    "config get General.General",
                    "xmcam",
                    lambda: camera.get_config("General.General"),
                ),
                (
                    "config get General.General",
                    "python-dvr",
                    lambda: peer.get_info("General.General"),
                ),
                ("SystemInfo", "xmcam", camera.system_info),
                ("SystemInfo", "python-dvr", peer.get_system_info),
                # xmcam reads a SystemInfo's fields on first use: a caller who reads one
                # pays for that one here, as python-dvr's caller pays for a dict lookup.
                ("SystemInfo, serial read", "xmcam", lambda: camera.system_info().serial),
                (
                    "SystemInfo, serial read",
                    "python-dvr",
                    lambda: peer.get_system_info()["SerialNo"],
                ),
            ]
            series = [CpuSeries(client, request) for request, client, _ in workloads]
            for run in (run for _, _, run in workloads):  # warm up
                cpu_per_request(run, max(count // 10, 10))
            for round_number in range(rounds):
                # Alternate who goes first, so that neither always runs on a warmer machine.
                order = range(len(workloads))
                if round_number % 2:
                    order = range(len(workloads) - 1, -1, -1)
                for index in order:
                    series[index].per_request.append(cpu_per_request(workloads[index][2], count))
            if profile is not None:
                ours = [run for _, client, run in workloads if client == "xmcam"]
                profile_requests(ours, count, profile)
    finally:
        _stop_peer([peer])
    return series


def profile_requests(runs: Sequence[Callable[[], object]], count: int, path: Path) -> None:
    """Each of `runs` `count` times under cProfile (process CPU time); the statistics to
    `path`, the costliest functions (by their own time) printed."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for run in runs:
        for _ in range(count):
            run()
    profiler.disable()
    profiler.dump_stats(path)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(20)
    requests = count * len(runs)
    print(f"cProfile of {requests:,} xmcam requests (process CPU time), written to {path}:")
    print(text.getvalue().split("\n\n", 1)[-1].rstrip())
    print()


# --------------------------------------------------------------------------- (b) watching alarms


@dataclass
class AlarmRound:
    """One trigger: when it was sent and what the watchers saw."""

    status: str
    sent: float = 0.0
    latencies: list[float] = field(default_factory=list)


class Receiver:
    """Collects, per trigger, the delay from sending it to each watcher receiving its event."""

    def __init__(self) -> None:
        self.rounds: list[AlarmRound] = []
        self.stray = 0
        self._lock = threading.Lock()

    def begin(self, status: str) -> AlarmRound:
        current = AlarmRound(status)
        with self._lock:
            self.rounds.append(current)
        current.sent = time.perf_counter()
        return current

    def received(self, status: object) -> None:
        now = time.perf_counter()
        with self._lock:
            current = self.rounds[-1] if self.rounds else None
            if current is not None and status == current.status:
                current.latencies.append(now - current.sent)
            else:
                self.stray += 1

    def summary(self, cameras: int) -> dict[str, Any]:
        latencies = [value * 1000 for one in self.rounds for value in one.latencies]
        expected = cameras * len(self.rounds)
        return {
            "triggers": len(self.rounds),
            "delivered": len(latencies),
            "expected": expected,
            "stray": self.stray,
            "p50_ms": percentile(latencies, 0.50) if latencies else None,
            "p99_ms": percentile(latencies, 0.99) if latencies else None,
            "max_ms": max(latencies) if latencies else None,
            "round_p99_ms": [
                percentile([v * 1000 for v in one.latencies], 0.99) if one.latencies else None
                for one in self.rounds
            ],
        }


async def watch_xmcam(
    ports: Sequence[int], cameras: int, rounds: int, trace: bool
) -> dict[str, Any]:
    """Child (b), xmcam: `cameras` watchers on asyncio, then `rounds` pairs of alarms."""
    controls = [await AsyncCamera(HOST, port).open() for port in ports]  # triggers, unguarded
    receiver = Receiver()
    gc.collect()
    rss_before, threads_before = vm_rss_kib(), os_threads()
    if trace:
        tracemalloc.start(1)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    watchers = [AsyncCamera(HOST, ports[index % len(ports)]) for index in range(cameras)]

    async def watch_one(camera: AsyncCamera) -> None:
        async with gate:
            await camera.open()
        async with contextlib.aclosing(camera.alarms()) as events:
            async for event in events:
                receiver.received(event.status if event.event == "NetAlarm" else None)

    started = time.perf_counter()
    tasks = [asyncio.create_task(watch_one(camera)) for camera in watchers]
    result: dict[str, Any] = {"client": "xmcam", "cameras": cameras}
    try:
        await _until_subscribed(watchers, tasks)
        result["setup_s"] = time.perf_counter() - started
        await asyncio.sleep(0.5)  # the last guard replies and keepalive tasks settle
        gc.collect()
        result["rss_watched_kib"] = vm_rss_kib() - rss_before
        result["threads_added"] = os_threads() - threads_before
        if trace:
            result.update(_traced(cameras))
        for _ in range(rounds):
            for state, status in ((1, "Start"), (0, "Stop")):
                current = receiver.begin(status)
                await asyncio.gather(*(control.net_alarm(state) for control in controls))
                with contextlib.suppress(TimeoutError):  # a shortfall shows in the result
                    async with asyncio.timeout(ROUND_TIMEOUT):
                        while len(current.latencies) < cameras:
                            await asyncio.sleep(0.005)
                await asyncio.sleep(ROUND_PAUSE)
        gc.collect()
        result["rss_after_alarms_kib"] = vm_rss_kib() - rss_before
    finally:
        await asyncio.gather(*(camera.close() for camera in watchers + controls))
        _, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result.update(receiver.summary(cameras))
    return result


async def _until_subscribed(
    watchers: Sequence[AsyncCamera], tasks: Sequence[asyncio.Task[None]]
) -> None:
    async with asyncio.timeout(SETUP_TIMEOUT):
        while sum(camera.subscribed for camera in watchers) < len(watchers):
            ended = [task for task in tasks if task.done()]
            if ended:
                raise RuntimeError(f"a watcher ended during setup: {ended[0].exception()!r}")
            await asyncio.sleep(0.05)


def _traced(cameras: int) -> dict[str, Any]:
    """What tracemalloc saw allocated since it started, per camera, by source line."""
    snapshot = tracemalloc.take_snapshot()
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    top = []
    for stat in snapshot.statistics("lineno")[:12]:
        where = stat.traceback[0]
        source = f"{where.filename.rsplit('/', 2)[-1]}:{where.lineno}"
        top.append(f"{stat.size / cameras:,.0f} B/camera {source}")
    return {"traced_kib": traced / 1024, "traced_top": top}


def watch_python_dvr(ports: Sequence[int], cameras: int, rounds: int) -> dict[str, Any]:
    """Child (b), python-dvr: `cameras` DVRIPCams, each with its keep-alive timer thread and its
    alarm thread, then `rounds` pairs of alarms."""
    quiet_python_dvr()
    controls = [xmcam.Camera(HOST, port).open() for port in ports]  # triggers, unguarded
    receiver = Receiver()
    gc.collect()
    rss_before, threads_before = vm_rss_kib(), os_threads()
    peers: list[Any] = []
    result: dict[str, Any] = {"client": "python-dvr", "cameras": cameras}
    started = time.perf_counter()
    try:
        for index in range(cameras):
            peer: Any = DVRIPCam(HOST, port=ports[index % len(ports)], user="admin", password="")
            peers.append(peer)
            if not peer.login():  # connects, logs in, sends a KeepAlive, arms its timer thread
                raise RuntimeError(f"python-dvr camera {index} could not log in")
            peer.setAlarm(lambda info, sequence: receiver.received(info.get("Status")))
            # alarmStart(), with its guard sent before its thread starts (see the docstring).
            reply = peer.get_command("", peer.QCODES["AlarmSet"])
            if not isinstance(reply, dict) or reply.get("Ret") != 100:
                raise RuntimeError(f"python-dvr camera {index}: guard refused ({reply!r})")
            peer.alarm = threading.Thread(
                name=f"DVRAlarm{peer.session:08X}", target=peer.alarm_thread, args=[peer.busy]
            )
            peer.alarm.start()
        result["setup_s"] = time.perf_counter() - started
        time.sleep(0.5)
        gc.collect()
        result["rss_watched_kib"] = vm_rss_kib() - rss_before
        result["threads_added"] = os_threads() - threads_before
        for _ in range(rounds):
            for state, status in ((1, "Start"), (0, "Stop")):
                current = receiver.begin(status)
                for control in controls:
                    control.net_alarm(state)
                deadline = time.monotonic() + ROUND_TIMEOUT
                while len(current.latencies) < cameras and time.monotonic() < deadline:
                    time.sleep(0.005)
                time.sleep(ROUND_PAUSE)
        gc.collect()
        result["rss_after_alarms_kib"] = vm_rss_kib() - rss_before
    finally:
        for control in controls:
            control.close()
        _stop_peer(peers)
    result.update(receiver.summary(cameras))
    return result


def _stop_peer(peers: Sequence[Any]) -> None:
    """Stop python-dvr cameras and their threads. Its close() only closes the socket, and an
    alarm thread reading it then spins on empty reads until its next 10 s timeout; shutting
    the socket down first ends the read at once, and the thread stops when it sees no socket."""
    for peer in peers:
        if peer.alive is not None:
            peer.alive.cancel()
        sock, peer.socket = peer.socket, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
    deadline = time.monotonic() + 15
    for peer in peers:
        for thread in (peer.alive, peer.alarm):
            if thread is not None and thread.is_alive():
                thread.join(timeout=max(deadline - time.monotonic(), 0.01))


def child_main(args: argparse.Namespace) -> int:
    raise_open_files(args.cameras + 256)
    ports = [int(port) for port in args.ports.split(",")]
    if args.child == "xmcam":
        result = asyncio.run(watch_xmcam(ports, args.cameras, args.rounds, args.trace))
    else:
        result = watch_python_dvr(ports, args.cameras, args.rounds)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


def run_child(
    client: str,
    ports: Sequence[int],
    cameras: int,
    rounds: int,
    client_cores: set[int] | None,
    *,
    trace: bool = False,
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        client,
        "--cameras",
        str(cameras),
        "--rounds",
        str(rounds),
        "--ports",
        ",".join(map(str, ports)),
    ]
    if trace:
        command.append("--trace")
    process = subprocess.Popen(  # noqa: S603 - this script, in our own interpreter
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if client_cores is not None:
        os.sched_setaffinity(process.pid, client_cores)
    try:
        out, err = process.communicate(timeout=CHILD_TIMEOUT)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    for line in out.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    raise RuntimeError(f"the {client} child failed (exit {process.returncode}):\n{err[-3000:]}")


def watch_one_client(
    client: str,
    *,
    cameras: int,
    simulator_count: int,
    rounds: int,
    directory: Path,
    split: tuple[set[int] | None, set[int] | None],
    trace: bool = False,
) -> dict[str, Any]:
    per_simulator = -(-cameras // simulator_count)
    profile = write_profile(directory, per_simulator + 16)
    with simulators(simulator_count, profile, split[1]) as ports:
        return run_child(client, ports, cameras, rounds, split[0], trace=trace)


# --------------------------------------------------------------------------- output


def print_cpu(series: Sequence[CpuSeries], count: int) -> None:
    rounds = len(series[0].per_request)
    print(f"(a) CPU time per request, {count:,} requests per round, {rounds} rounds")
    print(f"{'request':<28}  {'client':<11}  {'best µs':>9}  {'median µs':>9}")
    by_request: dict[str, dict[str, CpuSeries]] = {}
    for one in series:
        by_request.setdefault(one.request, {})[one.client] = one
        print(
            f"{one.request:<28}  {one.client:<11}  {min(one.per_request) * 1e6:>9.1f}  "
            f"{statistics.median(one.per_request) * 1e6:>9.1f}"
        )
    for request, clients in by_request.items():
        ours, theirs = clients["xmcam"], clients["python-dvr"]
        best = min(ours.per_request) / min(theirs.per_request)
        median = statistics.median(ours.per_request) / statistics.median(theirs.per_request)
        met = "met" if median <= 1 else "MISSED"
        print(f"  {request}: xmcam / python-dvr = {best:.2f} (best), {median:.2f} (median): {met}")
    print()


def print_watch(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    print("(b) alarm watching from one process")
    header = f"{'':<34}  {'xmcam':>14}  {'python-dvr':>14}"
    print(header)
    print("-" * len(header))

    def line(name: str, value: Callable[[dict[str, Any]], str]) -> None:
        print(f"{name:<34}  {value(ours):>14}  {value(theirs):>14}")

    def per_camera(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda result: f"{result[key] / result['cameras']:.1f}"

    def milliseconds(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda result: "-" if result.get(key) is None else f"{result[key]:.1f}"

    def trigger_range(result: dict[str, Any]) -> str:
        values = [value for value in result["round_p99_ms"] if value is not None]
        return f"{min(values):.0f}-{max(values):.0f}" if values else "-"

    line("cameras watched", lambda result: f"{result['cameras']:,}")
    line("setup (login + guard), s", lambda result: f"{result['setup_s']:.1f}")
    line("memory per camera, KiB (RSS)", per_camera("rss_watched_kib"))
    line("  after the alarms, KiB (RSS)", per_camera("rss_after_alarms_kib"))
    line("threads per camera", per_camera("threads_added"))
    line("alarms delivered / expected", lambda r: f"{r['delivered']:,}/{r['expected']:,}")
    line("latency p50, ms", milliseconds("p50_ms"))
    line("latency p99, ms", milliseconds("p99_ms"))
    line("latency max, ms", milliseconds("max_ms"))
    line("p99 of one trigger, min-max, ms", trigger_range)
    ours_memory = ours["rss_watched_kib"] / ours["cameras"]
    theirs_memory = theirs["rss_watched_kib"] / theirs["cameras"]
    ratio = ours_memory / theirs_memory
    print(
        f"  memory per camera, xmcam / python-dvr = {ratio:.2f}: "
        f"{'met' if ratio <= MEMORY_TARGET else 'MISSED'} (target ≤ {MEMORY_TARGET})"
    )
    p99 = ours["p99_ms"]
    print(
        f"  xmcam p99 = {p99:.1f} ms: "
        f"{'met' if p99 <= LATENCY_TARGET_MS else 'MISSED'} (target ≤ {LATENCY_TARGET_MS:g} ms)"
    )
    print(
        f"  python-dvr for 1,000 cameras, extrapolated: {theirs_memory * 1000 / 1024:,.1f} MiB and "
        f"{theirs['threads_added'] / theirs['cameras'] * 1000:,.0f} threads"
    )
    if "traced_top" in ours:
        traced = ours["traced_kib"] / ours["cameras"]
        print(f"  xmcam, traced Python memory per camera: {traced:.1f} KiB")
        for entry in ours["traced_top"]:
            print(f"    {entry}")
    print()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small counts")
    parser.add_argument("--requests", type=int, default=None, help="(a) requests per round")
    parser.add_argument("--cpu-rounds", type=int, default=None, help="(a) rounds")
    parser.add_argument("--cameras", type=int, default=None, help="(b) xmcam watchers (1000)")
    parser.add_argument("--peer-cameras", type=int, default=None, help="(b) python-dvr (200)")
    parser.add_argument("--rounds", type=int, default=None, help="(b) alarm Start/Stop pairs")
    parser.add_argument("--simulators", type=int, default=1, help="(b) simulator processes")
    parser.add_argument("--trace", action="store_true", help="(b) tracemalloc in an extra run")
    parser.add_argument("--cpu-only", action="store_true", help="(a) only")
    parser.add_argument("--cprofile", type=Path, help="(a): xmcam's requests profiled to FILE")
    parser.add_argument("--child", choices=("xmcam", "python-dvr"), help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)
    requests = args.requests or (200 if args.quick else 3000)
    cpu_rounds = args.cpu_rounds or (2 if args.quick else 6)
    cameras = args.cameras or (100 if args.quick else 1000)
    peer_cameras = args.peer_cameras or (20 if args.quick else 200)
    rounds = args.rounds or (2 if args.quick else 10)

    raise_open_files(2 * max(cameras, peer_cameras) + 256)
    split = cores()
    if split[0] is not None:
        os.sched_setaffinity(0, split[0])
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"xmcam client vs python-dvr, {now}{', QUICK run' if args.quick else ''}")
    pinning = f"client on cores {split[0]}, simulators on {split[1]}" if split[0] else "not pinned"
    print(
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{pinning}, xmcam {xmcam.__version__}"
    )
    print()
    with simulators(1, None, split[1]) as (port,):
        series = bench_cpu(port, requests, cpu_rounds, args.cprofile)
    print_cpu(series, requests)
    if args.cpu_only:
        return 0
    with tempfile.TemporaryDirectory(prefix="xmcam-bench-") as name:
        directory = Path(name)
        sims = args.simulators

        def watch(client: str, cameras: int, rounds: int, trace: bool = False) -> dict[str, Any]:
            return watch_one_client(
                client,
                cameras=cameras,
                simulator_count=sims,
                rounds=rounds,
                directory=directory,
                split=split,
                trace=trace,
            )

        ours = watch("xmcam", cameras, rounds)
        theirs = watch("python-dvr", peer_cameras, rounds)
        if args.trace:
            traced = watch("xmcam", cameras, 0, trace=True)
            ours.update(traced_kib=traced["traced_kib"], traced_top=traced["traced_top"])
    print_watch(ours, theirs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
