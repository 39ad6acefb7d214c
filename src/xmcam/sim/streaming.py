"""The simulator's media streams on asyncio: one task per stream, writing to its connection.

The sans-I/O side (`media_commands.py`) decides what streams where; this shell writes. A live
stream is paced by the loop's clock (`Pacer`): burst n of a stream goes out at `start + n /
(fps * media_pace)`, computed from the start each time so that late wake-ups never add up to
drift; a knob changed mid-stream counts on from the last burst at the new pace, and is seen
within a tenth of a second even while a slow stream waits. `media_pace` 0 sends as fast as
the socket takes the packets, for benchmarks. Live frames go one per packet unless the
profile packs them (`media_packing`). A download goes as fast as the socket takes it.
After each packet a stream waits for its transport to drain when the client reads slower
than it is fed: a client that never reads holds the stream, never the simulator's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Final, Protocol

from xmcam.sim.faults import Faults
from xmcam.sim.media import LiveSource, Packetizer
from xmcam.sim.media_sessions import Claim, MediaSessions, StartStream, StopStream

__all__ = ["MediaLink", "MediaStreams", "Pacer"]

log = logging.getLogger("xmcam.sim")

# Packets written between two yields to the loop when nothing makes a stream wait (a fast
# reader and an unpaced stream must not starve the other connections).
_PACKETS_PER_YIELD: Final = 16
# Seconds a paced stream sleeps at most before it looks at the media_pace knob again.
_PACE_CHECK: Final = 0.1


class Pacer:
    """When each burst of a live stream is due, in loop seconds."""

    def __init__(self, fps: int, pace: float, now: float) -> None:
        self._fps = fps
        self._pace = pace
        self._origin, self._origin_burst = now, 0

    def _at(self, burst: int) -> float:
        return self._origin + (burst - self._origin_burst) / (self._fps * self._pace)

    def due(self, burst: int, pace: float, now: float) -> float:
        """The time burst number `burst` is due at under `pace` (`now` when unpaced)."""
        if pace != self._pace:
            if burst and self._pace > 0:  # on from the last burst, at the new pace
                self._origin, self._origin_burst = self._at(burst - 1), burst - 1
            else:
                self._origin, self._origin_burst = now, burst
            self._pace = pace
        return self._at(burst) if pace > 0 else now


class MediaLink(Protocol):
    """What a stream needs of the connection it flows on (the server's `_Link`)."""

    @property
    def closing(self) -> bool: ...

    def send_media(self, packet: bytes) -> bool:
        """Write a packet; True when the writer must wait for `drained()` first."""
        ...

    async def drained(self) -> None: ...

    def close(self) -> None: ...


class MediaStreams:
    """The running streams of a device, keyed by their claims: started and stopped as its
    `media` sessions ask, written to the `links` (by connection number) they are claimed
    on, paced by the `faults`' `media_pace` knob."""

    def __init__(
        self, media: MediaSessions, links: Mapping[int, MediaLink], faults: Faults
    ) -> None:
        self._media = media
        self._links = links
        self._faults = faults
        self._tasks: dict[Claim, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def apply(self) -> None:
        """Start and stop what the device asked for since the last call."""
        for action in self._media.take_actions():
            link = self._links.get(action.claim.connection)
            if isinstance(action, StopStream):
                task = self._tasks.pop(action.claim, None)
                if task is not None:
                    task.cancel()
                if action.close and link is not None:
                    link.close()
            elif link is not None:
                self._start(link, action)

    def _start(self, link: MediaLink, action: StartStream) -> None:
        if action.live is not None:
            run = _live(link, action.live, action.packetizer, self._faults, action.packing)
        else:
            run = _download(link, action.data, action.packetizer, end=action.end)
        task = asyncio.get_running_loop().create_task(run)
        claim = action.claim
        self._tasks[claim] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tasks.get(claim) is done:
                del self._tasks[claim]

        task.add_done_callback(forget)

    async def stop(self) -> None:
        """Cancel every stream (the simulator is stopping)."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _write(link: MediaLink, packets: list[bytes], written: int) -> int:
    """Write packets, waiting for the transport whenever it asks; returns the count written."""
    for packet in packets:
        if link.closing:
            break
        written += 1
        if link.send_media(packet):
            await link.drained()
        elif written % _PACKETS_PER_YIELD == 0:
            await asyncio.sleep(0)
    return written


async def _live(
    link: MediaLink, source: LiveSource, packetizer: Packetizer, faults: Faults, packing: bool
) -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(source.fps, faults.media_pace, loop.time())
    written = 0
    while not link.closing:
        wait = pacer.due(source.frames_sent, faults.media_pace, loop.time()) - loop.time()
        if wait > 0:
            await asyncio.sleep(min(wait, _PACE_CHECK))
            continue  # and look at the knob again
        paced = faults.media_pace > 0
        if not packing:
            packets = packetizer.frames(source.next_frames())  # one frame per packet
        elif paced:
            packets = packetizer.feed(source.next_burst()) + packetizer.flush()
        else:
            # Packed and unpaced: cut at 8192 bytes whatever the frames, as a busy camera's.
            packets = packetizer.feed(source.next_burst())
        if not paced:
            await asyncio.sleep(0)
        written = await _write(link, packets, written)


async def _download(link: MediaLink, data: bytes, packetizer: Packetizer, *, end: str) -> None:
    written = 0
    for packet in packetizer.whole(data, end=end):
        if link.closing:
            return
        written = await _write(link, [packet], written)
    log.debug("download of %d bytes sent in %d packets", len(data), written)
