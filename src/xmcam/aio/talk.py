"""Talking through the camera's speaker on the asyncio client (docs/protocol.md §19).

Theory of operation. The session runs on the camera's control connection, as go2rtc's does:
the claim and the Start go through `camera.run()` under the request lock like any request,
then each packet is written with `Link.send_audio()` outside the lock (a data packet has no
reply, so it never gets in the way of a keepalive waiting for its own). The packets leave
at the times `PacketSchedule` gives, read on the event loop's monotonic clock; the frames
are pulled from the caller's iterable in between, so a microphone can feed it live. Once the
claim has succeeded, a Stop is sent whatever ends the session (the end of the audio, an
error, a cancel): in a task of its own that the caller's cancel cannot interrupt. A link
that has ended needs no Stop: the device drops the talk with the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Final, TypeAlias

from xmcam.aio.link import Link
from xmcam.aio.media import MediaCamera
from xmcam.client import talk as tops
from xmcam.errors import XMCamError

__all__ = ["PcmSource", "talk"]

_log: Final = logging.getLogger("xmcam.aio")
_WAKE_EARLY: Final = 0.001

PcmSource: TypeAlias = AsyncIterable[bytes] | Iterable[bytes]
"""Frames of 16-bit signed little-endian mono PCM at 8 kHz, of any length: an async
iterable (a microphone) or a plain one (a file read whole)."""


async def _frames(source: PcmSource) -> AsyncIterator[bytes]:
    if isinstance(source, AsyncIterable):
        async for frame in source:
            yield frame
    else:
        for frame in source:
            yield frame


async def talk(
    camera: MediaCamera,
    frames: PcmSource,
    *,
    channel: int | None = None,
    on_packet: Callable[[int], None] | None = None,
) -> tops.TalkStats:
    """Play `frames` through the camera's speaker; what was sent. See `AsyncCamera.talk`."""
    if channel is not None and channel < 0:
        raise ValueError(f"the channel counts from 0, not {channel}")
    loop = asyncio.get_running_loop()
    control = await camera.control_link()
    await camera.run(tops.talk_claim(channel), on=control)
    encoder = tops.TalkEncoder()
    schedule = tops.PacketSchedule(loop.time())
    data_channel = channel or 0
    first: float | None = None

    async def send(packet: bytes) -> None:
        nonlocal first
        now = loop.time()
        due = schedule.due(now)
        if due - now > _WAKE_EARLY:
            # The loop wakes a timer about a millisecond late (the selector's timeout is in
            # whole ms, rounded up): asking for one ms less centres packets on their slots.
            await asyncio.sleep(due - now - _WAKE_EARLY)
        control.send_audio(packet, channel=data_channel)
        sent = loop.time()
        schedule.sent(sent)
        if first is None:
            first = sent
        if on_packet is not None:
            on_packet(len(schedule.lateness))

    try:
        await camera.run(tops.talk_start(channel), on=control)
        schedule = tops.PacketSchedule(loop.time())
        async for pcm in _frames(frames):
            for packet in encoder.feed(pcm):
                await send(packet)
        last = encoder.finish()
        if last is not None:
            await send(last)
        if first is not None:
            # The device plays as packets come: the Stop waits for the last one's 40 ms.
            await asyncio.sleep(max(schedule.due(loop.time()) - loop.time(), 0))
    finally:
        await camera.run_to_end(_stop(camera, control, channel))
    wall = loop.time() - first if first is not None else 0.0
    return tops.TalkStats.of(encoder, schedule, wall)


async def _stop(camera: MediaCamera, control: Link, channel: int | None) -> None:
    if control.error is not None:
        return  # the connection is gone, and the talk with it
    try:
        await camera.run(tops.talk_stop(channel), on=control)
    except XMCamError as error:
        _log.warning("talk: the stop failed: %s", error)
