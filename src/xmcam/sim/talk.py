"""The device's speaker, sans I/O: OPTalk claim (1434), Start and Stop (1430) and the audio
packets (1432), as docs/protocol.md §19 describes them, checked as a camera would hear them.

Theory of operation. One client talks at a time: the connection whose claim was accepted
holds the speaker until its Stop or until it closes, and any other connection's claim is
answered Ret 503 (talk already open), as the vendor document says. A claim whose
`AudioFormat` is missing or names another encoding than G.711 A-law is refused with Ret 103,
what the newer firmware of AlexxIT/go2rtc#1111 does with go2rtc's short claim.

Each audio packet must hold exactly one A-law audio frame: `00 00 01 FA`, codec 0x0E, rate
index 2 (8 kHz), its length, and that many bytes. Anything else is a bad frame: counted,
logged, not played. The packets' arrival times are checked against the schedule a speaker
plays them on: one every 40 ms from the first. A packet more than `tolerance` seconds early
would overflow the device's small buffer; one more than `tolerance` late leaves a gap.
Either way the schedule starts again from that packet, as a speaker's does after a gap (so
the packet after a late one that keeps to the old schedule counts as early). What the speaker
played (A-law decoded to 16-bit PCM) is kept, bounded, and written to a WAV file per
session when a recording directory is set (`Simulator(talk_record=DIR)`, `xmcam sim
--talk-record DIR`), so a test can compare it with what it sent.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from xmcam.media.g711 import alaw_to_pcm
from xmcam.protocol import MessageId, Request, Ret

__all__ = ["TALK_IDS", "TalkSession", "TalkSessions"]

log = logging.getLogger("xmcam.sim")

TALK_IDS: Final = frozenset(
    {MessageId.TALK_CLAIM_REQ, MessageId.TALK_REQ, MessageId.TALK_CU_PU_DATA}
)

PACKET_SECONDS: Final = 0.040
SAMPLE_RATE: Final = 8000
MAX_RECORDED_SECONDS: Final = 600
"""Audio kept per session at most (4.8 MB of A-law): a client talking for hours costs no
memory beyond it; the counts go on."""

_AUDIO_HEADER: Final = struct.Struct("<4sBBH")
_AUDIO_START: Final = b"\x00\x00\x01\xfa"
_G711A: Final = 0x0E
_RATE_8K: Final = 2


@dataclass(eq=False)
class TalkSession:
    """One talk session: who holds the speaker, and what it heard."""

    number: int
    connection: int
    channel: int
    started: bool = False
    packets: int = 0
    """Good audio packets."""
    bad_frames: int = 0
    early: int = 0
    late: int = 0
    arrivals: list[float] = field(default_factory=list)
    """The arrival time of each good packet (the device's clock)."""
    audio: bytearray = field(default_factory=bytearray)
    """The A-law bytes played, up to MAX_RECORDED_SECONDS."""
    ended_by: str = ""
    """"stop" (the client's Stop), "close" (its connection closed) or "claim" (it claimed
    again)."""
    wav: Path | None = None
    """Where the session's audio was written, once it ended (with a recording directory)."""
    next_slot: float | None = None
    """When the next packet is due (None before the first)."""

    @property
    def pcm(self) -> bytes:
        """What was played, as 16-bit signed little-endian PCM at 8 kHz."""
        return alaw_to_pcm(self.audio)


@dataclass
class TalkSessions:
    """The speaker of a simulated device, shared by its connections."""

    clock: Callable[[], float]
    channels: int = 1
    record_dir: Path | None = None
    tolerance: float = 0.020
    """Seconds a packet may arrive before or after its slot without being counted."""
    active: TalkSession | None = None
    finished: list[TalkSession] = field(default_factory=list)
    """Ended sessions, oldest first (the last 16)."""
    _count: int = 0

    def handle(self, connection: int, request: Request) -> dict[str, Any] | None:
        """A talk request on `connection` (logged in, its session checked); the reply body,
        or None (audio packets have none)."""
        if request.message_id == MessageId.TALK_CU_PU_DATA:
            self._audio(connection, request.frame.payload)
            return None
        body = request.body
        operation = body.get("OPTalk") if body is not None else None
        if not isinstance(operation, dict):
            return {"Name": "OPTalk", "Ret": Ret.ILLEGAL_REQUEST}
        action = operation.get("Action")
        if request.message_id == MessageId.TALK_CLAIM_REQ:
            return {"Name": "OPTalk", "Ret": self._claim(connection, operation)}
        if action == "Start":
            return {"Name": "OPTalk", "Ret": self._start(connection)}
        if action == "Stop":
            return {"Name": "OPTalk", "Ret": self._stop(connection)}
        return {"Name": "OPTalk", "Ret": Ret.ILLEGAL_REQUEST}

    def _claim(self, connection: int, operation: dict[str, Any]) -> int:
        active = self.active
        if active is not None and active.connection != connection:
            log.info(
                "talk: connection %d claimed the speaker, busy with connection %d: Ret 503",
                connection,
                active.connection,
            )
            return Ret.TALK_ALREADY_OPEN
        audio_format = operation.get("AudioFormat")
        if not isinstance(audio_format, dict) or audio_format.get("EncodeType") != "G711_ALAW":
            log.info("talk: a claim without an A-law AudioFormat: Ret 103")
            return Ret.ILLEGAL_REQUEST
        channel = operation.get("Channel", 0)
        if type(channel) is not int or not 0 <= channel < self.channels:
            return Ret.ILLEGAL_REQUEST
        if active is not None:  # the holder claims again: a fresh session
            self._end(active, "claim")
        self._count += 1
        self.active = TalkSession(self._count, connection, channel)
        return Ret.OK

    def _start(self, connection: int) -> int:
        active = self.active
        if active is None or active.connection != connection:
            return Ret.TALK_NOT_OPEN
        active.started = True
        return Ret.OK

    def _stop(self, connection: int) -> int:
        active = self.active
        if active is None or active.connection != connection:
            return Ret.TALK_NOT_OPEN
        self._end(active, "stop")
        return Ret.OK

    def connection_closed(self, connection: int) -> None:
        """The connection is gone: its talk ends with it."""
        active = self.active
        if active is not None and active.connection == connection:
            self._end(active, "close")

    def _audio(self, connection: int, payload: bytes) -> None:
        session = self.active
        if session is None or session.connection != connection or not session.started:
            log.debug("talk: audio from connection %d outside a started session", connection)
            return
        if not _is_audio_frame(payload):
            session.bad_frames += 1
            log.warning(
                "talk: connection %d sent a bad audio frame (%d bytes, starting %s)",
                connection,
                len(payload),
                payload[:8].hex(" "),
            )
            return
        now = self.clock()
        slot = session.next_slot
        if slot is not None:
            if now < slot - self.tolerance:
                session.early += 1
                slot = now  # counted once: the schedule goes on from here
            elif now > slot + self.tolerance:
                session.late += 1
                slot = now  # a gap was heard; the speaker plays on from here
        else:
            slot = now
        session.next_slot = slot + PACKET_SECONDS
        session.packets += 1
        session.arrivals.append(now)
        if len(session.audio) < MAX_RECORDED_SECONDS * SAMPLE_RATE:
            session.audio += payload[_AUDIO_HEADER.size :]

    def _end(self, session: TalkSession, how: str) -> None:
        self.active = None
        session.ended_by = how
        log.info(
            "talk session %d (connection %d, channel %d): %d packets, %.2f s, %d early, "
            "%d late, %d bad frames; ended by %s",
            session.number,
            session.connection,
            session.channel,
            session.packets,
            len(session.audio) / SAMPLE_RATE,
            session.early,
            session.late,
            session.bad_frames,
            how,
        )
        if self.record_dir is not None:
            stem = f"talk-{session.number:03d}-ch{session.channel}"
            try:
                session.wav = _write_wav(self.record_dir, stem, session.pcm)
            except OSError as error:
                where = self.record_dir / f"{stem}.wav"
                log.warning("talk: cannot write %s: %s", where, error.strerror or error)
        self.finished.append(session)
        del self.finished[:-16]


def _is_audio_frame(payload: bytes) -> bool:
    if len(payload) <= _AUDIO_HEADER.size:
        return False
    start, codec, rate, length = _AUDIO_HEADER.unpack_from(payload)
    return bool(
        start == _AUDIO_START
        and codec == _G711A
        and rate == _RATE_8K
        and length == len(payload) - _AUDIO_HEADER.size
    )


def _write_wav(directory: Path, stem: str, pcm: bytes) -> Path:
    """A 16-bit mono 8 kHz WAV named `stem`.wav in `directory`, or `stem`-2.wav and so on when
    that name is taken (a restarted simulator numbers its sessions from 1 again: an earlier
    run's recordings are never overwritten). Written beside and linked into place, never half
    a file; the path written."""
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{stem}.")
    try:
        with os.fdopen(descriptor, "wb") as file, wave.open(file, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(SAMPLE_RATE)
            writer.writeframes(pcm)
        path, attempt = directory / f"{stem}.wav", 1
        while True:
            try:
                os.link(temporary, path)  # fails on a name taken, unlike a rename
            except FileExistsError:
                attempt += 1
                path = directory / f"{stem}-{attempt}.wav"
                continue
            return path
    finally:
        Path(temporary).unlink(missing_ok=True)
