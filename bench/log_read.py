"""Time to read 1,024 log entries from the simulator (`Camera.logs()`: eight OPLogQuery pages
of 128, next page from the last Position + 1).

    python bench/log_read.py            # 20 reads, median and best
    python bench/log_read.py --quick    # 3 reads

The simulator runs in a thread of this process (its own event loop) on 127.0.0.1; the
blocking client reads the whole log over one logged-in session, again and again. The log is
filled to the device's limit (1,024 entries) first.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from xmcam.sim import SimulatorThread
from xmcam.sim.maintenance import LOG_PAGE, MAX_LOG_ENTRIES
from xmcam.sync import Camera


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 reads instead of 20")
    args = parser.parse_args()
    rounds = 3 if args.quick else 20
    with SimulatorThread() as sim:
        device_log = sim.simulator.device.device_log

        def fill() -> None:
            for number in range(MAX_LOG_ENTRIES):
                device_log.add("SaveConfig", data=f"General.General {number}")

        sim.call(fill)
        times = []
        with Camera("127.0.0.1", sim.port, password="") as camera:
            for _ in range(rounds):
                started = time.perf_counter()
                entries = camera.logs()
                times.append(time.perf_counter() - started)
                if len(entries) != MAX_LOG_ENTRIES:
                    raise SystemExit(f"read {len(entries)} entries, not {MAX_LOG_ENTRIES}")
    median, best = statistics.median(times), min(times)
    print(f"python {platform.python_version()} on {platform.machine()}")
    print(f"{MAX_LOG_ENTRIES} entries in {MAX_LOG_ENTRIES // LOG_PAGE} pages, {rounds} reads")
    print(f"median {median * 1000:.1f} ms, best {best * 1000:.1f} ms")
    print(f"{MAX_LOG_ENTRIES / median:,.0f} entries/s (median)")


if __name__ == "__main__":
    main()
