"""Client CPU for 50 concurrent 4 Mbit/s live streams from one asyncio process.

    python bench/live_streams.py            # the full run: 50 streams, 2 phases of 20 s
    python bench/live_streams.py --quick    # a smoke run: 10 streams, 4 s each

The simulator runs in a process of its own (`xmcam sim --video CLIP`), streaming in real
time (paced at 25 fps) a clip this script makes with ffmpeg: 1280x720 H.264 at 4 Mbit/s
(`-b:v 4M -maxrate 4M -bufsize 1M`, a keyframe every second, SPS/PPS before each, no
B-frames, as cameras send), with noise so that the encoder really spends its 4 Mbit/s; the
simulator adds its G.711 audio (8 kbit/s). One AsyncCamera per stream (each a control
connection and, in the vendor flow, a media connection: 100 sockets), all in one event loop,
each iterating `live()` into a null sink (frames counted and dropped).

Two phases in the same run, on the same simulator:

1. **full**: what a user gets: the packets demuxed into typed frames, queued, iterated.
2. **transport only**: the same streams with the demuxer switched off (each packet's payload
   only counted): the cost of receiving the bytes with asyncio and cutting DVRIP packets,
   which no library on this event loop can avoid. The full phase's CPU divided by this one
   is the price of the frames.

Measured over each phase's steady state (all streams running): the client's CPU time
(`time.process_time()`, user + system, all threads) over wall time, as a share of one core;
the simulator's from /proc. "No frame lost" is checked, not assumed: every video frame of
every stream must be the clip's next one (each is identified by its size and its last 32
bytes), from the first to the last, and the streams' drop counters must stay at 0. The video
frames received are also compared to what the simulator's pacing sends (25 per second per
stream): a ratio well below 1 means the simulator, not the client, fell behind.

Target (the media issue): client CPU at most 50% of one core for 50 streams, no frame lost.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from xmcam.aio import AsyncCamera  # noqa: E402
from xmcam.client import media_operations as mops  # noqa: E402
from xmcam.media.annexb import access_units  # noqa: E402
from xmcam.media.frames import VideoCodec, VideoFrame  # noqa: E402

FPS: Final = 25
TARGET_CPU: Final = 0.50
CLIP_SECONDS: Final = 8
_KEY_TAIL: Final = 32  # bytes of a frame's end that, with its size, name it in the clip


def make_clip(directory: Path) -> Path:
    """A 1280x720 H.264 clip at 4 Mbit/s, made with ffmpeg from its own test source."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("this benchmark needs ffmpeg on PATH")
    clip = directory / "clip-720p-4M.h264"
    params = "keyint=25:min-keyint=25:scenecut=0:bframes=0:repeat-headers=1"
    command = [
        ffmpeg, "-v", "error", "-y", "-f", "lavfi",
        "-i", f"testsrc2=size=1280x720:rate={FPS},noise=alls=30:allf=t",
        "-t", str(CLIP_SECONDS), "-c:v", "libx264", "-preset", "veryfast",
        "-profile:v", "main", "-pix_fmt", "yuv420p", "-x264-params", params,
        "-b:v", "4M", "-maxrate", "4M", "-bufsize", "1M", "-f", "h264", str(clip),
    ]  # fmt: skip
    subprocess.run(command, check=True)  # noqa: S603 - our own command line
    return clip


def clip_index(clip: Path) -> tuple[dict[tuple[int, bytes], int], float]:
    """Each access unit's key -> its number in the clip; and the clip's video bit rate."""
    data = clip.read_bytes()
    units = access_units(data, VideoCodec.H264)
    index = {(len(unit.data), unit.data[-_KEY_TAIL:]): number for number, unit in enumerate(units)}
    if len(index) != len(units):
        raise SystemExit("two access units of the clip look alike: cannot check continuity")
    return index, len(data) * 8 / (len(units) / FPS)


@dataclass
class Simulator:
    process: subprocess.Popen[str]
    port: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the simulator process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_simulator(clip: Path) -> Simulator:
    command = [sys.executable, "-m", "xmcam", "sim", "--port", "0", "--video", str(clip)]
    process = subprocess.Popen(  # noqa: S603 - our own command line
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # "listening on 127.0.0.1:PORT"
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return Simulator(process, int(line.rsplit(":", 1)[1]))


@dataclass
class StreamCount:
    """What one stream delivered, and whether its video frames were the clip's in order."""

    video: int = 0
    audio: int = 0
    gaps: int = 0
    unknown: int = 0
    previous: int | None = None
    bytes: int = 0
    dropped: list[int] = field(default_factory=list)


@dataclass
class Phase:
    name: str
    streams: int
    wall: float
    client_cpu: float
    simulator_cpu: float
    counts: list[StreamCount]

    @property
    def video_frames(self) -> int:
        return sum(count.video for count in self.counts)


async def run_phase(
    name: str,
    simulator: Simulator,
    *,
    streams: int,
    seconds: float,
    index: dict[tuple[int, bytes], int],
) -> Phase:
    cameras = [AsyncCamera("127.0.0.1", simulator.port, timeout=15.0) for _ in range(streams)]
    counts = [StreamCount() for _ in range(streams)]
    started = [asyncio.Event() for _ in range(streams)]
    measuring = asyncio.Event()
    finished = asyncio.Event()
    units = len(index)

    async def consume(camera: AsyncCamera, count: StreamCount, running: asyncio.Event) -> None:
        async with camera.live() as stream:
            if name != "full":  # no frames to iterate: the bytes arrive all the same
                while not stream.stats.bytes:
                    await asyncio.sleep(0.05)
                running.set()
                await finished.wait()
                return
            async for frame in stream:
                if not running.is_set():
                    running.set()
                if finished.is_set():
                    break
                if not measuring.is_set():
                    continue
                if type(frame) is VideoFrame:
                    number = index.get((len(frame.data), frame.data[-_KEY_TAIL:]))
                    if number is None:
                        count.unknown += 1
                    elif count.previous is not None and number != (count.previous + 1) % units:
                        count.gaps += 1
                    count.previous = number
                    count.video += 1
                    count.bytes += len(frame.data)
                else:
                    count.audio += 1
            stats = stream.stats
            count.dropped = [stats.dropped_frames, stats.dropped_bytes]

    try:
        for camera in cameras:
            await camera.open()
        tasks = [
            asyncio.create_task(consume(camera, count, running))
            for camera, count, running in zip(cameras, counts, started, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started)), 60)
        await asyncio.sleep(1.0)  # past the start's burst
        measuring.set()
        wall, cpu, sim_cpu = time.perf_counter(), time.process_time(), simulator.cpu_seconds()
        await asyncio.sleep(seconds)
        finished.set()
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        sim_cpu = simulator.cpu_seconds() - sim_cpu
        await asyncio.gather(*tasks)
    finally:
        for camera in cameras:
            await camera.close()
    return Phase(name, streams, wall, cpu / wall, sim_cpu / wall, counts)


def count_only(self: mops.LiveFeed, payload: bytes) -> None:
    """LiveFeed.add with the demuxer switched off: the bytes are counted, no frame made."""
    self.bytes += len(payload)


def report(phase: Phase, bit_rate: float) -> list[str]:
    counts = phase.counts
    expected = phase.streams * FPS * phase.wall
    mbit = sum(count.bytes for count in counts) * 8 / phase.wall / 1e6
    lost = sum(count.gaps + count.unknown for count in counts)
    dropped = sum(sum(count.dropped) for count in counts)
    lines = [
        f"{phase.name}: {phase.streams} streams, {phase.wall:.1f} s",
        f"  client CPU            {phase.client_cpu:7.1%} of one core",
        f"  simulator CPU         {phase.simulator_cpu:7.1%} of one core",
    ]
    if phase.name == "full":
        lines += [
            f"  video frames          {phase.video_frames:7d} (pacing sends {expected:.0f}: "
            f"{phase.video_frames / expected:.3f})",
            f"  audio frames          {sum(count.audio for count in counts):7d}",
            f"  video received        {mbit:7.1f} Mbit/s ({mbit / phase.streams:.2f} per stream;"
            f" clip {bit_rate / 1e6:.2f})",
            f"  frames lost           {lost:7d} (out of order or unknown)",
            f"  frames/bytes dropped  {dropped:7d}",
        ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 streams, 4 s")
    parser.add_argument("--streams", type=int, help="concurrent streams (default 50)")
    parser.add_argument("--seconds", type=float, help="measured seconds per phase (default 20)")
    args = parser.parse_args(argv)
    streams = args.streams or (10 if args.quick else 50)
    seconds = args.seconds or (4.0 if args.quick else 20.0)
    print(
        f"# {datetime.date.today()} {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
        f"{', QUICK run' if args.quick else ''}"
    )
    with tempfile.TemporaryDirectory() as directory:
        clip = make_clip(Path(directory))
        index, bit_rate = clip_index(clip)
        simulator = start_simulator(clip)
        try:
            asyncio.run(_raise_connection_limit(simulator.port, 2 * streams + 10))
            full = asyncio.run(
                run_phase("full", simulator, streams=streams, seconds=seconds, index=index)
            )
            add = mops.LiveFeed.add
            mops.LiveFeed.add = count_only  # type: ignore[method-assign]
            try:
                bare = asyncio.run(
                    run_phase(
                        "transport only", simulator, streams=streams, seconds=seconds, index=index
                    )
                )
            finally:
                mops.LiveFeed.add = add  # type: ignore[method-assign]
        finally:
            simulator.process.terminate()
            simulator.process.wait(10)
            if simulator.process.stdout is not None:
                simulator.process.stdout.close()
    for line in [*report(full, bit_rate), *report(bare, bit_rate)]:
        print(line)
    lost = sum(count.gaps + count.unknown + sum(count.dropped) for count in full.counts)
    print(
        f"full / transport-only CPU: {full.client_cpu / bare.client_cpu:.2f}; "
        f"target <= {TARGET_CPU:.0%} of one core: "
        f"{'met' if full.client_cpu <= TARGET_CPU else 'NOT met'}; "
        f"no frame lost: {'met' if lost == 0 else 'NOT met'}"
    )
    return 0


async def _raise_connection_limit(port: int, connections: int) -> None:
    """The simulator takes 10 connections, like many cameras (TCPMaxConn): raise it."""
    camera = AsyncCamera("127.0.0.1", port)
    async with camera:
        common = await camera.get_config("NetWork.NetCommon")
        await camera.set_config("NetWork.NetCommon", dict(common, TCPMaxConn=connections))


if __name__ == "__main__":
    sys.exit(main())
