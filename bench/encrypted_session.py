"""The encrypted FunSDK session against the plain one, same simulator, same run.

    python bench/encrypted_session.py              # the full run
    python bench/encrypted_session.py --quick      # a smoke run
    python bench/encrypted_session.py --cameras 1000

The simulator (`python -m xmcam sim --profile v506 --encryption optional`: new firmware that
takes both kinds of login) runs in processes of its own, so that only the client's work is
counted; with two cores or more the client is pinned to the first and the simulators to the
others.

(a) CPU per request of the blocking client, `xmcam.Camera`, encrypted (`encryption="on"`)
    against plain (`"off"`): one session each on the same simulator, config get of
    General.General and SystemInfo, N requests per round in alternating rounds, process CPU
    time of this process; the median round's ratio. Target: at most 1.3.
(b) Client CPU for one login (`Camera.open()`, process CPU time): the first encrypted login of
    the process (it imports `cryptography`), then the median of the next ones, against the
    median plain login. Target: at most 20 ms for an encrypted login.
(c) Watched cameras, encrypted against plain, each in a fresh child process: N
    `AsyncCamera`s logged in with their keepalive task, iterating `alarms()`; memory per
    camera (VmRSS with every camera watched - before, after a garbage collection; what the
    first encrypted session costs the process, importing `cryptography` and OpenSSL's tables,
    is measured apart) and the
    latency of NetAlarm pushes (1506 OPNetAlarm from an unguarded control connection, 10
    Start/Stop pairs), as bench/client_vs_python_dvr.py measures them.

Loopback only; every wait is bounded; the children and simulators are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gc
import importlib.resources
import json
import os
import platform
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
if str(REPO_ROOT / "src") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "src"))

import xmcam  # noqa: E402
from xmcam.aio import AsyncCamera  # noqa: E402

HOST: Final = "127.0.0.1"
SIM_START_TIMEOUT: Final = 30.0
CHILD_TIMEOUT: Final = 900.0
SETUP_TIMEOUT: Final = 300.0
ROUND_TIMEOUT: Final = 10.0
ROUND_PAUSE: Final = 0.5
CONNECT_CONCURRENCY: Final = 50
RESULT_PREFIX: Final = "RESULT "
CPU_TARGET: Final = 1.3
LOGIN_TARGET_MS: Final = 20.0


def vm_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cores() -> tuple[set[int] | None, set[int] | None]:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) < 2:
        return None, None
    return {available[0]}, set(available[1:])


def write_profile(directory: Path, max_connections: int) -> Path:
    """The v506 profile, both kinds of login taken, TCPMaxConn raised, its clips named by
    absolute paths (a profile file's relative paths are the current directory's)."""
    package = importlib.resources.files("xmcam.sim")
    data = json.loads(package.joinpath("profiles", "v506.json").read_text("utf-8"))
    data["config"]["NetWork.NetCommon"]["TCPMaxConn"] = max_connections
    data["encryption"]["mode"] = "optional"
    data["media"] = {name: str(Path(str(package)) / path) for name, path in data["media"].items()}
    path = directory / f"v506-{max_connections}.json"
    path.write_text(json.dumps(data), "utf-8")
    return path


@contextlib.contextmanager
def simulator(profile: Path, sim_cores: set[int] | None) -> Iterator[int]:
    command = [sys.executable, "-m", "xmcam", "sim", "--host", HOST, "--port", "0"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*command, "--profile", str(profile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
    )
    try:
        if sim_cores is not None:
            os.sched_setaffinity(process.pid, sim_cores)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], SIM_START_TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            raise RuntimeError(f"the simulator did not start (it said {line!r})")
        yield int(line.rsplit(":", 1)[1])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# ------------------------------------------------------------------------- (a) and (b)


def cpu_per_call(run: Callable[[], object], count: int) -> float:
    gc.collect()
    start = time.process_time()
    for _ in range(count):
        run()
    return (time.process_time() - start) / count


def bench_logins(port: int, count: int) -> dict[str, Any]:
    """(b): process CPU of `Camera.open()`, encrypted then plain. Runs before anything else
    in the process has used the encrypted session, so the first login imports `cryptography`."""
    assert "cryptography" not in sys.modules, "(b) must run first"

    def login(mode: str) -> Callable[[], None]:
        def run() -> None:
            camera = xmcam.Camera(HOST, port, encryption=mode)
            camera.open()
            assert camera.login_info.encrypted is (mode == "on")
            camera.close()

        return run

    first = cpu_per_call(login("on"), 1)
    encrypted = [cpu_per_call(login("on"), 1) for _ in range(count)]
    plain = [cpu_per_call(login("off"), 1) for _ in range(count)]
    return {
        "first_encrypted_ms": first * 1000,
        "encrypted_ms": statistics.median(encrypted) * 1000,
        "encrypted_best_ms": min(encrypted) * 1000,
        "plain_ms": statistics.median(plain) * 1000,
        "logins": count,
    }


def bench_requests(port: int, count: int, rounds: int) -> dict[str, Any]:
    """(a): CPU per request, encrypted against plain, alternating rounds."""
    with (
        xmcam.Camera(HOST, port, encryption="on") as sealed,
        xmcam.Camera(HOST, port, encryption="off") as plain,
    ):
        assert sealed.login_info.encrypted
        assert not plain.login_info.encrypted
        assert sealed.get_config("General.General") == plain.get_config("General.General")
        workloads: dict[str, dict[str, Callable[[], object]]] = {
            "config get General.General": {
                "encrypted": lambda: sealed.get_config("General.General"),
                "plain": lambda: plain.get_config("General.General"),
            },
            "SystemInfo": {"encrypted": sealed.system_info, "plain": plain.system_info},
        }
        results: dict[str, Any] = {}
        for request, runs in workloads.items():
            for run in runs.values():  # warm up
                cpu_per_call(run, max(count // 10, 10))
            series: dict[str, list[float]] = {"encrypted": [], "plain": []}
            for number in range(rounds):
                order = ["encrypted", "plain"] if number % 2 == 0 else ["plain", "encrypted"]
                for kind in order:
                    series[kind].append(cpu_per_call(runs[kind], count) * 1e6)
            ratios = [e / p for e, p in zip(series["encrypted"], series["plain"], strict=True)]
            results[request] = {
                "encrypted_us": statistics.median(series["encrypted"]),
                "plain_us": statistics.median(series["plain"]),
                "ratio": statistics.median(ratios),
            }
        return results


# ------------------------------------------------------------------------------ (c)


async def watch(port: int, cameras: int, rounds: int, encryption: str) -> dict[str, Any]:
    control = await AsyncCamera(HOST, port, encryption="off").open()  # triggers, unguarded
    gc.collect()
    rss_before = vm_rss_kib()
    result: dict[str, Any] = {"encryption": encryption, "cameras": cameras}
    if encryption == "on":
        # What the first encrypted session costs a process (importing `cryptography`,
        # OpenSSL's tables) is paid once, not per camera: measured apart.
        first = await AsyncCamera(HOST, port, encryption="on").open()
        await first.close()
        gc.collect()
        result["once_kib"] = vm_rss_kib() - rss_before
        rss_before = vm_rss_kib()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    watchers = [AsyncCamera(HOST, port, encryption=encryption) for _ in range(cameras)]
    current: dict[str, Any] = {"status": None, "sent": 0.0, "latencies": []}
    latencies: list[float] = []

    async def watch_one(camera: AsyncCamera) -> None:
        async with gate:
            await camera.open()
        async with contextlib.aclosing(camera.alarms()) as events:
            async for event in events:
                if event.event == "NetAlarm" and event.status == current["status"]:
                    current["latencies"].append(time.perf_counter() - current["sent"])

    started = time.perf_counter()
    tasks = [asyncio.create_task(watch_one(camera)) for camera in watchers]
    try:
        async with asyncio.timeout(SETUP_TIMEOUT):
            while sum(camera.subscribed for camera in watchers) < cameras:
                ended = [task for task in tasks if task.done()]
                if ended:
                    raise RuntimeError(f"a watcher ended: {ended[0].exception()!r}")
                await asyncio.sleep(0.05)
        result["setup_s"] = time.perf_counter() - started
        result["encrypted_sessions"] = sum(camera.login_info.encrypted for camera in watchers)
        await asyncio.sleep(0.5)
        gc.collect()
        result["rss_per_camera_kib"] = (vm_rss_kib() - rss_before) / cameras
        latencies = await alarm_rounds(control, current, cameras, rounds)
    finally:
        await asyncio.gather(*(camera.close() for camera in [*watchers, control]))
        _, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result.update(
        delivered=len(latencies),
        expected=cameras * rounds * 2,
        p50_ms=percentile(latencies, 0.5) if latencies else None,
        p99_ms=percentile(latencies, 0.99) if latencies else None,
    )
    return result


async def alarm_rounds(
    control: AsyncCamera, current: dict[str, Any], cameras: int, rounds: int
) -> list[float]:
    """`rounds` pairs of NetAlarm Start and Stop; every watcher's delay, in milliseconds."""
    latencies: list[float] = []
    for _ in range(rounds):
        for state, status in ((1, "Start"), (0, "Stop")):
            current["latencies"] = []
            current["status"] = status
            current["sent"] = time.perf_counter()
            await control.net_alarm(state)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ROUND_TIMEOUT):
                    while len(current["latencies"]) < cameras:
                        await asyncio.sleep(0.005)
            latencies.extend(value * 1000 for value in current["latencies"])
            await asyncio.sleep(ROUND_PAUSE)
    return latencies


def child_main(args: argparse.Namespace) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.cameras + 256
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    result = asyncio.run(watch(args.port, args.cameras, args.rounds, args.child))
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


def run_child(port: int, cameras: int, rounds: int, encryption: str, client_cores: Any) -> Any:
    command = [sys.executable, __file__, "--child", encryption, "--port", str(port)]
    command += ["--cameras", str(cameras), "--rounds", str(rounds)]
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        command, stdout=subprocess.PIPE, text=True
    )
    try:
        if client_cores is not None:
            os.sched_setaffinity(child.pid, client_cores)
        out, _ = child.communicate(timeout=CHILD_TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    lines = [line for line in out.splitlines() if line.startswith(RESULT_PREFIX)]
    if child.returncode != 0 or not lines:
        raise RuntimeError(f"the {encryption} child failed (exit {child.returncode})")
    return json.loads(lines[-1].removeprefix(RESULT_PREFIX))


# ------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--requests", type=int, default=2000, help="requests per round (a)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds (a); alarm pairs (c)")
    parser.add_argument("--logins", type=int, default=40, help="logins measured (b)")
    parser.add_argument("--cameras", type=int, default=200, help="watched cameras (c)")
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child_main(args)
    if args.quick:
        args.requests, args.rounds, args.logins, args.cameras = 200, 2, 5, 20
    client_cores, sim_cores = cores()
    if client_cores is not None:
        os.sched_setaffinity(0, client_cores)
    print(
        f"{datetime.date.today()}  Python {platform.python_version()}  "
        f"{os.cpu_count()} cores  client cores {client_cores}  simulator cores {sim_cores}"
    )
    with tempfile.TemporaryDirectory() as directory:
        profile = write_profile(Path(directory), args.cameras + 20)
        with simulator(profile, sim_cores) as port:
            logins = bench_logins(port, args.logins)
            print(
                f"(b) login, client CPU: first encrypted (imports cryptography) "
                f"{logins['first_encrypted_ms']:.1f} ms; encrypted median "
                f"{logins['encrypted_ms']:.2f} ms (best {logins['encrypted_best_ms']:.2f}); "
                f"plain median {logins['plain_ms']:.2f} ms; target <= {LOGIN_TARGET_MS:g} ms: "
                + ("met" if logins["encrypted_ms"] <= LOGIN_TARGET_MS else "missed")
            )
            requests = bench_requests(port, args.requests, args.rounds)
            for request, figures in requests.items():
                print(
                    f"(a) {request}: encrypted {figures['encrypted_us']:.1f} us, plain "
                    f"{figures['plain_us']:.1f} us CPU per request (median rounds); ratio "
                    f"{figures['ratio']:.2f}; target <= {CPU_TARGET}: "
                    + ("met" if figures["ratio"] <= CPU_TARGET else "missed")
                )
        with simulator(profile, sim_cores) as port:
            watched = {
                mode: run_child(port, args.cameras, args.rounds, mode, client_cores)
                for mode in ("off", "on")
            }
        for mode, result in watched.items():
            print(
                f"(c) {result['cameras']} cameras watched, encryption {mode}: "
                f"{result['encrypted_sessions']} encrypted sessions, setup "
                f"{result['setup_s']:.1f} s, {result['rss_per_camera_kib']:.1f} KiB RSS per "
                f"camera (+ {result.get('once_kib', 0) / 1024:.1f} MiB once per process), "
                f"alarms {result['delivered']} of {result['expected']}, latency p50 "
                f"{result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
