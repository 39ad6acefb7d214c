"""The talk procedures, the packet encoder and the pacing schedule, without I/O."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmcam.client import operations as ops
from xmcam.client import talk
from xmcam.errors import DeviceError
from xmcam.media.demux import MediaDemuxer
from xmcam.media.frames import AudioFrame
from xmcam.media.g711 import pcm_to_alaw
from xmcam.protocol.connection import Reply
from xmcam.protocol.framing import Frame
from xmcam.protocol.header import Header
from xmcam.protocol.payload import Body

HEADER = bytes.fromhex("000001fa0e024001")  # docs/protocol.md §19: A-law, 8 kHz, 320 bytes


def reply(request_id: int, body: dict[str, Any]) -> Reply:
    return Reply(request_id, Frame(Header(request_id + 1, 0), b""), Body(body))


def test_the_claim_carries_the_whole_audio_format() -> None:
    procedure = talk.talk_claim()
    call = next(procedure)
    assert call.message_id == 1434
    assert call.expect_reply
    assert call.body == {
        "Name": "OPTalk",
        "OPTalk": {
            "Action": "Claim",
            "AudioFormat": {
                "BitRate": 0,
                "EncodeType": "G711_ALAW",
                "SampleBit": 8,
                "SampleRate": 8,
            },
        },
    }
    outcome = ops.advance(procedure, reply(1434, {"Name": "OPTalk", "Ret": 100}))
    assert isinstance(outcome, ops.Finished)


def test_a_channel_goes_into_every_body() -> None:
    claim = next(talk.talk_claim(3))
    start = next(talk.talk_start(3))
    stop = next(talk.talk_stop(3))
    assert claim.body["OPTalk"]["Channel"] == 3
    assert start.body == {"Name": "OPTalk", "OPTalk": {"Action": "Start", "Channel": 3}}
    assert stop.body == {"Name": "OPTalk", "OPTalk": {"Action": "Stop", "Channel": 3}}


def test_start_and_stop_are_fire_and_forget() -> None:
    for procedure in (talk.talk_start(), talk.talk_stop()):
        call = next(procedure)
        assert call.message_id == 1430
        assert not call.expect_reply
        assert isinstance(ops.advance(procedure, None), ops.Finished)


def test_busy_is_raised_although_the_vendor_counts_503_a_success() -> None:
    procedure = talk.talk_claim()
    next(procedure)
    with pytest.raises(DeviceError) as caught:
        ops.advance(procedure, reply(1434, {"Name": "OPTalk", "Ret": 503}))
    assert caught.value.ret == 503
    assert "talk already open" in str(caught.value)


def pcm(samples: int, value: int = 1000) -> bytes:
    return value.to_bytes(2, "little", signed=True) * samples


def test_packets_are_one_alaw_frame_of_320_samples() -> None:
    encoder = talk.TalkEncoder()
    packets = encoder.feed(pcm(700))
    assert len(packets) == 2
    assert all(len(packet) == 328 and packet.startswith(HEADER) for packet in packets)
    assert packets[0][8:] == pcm_to_alaw(pcm(320))
    last = encoder.finish()
    assert last is not None
    assert last.startswith(HEADER)
    assert last[8:] == pcm_to_alaw(pcm(60)) + b"\xd5" * 260  # padded with A-law silence
    assert encoder.finish() is None
    assert encoder.packets == 3
    assert encoder.samples == 700
    frames = MediaDemuxer().feed(b"".join([*packets, last]))
    assert [type(frame) for frame in frames] == [AudioFrame] * 3
    assert all(
        isinstance(frame, AudioFrame) and frame.sample_rate == 8000 and frame.codec == 0x0E
        for frame in frames
    )


def test_nothing_left_over_makes_no_last_packet() -> None:
    encoder = talk.TalkEncoder()
    assert len(encoder.feed(pcm(640))) == 2
    assert encoder.finish() is None


@given(st.binary(max_size=3000), st.lists(st.integers(1, 700), max_size=20))
def test_any_framing_of_the_input_makes_the_same_packets(data: bytes, cuts: list[int]) -> None:
    data = data[: len(data) // 2 * 2]
    whole = talk.TalkEncoder()
    expected = [*whole.feed(data), whole.finish()]
    pieces = talk.TalkEncoder()
    got: list[bytes | None] = []
    position = 0
    for cut in cuts:
        got += pieces.feed(data[position : position + cut])
        position += cut
    got += pieces.feed(data[position:])
    got.append(pieces.finish())
    assert got == expected


def test_the_schedule_does_not_add_up_late_wake_ups() -> None:
    schedule = talk.PacketSchedule(100.0)
    assert schedule.due(100.0) == 100.0
    schedule.sent(100.003)  # woke 3 ms late
    assert schedule.due(100.003) == pytest.approx(100.04)  # not 100.043
    schedule.sent(100.041)
    assert schedule.due(100.05) == pytest.approx(100.08)
    assert schedule.lateness == pytest.approx([0.003, 0.001])
    assert schedule.restarts == 0


def test_the_schedule_restarts_when_the_source_runs_dry() -> None:
    schedule = talk.PacketSchedule(0.0)
    schedule.sent(0.0)
    schedule.sent(0.04)
    # The next was due at 0.08; the source brought it at 0.5: sent now, no burst after.
    assert schedule.due(0.5) == 0.5
    assert schedule.restarts == 1
    schedule.sent(0.5)
    assert schedule.due(0.5) == pytest.approx(0.54)


def test_stats() -> None:
    encoder = talk.TalkEncoder()
    encoder.feed(pcm(8000))
    encoder.finish()
    schedule = talk.PacketSchedule(0.0)
    schedule.sent(0.002)
    stats = talk.TalkStats.of(encoder, schedule, 1.0)
    assert stats.packets == 25
    assert stats.seconds == 1.0
    assert stats.max_late == pytest.approx(0.002)
