"""The simulator under issue 12's denial-of-service attacks, all at once, while a well-behaved
client logs in, reads configs and streams.

    python bench/sim_soak.py           # the full run: 30 s idle, then 60 s under attack
    python bench/sim_soak.py --quick   # a smoke run: 5 s and 10 s

The simulator runs as `python -m xmcam sim --port 0 --state FILE`, its password from
XMCAM_SIM_PASSWORD (so its hidden `default` account is off), TCPMaxConn 10 as shipped, in a
process of its own. The well-behaved client is this process, on `xmcam.connect` from
127.0.0.1, doing the same cycle again and again: log in, read ten configs (General.General,
Camera.Param.[0], NetWork.NetCommon in turn), start the live stream on a second connection
(the vendor's flow), take 5 frames, stop, log out. Every step is timed: the login, each config
read, the stream's start (to its first frame).

Phase 1, idle: the cycle alone. Phase 2, under attack: the same cycle while another process
(this script with `--attack`) runs every attack of the issue against the same simulator, each
from a loopback address of its own (the simulator sees another host):

- 127.0.0.2, slot holders (item 2): 10 sockets that never log in, each sending an ignored
  KeepAlive every second, back 0.1 s after the simulator closes one;
- 127.0.0.3, claim thieves (item 1): 2 loops claiming the live stream (1413) and a recording
  (1424) for guessed session ids, again 0.1 s after each refusal;
- 127.0.0.4, big bodies (item 2): 2 loops sending a 1 MB JSON body before login, again 0.1 s
  after each cut;
- 127.0.0.5, the hidden account (item 3): `default` / `tluafed` every 0.5 s;
- 127.0.0.6, poisoned writes (item 4): a logged-in session writing `1e999` and `"\\ud800"`
  into General.General every 0.2 s (the state file is on).

Targets (issue 12): every well-behaved request succeeds; its p99 within 10 times the idle
p99 of the same run; no attack gets anything (no claim, no login, no poisoned write, no
megabyte buffered).
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
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import xmcam
from xmcam.protocol import (
    HEADER_SIZE,
    ClientConnection,
    FrameDecoder,
    LoginReply,
    MessageId,
    Reply,
    encode_frame,
)

HOST: Final = "127.0.0.1"
# The simulator's admin password, known to the good client (and to the poisoning session).
PASSWORD: Final = "soak-secret"  # noqa: S105
START_TIMEOUT: Final = 15.0
REQUEST_TIMEOUT: Final = 5.0
CONFIG_NAMES: Final = ("General.General", "Camera.Param.[0]", "NetWork.NetCommon")
READS_PER_CYCLE: Final = 10
FRAMES_PER_STREAM: Final = 5
P99_FACTOR: Final = 10.0
_LISTENING: Final = re.compile(r"listening on (\S+):(\d+)")


# ----------------------------------------------------------------------------- the simulator


class SimulatorProcess:
    """`python -m xmcam sim` in a child process; the port comes from its first line."""

    def __init__(self, directory: Path) -> None:
        command = [sys.executable, "-m", "xmcam", "sim", "--port", "0"]
        command += ["--state", str(directory / "cam.json")]
        self._log = (directory / "sim.log").open("wb")
        environment = dict(os.environ, XMCAM_SIM_PASSWORD=PASSWORD)
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            env=environment,
        )
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

    def memory_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM): resident memory now and at its peak (proc(5))."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        values = {
            line.split(":")[0]: int(line.split()[1])
            for line in status.splitlines()
            if line.startswith(("VmRSS:", "VmHWM:"))
        }
        return values["VmRSS"], values["VmHWM"]

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.process.pid}/stat").read_text(encoding="ascii")
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
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


# ----------------------------------------------------------------------------- the good client


@dataclass
class Operation:
    """One kind of well-behaved request: its latencies (seconds) and its failures."""

    name: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return len(self.latencies) + len(self.failures)

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    async def timed(self, work: Awaitable[Any]) -> Any:
        start = time.perf_counter()
        try:
            result = await asyncio.wait_for(work, REQUEST_TIMEOUT)
        except Exception as error:  # every failure counts, whatever its kind
            self.failures.append(f"{type(error).__name__}: {error}")
            raise
        self.latencies.append(time.perf_counter() - start)
        return result


@dataclass
class Client:
    login: Operation = field(default_factory=lambda: Operation("login"))
    read: Operation = field(default_factory=lambda: Operation("config read"))
    stream: Operation = field(default_factory=lambda: Operation("stream start to first frame"))
    cycles: int = 0
    frames: int = 0

    @property
    def operations(self) -> list[Operation]:
        return [self.login, self.read, self.stream]


async def first_frames(stream: Any, count: int) -> int:
    taken = 0
    async for _frame in stream:
        taken += 1
        if taken >= count:
            break
    return taken


async def cycle(port: int, client: Client) -> None:
    camera = xmcam.connect(HOST, port, password=PASSWORD, timeout=REQUEST_TIMEOUT)
    cam = await client.login.timed(camera.__aenter__())
    try:
        for index in range(READS_PER_CYCLE):
            name = CONFIG_NAMES[index % len(CONFIG_NAMES)]
            await client.read.timed(cam.get_config(name))
        stream = cam.live(flow="two")  # the vendor's flow: a claim on a second connection
        try:
            await client.stream.timed(first_frames(stream, 1))  # claim, Start, first frame
            taken = 1 + await asyncio.wait_for(
                first_frames(stream, FRAMES_PER_STREAM - 1), REQUEST_TIMEOUT
            )
            client.frames += taken
        finally:
            await stream.close()
    finally:
        await cam.close()
    client.cycles += 1


async def run_client(port: int, seconds: float) -> Client:
    client = Client()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        try:
            await cycle(port, client)
        except Exception:  # counted in its Operation; the next cycle, a moment later
            await asyncio.sleep(0.1)
    return client


# ----------------------------------------------------------------------------- the attacks


@dataclass
class Counters:
    connections: int = 0
    refused_at_connect: int = 0  # closed by the simulator before sending anything
    longest_unauthenticated: float = 0.0  # seconds a holder socket stayed open
    claims_sent: int = 0
    claims_granted: int = 0
    media_bytes: int = 0
    bodies_sent: int = 0
    bodies_cut: int = 0  # connections the simulator closed (rather than read the megabyte)
    hidden_logins: int = 0
    hidden_logins_granted: int = 0
    poisoned_writes: int = 0
    poisoned_writes_taken: int = 0


async def open_from(source: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(HOST, port, local_addr=(source, 0))


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


MEDIA_IDS: Final = frozenset({MessageId.MONITOR_DATA, MessageId.DOWNLOAD_DATA})


def tally_claim_replies(data: bytes, counters: Counters) -> None:
    """Count what a claim got: a Ret 100, or media bytes."""
    for frame in FrameDecoder().feed(data):
        if frame.message_id in MEDIA_IDS:
            counters.media_bytes += len(frame.payload)
        elif frame.body().data.get("Ret") == 100:
            counters.claims_granted += 1


async def hold_a_slot(port: int, counters: Counters, stop: asyncio.Event) -> None:
    """Never log in; an ignored KeepAlive every second; back soon after each close."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            reader, writer = await open_from("127.0.0.2", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        counters.connections += 1
        opened = loop.time()
        keepalive = ClientConnection.for_session(random.getrandbits(32)).request(
            MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}, expect_reply=False
        )
        try:
            while not stop.is_set():
                writer.write(keepalive)
                with contextlib.suppress(TimeoutError):
                    if await asyncio.wait_for(reader.read(4096), 1.0) == b"":
                        break
        except OSError:
            pass
        lived = loop.time() - opened
        if lived < 0.01:
            counters.refused_at_connect += 1
        if not stop.is_set():
            counters.longest_unauthenticated = max(counters.longest_unauthenticated, lived)
        await close(writer)
        await asyncio.sleep(0.1)


def claim_body(kind: int) -> dict[str, Any]:
    if kind == MessageId.MONITOR_CLAIM_REQ:
        parameter = {"Channel": 0, "CombinMode": "NONE", "StreamType": "Main", "TransMode": "TCP"}
        return {"Name": "OPMonitor", "OPMonitor": {"Action": "Claim", "Parameter": parameter}}
    name = "/idea0/2026-12-04/001/10.00.00-10.09.59[R][@0][0].h264"
    return {
        "Name": "OPPlayBack",
        "OPPlayBack": {"Action": "Claim", "Parameter": {"FileName": name}},
    }


async def steal_media(port: int, counters: Counters, stop: asyncio.Event) -> None:
    """Claim the live stream or a recording for a guessed session, from another host."""
    kinds = (MessageId.MONITOR_CLAIM_REQ, MessageId.MONITOR_CLAIM_REQ, MessageId.PLAY_CLAIM_REQ)
    while not stop.is_set():
        kind = kinds[counters.claims_sent % 3]
        try:
            reader, writer = await open_from("127.0.0.3", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        counters.connections += 1
        # Every other guess counts up from 1, as firmware (and the simulator before issue 12)
        # numbered sessions; the others are random 32-bit numbers.
        sent = counters.claims_sent
        session = 1 + sent // 2 % 1024 if sent % 2 == 0 else random.getrandbits(32)
        writer.write(ClientConnection.for_session(session).request(kind, claim_body(kind)))
        counters.claims_sent += 1
        received = b""
        with contextlib.suppress(OSError, TimeoutError):
            while data := await asyncio.wait_for(reader.read(65536), 2.0):
                received += data
        tally_claim_replies(received, counters)
        await close(writer)
        await asyncio.sleep(0.1)


async def send_a_megabyte(port: int, counters: Counters, stop: asyncio.Event) -> None:
    """A 1 MB JSON body before login, in 64 KiB writes, until the simulator cuts it."""
    payload = json.dumps({"Name": "General.General", "X": "x" * 1_000_000}).encode()
    frame = encode_frame(MessageId.CONFIG_SET_REQ, payload)
    while not stop.is_set():
        try:
            reader, writer = await open_from("127.0.0.4", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        counters.connections += 1
        counters.bodies_sent += 1
        cut = False
        try:
            for start in range(0, len(frame), 65536):
                writer.write(frame[start : start + 65536])
                await writer.drain()
            while await asyncio.wait_for(reader.read(65536), 2.0):
                pass
            cut = True  # the end of the stream: closed by the simulator
        except OSError:
            cut = True  # reset by the simulator
        except TimeoutError:
            pass  # still open: the simulator took the megabyte
        counters.bodies_cut += cut
        await close(writer)
        await asyncio.sleep(0.1)


async def hidden_account(port: int, counters: Counters, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            reader, writer = await open_from("127.0.0.5", port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        counters.connections += 1
        client = ClientConnection()
        writer.write(client.login("default", "tluafed"))
        counters.hidden_logins += 1
        with contextlib.suppress(OSError, TimeoutError):
            data = await asyncio.wait_for(reader.read(4096), 2.0)
            for event in client.receive_data(data):
                if isinstance(event, LoginReply) and event.ok:
                    counters.hidden_logins_granted += 1
        await close(writer)
        await asyncio.sleep(0.5)


def poisoned(client: ClientConnection, raw: bytes) -> bytes:
    placeholder = "P" * 12
    body = {"Name": "General.General", "General.General": {"AutoLogout": placeholder}}
    frame = client.request(MessageId.CONFIG_SET_REQ, body)
    payload = frame[HEADER_SIZE:].replace(f'"{placeholder}"'.encode(), raw)
    return frame[: HEADER_SIZE - 4] + len(payload).to_bytes(4, "little") + payload


async def poison_writes(port: int, counters: Counters, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            reader, writer = await open_from("127.0.0.6", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        counters.connections += 1
        client = ClientConnection()
        writer.write(client.login("admin", PASSWORD))
        try:
            (login,) = client.receive_data(await asyncio.wait_for(reader.read(4096), 2.0))
            if not isinstance(login, LoginReply) or not login.ok:
                raise ValueError("the poisoning session could not log in")
            while not stop.is_set():
                raw = (b"1e999", b'"\\ud800"')[counters.poisoned_writes % 2]
                writer.write(poisoned(client, raw))
                counters.poisoned_writes += 1
                for event in client.receive_data(await asyncio.wait_for(reader.read(4096), 2.0)):
                    if isinstance(event, Reply) and event.ret == 100:
                        counters.poisoned_writes_taken += 1
                await asyncio.sleep(0.2)
        except (OSError, TimeoutError, ValueError):
            pass
        await close(writer)
        await asyncio.sleep(0.2)


async def attack(port: int, seconds: float) -> Counters:
    counters = Counters()
    stop = asyncio.Event()
    workers: list[Callable[[int, Counters, asyncio.Event], Awaitable[None]]] = [
        *[hold_a_slot] * 10,
        *[steal_media] * 2,
        *[send_a_megabyte] * 2,
        hidden_account,
        poison_writes,
    ]
    tasks = [asyncio.ensure_future(worker(port, counters, stop)) for worker in workers]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait(tasks, timeout=10)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return counters


# ----------------------------------------------------------------------------- the run


def summary(client: Client) -> dict[str, Any]:
    return {
        operation.name: {
            "attempts": operation.attempts,
            "failures": len(operation.failures),
            "p50_ms": operation.percentile(0.50) * 1000,
            "p99_ms": operation.percentile(0.99) * 1000,
            "max_ms": max(operation.latencies, default=float("nan")) * 1000,
            "mean_ms": statistics.fmean(operation.latencies) * 1000
            if operation.latencies
            else float("nan"),
            "first_failures": operation.failures[:3],
        }
        for operation in client.operations
    }


def print_phase(
    title: str, client: Client, cpu: float, seconds: float, simulator: SimulatorProcess
) -> None:
    rss, peak = simulator.memory_kib()
    print(f"{title}: {client.cycles} cycles, {client.frames} frames; simulator CPU "
          f"{cpu / seconds * 100:.0f}% of a core, RSS {rss:,} KiB (peak {peak:,} KiB)")  # fmt: skip
    print(f"  {'operation':<30} {'n':>6} {'ok %':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for operation in client.operations:
        ok = 100 * len(operation.latencies) / operation.attempts if operation.attempts else 0.0
        print(
            f"  {operation.name:<30} {operation.attempts:>6} {ok:>7.2f} "
            f"{operation.percentile(0.5) * 1000:>8.2f} {operation.percentile(0.99) * 1000:>8.2f} "
            f"{max(operation.latencies, default=float('nan')) * 1000:>8.2f}"
        )
        for failure in operation.failures[:3]:
            print(f"    failed: {failure}")


async def phase(simulator: SimulatorProcess, seconds: float) -> tuple[Client, float]:
    cpu = simulator.cpu_seconds()
    client = await run_client(simulator.port, seconds)
    return client, simulator.cpu_seconds() - cpu


def run_attackers(port: int, seconds: float) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--attack", str(port), "--seconds", str(seconds)]
    return subprocess.Popen(command, stdout=subprocess.PIPE)  # noqa: S603 - this very script


def verdict(idle: Client, attacked: Client, counters: dict[str, Any]) -> list[str]:
    lines = []
    for before, under in zip(idle.operations, attacked.operations, strict=True):
        factor = under.percentile(0.99) / before.percentile(0.99)
        every = not under.failures and under.attempts > 0
        within = factor <= P99_FACTOR
        lines.append(
            f"{under.name}: {'every request succeeded' if every else 'FAILURES'}; p99 "
            f"{factor:.2f}x idle ({'ok' if within else 'MISSED'}, target <= {P99_FACTOR:.0f}x)"
        )
    gains = {
        "claims granted": counters["claims_granted"],
        "media bytes to thieves": counters["media_bytes"],
        "hidden-account logins granted": counters["hidden_logins_granted"],
        "poisoned writes taken": counters["poisoned_writes_taken"],
    }
    got = ", ".join(f"{name} {value}" for name, value in gains.items())
    lines.append(f"attackers got: {got} ({'ok' if not any(gains.values()) else 'MISSED'})")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 s idle, 10 s attacked")
    parser.add_argument("--idle", type=float, default=None, help="idle phase seconds (30)")
    parser.add_argument("--seconds", type=float, default=None, help="attacked phase seconds (60)")
    parser.add_argument("--attack", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.attack is not None:  # the attacking process
        counters = asyncio.run(attack(args.attack, args.seconds or 60.0))
        print(json.dumps(vars(counters)))
        return 0
    idle_seconds = args.idle or (5.0 if args.quick else 30.0)
    attack_seconds = args.seconds or (10.0 if args.quick else 60.0)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="xmcam-soak-") as directory:
        simulator = SimulatorProcess(Path(directory))
        try:
            print(f"xmcam simulator soak under attack, {now}")
            print(
                f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} "
                f"CPUs, load average {os.getloadavg()[0]:.2f}{', QUICK run' if args.quick else ''}"
            )
            idle, idle_cpu = asyncio.run(phase(simulator, idle_seconds))
            print_phase(f"\nidle ({idle_seconds:.0f} s)", idle, idle_cpu, idle_seconds, simulator)
            attackers = run_attackers(simulator.port, attack_seconds)
            attacked, attacked_cpu = asyncio.run(phase(simulator, attack_seconds))
            output, _ = attackers.communicate(timeout=60)
            counters = json.loads(output)
            title = f"\nunder attack ({attack_seconds:.0f} s)"
            print_phase(title, attacked, attacked_cpu, attack_seconds, simulator)
            print(f"  attacks: {json.dumps(counters)}")
            print()
            for line in verdict(idle, attacked, counters):
                print(line)
        finally:
            simulator.stop()
        log = (Path(directory) / "sim.log").read_text("utf-8", "replace")
        if "Traceback" in log:
            print(f"\nsimulator log (a Traceback in it):\n{log[-4000:]}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
