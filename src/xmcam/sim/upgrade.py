"""The simulated device's firmware upgrade, sans I/O (docs/protocol.md §18).

Theory of operation. A logged-in session whose account has the `SysUpgrade` authority starts
an upgrade with 1520 `OPSystemUpgrade` `{"Action": "Start", "Type": "System"}`; the device
answers Ret 100 and from then on takes that connection's 1522 packets as the image, one block
each, acknowledging every block with a 1523 (python-dvr's `upgrade()` waits for one answer per
block; real devices may or may not send one). Each block goes through the core's `ImageCheck`
as it comes, so the device never holds the image; more than `max_size` bytes is refused at
once (1523 with Ret 513) and the upgrade is over. The end mark is a 1522 with EndFlag (byte
13) set, empty as python-dvr sends it. The image is then judged: corrupt or cut short, 513;
made for other hardware, 514; good, the device reports its progress in 1524 frames
(`{"Name": "", "Ret": percent}`, no answer expected), then 515, and reboots with the version the
image's description names. The pacing of those frames and the reboot are the server's
(`server.py`); the state change is `SimulatedDevice.finish_upgrade()`.

One upgrade at a time per device: a Start on another connection meanwhile gets 512.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from xmcam.errors import FirmwareImageError
from xmcam.protocol import Body, Ret
from xmcam.protocol.firmware import MAX_IMAGE_SIZE, ImageCheck, hardware_matches

__all__ = [
    "PROGRESS_STEPS",
    "UPGRADE_AUTHORITY",
    "UPGRADE_NAME",
    "UpgradeOutcome",
    "UpgradeReceiver",
    "start_request",
]

log = logging.getLogger("xmcam.sim")

UPGRADE_NAME: Final = "OPSystemUpgrade"
PROGRESS_STEPS: Final = (0, 20, 40, 60, 80, 100)
"""The percentages a good image is reported with (1524), before the 515."""
UPGRADE_AUTHORITY: Final = "SysUpgrade"
MAX_VERSION_LENGTH: Final = 128


@dataclass(frozen=True, slots=True)
class UpgradeOutcome:
    """What the device makes of an image once its end mark came: `ret` 515 (good), 513 (bad
    data), 514 (failed); `version` the image's SoftWareVersion (None: it names none)."""

    ret: int
    version: str | None
    reason: str


def start_request(body: Body) -> str | None:
    """The Action of a 1520 request ("Start", "Abort"), or None when it is not an
    OPSystemUpgrade request."""
    value: Any = body.get(UPGRADE_NAME)
    if body.name != UPGRADE_NAME or not isinstance(value, dict):
        return None
    action = value.get("Action")
    return action if isinstance(action, str) else ""


class UpgradeReceiver:
    """The image of one upgrade, as its blocks come."""

    def __init__(self, hardware: str | None, *, max_size: int = MAX_IMAGE_SIZE) -> None:
        self._hardware = hardware
        self._max_size = max_size
        self._check = ImageCheck(max_size)
        self.blocks = 0

    @property
    def size(self) -> int:
        """Bytes of image received so far."""
        return self._check.size

    def block(self, data: bytes) -> bool:
        """One block of the image; False when it takes the image over the size bound (the
        upgrade is then refused at once)."""
        self.blocks += 1
        self._check.feed(data)
        return self._check.size <= self._max_size

    def finish(self) -> UpgradeOutcome:
        """The device's verdict on the image, once its end mark came."""
        try:
            description = self._check.finish()
        except FirmwareImageError as error:
            log.warning("upgrade refused (513): %s", error)
            return UpgradeOutcome(Ret.UPGRADE_DATA_ERROR, None, str(error))
        if not hardware_matches(description, self._hardware):
            reason = f"the image is for {description.hardware!r}, this is {self._hardware!r}"
            log.warning("upgrade refused (514): %s", reason)
            return UpgradeOutcome(Ret.UPGRADE_FAILED, None, reason)
        version = description.version
        if version is not None and (len(version) > MAX_VERSION_LENGTH or not version.isprintable()):
            return UpgradeOutcome(Ret.UPGRADE_FAILED, None, "the image's version is not text")
        log.info("upgrade image taken: %d bytes, version %s", self.size, version)
        return UpgradeOutcome(Ret.UPGRADE_SUCCEEDED, version, "")
