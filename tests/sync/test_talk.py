"""Talking through the simulator's speaker with the blocking client."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import xmcam
from tests.aio.test_talk import assert_roughly_paced, chunks, few_off_schedule, tone
from xmcam.errors import DeviceError
from xmcam.media import g711
from xmcam.sim import SimulatorThread, load_profile
from xmcam.sim.talk import TalkSession


def finished(sim: SimulatorThread, count: int = 1) -> list[TalkSession]:
    deadline = time.monotonic() + 3
    while len(sim.simulator.device.talk.finished) < count:
        assert time.monotonic() < deadline, "the talk session did not end"
        time.sleep(0.01)
    return sim.simulator.device.talk.finished


def test_the_audio_that_arrives_is_the_audio_sent(tmp_path: Path) -> None:
    sent = tone(0.77)
    with SimulatorThread(load_profile(), talk_record=tmp_path) as sim:
        with xmcam.Camera(sim.host, sim.port, timeout=3.0) as cam:
            stats = cam.talk(iter(chunks(sent, 500)))
        [session] = finished(sim)
    assert session.ended_by == "stop"
    assert stats.packets == session.packets == 20
    assert session.bad_frames == 0
    assert few_off_schedule(session)
    expected = g711.alaw_to_pcm(g711.pcm_to_alaw(sent))
    assert session.pcm[: len(expected)] == expected
    assert session.wav is not None
    assert session.wav.read_bytes()[44 : 44 + len(expected)] == expected  # after the header
    assert_roughly_paced(session.arrivals)


def test_busy_and_stop_on_error() -> None:
    with (
        SimulatorThread(load_profile()) as sim,
        xmcam.Camera(sim.host, sim.port, timeout=3.0) as first,
    ):

        def frames() -> object:
            yield tone(0.1)
            with xmcam.Camera(sim.host, sim.port, timeout=3.0) as second:
                with pytest.raises(DeviceError) as caught:
                    second.talk([tone(0.04)])
                assert caught.value.ret == 503
            raise KeyboardInterrupt  # Ctrl-C in the middle

        with pytest.raises(KeyboardInterrupt):
            first.talk(frames())  # type: ignore[arg-type]
        [session] = finished(sim)
        assert session.ended_by == "stop"
