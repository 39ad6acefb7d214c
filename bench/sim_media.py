"""The simulator's live media under load: many paced streams, and one stream unpaced.

    python bench/sim_media.py            # the full run (about half a minute)
    python bench/sim_media.py --quick    # a smoke run (a few seconds)

The simulator runs as `python -m xmcam sim --port 0` in a process of its own, streaming a
4 Mbit/s 1280x720 H.264 clip made with ffmpeg for the run (G.711 audio on top, as the
default). This script is the client, on asyncio with raw sockets and the core's
`ClientConnection`, in the vendor's two-connection flow. Loopback only.

1. Paced: N streams (default 50) at once, in real time, for a fixed time. The bytes that
   arrived against what N real-time streams carry (the ratio should be 1.00), the
   simulator's CPU (utime + stime in /proc/PID/stat) as a share of one core, and packets
   lost (gaps in the sequence numbers: must be 0).
2. Unpaced (`--unpaced`): one stream as fast as the socket takes it (the client only counts
   bytes), against the same bytes sent by a plain asyncio socket writer on this machine in
   the same run (the machine's limit): the simulator's share of that rate is its overhead
   (packetizing, framing, pacing machinery). Also the rate per core of simulator CPU.

The default TCPMaxConn is 10 (the seed's camera); the run writes a profile with it raised.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from xmcam.protocol import ClientConnection, MediaPacket, MessageId, Reply

HOST: Final = "127.0.0.1"
CLIP_SECONDS: Final = 4
BITRATE: Final = "4M"
START_TIMEOUT: Final = 15.0


@dataclass
class Stream:
    """One live stream: its control and media connections, and what has arrived."""

    control: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    media: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    protocol: ClientConnection
    received: int = 0
    packets: int = 0
    gaps: int = 0
    last_sequence: int = 0


def make_clip(directory: Path) -> Path:
    if shutil.which("ffmpeg") is None:
        sys.exit("bench/sim_media.py needs ffmpeg")
    clip = directory / "4mbit.h264"
    x264 = "keyint=25:min-keyint=25:scenecut=0:bframes=0:repeat-headers=1"
    x264 += ":vbv-maxrate=4000:vbv-bufsize=2000"
    command = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi"]
    command += ["-i", "testsrc2=size=1280x720:rate=25", "-t", str(CLIP_SECONDS)]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", BITRATE, "-x264-params", x264]
    # ffmpeg with arguments of our own making.
    subprocess.run([*command, "-f", "h264", str(clip)], check=True, timeout=120)  # noqa: S603
    return clip


def wide_profile(directory: Path, connections: int) -> Path:
    text = resources.files("xmcam.sim").joinpath("profiles", "ipc-seed.json").read_text("utf-8")
    profile = json.loads(text)
    profile["config"]["NetWork.NetCommon"]["TCPMaxConn"] = connections
    path = directory / "wide.json"
    path.write_text(json.dumps(profile))
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_simulator(*options: str) -> tuple[subprocess.Popen[str], int]:
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and options
        [sys.executable, "-m", "xmcam", "sim", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.startswith("listening on "):
        child.kill()
        sys.exit(f"the simulator did not start: {line!r}")
    return child, int(line.rsplit(":", 1)[1])


async def reply(reader: asyncio.StreamReader, protocol: ClientConnection) -> Reply:
    while True:
        data = await asyncio.wait_for(reader.read(65536), START_TIMEOUT)
        if not data:
            raise ConnectionResetError("closed by the simulator")
        for event in protocol.receive_data(data):
            if isinstance(event, Reply):
                return event


def monitor(action: str) -> dict[str, Any]:
    parameter = {"Channel": 0, "CombinMode": "NONE", "StreamType": "Main", "TransMode": "TCP"}
    return {"Name": "OPMonitor", "OPMonitor": {"Action": action, "Parameter": parameter}}


async def open_stream(port: int) -> Stream:
    control = await asyncio.open_connection(HOST, port)
    protocol = ClientConnection()
    control[1].write(protocol.login("admin", ""))
    await reply(control[0], protocol)
    media = await asyncio.open_connection(HOST, port)
    joined = ClientConnection.for_session(protocol.session_id)
    media[1].write(joined.request(MessageId.MONITOR_CLAIM_REQ, monitor("Claim")))
    await reply(media[0], joined)
    control[1].write(protocol.request(MessageId.MONITOR_REQ, monitor("Start")))
    await reply(control[0], protocol)
    return Stream(control, media, joined)


async def receive(stream: Stream, *, parse: bool) -> None:
    reader = stream.media[0]
    while data := await reader.read(1 << 18):
        if not parse:  # bytes counted only: the client must not be what limits the rate
            stream.received += len(data)
            continue
        for event in stream.protocol.receive_data(data):
            if isinstance(event, MediaPacket):
                sequence = event.frame.header.sequence
                stream.gaps += sequence != stream.last_sequence + 1
                stream.last_sequence = sequence
                stream.packets += 1
                stream.received += len(event.frame.payload)


async def measure(
    streams: list[Stream], pid: int, seconds: float, *, parse: bool = True
) -> dict[str, float]:
    tasks = [asyncio.create_task(receive(stream, parse=parse)) for stream in streams]
    await asyncio.sleep(1.0)  # past the start: every stream is flowing
    cpu, clock, received = cpu_seconds(pid), time.monotonic(), sum(s.received for s in streams)
    await asyncio.sleep(seconds)
    cpu = cpu_seconds(pid) - cpu
    clock = time.monotonic() - clock
    received = sum(s.received for s in streams) - received
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for stream in streams:
        for _, writer in (stream.media, stream.control):
            writer.close()
    return {
        "seconds": clock,
        "bytes": received,
        "cpu": cpu / clock,
        "gaps": sum(stream.gaps for stream in streams),
    }


async def plain_socket_rate(data: bytes, seconds: float) -> float:
    """Bytes per second a plain asyncio writer pushes through loopback to a plain reader."""
    done = asyncio.Event()
    total = 0

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal total
        while chunk := await reader.read(1 << 18):
            total += len(chunk)
        writer.close()
        done.set()

    server = await asyncio.start_server(sink, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection(HOST, port)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        writer.write(data)
        await writer.drain()
    elapsed = time.monotonic() - started
    writer.close()
    await writer.wait_closed()
    await done.wait()
    server.close()
    await server.wait_closed()
    return total / elapsed


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        clip = make_clip(directory)
        clip_bitrate = clip.stat().st_size * 8 / CLIP_SECONDS
        profile = wide_profile(directory, 2 * args.streams + 10)
        print(f"clip: 1280x720 H.264, {clip_bitrate / 1e6:.2f} Mbit/s; {platform.python_version()}")

        child, port = start_simulator("--profile", str(profile), "--video", str(clip))
        try:
            streams = [await open_stream(port) for _ in range(args.streams)]
            paced = await measure(streams, child.pid, args.seconds)
        finally:
            child.terminate()
            child.wait(10)
        # What N real-time streams carry: the clip's bytes and 8 kB/s of audio, framed.
        expected = args.streams * (clip_bitrate / 8 + 8000) * paced["seconds"]
        print(f"paced, {args.streams} streams, {paced['seconds']:.1f} s:")
        print(f"  received {paced['bytes'] * 8 / paced['seconds'] / 1e6:.1f} Mbit/s")
        print(f"  received / real time: {paced['bytes'] / expected:.2f}")
        print(f"  simulator CPU: {100 * paced['cpu']:.0f}% of one core")
        print(f"  packets lost (sequence gaps): {paced['gaps']}")

        child, port = start_simulator("--video", str(clip), "--unpaced")
        try:
            stream = await open_stream(port)
            unpaced = await measure([stream], child.pid, args.seconds / 2, parse=False)
        finally:
            child.terminate()
            child.wait(10)
        plain = await plain_socket_rate(clip.read_bytes()[: 1 << 20], args.seconds / 2)
        rate = unpaced["bytes"] / unpaced["seconds"]
        print("unpaced, one stream:")
        print(f"  simulator: {rate * 8 / 1e6:.0f} Mbit/s at {100 * unpaced['cpu']:.0f}% CPU")
        print(f"  simulator, per core: {rate / unpaced['cpu'] * 8 / 1e6:.0f} Mbit/s")
        print(f"  plain asyncio socket, same run: {plain * 8 / 1e6:.0f} Mbit/s")
        print(f"  ratio simulator / plain socket: {rate / plain:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="5 streams for 2 s")
    args = parser.parse_args()
    if args.quick:
        args.streams, args.seconds = 5, 2.0
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
