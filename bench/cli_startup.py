"""How long the `xmcam` command takes to start: `python -m xmcam --help` (every command builds
the whole parser, so this is the floor of each one), against the interpreter's own start.

    python bench/cli_startup.py            # 20 runs of each
    python bench/cli_startup.py --runs 5   # a smoke run

Wall time of each child process, from spawn to exit; the median and the best are shown, and
xmcam's start minus the bare interpreter's (`python -c pass`), which is what xmcam adds.
Then the five modules whose own import time is largest (`python -X importtime`), once.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src"


def wall_seconds(argv: Sequence[str], runs: int) -> list[float]:
    """Each run's wall time, the child's output discarded."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=_environment())  # noqa: S603
        times.append(time.perf_counter() - started)
    return times


def _environment() -> dict[str, str]:
    import os  # noqa: PLC0415

    return {**os.environ, "PYTHONPATH": str(SOURCE)}


def costliest_imports(count: int) -> list[tuple[int, str]]:
    """(own microseconds, module) of the `count` costliest imports of `xmcam.cli`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import xmcam.cli; xmcam.cli.build_parser()"],
        check=True,
        capture_output=True,
        text=True,
        env=_environment(),
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].split(":")[-1].strip().isdigit():
            rows.append((int(parts[0].split(":")[-1]), parts[2].strip()))
    return sorted(rows, reverse=True)[:count]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    bare = wall_seconds([sys.executable, "-c", "pass"], args.runs)
    xmcam = wall_seconds([sys.executable, "-m", "xmcam", "--help"], args.runs)
    print(f"xmcam start-up, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Python {platform.python_version()}, {args.runs} runs each")
    for name, times in (("python -c pass", bare), ("python -m xmcam --help", xmcam)):
        print(f"{name:<24} median {statistics.median(times) * 1000:6.1f} ms, "
              f"best {min(times) * 1000:6.1f} ms")  # fmt: skip
    added = statistics.median(xmcam) - statistics.median(bare)
    print(f"what xmcam adds (median): {added * 1000:.1f} ms")
    print("costliest imports (own time):")
    for microseconds, module in costliest_imports(5):
        print(f"  {microseconds / 1000:6.1f} ms  {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
