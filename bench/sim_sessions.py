"""The simulator under 1,000 concurrent logged-in sessions.

    python bench/sim_sessions.py           # the full run (about a minute)
    python bench/sim_sessions.py --quick   # a smoke run (a few seconds)

The simulator runs as `python -m xmcam sim --port 0` in a process of its own (one process,
one thread, one event loop), pinned to one core; this script is the load generator, pinned to
another, on asyncio with raw sockets and the core's `ClientConnection`. Loopback only.

1. Idle: the simulator's resident memory (VmRSS in /proc/PID/status) before any client.
2. Logins: N connections (default 1,000), each logging in as admin; at most 100 connects and
   logins are in flight at a time. The time from the first connect to the last login reply.
3. Memory per session: (VmRSS with N sessions - VmRSS idle) / N, right after the logins and
   again after the load.
4. Load: every session sends, one outstanding request at a time as the protocol allows, a
   KeepAlive (1006), a config get of General.General and one of Camera.Param.[0] (1042) in
   turn, for a fixed time. The aggregate rate of answered requests, the simulator's CPU time
   (utime + stime in /proc/PID/stat) per request, and the rate that CPU time gives on one
   core (requests / simulator CPU seconds): the generator shares the machine, so when it is
   the one that cannot keep up, the simulator idles and the per-core figure is the capacity.

The simulator's default TCPMaxConn is 10, as on the seed's camera; the run writes a profile
file with TCPMaxConn raised to N + 10 and passes it with --profile.

Targets (issue 3): at least 5,000 requests/s on one core, at most 30 KiB per session.
`--cprofile FILE` runs the simulator under cProfile and leaves its statistics in FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import re
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

from xmcam.protocol import ClientConnection, LoginReply, Reply
from xmcam.sim import load_profile

HOST: Final = "127.0.0.1"
RATE_TARGET: Final = 5_000.0  # requests per second of one core
MEMORY_TARGET_KIB: Final = 30.0  # per session
LOGINS_IN_FLIGHT: Final = 100
START_TIMEOUT: Final = 15.0
PHASE_TIMEOUT: Final = 120.0
KEEPALIVE: Final = 1006
CONFIG_GET: Final = 1042
REQUESTS: Final = (
    (KEEPALIVE, {"Name": "KeepAlive"}),
    (CONFIG_GET, {"Name": "General.General"}),
    (CONFIG_GET, {"Name": "Camera.Param.[0]"}),
)
_LISTENING: Final = re.compile(r"listening on (\S+):(\d+)")


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: str
    target: str = ""
    note: str = ""


# ----------------------------------------------------------------------------- the simulator


def write_profile(directory: Path, max_connections: int) -> Path:
    """The default profile with TCPMaxConn raised, as a profile file."""
    text = resources.files("xmcam.sim").joinpath("profiles", "ipc-seed.json").read_text("utf-8")
    data = json.loads(text)
    data["config"]["NetWork.NetCommon"]["TCPMaxConn"] = max_connections
    path = directory / "bench-profile.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = load_profile(path)
    assert loaded.config["NetWork.NetCommon"]["TCPMaxConn"] == max_connections
    return path


class SimulatorProcess:
    """`python -m xmcam sim` in a child process; the port comes from its first line."""

    def __init__(self, profile: Path, log: Path, cprofile: Path | None) -> None:
        command = [sys.executable]
        if cprofile is not None:
            command += ["-m", "cProfile", "-o", str(cprofile)]
        command += ["-m", "xmcam", "sim", "--port", "0", "--profile", str(profile)]
        self._log = log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL
        )
        self.pid = self.process.pid
        self.port = self._read_port()

    def _read_port(self) -> int:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], START_TIMEOUT)
        line = stdout.readline().decode("utf-8", "replace") if ready else ""
        match = _LISTENING.match(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the simulator did not start: {line!r}")
        return int(match.group(2))

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.pid}/stat").read_text(encoding="ascii")
        fields = stat.rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM (the simulator stops cleanly, and cProfile writes its file), then kill."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


# ----------------------------------------------------------------------------- the load


class Session(asyncio.Protocol):
    """One client connection: log in, then one request at a time while the load runs."""

    def __init__(self, load: Load, index: int) -> None:
        self.load = load
        self.index = index
        self.client = ClientConnection()
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.logged_in: asyncio.Future[None] = loop.create_future()
        self.idle: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.client.login("admin", ""))

    def data_received(self, data: bytes) -> None:
        for event in self.client.receive_data(data):
            if isinstance(event, LoginReply):
                if event.ok:
                    self.logged_in.set_result(None)
                else:
                    self.logged_in.set_exception(RuntimeError(f"login refused: Ret {event.ret}"))
            elif isinstance(event, Reply):
                if not event.ok:
                    self.load.failures += 1
                self.load.answered += 1
                self.send_next()
            else:
                self.load.failures += 1

    def send_next(self) -> None:
        assert self.transport is not None
        if not self.load.running:
            if not self.idle.done():
                self.idle.set_result(None)
            return
        message_id, body = REQUESTS[self.load.sent % len(REQUESTS)]
        self.load.sent += 1
        self.transport.write(self.client.request(message_id, body))

    def connection_lost(self, exc: Exception | None) -> None:
        error = ConnectionError(f"session {self.index}: connection lost ({exc})")
        for future in (self.logged_in, self.idle):
            if not future.done():
                future.set_exception(error)
        if not self.closed.done():
            self.closed.set_result(None)


class Load:
    def __init__(self) -> None:
        self.running = False
        self.sent = 0
        self.answered = 0
        self.failures = 0


async def open_sessions(
    port: int, count: int, in_flight: int, load: Load
) -> tuple[list[Session], float]:
    """Connect and log in `count` sessions; return them and the seconds it took."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(in_flight)
    sessions: list[Session] = []

    async def one(index: int) -> None:
        async with gate:
            session = Session(load, index)
            await loop.create_connection(lambda: session, HOST, port)
            sessions.append(session)
            await session.logged_in

    start = time.perf_counter()
    async with asyncio.timeout(PHASE_TIMEOUT):
        await asyncio.gather(*(one(index) for index in range(count)))
    return sessions, time.perf_counter() - start


async def run_load(
    sessions: Sequence[Session], load: Load, simulator: SimulatorProcess, seconds: float
) -> tuple[int, float, float]:
    """Requests answered, wall seconds, simulator CPU seconds."""
    cpu_before = simulator.cpu_seconds()
    answered_before = load.answered
    start = time.perf_counter()
    load.running = True
    for session in sessions:
        session.send_next()
    await asyncio.sleep(seconds)
    load.running = False
    answered = load.answered - answered_before
    elapsed = time.perf_counter() - start
    cpu = simulator.cpu_seconds() - cpu_before
    async with asyncio.timeout(PHASE_TIMEOUT):
        await asyncio.gather(*(session.idle for session in sessions))
    return answered, elapsed, cpu


async def close_sessions(sessions: Sequence[Session]) -> None:
    for session in sessions:
        if session.transport is not None:
            session.transport.close()
    async with asyncio.timeout(PHASE_TIMEOUT):
        await asyncio.gather(*(session.closed for session in sessions))


# ----------------------------------------------------------------------------- the run


def raise_fd_limit(needed: int) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise SystemExit(f"the open-file limit is {soft}; {needed} are needed")
    return f"open files limit {soft}"


def pin(simulator_pid: int) -> str:
    """The simulator on one core, this generator on another, when there are two."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return "not pinned (one core)"
    os.sched_setaffinity(simulator_pid, {cores[0]})
    os.sched_setaffinity(0, {cores[1]})
    return f"simulator on core {cores[0]}, load generator on core {cores[1]}"


@contextlib.contextmanager
def simulator_process(sessions: int, cprofile: Path | None) -> Iterator[SimulatorProcess]:
    with tempfile.TemporaryDirectory(prefix="xmcam-bench-") as directory:
        profile = write_profile(Path(directory), sessions + 10)
        simulator = SimulatorProcess(profile, Path(directory) / "sim.log", cprofile)
        try:
            yield simulator
        finally:
            simulator.stop()
            log = (Path(directory) / "sim.log").read_text("utf-8", "replace")
            problems = [line for line in log.splitlines() if "Traceback" in line]
            if problems:
                print(f"simulator log:\n{log[-4000:]}", file=sys.stderr)


async def measure(
    simulator: SimulatorProcess, count: int, in_flight: int, seconds: float
) -> list[Row]:
    await asyncio.sleep(0.5)  # let the simulator settle after start-up
    idle = simulator.rss_kib()
    load = Load()
    cpu_before_logins = simulator.cpu_seconds()
    sessions, login_seconds = await open_sessions(simulator.port, count, in_flight, load)
    login_cpu = simulator.cpu_seconds() - cpu_before_logins
    await asyncio.sleep(0.2)
    with_sessions = simulator.rss_kib()
    answered, elapsed, cpu = await run_load(sessions, load, simulator, seconds)
    after_load = simulator.rss_kib()
    await close_sessions(sessions)
    if load.failures:
        raise RuntimeError(f"{load.failures} replies were not Ret 100")
    per_session = (with_sessions - idle) / count
    per_session_after = (after_load - idle) / count
    worst_memory = max(per_session, per_session_after)
    one_core = answered / cpu if cpu > 0 else float("inf")
    memory_ok = "ok" if worst_memory <= MEMORY_TARGET_KIB else "MISSED"
    rate_ok = "ok" if one_core >= RATE_TARGET else "MISSED"
    return [
        Row("simulator RSS, idle", idle, "KiB"),
        Row(
            f"time to accept {count:,} logins",
            login_seconds,
            "s",
            "",
            f"{in_flight} in flight",
        ),
        Row("logins per second", count / login_seconds, "1/s"),
        Row("simulator CPU per login", login_cpu / count * 1e6, "µs"),
        Row(f"simulator RSS, {count:,} sessions", with_sessions, "KiB"),
        Row(
            "memory per session, after logins",
            per_session,
            "KiB",
            f"<= {MEMORY_TARGET_KIB:.0f}: {memory_ok}",
        ),
        Row(f"simulator RSS, after {elapsed:.0f} s of load", after_load, "KiB"),
        Row(
            "memory per session, after load",
            per_session_after,
            "KiB",
            f"<= {MEMORY_TARGET_KIB:.0f}: {memory_ok}",
        ),
        Row("requests answered", answered, "", "", "KeepAlive, General.General, Camera.Param.[0]"),
        Row("aggregate request rate (wall clock)", answered / elapsed, "req/s"),
        Row("simulator CPU busy", cpu / elapsed * 100, "%", "", "of one core"),
        Row("simulator CPU per request", cpu / answered * 1e6, "µs"),
        Row(
            "request rate on one simulator core",
            one_core,
            "req/s",
            f">= {RATE_TARGET:,.0f}: {rate_ok}",
        ),
    ]


def print_table(rows: Sequence[Row]) -> None:
    width = max(len(row.name) for row in rows)
    print(f"{'measurement':<{width}}  {'value':>12}  {'unit':<6}  {'target':<14}  notes")
    print("-" * (width + 60))
    for row in rows:
        value = (
            f"{row.value:,.2f}"
            if row.unit in ("s", "KiB") and row.value < 100
            else f"{row.value:,.0f}"
        )
        print(f"{row.name:<{width}}  {value:>12}  {row.unit:<6}  {row.target:<14}  {row.note}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 sessions, 3 s")
    parser.add_argument("--sessions", type=int, default=None, help="sessions (default 1000)")
    parser.add_argument("--seconds", type=float, default=None, help="load time (default 20)")
    parser.add_argument(
        "--in-flight", type=int, default=LOGINS_IN_FLIGHT, help="logins at a time (default 100)"
    )
    parser.add_argument("--cprofile", type=Path, help="profile the simulator into this file")
    args = parser.parse_args(argv)
    count = args.sessions or (200 if args.quick else 1000)
    seconds = args.seconds or (3.0 if args.quick else 20.0)
    limits = raise_fd_limit(2 * count + 100)  # the child inherits it
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with simulator_process(count, args.cprofile) as simulator:
        pinning = pin(simulator.pid)
        print(f"xmcam simulator sessions benchmark, {now}")
        print(
            f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
            f"{pinning}, {limits}{', QUICK run' if args.quick else ''}"
        )
        print()
        rows = asyncio.run(measure(simulator, count, args.in_flight, seconds))
    print_table(rows)
    if args.cprofile is not None:
        print(f"\nsimulator profile written to {args.cprofile} (python -m pstats {args.cprofile})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
