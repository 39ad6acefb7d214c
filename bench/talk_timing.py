"""Talk: packet timing jitter and client CPU while talking.

Plays `--seconds` (default 60) of a generated tone through a simulated camera's speaker with
`AsyncCamera.talk()`, the PCM handed over in 20 ms frames as a microphone would. The simulator
runs in its own thread and stamps each packet's arrival on the monotonic clock. Reported:

- the interval between packets, and its deviation from 40 ms (p50, p99, max; target p99 <= 5 ms);
- each packet's slip from its slot (n x 40 ms from the typical offset): drift shows here;
- the client's CPU time while talking (the event loop's thread alone, `time.thread_time()`),
  as a share of one core (target <= 5 %), against the machine's own limit in the same run:
  the CPU the same encoding takes unpaced (the work per packet, no waiting).

Run: PYTHONPATH=src python bench/talk_timing.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import array
import asyncio
import itertools
import math
import statistics
import time
from collections.abc import AsyncIterator

import xmcam
from xmcam.client.talk import TalkEncoder
from xmcam.sim import SimulatorThread, load_profile

PACKET = 0.040


def tone(seconds: float) -> bytes:
    count = int(seconds * 8000)
    return array.array(
        "h", (int(10000 * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(count))
    ).tobytes()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def talk(port: int, pcm: bytes) -> tuple[float, float]:
    async def microphone() -> AsyncIterator[bytes]:
        for start in range(0, len(pcm), 320):  # 20 ms frames
            yield pcm[start : start + 320]

    async with xmcam.connect("127.0.0.1", port, timeout=5) as cam:
        wall, cpu = time.monotonic(), time.thread_time()
        await cam.talk(microphone())
        return time.monotonic() - wall, time.thread_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio to play")
    args = parser.parse_args()
    pcm = tone(args.seconds)
    with SimulatorThread(load_profile()) as sim:
        wall, cpu = asyncio.run(talk(sim.port, pcm))
        deadline = time.monotonic() + 5
        while not sim.simulator.device.talk.finished and time.monotonic() < deadline:
            time.sleep(0.01)
        [session] = sim.simulator.device.talk.finished
    arrivals = session.arrivals
    gaps = [abs(b - a - PACKET) * 1000 for a, b in itertools.pairwise(arrivals)]
    # Slots anchored at the typical offset (the first packet may itself be late).
    offsets = [t - i * PACKET for i, t in enumerate(arrivals)]
    anchor = statistics.median(offsets)
    slips = [abs(offset - anchor) * 1000 for offset in offsets]
    # The same work without pacing: what one packet costs to make.
    started = time.thread_time()
    encoder = TalkEncoder()
    for start in range(0, len(pcm), 320):
        encoder.feed(pcm[start : start + 320])
    encode_cpu = time.thread_time() - started
    print(f"audio {args.seconds:g} s, {session.packets} packets, wall {wall:.3f} s")
    print(
        f"interval deviation from 40 ms: p50 {statistics.median(gaps):.2f} ms, "
        f"p99 {percentile(gaps, 0.99):.2f} ms, max {max(gaps):.2f} ms (target p99 <= 5 ms)"
    )
    print(
        f"slip from the slot: p50 {statistics.median(slips):.2f} ms, "
        f"p99 {percentile(slips, 0.99):.2f} ms, max {max(slips):.2f} ms; "
        f"simulator: {session.early} early, {session.late} late, {session.bad_frames} bad"
    )
    print(
        f"client CPU while talking: {cpu:.3f} s = {100 * cpu / wall:.2f} % of a core "
        f"(target <= 5 %); the encoding alone, unpaced: {encode_cpu:.3f} s "
        f"(ratio talking/encoding {cpu / encode_cpu:.1f})"
    )


if __name__ == "__main__":
    main()
