"""Talking through the camera's speaker on the blocking client (docs/protocol.md §19).

Theory of operation. As on the asyncio client (`xmcam.aio.talk`): claim and Start on the
control connection, packets at the times `PacketSchedule` gives on the monotonic clock, and
a Stop however the session ends (the end of the audio, an error, Ctrl-C) once the claim has
succeeded. Nothing else reads the connection here, so the wait before each packet is spent
in `Link.read()`: what the device sends meanwhile (a late reply to the Start) is read and
dropped, an ended connection is found at once, and the KeepAlive goes out when due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Final, TypeAlias

from xmcam.client import operations as ops
from xmcam.client import talk as tops
from xmcam.errors import XMCamError
from xmcam.sync.link import Link
from xmcam.sync.media import MediaCamera

__all__ = ["PcmSource", "talk"]

_log: Final = logging.getLogger("xmcam.sync")

PcmSource: TypeAlias = Iterable[bytes]
"""Frames of 16-bit signed little-endian mono PCM at 8 kHz, of any length."""


def talk(
    camera: MediaCamera,
    frames: PcmSource,
    *,
    channel: int | None = None,
    on_packet: Callable[[int], None] | None = None,
) -> tops.TalkStats:
    """Play `frames` through the camera's speaker; what was sent. See `Camera.talk`."""
    if channel is not None and channel < 0:
        raise ValueError(f"the channel counts from 0, not {channel}")
    clock = time.monotonic
    control = camera.control_link()
    camera.run(tops.talk_claim(channel), on=control)
    encoder = tops.TalkEncoder()
    schedule = tops.PacketSchedule(clock())
    data_channel = channel or 0
    first: float | None = None

    def wait_until(due: float) -> None:
        while (left := due - clock()) > 0:
            period = ops.keepalive_period(control.connection.alive_interval)
            if clock() - control.last_reply >= period:
                camera.run(ops.keepalive(), on=control)
                continue
            try:
                control.read(clock() + left)
            except TimeoutError:
                return

    def send(packet: bytes) -> None:
        nonlocal first
        wait_until(schedule.due(clock()))
        control.send_audio(packet, channel=data_channel)
        sent = clock()
        schedule.sent(sent)
        if first is None:
            first = sent
        if on_packet is not None:
            on_packet(len(schedule.lateness))

    try:
        camera.run(tops.talk_start(channel), on=control)
        schedule = tops.PacketSchedule(clock())
        for pcm in frames:
            for packet in encoder.feed(pcm):
                send(packet)
        last = encoder.finish()
        if last is not None:
            send(last)
        if first is not None:
            wait_until(schedule.due(clock()))  # the last packet's 40 ms, then Stop
    finally:
        _stop(camera, control, channel)
    wall = clock() - first if first is not None else 0.0
    return tops.TalkStats.of(encoder, schedule, wall)


def _stop(camera: MediaCamera, control: Link, channel: int | None) -> None:
    if not control.logged_in:
        return  # the connection is gone, and the talk with it
    try:
        camera.run(tops.talk_stop(channel), on=control)
    except XMCamError as error:
        _log.warning("talk: the stop failed: %s", error)
