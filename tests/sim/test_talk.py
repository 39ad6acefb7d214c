"""The simulator's speaker without sockets: busy, framing and pacing checks, the WAV."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

from xmcam.client.talk import AUDIO_FORMAT, TalkEncoder
from xmcam.media.g711 import alaw_to_pcm, pcm_to_alaw
from xmcam.protocol import MessageId, Request
from xmcam.protocol.framing import Frame
from xmcam.protocol.header import Header
from xmcam.protocol.payload import Body
from xmcam.sim.talk import TalkSessions, _write_wav


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def request(message_id: int, body: dict[str, Any] | None = None, payload: bytes = b"") -> Request:
    frame = Frame(Header(message_id, len(payload)), payload)
    return Request(frame, None if body is None else Body(body), True, True)


def talk(action: str, **extra: Any) -> dict[str, Any]:
    return {"Name": "OPTalk", "OPTalk": {"Action": action, **extra}}


def claim(**extra: Any) -> Request:
    return request(MessageId.TALK_CLAIM_REQ, talk("Claim", AudioFormat=AUDIO_FORMAT, **extra))


def ret(body: dict[str, Any] | None) -> int:
    assert body is not None
    return int(body["Ret"])


def packets(seconds: float) -> list[bytes]:
    encoder = TalkEncoder()
    made = encoder.feed((1234).to_bytes(2, "little") * int(seconds * 8000))
    last = encoder.finish()
    return made if last is None else [*made, last]


def test_a_session_with_busy_bad_frames_and_pacing(tmp_path: Path) -> None:
    clock = Clock()
    speaker = TalkSessions(clock, record_dir=tmp_path)
    assert ret(speaker.handle(1, request(MessageId.TALK_REQ, talk("Start")))) == 504  # unclaimed
    assert ret(speaker.handle(1, claim())) == 100
    assert ret(speaker.handle(2, claim())) == 503  # one talker at a time
    assert ret(speaker.handle(2, request(MessageId.TALK_REQ, talk("Stop")))) == 504
    assert ret(speaker.handle(1, request(MessageId.TALK_REQ, talk("Start")))) == 100
    audio = packets(0.4)
    for index, packet in enumerate(audio):
        clock.now = index * 0.04 + (0.03 if index == 5 else 0.0)  # one 30 ms late
        assert speaker.handle(1, request(MessageId.TALK_CU_PU_DATA, payload=packet)) is None
    clock.now += 0.001  # far too early for the next slot
    speaker.handle(1, request(MessageId.TALK_CU_PU_DATA, payload=audio[0]))
    for bad in (audio[0][:100], b"\x00\x00\x01\xfa\x0a\x02\x40\x01" + bytes(320), b"junk"):
        speaker.handle(1, request(MessageId.TALK_CU_PU_DATA, payload=bad))
    assert ret(speaker.handle(1, request(MessageId.TALK_REQ, talk("Stop")))) == 100
    [session] = speaker.finished
    # Early: the packet after the late one (the speaker played on from the late one, so its
    # slot moved 30 ms on), and the one sent 1 ms after its predecessor.
    assert (session.packets, session.late, session.early, session.bad_frames) == (11, 1, 2, 3)
    assert session.ended_by == "stop"
    assert session.wav == tmp_path / "talk-001-ch0.wav"
    with wave.open(str(session.wav), "rb") as reader:
        assert reader.getframerate() == 8000
        assert reader.readframes(320) == alaw_to_pcm(
            pcm_to_alaw((1234).to_bytes(2, "little") * 320)
        )
    # The speaker is free again.
    assert ret(speaker.handle(2, claim())) == 100


def test_claims_the_firmware_refuses() -> None:
    speaker = TalkSessions(Clock(), channels=4)
    short = request(
        MessageId.TALK_CLAIM_REQ, talk("Claim", AudioFormat={"EncodeType": "G711_ULAW"})
    )
    assert ret(speaker.handle(1, short)) == 103
    assert ret(speaker.handle(1, request(MessageId.TALK_CLAIM_REQ, talk("Claim")))) == 103
    assert ret(speaker.handle(1, claim(Channel=4))) == 103
    assert ret(speaker.handle(1, request(MessageId.TALK_REQ, {"Name": "OPTalk"}))) == 103
    assert ret(speaker.handle(1, claim(Channel=3))) == 100
    assert ret(speaker.handle(1, request(MessageId.TALK_REQ, talk("Pause")))) == 103
    speaker.connection_closed(2)  # another connection: nothing changes
    assert speaker.active is not None
    speaker.connection_closed(1)
    [session] = speaker.finished
    assert (session.channel, session.ended_by, session.wav) == (3, "close", None)


def test_audio_outside_a_started_session_is_ignored() -> None:
    speaker = TalkSessions(Clock())
    speaker.handle(1, request(MessageId.TALK_CU_PU_DATA, payload=packets(0.04)[0]))
    assert ret(speaker.handle(1, claim())) == 100
    speaker.handle(1, request(MessageId.TALK_CU_PU_DATA, payload=packets(0.04)[0]))  # no Start
    assert ret(speaker.handle(1, claim())) == 100  # claimed again: a new session
    [session] = speaker.finished
    assert (session.packets, session.ended_by) == (0, "claim")


def test_a_recording_never_overwrites_an_earlier_runs(tmp_path: Path) -> None:
    # A restarted simulator numbers its talk sessions from 1 again.
    earlier = tmp_path / "talk-001-ch0.wav"
    earlier.write_bytes(b"an earlier run's recording")
    written = _write_wav(tmp_path, "talk-001-ch0", b"\x00\x01" * 160)
    assert written == tmp_path / "talk-001-ch0-2.wav"
    assert earlier.read_bytes() == b"an earlier run's recording"
    with wave.open(str(written), "rb") as reader:
        assert reader.readframes(reader.getnframes()) == b"\x00\x01" * 160
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "talk-001-ch0-2.wav",
        "talk-001-ch0.wav",
    ]  # no temporary file left
