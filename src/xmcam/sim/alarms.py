"""The device's alarms, sans I/O: which are active, since when, and the bit masks WorkState
reports (`AlarmState`). The device raises and ends them (`SimulatedDevice.alarm()`); every
listener (the guarded sessions' 1504 pushes, the alarm-center push) gets the same
`AlarmRecord`, so a Stop carries its Start's time everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from xmcam.protocol import format_device_time

__all__ = ["ActiveAlarms", "AlarmRecord"]

_MASK_CHANNELS: Final = 32  # AlarmState masks have one bit per channel, 32 of them


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """An alarm as the device tells it: `start_time` in the device's time format (for a
    Stop, the time its Start was raised)."""

    channel: int
    event: str
    status: str
    start_time: str


class ActiveAlarms:
    """The alarms started and not yet stopped, by (channel, event)."""

    def __init__(self) -> None:
        self._active: dict[tuple[int, str], AlarmRecord] = {}

    def change(self, channel: int, event: str, status: str, now: datetime) -> AlarmRecord:
        """Record a Start (or a Stop, which ends the alarm); the record to tell. A Stop
        carries its Start's time; a Stop without a Start, and any other status, `now`."""
        start_time = format_device_time(now)
        key = (channel, event)
        if status == "Start":
            self._active[key] = AlarmRecord(channel, event, status, start_time)
        elif status == "Stop":
            started = self._active.pop(key, None)
            start_time = started.start_time if started is not None else start_time
        return AlarmRecord(channel, event, status, start_time)

    def mask(self, event: str) -> int:
        """One bit per channel where `event` is active."""
        mask = 0
        for channel, name in self._active:
            if name == event and 0 <= channel < _MASK_CHANNELS:
                mask |= 1 << channel
        return mask
