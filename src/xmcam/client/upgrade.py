"""The firmware upgrade, without I/O, shared by the asyncio and the blocking client
(docs/protocol.md §18).

Theory of operation. `upgrade()` is a plan (`xmcam.client.plans`): it reads the image and its
description before anything is sent (a file that is not a well-formed XM upgrade file is a
FirmwareImageError, and no connection is even opened), asks the device for its SystemInfo and
refuses an image made for other hardware (FirmwareMismatchError) unless `force`; then one
`SendImage` step, which a shell performs on its control connection with nothing else on it
meanwhile: 1520 Start (a refusal raises its DeviceError), the 1522 blocks numbered by the
header's sequence and written one after the other **without waiting for an answer per block**
(the device's 1523 answers and 1524 progress are read as they come, so a block costs no round
trip), the empty end mark with EndFlag, and then the device's 1524 frames until its verdict.

`ImageSender` is that step's state: the packets to write, and what the device's notifications
mean. The verdict is an `UpgradeResult`:

- 515 is success; 512, 513, 514 (or any failure Ret, in a 1523 answer too: sending stops
  there) is failure, with its Ret;
- the connection dropping once the device reported 100 % is success: the device reboots into
  the new firmware, and some flashes never send the 515 (CroatianMeteorNetwork/RMS#968);
- the connection dropping before that, or no verdict within `wait_timeout` seconds of the end
  mark, is "unconfirmed": everything was sent, the device did not say. A caller confirms it
  by logging in again and reading the version (`xmcam upgrade` does);
- the connection dropping before every byte was sent is failure: the device cannot have
  taken the image; so is a drop before any progress when the device acknowledged fewer
  blocks than were written (bytes written are not bytes received).

Everything the device sends is untrusted: only the Ret of its notifications is read, and a
Ret that is neither a percentage nor a known verdict is taken as the failure it says.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

from xmcam.client import operations as ops
from xmcam.client.operations import Procedure, ask
from xmcam.client.plans import Plan, Run
from xmcam.errors import FirmwareImageError, FirmwareMismatchError
from xmcam.protocol.codes import MessageId, Ret, ret_meaning
from xmcam.protocol.connection import ClientConnection, Notification
from xmcam.protocol.firmware import (
    BLOCK_SIZE,
    MAX_IMAGE_SIZE,
    FirmwareDescription,
    hardware_matches,
    read_description,
)

__all__ = [
    "DEFAULT_WAIT",
    "ImageSender",
    "SendImage",
    "UpgradeProgress",
    "UpgradeResult",
    "check_hardware",
    "load_image",
    "start",
    "upgrade",
]

_log: Final = logging.getLogger("xmcam.client")

DEFAULT_WAIT: Final = 300.0
"""Seconds to wait for the device's verdict after the last byte: flashing takes a minute or
two on real cameras."""
REBOOT_WAIT: Final = 30.0
"""Seconds to wait, after a 515, for the device to drop the connection as it reboots."""
UPGRADE_NAME: Final = "OPSystemUpgrade"
_START: Final = {UPGRADE_NAME: {"Action": "Start", "Type": "System"}, "Name": UPGRADE_NAME}
_PERCENT: Final = range(101)
_FAILURES: Final = frozenset({Ret.UPGRADE_NOT_STARTED, Ret.UPGRADE_DATA_ERROR, Ret.UPGRADE_FAILED})

SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
UNCONFIRMED: Final = "unconfirmed"

ImageSource = bytes | bytearray | memoryview | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class UpgradeProgress:
    """How far an upgrade is: `stage` "sending" (`done` of `total` bytes sent) or "flashing"
    (`done` percent of 100, as the device reports it)."""

    stage: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    """How an upgrade ended: `status` "succeeded", "failed" or "unconfirmed" (everything sent,
    the device said nothing conclusive); `ret` the device's verdict (515, 513, ...) when it
    gave one; `progress` the last percentage it reported; `sent` the image bytes written."""

    status: str
    ret: int | None
    progress: int | None
    sent: int
    size: int
    description: FirmwareDescription
    detail: str
    rebooting: bool = False
    """Whether the device dropped the connection after its success (515 or 100 %): it is
    rebooting into the new firmware."""

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def meaning(self) -> str | None:
        """The meaning of `ret` ("upgrade data error"), when there is one."""
        return None if self.ret is None else ret_meaning(self.ret)


def load_image(image: ImageSource) -> tuple[bytes, FirmwareDescription]:
    """The image's bytes (from memory, or a file) and its description, checked whole:
    FirmwareImageError for a file that is not a well-formed XM upgrade file or is over
    `MAX_IMAGE_SIZE`."""
    if isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
    else:
        try:
            with open(image, "rb") as handle:
                data = handle.read(MAX_IMAGE_SIZE + 1)
        except OSError as error:
            raise FirmwareImageError(f"cannot read {image}: {error.strerror or error}") from None
    if len(data) > MAX_IMAGE_SIZE:
        raise FirmwareImageError(f"the image is over {MAX_IMAGE_SIZE} bytes")
    return data, read_description(data)


def check_hardware(
    description: FirmwareDescription, hardware: str | None, *, force: bool = False
) -> None:
    """Refuse (FirmwareMismatchError) an image whose description names other hardware than
    the device's `SystemInfo.HardWare`, or none, unless `force`."""
    if force or hardware_matches(description, hardware):
        return
    raise FirmwareMismatchError(
        f"the image is for hardware {description.hardware!r}, the device is {hardware!r}"
    )


def start() -> Procedure[int | None]:
    """1520 OPSystemUpgrade Start; the device's Ret (100, or 511/515: started)."""
    reply = yield from ask(MessageId.UPGRADE_REQ, _START)
    return reply.ret


@dataclass
class ImageSender:
    """One upgrade's image on its way: the packets to write, and the device's notifications
    read as they come. A shell writes `packets()` one after the other, routes every
    Notification of the connection to `notice()`, waits after the last packet until
    `finished` (or `wait_timeout` seconds), and takes `result()`."""

    image: bytes
    description: FirmwareDescription
    progress: Callable[[UpgradeProgress], object] | None = None
    wait_timeout: float = DEFAULT_WAIT
    block_size: int = BLOCK_SIZE
    on_change: Callable[[], object] | None = None
    """Called when a notification changed the state (a shell's wake-up)."""
    sent: int = 0
    ended: bool = False
    """Whether the end mark has been written."""
    percent: int | None = None
    verdict: int | None = None
    blocks: int = 0
    """Blocks written."""
    acknowledged: int = 0
    """Blocks the device acknowledged (1523 with success; devices may send none)."""
    lost: str | None = field(default=None)

    def packets(self, connection: ClientConnection) -> Iterator[bytes]:
        """The 1522 blocks (sequence = block number, [PYD]) and the empty end mark with
        EndFlag ([ICP]); stops early once the device has given a verdict."""
        image = memoryview(self.image)
        total = len(image)
        number = 0
        for offset in range(0, total, self.block_size):
            if self.verdict is not None:
                return
            block = image[offset : offset + self.block_size]  # copied once, into the packet
            yield connection.send_data(MessageId.UPGRADE_DATA, block, sequence=number)
            number += 1
            self.blocks = number
            self.sent += len(block)
            self._report("sending", self.sent, total)
        if self.verdict is not None:
            return
        yield connection.send_data(MessageId.UPGRADE_DATA, b"", end_flag=True, sequence=number)
        self.ended = True

    @property
    def finished(self) -> bool:
        """Whether the device gave its verdict, or the connection is gone."""
        return self.verdict is not None or self.lost is not None

    @property
    def awaits_reboot(self) -> bool:
        """Whether the device said 515 on a connection still open: a shell then waits up to
        `REBOOT_WAIT` seconds more for the reboot to drop it."""
        return self.verdict == Ret.UPGRADE_SUCCEEDED and self.lost is None

    def notice(self, notification: Notification) -> None:
        """A notification from the device: a block's answer (1523) or progress (1524)."""
        body = notification.body
        ret = None if body is None else body.ret
        if ret is None or self.verdict is not None:
            return
        message_id = notification.frame.message_id
        if message_id == MessageId.UPGRADE_PROGRESS and ret in _PERCENT:
            # (A 100 may also be how a device answers the end mark; python-dvr reads it so.)
            if ret == self.percent:
                return
            self.percent = ret
            self._report("flashing", ret, 100)
        elif message_id == MessageId.UPGRADE_PROGRESS or ret not in (Ret.OK, Ret.UPGRADE_STARTED):
            _log.info("upgrade: the device says %d (%s)", ret, ret_meaning(ret))
            self.verdict = ret
        else:
            self.acknowledged += 1  # a block's answer: taken
            return
        if self.on_change is not None:
            self.on_change()

    def connection_lost(self, reason: str) -> None:
        """The connection ended (the device rebooting, or a failure)."""
        if self.lost is None:
            self.lost = reason
            if self.on_change is not None:
                self.on_change()

    def result(self) -> UpgradeResult:
        """The outcome, once the shell stopped waiting."""
        verdict = self.verdict
        if verdict == Ret.UPGRADE_SUCCEEDED:
            return self._result(SUCCEEDED, verdict, "the device confirmed the upgrade (515)")
        if verdict is not None:
            known = "" if verdict in _FAILURES else " (not an upgrade verdict)"
            return self._result(FAILED, verdict, f"the device refused it{known}")
        status, detail = self._without_verdict()
        return self._result(status, None, detail)

    def _without_verdict(self) -> tuple[str, str]:
        percent = self.percent
        if not self.ended:
            where = f"after {self.sent} of {len(self.image)} bytes"
            return FAILED, f"the connection ended {where}: {self.lost}"
        if self.lost is None:
            return UNCONFIRMED, f"sent; the device did not confirm within {self.wait_timeout:g} s"
        if percent is None and 0 < self.acknowledged < self.blocks:
            # Written is not received: a device that answers blocks says how many it took.
            took = f"the device took {self.acknowledged} of {self.blocks} blocks"
            return FAILED, f"the connection ended: {took}"
        if percent == 100:
            return SUCCEEDED, "the device reached 100 % and rebooted"
        at = "" if percent is None else f" at {percent} %"
        return UNCONFIRMED, f"sent; the connection ended{at}"

    def _result(self, status: str, ret: int | None, detail: str) -> UpgradeResult:
        rebooting = status == SUCCEEDED and self.lost is not None
        return UpgradeResult(
            status,
            ret,
            self.percent,
            self.sent,
            len(self.image),
            self.description,
            detail,
            rebooting,
        )

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(UpgradeProgress(stage, done, total))


@dataclass(frozen=True, slots=True)
class SendImage:
    """On the control connection, with nothing else on it meanwhile: `start()`, then the
    sender's packets without waiting per packet (its notifications routed to
    `sender.notice()`), then wait for the verdict; the result comes back. The connection is
    dropped afterwards: the device reboots, or is in no state to reuse it."""

    sender: ImageSender


def upgrade(
    image: ImageSource,
    *,
    force: bool = False,
    progress: Callable[[UpgradeProgress], object] | None = None,
    wait_timeout: float = DEFAULT_WAIT,
) -> Plan[UpgradeResult]:
    """Check the image, then the device's hardware, then send it (see the module)."""
    data, description = load_image(image)
    info = yield Run(ops.system_info())
    check_hardware(description, info.model, force=force)
    sender = ImageSender(data, description, progress, wait_timeout)
    result: UpgradeResult = yield SendImage(sender)
    return result
