"""The pacing of live streams: when each burst is due, and a knob turned mid-stream."""

from __future__ import annotations

import pytest

from xmcam.sim.streaming import Pacer


def test_bursts_are_due_at_n_over_fps_from_the_start() -> None:
    pacer = Pacer(25, 1.0, now=100.0)
    assert [pacer.due(n, 1.0, now=999.0) for n in (0, 1, 25, 250)] == [100.0, 100.04, 101.0, 110.0]


def test_a_pace_changed_mid_stream_counts_on_from_the_last_burst() -> None:
    pacer = Pacer(25, 1.0, now=0.0)
    assert pacer.due(10, 1.0, now=0.4) == pytest.approx(0.4)
    # Slowed to a frame every 4 s: the next burst is 4 s after the last one, not at once.
    assert pacer.due(11, 0.01, now=0.41) == pytest.approx(4.4)
    assert pacer.due(12, 0.01, now=4.5) == pytest.approx(8.4)
    # Twice real time from there.
    assert pacer.due(13, 2.0, now=8.5) == pytest.approx(8.42)


def test_unpaced_bursts_are_due_now_and_pacing_resumes_from_then() -> None:
    pacer = Pacer(25, 0.0, now=0.0)
    assert pacer.due(0, 0.0, now=1.0) == 1.0
    assert pacer.due(500, 0.0, now=2.0) == 2.0
    assert pacer.due(501, 1.0, now=3.0) == 3.0
    assert pacer.due(502, 1.0, now=3.0) == pytest.approx(3.04)
