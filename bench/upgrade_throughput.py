"""Firmware upgrade throughput: a 16 MB image to the simulator over loopback, against a plain
socket copy of the same bytes in the same run (issue 14; target ratio >= 0.5).

    python bench/upgrade_throughput.py             # 5 rounds of each, medians
    python bench/upgrade_throughput.py --rounds 3

The image is a valid XM upgrade file built here: a zip holding 16 MB of random (incompressible)
bytes, stored, and an InstallDesc naming the simulated camera's hardware. The simulator runs
in a process of its own, as `xmcam sim` does (a fresh one each round: it reboots after an
upgrade), on 127.0.0.1, with no pause between its progress frames; the blocking client
upgrades it (`Camera.upgrade()`: the image checked and
its description read, SystemInfo, Start, the 0x8000-byte blocks written without waiting for
their answers, the end mark). The upgrade's time runs from the call until the camera reports
100 % (it has then taken and checked every byte; what follows is its reboot). The copy: the
same bytes `sendall()` to a thread of this process that `recv_into()`s them and throws them
away, timed from the connect until the sink has them all. The floor: that copy with the work
no safe upgrade can skip, the sender's CRC-32 of the image first and the receiver's CRC-32 of
what arrives.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import platform
import random
import socket
import statistics
import threading
import time
import zipfile
import zlib
from multiprocessing.connection import Connection

from xmcam.client.upgrade import UpgradeProgress, load_image
from xmcam.sim import SimulatorThread, load_profile
from xmcam.sync import Camera

IMAGE_BYTES = 16 * 1024 * 1024


def build_image(hardware: str) -> bytes:
    """A valid upgrade file: 16 MB of random flash image, stored, and its description."""
    description = {
        "Hardware": hardware,
        "Vendor": "General",
        "SoftWareVersion": "V4.03.R12.BENCH000.12012.000000.0000000",
        "UpgradeCommand": [{"Command": "Burn", "FileName": "romfs-x.cramfs.img"}],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("romfs-x.cramfs.img", random.Random(14).randbytes(IMAGE_BYTES))
        archive.writestr("InstallDesc", json.dumps(description))
    return buffer.getvalue()


def simulate(pipe: Connection) -> None:
    """The simulator's process: its port up the pipe, then run until told to stop."""
    profile = load_profile().with_quirks(upgrade_step_delay=0.0, reboot_delay=0.0)
    with SimulatorThread(profile) as sim:
        pipe.send(sim.port)
        pipe.recv()


def upgrade_once(image: bytes) -> float:
    """Seconds until the simulated camera has the whole image (its 100 %)."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.Process(target=simulate, args=(theirs,))
    process.start()
    try:
        return _upgrade(image, ours.recv())
    finally:
        ours.send("stop")
        process.join()


def _upgrade(image: bytes, port: int) -> float:
    with Camera("127.0.0.1", port) as camera:
        camera.system_info()  # logged in and ready before the clock starts
        done: list[float] = []

        def progress(step: UpgradeProgress) -> None:
            if step.stage == "flashing" and step.done == 100:
                done.append(time.perf_counter())

        started = time.perf_counter()
        result = camera.upgrade(image, progress=progress)
        if not result.ok or not done:
            raise SystemExit(f"the upgrade did not succeed: {result}")
        return done[0] - started


def copy_once(image: bytes, *, checked: bool = False) -> float:
    """Seconds to copy the image over a plain loopback TCP connection to a sink. `checked`:
    with the work no safe upgrade can skip, the sender's CRC-32 of the whole image before the
    first byte and the receiver's CRC-32 of what arrives (the floor of any upgrade)."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[int] = []

    def sink() -> None:
        connection, _ = server.accept()
        with connection:
            buffer = memoryview(bytearray(256 * 1024))
            total = crc = 0
            while count := connection.recv_into(buffer):
                total += count
                if checked:
                    crc = zlib.crc32(buffer[:count], crc)
            received.append(total)

    thread = threading.Thread(target=sink)
    thread.start()
    started = time.perf_counter()
    if checked:
        zlib.crc32(image)
    with socket.create_connection(server.getsockname()) as client:
        client.sendall(image)
        client.shutdown(socket.SHUT_WR)
        thread.join()
    elapsed = time.perf_counter() - started
    server.close()
    if received != [len(image)]:
        raise SystemExit(f"the sink got {received}, not {len(image)} bytes")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each (default 5)")
    args = parser.parse_args()
    image = build_image(str(load_profile().system_info["HardWare"]))
    upgrades, copies, checks, floors = [], [], [], []
    for _ in range(args.rounds):  # interleaved: all see the same machine load
        copies.append(copy_once(image))
        floors.append(copy_once(image, checked=True))
        upgrades.append(upgrade_once(image))
        started = time.perf_counter()
        load_image(image)  # the client's check before it sends a byte (part of the upgrade)
        checks.append(time.perf_counter() - started)
    megabytes = len(image) / 1e6
    upgrade_rate = megabytes / statistics.median(upgrades)
    copy_rate = megabytes / statistics.median(copies)
    print(f"python {platform.python_version()} on {platform.machine()}")
    print(f"image {len(image):,} bytes, {args.rounds} rounds of each, medians")
    upgrade_ms, copy_ms = statistics.median(upgrades) * 1000, statistics.median(copies) * 1000
    check_ms = statistics.median(checks) * 1000
    print(f"upgrade to the simulator: {upgrade_rate:,.0f} MB/s ({upgrade_ms:.1f} ms)")
    print(f"  of which the image's check before sending: {check_ms:.1f} ms")
    print(f"plain socket copy:        {copy_rate:,.0f} MB/s ({copy_ms:.1f} ms)")
    print(f"ratio upgrade / copy: {upgrade_rate / copy_rate:.2f} (target >= 0.5)")
    floor_rate = megabytes / statistics.median(floors)
    print(
        f"copy with both CRC-32 passes (the floor): {floor_rate:,.0f} MB/s "
        f"({statistics.median(floors) * 1000:.1f} ms); ratio upgrade / floor "
        f"{upgrade_rate / floor_rate:.2f}"
    )
    transfer_rate = megabytes / (statistics.median(upgrades) - statistics.median(checks))
    print(
        f"without the check (Start to 100 %): {transfer_rate:,.0f} MB/s, ratio "
        f"{transfer_rate / copy_rate:.2f}"
    )


if __name__ == "__main__":
    main()
