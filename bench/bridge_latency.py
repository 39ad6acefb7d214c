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
CPU milliseconds per second; /proc counts in 10 ms ticks). With --audit-interval, the bridge
also audits each camera that often (`xmcam audit`, no port knocked on): set it to --idle and
the idle figure holds about one audit per camera.
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
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bridge_rig as rig

CAMERA_NAME = "cam{:03d}"  # in the bridge's inventory, by camera number
PROBE_TOPIC = "bench/probe"
PROBE_PERIOD = 0.02


async def measure(args: argparse.Namespace) -> dict[str, Any]:
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
        per_process = -(-args.cameras // args.processes)
        groups = rig.start_simulators(__file__, args.cameras, per_process, children, other_cores)
        inventory = directory / "cameras.toml"
        ports = [port for _, group in groups for port in group]
        rig.write_inventory(inventory, ports, CAMERA_NAME)
        recorder = rig.Recorder(PROBE_TOPIC)
        no_delay = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)  # as the bridge
        async with (
            aiomqtt.Client("127.0.0.1", broker_port, timeout=30, socket_options=no_delay) as client,
            aiomqtt.Client("127.0.0.1", broker_port, timeout=30, socket_options=no_delay) as prober,
        ):
            # QoS 0 to this subscriber: its acknowledgements are no part of what is measured.
            await client.subscribe([("xmcam/+/event", 0), ("xmcam/+/availability", 0)])
            await client.subscribe(PROBE_TOPIC, qos=0)
            reading = asyncio.create_task(rig.read_messages(client, recorder))
            log = stack.enter_context((directory / "bridge.log").open("wb"))
            bridge = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "xmcam", "bridge", "mqtt", "--broker",
                 f"mqtt://127.0.0.1:{broker_port}", "--inventory", str(inventory),
                 "--skew-interval", "3600", *_audit_option(args)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip
            children.append(bridge)
            rig.pin(bridge.pid, bridge_core)
            started = time.monotonic()
            await recorder.until(lambda: len(recorder.online) == len(ports), 120, "all online")
            all_online = time.monotonic() - started
            await asyncio.sleep(1)  # let the start-up burst (discovery, states) settle
            rss_online = rig.status_kib(bridge.pid, "VmRSS")
            idle_before = rig.cpu_seconds(bridge.pid)
            await asyncio.sleep(args.idle)  # keepalives only
            idle_share = (rig.cpu_seconds(bridge.pid) - idle_before) / args.idle
            cpu_before = rig.cpu_seconds(bridge.pid)
            rig.start_alarms(groups, args.rate, args.seconds)
            probing = asyncio.create_task(_probe(prober, args.seconds))
            triggers = await rig.collect_triggers(groups)
            await recorder.until(lambda: recorder.received() >= len(triggers), 30, "events")
            cpu_used = rig.cpu_seconds(bridge.pid) - cpu_before
            rss_peak = rig.status_kib(bridge.pid, "VmHWM")
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


async def _probe(client: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await client.publish(PROBE_TOPIC, repr(time.monotonic()), qos=1)
        await asyncio.sleep(PROBE_PERIOD)


def _results(
    args: argparse.Namespace,
    triggers: Sequence[rig.Trigger],
    recorder: rig.Recorder,
    bridge: dict[str, float],
) -> dict[str, Any]:
    cpu_used, idle_share = bridge["cpu_seconds"], bridge["idle_share"]
    latencies, mismatched = recorder.latencies(triggers, CAMERA_NAME)
    milliseconds = [value * 1000 for value in latencies]
    probes = [value * 1000 for value in recorder.probes]
    p50, p99 = rig.percentile(milliseconds, 0.5), rig.percentile(milliseconds, 0.99)
    probe_p50, probe_p99 = rig.percentile(probes, 0.5), rig.percentile(probes, 0.99)
    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cameras": args.cameras,
        "alarms": len(triggers),
        "events_matched": len(latencies),
        "status_mismatches": mismatched,
        "rate_per_s": args.rate,
        "audit_interval_s": args.audit_interval,
        "seconds_to_all_online": round(bridge["seconds_to_all_online"], 2),
        "latency_ms": {
            "p50": round(p50, 2),
            "p90": round(rig.percentile(milliseconds, 0.9), 2),
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


def _audit_option(args: argparse.Namespace) -> list[str]:
    return ["--audit-interval", str(args.audit_interval)] if args.audit_interval else []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0, help="alarms per second, in all")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=2, help="simulator processes")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds measured idle first")
    parser.add_argument(
        "--audit-interval",
        type=float,
        help="the bridge's --audit-interval (default: none); with it as --idle, the idle "
        "phase holds about one audit per camera",
    )
    parser.add_argument("--quick", action="store_true", help="20 cameras for 5 s")
    parser.add_argument("--serve", nargs=3, type=int, metavar=("FIRST", "COUNT", "SEED"))
    args = parser.parse_args(argv)
    if args.serve:
        first, count, seed = args.serve
        asyncio.run(rig.serve(first, count, seed, serial="BENCH{:04d}"))
        return 0
    if shutil.which(rig.MOSQUITTO) is None:
        raise SystemExit(f"{rig.MOSQUITTO} is needed (Debian: apt install mosquitto)")
    if args.quick:
        args.cameras, args.seconds, args.rate, args.idle = 20, 5.0, 50.0, 1.0
    results = asyncio.run(measure(args))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
