"""Talking through the camera's speaker, without I/O: what to send, cut into packets, and when
(docs/protocol.md §19), shared by the asyncio and the blocking client.

Theory of operation. A talk session is a claim (1434 OPTalk "Claim" with the whole
`AudioFormat`, which newer firmware insists on), a Start (1430, fire-and-forget: many devices
never answer it), then audio packets (1432), then a Stop (1430, fire-and-forget too). Each
packet carries one A-law audio frame: the 8-byte header `00 00 01 FA 0E 02 40 01` (G.711
A-law, 8 kHz, 320 bytes) and 320 samples, 40 ms of sound. A claim answered with Ret 503
means another client is talking: the one Ret code of that meaning the vendor counts as a
success, so it is raised here as the refusal it is.

`TalkEncoder` turns 16-bit PCM at 8 kHz, in frames of any length, into whole packets, and
pads the last with A-law silence (0xD5). `PacketSchedule` says when each packet is due:
`start + n * 40 ms`, against the monotonic clock the shell reads, so that a late wake-up
does not push every later packet back (sleeping 40 ms after each packet would add the
wake-up error up). When the source runs dry (a microphone slower than real time) and a
packet is more than one period late, the schedule starts again from now instead of
sending the backlog in a burst.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Final

from xmcam.client.operations import Call, Procedure, ask, tell
from xmcam.errors import error_for_ret
from xmcam.media.frames import AudioCodec, encode_audio_frame
from xmcam.media.g711 import ALAW_SILENCE, pcm_to_alaw
from xmcam.protocol.codes import MessageId, Ret
from xmcam.protocol.connection import Reply

__all__ = [
    "AUDIO_FORMAT",
    "PACKET_BYTES",
    "PACKET_SAMPLES",
    "PACKET_SECONDS",
    "SAMPLE_RATE",
    "PacketSchedule",
    "TalkEncoder",
    "TalkStats",
    "talk_claim",
    "talk_start",
    "talk_stop",
]

SAMPLE_RATE: Final = 8000
"""The PCM rate `talk()` takes (Hz, 16-bit signed mono): the camera's own."""

PACKET_SAMPLES: Final = 320
"""A-law samples (bytes) per packet: 40 ms at 8 kHz, the size every client sends ([JEN],
[G2R])."""

PACKET_SECONDS: Final = PACKET_SAMPLES / SAMPLE_RATE

PACKET_BYTES: Final = PACKET_SAMPLES * 2
"""Bytes of 16-bit PCM that make one packet."""

AUDIO_FORMAT: Final = {
    "BitRate": 0,
    "EncodeType": "G711_ALAW",
    "SampleBit": 8,
    "SampleRate": 8,
}
"""The claim's AudioFormat, whole: firmware since 2023 refuses a claim that names only the
encoding (AlexxIT/go2rtc#1111, fixed by go2rtc PR #1122)."""


def _talk_body(action: str, channel: int | None) -> dict[str, Any]:
    operation: dict[str, Any] = {"Action": action}
    if action == "Claim":
        operation["AudioFormat"] = dict(AUDIO_FORMAT)
    if channel is not None:
        # Per-channel routing on recorders; cameras without it answer 103 ([JEN]).
        operation["Channel"] = channel
    return {"Name": "OPTalk", "OPTalk": operation}


def talk_claim(channel: int | None = None) -> Procedure[None]:
    """Claim the speaker (1434). Raises DeviceError (Ret 503) when another client talks."""
    reply: Reply = yield from ask(MessageId.TALK_CLAIM_REQ, _talk_body("Claim", channel))
    if reply.ret == Ret.TALK_ALREADY_OPEN:
        raise error_for_ret(
            Ret.TALK_ALREADY_OPEN,
            message_id=reply.frame.message_id,
            context="another client is talking",
        )


def talk_start(channel: int | None = None) -> Generator[Call, Reply | None, None]:
    """Start (1430), not waiting for a reply: devices send none or a late one ([G2R])."""
    yield from tell(MessageId.TALK_REQ, _talk_body("Start", channel))


def talk_stop(channel: int | None = None) -> Generator[Call, Reply | None, None]:
    """Stop (1430), fire-and-forget like the Start: it must not hang a Ctrl-C."""
    yield from tell(MessageId.TALK_REQ, _talk_body("Stop", channel))


class TalkEncoder:
    """16-bit signed little-endian mono PCM at 8 kHz in, 1432 payloads out: one A-law audio
    frame of 320 samples each."""

    __slots__ = ("_pending", "packets", "samples")

    def __init__(self) -> None:
        self._pending = bytearray()
        self.packets = 0
        """Packets made so far."""
        self.samples = 0
        """PCM samples taken so far (the padding not counted)."""

    def feed(self, pcm: bytes | bytearray | memoryview) -> list[bytes]:
        """The whole packets `pcm` completes (with what was held back before). An odd byte
        waits for the next frame."""
        pending = self._pending
        pending += pcm
        self.samples += len(pcm) // 2  # whole samples; an odd byte is counted when completed
        whole = len(pending) // PACKET_BYTES * PACKET_BYTES
        if not whole:
            return []
        packets = [
            _packet(pcm_to_alaw(pending[start : start + PACKET_BYTES]))
            for start in range(0, whole, PACKET_BYTES)
        ]
        del pending[:whole]
        self.packets += len(packets)
        return packets

    def finish(self) -> bytes | None:
        """The last packet, padded with A-law silence; None when nothing is left over."""
        pending, self._pending = self._pending, bytearray()
        if len(pending) < 2:
            return None
        alaw = pcm_to_alaw(pending[: len(pending) // 2 * 2])
        self.packets += 1
        return _packet(alaw + bytes([ALAW_SILENCE]) * (PACKET_SAMPLES - len(alaw)))


def _packet(alaw: bytes) -> bytes:
    return encode_audio_frame(alaw, codec=AudioCodec.G711A, sample_rate=SAMPLE_RATE)


class PacketSchedule:
    """When each packet is due: `start + n * period` on a monotonic clock (seconds)."""

    __slots__ = ("_index", "_start", "lateness", "period", "restarts")

    def __init__(self, start: float, period: float = PACKET_SECONDS) -> None:
        self._start = start
        self._index = 0
        self.period = period
        self.restarts = 0
        """How often the source ran dry and the schedule began again."""
        self.lateness: list[float] = []
        """How late each packet went out (seconds), as `sent()` was told."""

    def due(self, now: float) -> float:
        """When the next packet is due; `now` when the source kept it back for more than a
        period (the schedule restarts there: no burst)."""
        due = self._start + self._index * self.period
        if now - due > self.period:
            self._start = now - self._index * self.period
            self.restarts += 1
            return now
        return due

    def sent(self, when: float) -> None:
        """The next packet went out at `when`."""
        due = self._start + self._index * self.period
        self.lateness.append(when - due)
        self._index += 1


@dataclass(frozen=True, slots=True)
class TalkStats:
    """What a talk session sent."""

    packets: int
    """Audio packets sent (40 ms each)."""
    seconds: float
    """Seconds of audio sent (the padding of the last packet not counted)."""
    wall_seconds: float
    """Seconds from the first packet to the last."""
    max_late: float
    """The most a packet went out after its due time (seconds)."""
    restarts: int
    """How often the source could not keep up and the schedule began again."""

    @classmethod
    def of(cls, encoder: TalkEncoder, schedule: PacketSchedule, wall: float) -> TalkStats:
        return cls(
            packets=encoder.packets,
            seconds=encoder.samples / SAMPLE_RATE,
            wall_seconds=wall,
            max_late=max(schedule.lateness, default=0.0),
            restarts=schedule.restarts,
        )
