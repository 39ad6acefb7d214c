"""`xmcam config export` of a simulated camera's whole config tree, over loopback.

    python bench/config_export.py                    # the default profile (the seed's camera)
    python bench/config_export.py --profile xm530    # a built-in profile, or a profile file
    python bench/config_export.py --profile nvr-8ch --rounds 10

The simulator runs as `python -m xmcam sim --port 0 --profile NAME` in a process of its own.
Each round, this script:

1. runs the library export in this process: connect, log in, `probe_config()` (every known
   config name, per-channel names once per channel, refusals skipped), the file written
   atomically as the command writes it, log out. Timed from before the connect to after
   the file is written.
2. runs the command itself, `python -m xmcam -H 127.0.0.1:PORT config export FILE`, as a
   user would: timed from the process start to its exit (Python's start-up and imports
   included).

Printed: the names probed (asked for), saved and refused (by Ret code), the requests the
export sent (SystemInfo and the config gets; the login and the logout come on top), and the
wall time of each way, median and worst of the rounds. Target (issue 17): the whole export
within 2 s. Loopback only; the simulator is stopped at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
if str(REPO_ROOT / "src") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "src"))

import xmcam  # noqa: E402
from xmcam.cli.config import export_text, probe_summary, write_atomically  # noqa: E402
from xmcam.client.models import ConfigProbe  # noqa: E402

HOST: Final = "127.0.0.1"
SIM_START_TIMEOUT: Final = 20.0  # seconds for the simulator to print its port
COMMAND_TIMEOUT: Final = 60.0  # seconds for one `xmcam config export`
TARGET_SECONDS: Final = 2.0
ENVIRONMENT: Final = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}


@contextlib.contextmanager
def simulator(profile: str) -> Iterator[int]:
    """A simulator process on 127.0.0.1 with `profile`; yields its port; stops it at the end."""
    command = [sys.executable, "-m", "xmcam", "sim", "--host", HOST, "--port", "0"]
    command += ["--profile", profile]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENVIRONMENT,
    )
    try:
        yield _read_port(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _read_port(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], SIM_START_TIMEOUT)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("listening on "):
        error = process.stderr.read() if process.poll() is not None and process.stderr else ""
        raise RuntimeError(f"the simulator did not start: {(line or error).strip()!r}")
    return int(line.rsplit(":", 1)[1])


async def library_export(port: int, path: Path) -> tuple[float, ConfigProbe]:
    """One export through the library, as the command does it; (seconds, the probe)."""
    started = time.perf_counter()
    async with xmcam.connect(HOST, port, timeout=5) as camera:
        probe = await camera.probe_config()
        write_atomically(str(path), export_text(probe.values))
        await camera.logout()
    return time.perf_counter() - started, probe


def command_export(port: int, path: Path) -> tuple[float, str]:
    """One `xmcam config export` process; (seconds, its summary line)."""
    command = [sys.executable, "-m", "xmcam", "-H", f"{HOST}:{port}", "config", "export"]
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*command, str(path)],
        capture_output=True,
        text=True,
        env=ENVIRONMENT,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"xmcam config export failed ({done.returncode}): {done.stderr}")
    return seconds, done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ipc-seed", help="simulator profile (name or file)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each way (default 5)")
    args = parser.parse_args()
    library: list[float] = []
    command: list[float] = []
    with simulator(args.profile) as port, tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "backup.json"
        probe: ConfigProbe | None = None
        summary = ""
        for _ in range(args.rounds):
            seconds, probe = asyncio.run(library_export(port, path))
            library.append(seconds)
            seconds, summary = command_export(port, path)
            command.append(seconds)
        size = path.stat().st_size
    assert probe is not None
    channels = f"{probe.video_channels} video channel(s), {probe.alarm_inputs} alarm input(s)"
    print(f"profile {args.profile}: {channels}; {probe_summary(probe)}")
    print(f"  names probed {probe.probed}, saved {len(probe.values)}, refused {len(probe.refused)}")
    print(f"  requests sent {probe.requests} (+ login and logout); file {size:,} bytes")
    print(f"  command said: {summary}")
    for label, times in (("library export", library), ("xmcam config export", command)):
        median, worst = statistics.median(times), max(times)
        verdict = "met" if worst <= TARGET_SECONDS else "NOT met"
        print(
            f"  {label:<20} median {median * 1000:7.1f} ms, worst {worst * 1000:7.1f} ms "
            f"over {len(times)} rounds (target {TARGET_SECONDS:g} s: {verdict})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
