"""Talking through the simulator's speaker with the asyncio client: the audio that arrives is
the audio sent (after G.711), paced at 40 ms a packet, and Stop is sent however it ends.

These run in real time (no virtual clock): the pacing is what they measure."""

from __future__ import annotations

import array
import asyncio
import contextlib
import itertools
import math
import statistics
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import xmcam
from xmcam.aio import AsyncCamera
from xmcam.errors import DeviceError
from xmcam.media import g711
from xmcam.sim import Simulator, load_profile
from xmcam.sim.talk import TalkSession

# On the loop whose clock skips idle waits (tests/virtual_time.py): the simulator stamps
# arrivals on the same clock, so the pacing is measured without the real waiting, and a busy
# machine's stalls, which only real time has, seldom fall inside a run of a few real ms.
pytestmark = pytest.mark.virtual_time

PACKET = 0.040
TOLERANCE = 0.005  # the bar: 40 ms ± 5 ms a packet


def tone(seconds: float, frequency: float = 440.0, level: int = 12000) -> bytes:
    """A sine with a slow sweep in level, so that every A-law segment is used."""
    count = int(seconds * 8000)
    return array.array(
        "h",
        (
            int(level * (0.1 + 0.9 * i / count) * math.sin(2 * math.pi * frequency * i / 8000))
            for i in range(count)
        ),
    ).tobytes()


def chunks(pcm: bytes, size: int) -> list[bytes]:
    return [pcm[start : start + size] for start in range(0, len(pcm), size)]


@contextlib.asynccontextmanager
async def camera(record: Path | None = None) -> AsyncIterator[tuple[Simulator, AsyncCamera]]:
    async with (
        Simulator(load_profile(), talk_record=record) as sim,
        xmcam.connect(sim.host, sim.port, timeout=3.0) as cam,
    ):
        yield sim, cam


async def ended(sim: Simulator, count: int = 1) -> list[TalkSession]:
    """The finished talk sessions, once `count` have ended (the Stop is in flight)."""
    async with asyncio.timeout(3):
        while len(sim.device.talk.finished) < count:
            await asyncio.sleep(0.01)
    return sim.device.talk.finished


def read_wav(path: Path) -> array.array[int]:
    with wave.open(str(path), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 8000)
        samples = array.array("h")
        samples.frombytes(reader.readframes(reader.getnframes()))
    return samples


def assert_paced(arrivals: list[float]) -> None:
    """Packets at their slots, 40 ms apart within 5 ms, as the simulator saw them on the
    virtual-time loop this module runs on (a run takes some 70 ms of real time: a busy
    machine's stalls seldom fall inside it, and then only delay the packets they hit, which
    the 90th percentile leaves out)."""
    # Slots anchored at the typical offset, not the first packet's (which may itself be late).
    offsets = [when - index * PACKET for index, when in enumerate(arrivals)]
    start = statistics.median(offsets)
    slips = sorted(abs(offset - start) for offset in offsets)
    assert slips[int(len(slips) * 0.9)] <= TOLERANCE, slips
    gaps = sorted(abs(later - earlier - PACKET) for earlier, later in itertools.pairwise(arrivals))
    assert gaps[len(gaps) // 2] <= TOLERANCE / 5, gaps  # the typical packet: 40 ± 1 ms
    assert min(offsets) >= start - TOLERANCE, offsets  # none ahead of its slot
    assert abs(statistics.median(offsets[-5:]) - statistics.median(offsets[:5])) <= TOLERANCE


def assert_roughly_paced(arrivals: list[float]) -> None:
    """Paced in real time, checked in what a loaded machine keeps (the blocking client's test,
    on real time with the simulator in a thread: CI runs four workers on two cores, so
    wake-ups come late, often more than half of them by a few ms). A packet is never early
    (the schedule is absolute: it goes at its slot or after). So: the typical gap is 40 ± 5 ms
    (an unpaced sender has gaps near 0), nine packets in ten within 50 ms of the least-late
    one (an unpaced one spreads over the whole length), and no drift (a sender that waits
    40 ms after each packet falls further behind with each)."""
    offsets = sorted(when - index * PACKET for index, when in enumerate(arrivals))
    lateness = [offset - offsets[0] for offset in offsets]
    assert lateness[int(len(lateness) * 0.9)] <= 0.050, lateness
    gaps = sorted(abs(later - earlier - PACKET) for earlier, later in itertools.pairwise(arrivals))
    assert gaps[len(gaps) // 2] <= TOLERANCE, gaps
    in_order = [when - index * PACKET for index, when in enumerate(arrivals)]
    assert abs(statistics.median(in_order[-5:]) - statistics.median(in_order[:5])) <= 0.030


def few_off_schedule(session: TalkSession) -> bool:
    """At most a quarter of the packets off the simulator's 20 ms window (a late wake-up on a
    loaded machine makes one late and the next early); a sender with no pacing makes nearly
    all of them early."""
    return session.early + session.late <= session.packets // 4


async def test_the_audio_that_arrives_is_the_audio_sent(tmp_path: Path) -> None:
    sent = tone(1.23)
    async with camera(tmp_path) as (sim, cam):
        stats = await cam.talk(chunks(sent, 222))  # frames that are not packets
        [session] = await ended(sim)
    assert session.ended_by == "stop"
    assert session.packets == stats.packets == math.ceil(len(sent) / 640) == 31
    assert session.bad_frames == 0
    assert few_off_schedule(session)
    assert session.wav is not None
    received = read_wav(session.wav)
    expected = array.array("h")
    expected.frombytes(g711.alaw_to_pcm(g711.pcm_to_alaw(sent)))
    # Sample for sample, G.711's round trip and then the last packet's silence padding.
    assert received[: len(expected)] == expected
    assert set(received[len(expected) :]) == {g711.decode_sample(g711.ALAW_SILENCE)}
    assert len(received) == 31 * 320
    original = array.array("h")
    original.frombytes(sent)
    assert all(
        abs(got - want) <= g711.max_round_trip_error(want)
        for got, want in zip(received, original, strict=False)
    )
    # Paced: packets at their slots, 40 ms apart, within 5 ms (see assert_paced).
    assert_paced(session.arrivals)
    assert stats.restarts == 0
    assert stats.seconds == pytest.approx(1.23)


async def test_an_async_source_is_taken_as_it_comes() -> None:
    sent = tone(0.3)

    async def microphone() -> AsyncIterator[bytes]:
        for frame in chunks(sent, 160):  # 10 ms frames, as a sound card gives them
            yield frame

    packets: list[int] = []
    async with camera() as (sim, cam):
        await cam.talk(microphone(), on_packet=packets.append)
        [session] = await ended(sim)
    assert packets == list(range(1, 9))
    assert session.pcm[: len(sent)] == g711.alaw_to_pcm(g711.pcm_to_alaw(sent))


async def test_a_second_talker_is_refused_with_503() -> None:
    async with camera() as (sim, first):
        gate = asyncio.Event()

        async def held() -> AsyncIterator[bytes]:
            yield tone(0.1)
            await gate.wait()

        talking = asyncio.create_task(first.talk(held()))
        async with asyncio.timeout(3):
            while sim.device.talk.active is None:
                await asyncio.sleep(0.01)
        async with xmcam.connect(sim.host, sim.port, timeout=3.0) as second:
            with pytest.raises(DeviceError) as caught:
                await second.talk([tone(0.1)])
        assert caught.value.ret == 503
        gate.set()
        await talking
        [session] = await ended(sim)
        assert session.ended_by == "stop"  # the refused claim stopped nobody's talk


async def test_stop_is_sent_when_the_source_fails() -> None:
    def failing() -> AsyncIterator[bytes]:
        async def frames() -> AsyncIterator[bytes]:
            yield tone(0.1)
            raise OSError("the microphone went away")

        return frames()

    async with camera() as (sim, cam):
        with pytest.raises(OSError, match="microphone"):
            await cam.talk(failing())
        [session] = await ended(sim)
        assert session.ended_by == "stop"
        assert session.packets == 2
        # The connection goes on: the next talk is not refused as busy.
        await cam.talk([tone(0.05)])
        assert (await ended(sim, 2))[1].ended_by == "stop"


async def test_stop_is_sent_when_the_caller_is_cancelled() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield tone(0.04)

    async with camera() as (sim, cam):
        talking = asyncio.create_task(cam.talk(endless()))
        async with asyncio.timeout(3):
            while not sim.device.talk.active or sim.device.talk.active.packets < 3:
                await asyncio.sleep(0.01)
        talking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await talking
        [session] = await ended(sim)
        assert session.ended_by == "stop"


async def test_a_channel_is_claimed_and_checked() -> None:
    async with camera() as (sim, cam):
        with pytest.raises(DeviceError) as caught:
            await cam.talk([tone(0.04)], channel=7)  # a one-channel camera
        assert caught.value.ret == 103
        assert sim.device.talk.finished == []
        with pytest.raises(ValueError, match="counts from 0"):
            await cam.talk([], channel=-1)
        await cam.talk([tone(0.04)], channel=0)
        [session] = await ended(sim)
        assert session.channel == 0
