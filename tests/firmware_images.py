"""XM firmware images for tests: a zip archive with a flash image and an `InstallDesc` that
names the hardware and the version, as `xmcam.protocol.firmware` reads them
(docs/protocol.md §18)."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path
from typing import Final

SEED_HARDWARE: Final = "HI3516D_83H50N"
"""The `ipc-seed` simulator profile's SystemInfo.HardWare."""
NEW_VERSION: Final = "V4.03.R12.G7914927.12012.999999.0020000"


def firmware_image(
    hardware: str = SEED_HARDWARE,
    version: str | None = NEW_VERSION,
    *,
    size: int = 200_000,
    seed: int = 14,
) -> bytes:
    """A good image: `size` random (incompressible) bytes of flash image, stored, and its
    description."""
    content = random.Random(seed).randbytes(size)
    description: dict[str, object] = {
        "Hardware": hardware,
        "Vendor": "General",
        "UpgradeCommand": [{"Command": "Burn", "FileName": "user-x.cramfs.img"}],
    }
    if version is not None:
        description["SoftWareVersion"] = version
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("user-x.cramfs.img", content)
        archive.writestr("InstallDesc", json.dumps(description))
    return buffer.getvalue()


def corrupt(image: bytes) -> bytes:
    """The image with one byte of its flash image changed: its CRC no longer matches."""
    middle = len(image) // 2
    return image[:middle] + bytes([image[middle] ^ 0xFF]) + image[middle + 1 :]


def truncated(image: bytes) -> bytes:
    """The image cut short (its end, the zip directory, missing)."""
    return image[: len(image) - 200]


def write(path: Path, image: bytes) -> Path:
    path.write_bytes(image)
    return path
