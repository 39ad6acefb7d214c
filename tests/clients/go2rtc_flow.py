"""A test client that takes a DVRIP camera's live stream exactly the way go2rtc does.

go2rtc (github.com/AlexxIT/go2rtc, `pkg/dvrip/`) is one of the most used DVRIP clients, so a
camera (or our simulator) has to satisfy it. This is our own blocking-socket Python rendering
of its flow, step by step, and as strict as it is: where go2rtc fails, this raises
`Go2rtcError` with go2rtc's reason.

What go2rtc does (file names under `pkg/dvrip/`; the URL handling is `dvrip://user:pass@host
?channel=N&subtype=0|1`):

1. `client.go` Dial: TCP to the host (port 34567 unless given), a 3 s connect timeout. With no
   user in the URL it logs in as `admin` with the password `admin`.
2. `client.go` Login: message 1000 with the body written as one compact line, keys in this
   order, then `\\n\\0`:
   `{"EncryptType":"MD5","LoginType":"DVRIP-Web","PassWord":"<Sofia hash>","UserName":"<user>"}`.
3. `client.go` WriteCmd, every message it sends: head byte 0xFF, version 0, bytes 2-3 zero,
   the session id (the last one read), its own sequence number from 0 (+1 per message),
   bytes 12-13 zero, the message id, the length. A 5 s write deadline.
4. `client.go` ReadChunk, every packet it reads: a 5 s read deadline; the 20-byte header
   (anything but 0xFF in byte 0 is "read error"); the session id is taken from EVERY packet's
   header, whatever its message id; then exactly `length` bytes. The message id is never
   looked at.
5. `client.go` ReadJSON (the login reply, the claim reply): ONE packet; its data minus the last
   two bytes (the `\\n\\0` terminator, assumed) must be a JSON object whose `Ret` is a number,
   100 or 515; anything else is an error ("wrong response").
6. `client.go` Play: the claim, message 1413 on the same (logged-in) socket:
   `{"Name":"OPMonitor","SessionID":"0x%08X","OPMonitor":{"Action":"Claim","Parameter":
   {"Channel":N,"CombinMode":"NONE","StreamType":"Main"|"Extra1","TransMode":"TCP"}}}`
   + `\\n\\0`; ReadJSON for its reply; then the same body with `"Action":"Start"` as message
   1410, and NO read of a reply: from here on every packet is taken as media.
7. `client.go` ReadPacket, the media: packet data are appended to one buffer, whatever their
   message id, until it holds 16 bytes; the buffer must start with `00 00 01` (else "dvrip:
   wrong packet", so a JSON reply arriving now, such as a 1411 answer to the Start, kills
   the stream); byte 3 is the type, and the frame's whole size is
   FC/FE: u32 LE at bytes 12-15 + 16; FD: u32 LE at 4-7 + 8; FA/F9: u16 LE at 6-7 + 8;
   any other type is "dvrip: unknown packet type". Packets are read until the buffer holds
   the whole frame; what follows it stays for the next frame (frames span packets, packets
   hold several frames).
8. `producer.go` probe: reads frames until it has seen video and audio, for at most 5 s
   (`core.ProbeTimeout`); after that the first of either will do, until 15 s, else "dvrip:
   can't probe medias". Video (FC or FE): codec in byte 4, 0x02/0x12 H.264, 0x03/0x13/
   0x43/0x53 H.265 (other codes: no track, probing goes on); fps in byte 5 (the time stamp
   step is 90000 / fps: a zero fps panics); the start time stamp is the u32 at bytes 8-11;
   for H.265 the VPS/SPS/PPS of the keyframe (after 16 bytes) are taken for the SDP. Audio
   (FA): codec byte 4, 10 G.711 mu-law or 14 G.711 A-law (others: no track); byte 5 indexes
   the sample rates 4000, 8000, 11025, 16000, 20000, 22050, 32000, 44100, 48000 from 1 (a 0
   indexes out of range: a panic).
9. `producer.go` Start: the stream is read again FROM ITS FIRST MEDIA PACKET (probing read
   through a rewindable buffer, up to 5 MiB); FC/FE give video after their 16-byte header,
   FD after its 8 bytes, FA gives audio after 8 bytes, F9 is skipped.
10. Keepalive: none. go2rtc never sends 1006 on a stream; the camera must keep a streaming
    session alive on its own.
11. `backchannel.go` (talk, not exercised here): claim 1434 then start 1430 with
    `{"Name":"OPTalk","SessionID":"0x%08X","OPTalk":{"Action":...,"AudioFormat":
    {"EncodeType":"G711_ALAW"}}}`, then 1432 packets of an 8-byte header (0x000001FA big
    endian, codec 14, rate index 2, length 320 u16 LE) and 320 bytes of A-law.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["Go2rtcError", "Go2rtcStream", "MediaPacket", "Probe", "sofia_hash"]

LOGIN: Final = 1000
OP_MONITOR_CLAIM: Final = 1413
OP_MONITOR_START: Final = 1410
HEADER: Final = struct.Struct("<BBBBIIBBHI")
CONNECT_TIMEOUT: Final = 3.0
IO_TIMEOUT: Final = 5.0
PROBE_BOTH: Final = 5.0  # core.ProbeTimeout
PROBE_ANY: Final = 15.0
PROBE_BUFFER: Final = 5 * 1024 * 1024  # core.ProbeSize
H264_CODES: Final = (0x02, 0x12)
H265_CODES: Final = (0x03, 0x13, 0x43, 0x53)
AUDIO_CODECS: Final = {10: "PCMU", 14: "PCMA"}
SAMPLE_RATES: Final = (4000, 8000, 11025, 16000, 20000, 22050, 32000, 44100, 48000)
_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Go2rtcError(Exception):
    """Where go2rtc would give up on this camera, with its reason."""


def sofia_hash(password: str) -> str:
    """client.go SofiaHash: MD5, then each pair of bytes summed modulo 62."""
    digest = hashlib.md5(password.encode(), usedforsecurity=False).digest()
    return "".join(_ALPHABET[(digest[i] + digest[i + 1]) % 62] for i in range(0, 16, 2))


@dataclass(frozen=True, slots=True)
class MediaPacket:
    """One frame as ReadPacket cuts it: its type byte and all of its bytes, header included."""

    kind: int
    data: bytes

    @property
    def payload(self) -> bytes:
        """What Producer.Start hands on: after 16 header bytes (FC, FE) or 8 (FD, FA, F9)."""
        return self.data[16:] if self.kind in (0xFC, 0xFE) else self.data[8:]


@dataclass(slots=True)
class Probe:
    """What producer.go probe found."""

    video_codec: str | None = None
    fps: int | None = None
    video_parameter_sets: list[int] = field(default_factory=list)  # H.265 NAL types taken
    audio_codec: str | None = None
    audio_rate: int | None = None


class Go2rtcStream:
    """`dvrip://user:password@host:port?channel=N&subtype=S` as go2rtc opens it."""

    def __init__(
        self,
        host: str,
        port: int = 34567,
        user: str | None = None,
        password: str = "",
        *,
        channel: int = 0,
        subtype: int = 0,
    ) -> None:
        self.host, self.port = host, port
        # client.go Dial: no user in the URL logs in as admin/admin.
        self.user, self.password = (user, password) if user is not None else ("admin", "admin")
        stream = "Main" if subtype == 0 else "Extra1"
        self.stream = (
            f'{{"Channel":{channel},"CombinMode":"NONE","StreamType":"{stream}","TransMode":"TCP"}}'
        )
        self.session = 0
        self.sequence = 0
        self.sock: socket.socket | None = None
        self.replies: list[dict[str, Any]] = []
        self._buffer = b""
        self._recorded: list[bytes] = []  # chunks read while probing, replayed by start()
        self._replay: deque[bytes] = deque()
        self._recording = False
        self.probe_result = Probe()

    # ------------------------------------------------------------------ client.go

    def dial(self) -> None:
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT)
        except OSError as error:
            raise Go2rtcError(f"dial: {error}") from None
        self.login()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> Go2rtcStream:
        self.dial()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def login(self) -> None:
        body = (
            f'{{"EncryptType":"MD5","LoginType":"DVRIP-Web","PassWord":"{sofia_hash(self.password)}"'
            f',"UserName":"{self.user}"}}\n\x00'
        )
        self.write_cmd(LOGIN, body.encode())
        self.read_json()

    def play(self) -> None:
        template = (
            '{{"Name":"OPMonitor","SessionID":"0x{:08X}",'
            '"OPMonitor":{{"Action":"{}","Parameter":{}}}}}\n\x00'
        )
        self.write_cmd(
            OP_MONITOR_CLAIM, template.format(self.session, "Claim", self.stream).encode()
        )
        self.read_json()
        self.write_cmd(
            OP_MONITOR_START, template.format(self.session, "Start", self.stream).encode()
        )

    def write_cmd(self, message_id: int, payload: bytes) -> None:
        assert self.sock is not None
        header = HEADER.pack(
            0xFF, 0, 0, 0, self.session, self.sequence, 0, 0, message_id, len(payload)
        )
        self.sequence = (self.sequence + 1) & 0xFFFFFFFF
        self.sock.settimeout(IO_TIMEOUT)
        try:
            self.sock.sendall(header + payload)
        except OSError as error:
            raise Go2rtcError(f"write: {error}") from None

    def read_chunk(self) -> bytes:
        if self._replay:
            return self._replay.popleft()
        header = self._read_exactly(20)
        if header[0] != 0xFF:
            raise Go2rtcError("read error")
        self.session = int.from_bytes(header[4:8], "little")
        chunk = self._read_exactly(int.from_bytes(header[16:20], "little"))
        if self._recording and sum(map(len, self._recorded)) < PROBE_BUFFER:
            self._recorded.append(chunk)
        return chunk

    def _read_exactly(self, size: int) -> bytes:
        assert self.sock is not None
        self.sock.settimeout(IO_TIMEOUT)
        data = bytearray()
        try:
            while len(data) < size:
                part = self.sock.recv(min(size - len(data), 1 << 20))
                if not part:
                    raise Go2rtcError("EOF")
                data += part
        except TimeoutError:
            raise Go2rtcError("i/o timeout") from None
        except OSError as error:
            raise Go2rtcError(f"read: {error}") from None
        return bytes(data)

    def read_json(self) -> dict[str, Any]:
        chunk = self.read_chunk()
        if len(chunk) < 2:  # Go: b[:len(b)-2] out of range
            raise Go2rtcError(f"panic: a JSON reply of {len(chunk)} bytes")
        try:
            reply = json.loads(chunk[:-2].decode("utf-8", "replace"), parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            raise Go2rtcError(f"json: {error}") from None
        if not isinstance(reply, dict):
            raise Go2rtcError(f"json: cannot unmarshal {type(reply).__name__} into Response")
        ret = reply.get("Ret")
        if isinstance(ret, bool) or not isinstance(ret, int | float) or ret not in (100, 515):
            raise Go2rtcError(f"wrong response: {chunk!r}")
        self.replies.append(reply)
        return reply

    def read_packet(self) -> MediaPacket:
        while len(self._buffer) < 16:
            self._buffer += self.read_chunk()
        buffer = self._buffer
        if not buffer.startswith(b"\x00\x00\x01"):
            raise Go2rtcError(f"dvrip: wrong packet: {buffer[:8].hex()}")
        kind = buffer[3]
        if kind in (0xFC, 0xFE):
            size = int.from_bytes(buffer[12:16], "little") + 16
        elif kind == 0xFD:
            size = int.from_bytes(buffer[4:8], "little") + 8
        elif kind in (0xFA, 0xF9):
            size = int.from_bytes(buffer[6:8], "little") + 8
        else:
            raise Go2rtcError(f"dvrip: unknown packet type: {kind:X}")
        while len(self._buffer) < size:
            self._buffer += self.read_chunk()
        packet, self._buffer = self._buffer[:size], self._buffer[size:]
        return MediaPacket(kind, packet)

    # ------------------------------------------------------------------ producer.go

    def probe(self, clock: Any = time.monotonic) -> Probe:
        """Play, then read until video and audio are known (Producer.probe)."""
        self.play()
        self._recording = True
        found = self.probe_result
        start = clock()
        try:
            while True:
                elapsed = clock() - start
                if elapsed < PROBE_BOTH:
                    if found.video_codec and found.audio_codec:
                        return found
                elif elapsed < PROBE_ANY:
                    if found.video_codec or found.audio_codec:
                        return found
                else:
                    raise Go2rtcError("dvrip: can't probe medias")
                packet = self.read_packet()
                if packet.kind in (0xFC, 0xFE) and found.video_codec is None:
                    self._video_track(packet.data)
                elif packet.kind == 0xFA and found.audio_codec is None:
                    self._audio_track(packet.data)
        finally:
            # Start() reads the stream again from its first media packet.
            self._recording = False
            self._buffer = b""
            self._replay = deque(self._recorded)
            self._recorded = []

    def _video_track(self, frame: bytes) -> None:
        code, fps = frame[4], frame[5]
        if fps == 0:
            raise Go2rtcError("panic: integer divide by zero (fps 0)")
        if code in H264_CODES:
            self.probe_result.video_codec = "H264"
        elif code in H265_CODES:
            self.probe_result.video_codec = "H265"
            self.probe_result.video_parameter_sets = [
                nal_type for nal_type in _h265_types(frame[16:]) if nal_type in (32, 33, 34)
            ]
        else:
            return  # "unsupported video codec": no track, probing goes on
        self.probe_result.fps = fps

    def _audio_track(self, frame: bytes) -> None:
        codec = AUDIO_CODECS.get(frame[4])
        if codec is None:
            return  # "unsupported audio codec"
        index = frame[5]
        if index == 0:
            raise Go2rtcError("panic: index out of range (sample rate 0)")
        self.probe_result.audio_codec = codec
        if index <= len(SAMPLE_RATES):
            self.probe_result.audio_rate = SAMPLE_RATES[index - 1]

    def open_stream(self) -> Probe:
        """Dial (login) and probe: what go2rtc does when a stream is first asked for."""
        self.dial()
        return self.probe()

    def frames(self, video: int, audio: int = 0) -> tuple[list[bytes], list[bytes]]:
        """Producer.Start until `video` video and `audio` audio payloads have come."""
        videos: list[bytes] = []
        audios: list[bytes] = []
        while len(videos) < video or len(audios) < audio:
            packet = self.read_packet()
            if packet.kind in (0xFC, 0xFE, 0xFD):
                videos.append(packet.payload)
            elif packet.kind == 0xFA:
                audios.append(packet.payload)
        return videos, audios


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def _h265_types(annexb: bytes) -> list[int]:
    """The NAL unit types of an Annex-B H.265 stream (annexb.EncodeToAVCC, then the walk
    producer.go does over the AVCC units)."""
    units = annexb.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01")
    return [unit[0] >> 1 & 0x3F for unit in units if unit]
