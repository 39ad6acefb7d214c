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
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bridge_rig as rig

SYSTEMD_FILE_LIMIT = 1024  # a service's soft RLIMIT_NOFILE unless its unit says otherwise
TARGET_KIB_PER_CAMERA = 16.0
TARGET_IDLE_SHARE = 0.10
TARGET_P99_MS = 100.0
CAMERA_NAME = "cam{:05d}"  # in the bridge's inventory, by camera number


def systemd_file_limit() -> None:
    """In the bridge's child, before exec: the soft open-file limit a service starts with."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(SYSTEMD_FILE_LIMIT, hard), hard))


# ------------------------------------------------------------------ one size


async def measure(args: argparse.Namespace, cameras: int, alarms: bool) -> dict[str, Any]:
    import aiomqtt  # noqa: PLC0415

    bridge_core, other_cores = rig.cores()
    rig.pin(0, other_cores)
    with (
        tempfile.TemporaryDirectory() as temporary,
        contextlib.ExitStack() as stack,
        rig.processes() as children,
    ):
        directory = Path(temporary)
        broker_port = rig.start_mosquitto(directory, children)
        rig.pin(children[-1].pid, other_cores)
        groups = rig.start_simulators(__file__, cameras, args.per_process, children, other_cores)
        ports = [port for _, group in groups for port in group]
        inventory = directory / "cameras.toml"
        rig.write_inventory(inventory, ports, CAMERA_NAME)
        recorder = rig.Recorder()
        async with aiomqtt.Client("127.0.0.1", broker_port, timeout=30) as client:
            await client.subscribe([("xmcam/+/event", 0), ("xmcam/+/availability", 0)])
            reading = asyncio.create_task(rig.read_messages(client, recorder))
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
            rig.pin(bridge.pid, bridge_core)
            started = time.monotonic()
            await recorder.until(
                lambda: len(recorder.online - {"bridge"}) == cameras, 600, "all online"
            )
            all_online = time.monotonic() - started
            await asyncio.sleep(3)  # the start-up burst (discovery, states) settles
            rss = rig.status_kib(bridge.pid, "VmRSS")
            files = len(os.listdir(f"/proc/{bridge.pid}/fd"))
            idle_before = rig.cpu_seconds(bridge.pid)
            await asyncio.sleep(args.idle)
            idle_share = (rig.cpu_seconds(bridge.pid) - idle_before) / args.idle
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
                result["rss_peak_mib"] = round(rig.status_kib(bridge.pid, "VmHWM") / 1024, 1)
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
    groups: list[rig.SimulatorGroup],
    recorder: rig.Recorder,
    pid: int,
) -> dict[str, Any]:
    cpu_before = rig.cpu_seconds(pid)
    rig.start_alarms(groups, args.rate, args.seconds)
    triggers = await rig.collect_triggers(groups)
    await recorder.until(lambda: recorder.received() >= len(triggers), 60, "events")
    cpu_used = rig.cpu_seconds(pid) - cpu_before
    seconds, mismatched = recorder.latencies(triggers, CAMERA_NAME)
    latencies = [value * 1000 for value in seconds]
    return {
        "alarms": len(triggers),
        "events_matched": len(latencies),
        "status_mismatches": mismatched,
        "alarm_rate_per_s": args.rate,
        "latency_ms": {
            "p50": round(rig.percentile(latencies, 0.5), 2),
            "p99": round(rig.percentile(latencies, 0.99), 2),
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
        first, count, seed = args.serve
        asyncio.run(rig.serve(first, count, seed, serial="SCALE{:05d}"))
        return 0
    if shutil.which(rig.MOSQUITTO) is None:
        raise SystemExit(f"{rig.MOSQUITTO} is needed (Debian: apt install mosquitto)")
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
