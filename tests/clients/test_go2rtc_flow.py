"""go2rtc's DVRIP flow (tests/clients/go2rtc_flow.py) against our simulator, and against a
small fake camera that does exactly what go2rtc expects (to show the client itself works and
is as strict as go2rtc)."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import cycle

import pytest

from tests.clients.go2rtc_flow import Go2rtcError, Go2rtcStream, sofia_hash
from xmcam.protocol import sofia_hash as our_sofia_hash
from xmcam.sim import SimulatorThread

HEADER = struct.Struct("<BBBBIIBBHI")
SESSION = 0x2A
H264_KEYFRAME = b"\x00\x00\x00\x01\x67\x4d\x40\x1e" + b"\x00\x00\x00\x01\x68\xee" + bytes(300)
H265_KEYFRAME = b"".join(
    b"\x00\x00\x00\x01" + bytes([nal_type << 1, 1]) + bytes(20) for nal_type in (32, 33, 34, 19)
)


def _frame(kind: int, payload: bytes, *, codec: int = 0x02, fps: int = 25, rate: int = 2) -> bytes:
    if kind in (0xFC, 0xFE):
        head = struct.pack("<BBBBII", codec, fps, 640 // 8, 360 // 8, 0x1234, len(payload))
    elif kind == 0xFD:
        head = struct.pack("<I", len(payload))
    else:
        head = struct.pack("<BBH", codec, rate, len(payload))
    return b"\x00\x00\x01" + bytes([kind]) + head + payload


def _packet(message_id: int, payload: bytes, sequence: int = 0) -> bytes:
    return HEADER.pack(0xFF, 1, 0, 0, SESSION, sequence, 0, 0, message_id, len(payload)) + payload


def _json(body: dict[str, object], terminator: bytes = b"\n\x00") -> bytes:
    return json.dumps(body).encode() + terminator


@dataclass
class FakeCamera:
    """One connection's worth of a camera that does what go2rtc expects: the login reply,
    the claim reply, no reply to the Start, then media packets. Every knob is one way a
    camera can break go2rtc."""

    login_reply: bytes = _json({"Ret": 100, "SessionID": "0x0000002A", "AliveInterval": 20})
    claim_reply: bytes = _json({"Name": "OPMonitor", "Ret": 100, "SessionID": "0x0000002A"})
    start_reply: bytes | None = None
    stream: bytes = b""
    cuts: tuple[int, ...] = (7, 100, 3000, 1)
    received: list[tuple[int, bytes]] = field(default_factory=list)
    port: int = 0

    @contextlib.contextmanager
    def serve(self) -> Iterator[FakeCamera]:
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        thread = threading.Thread(target=self._run, args=(listener,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            listener.close()
            thread.join(timeout=10)

    def _run(self, listener: socket.socket) -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            try:
                self._talk(connection)
            except OSError:
                return

    def _read(self, connection: socket.socket) -> tuple[int, bytes]:
        header = b""
        while len(header) < 20:
            part = connection.recv(20 - len(header))
            if not part:
                raise ConnectionError("closed")
            header += part
        fields = HEADER.unpack(header)
        payload = b""
        while len(payload) < fields[9]:
            payload += connection.recv(fields[9] - len(payload))
        self.received.append((fields[8], header + payload))
        return fields[8], payload

    def _talk(self, connection: socket.socket) -> None:
        self._read(connection)
        connection.sendall(_packet(1001, self.login_reply))
        self._read(connection)
        connection.sendall(_packet(1414, self.claim_reply))
        self._read(connection)
        if self.start_reply is not None:
            connection.sendall(_packet(1411, self.start_reply))
        stream, sequence = self.stream, 1
        for size in cycle(self.cuts):
            if not stream:
                break
            connection.sendall(_packet(1412, stream[:size], sequence))
            stream, sequence = stream[size:], sequence + 1
        connection.recv(1)  # until the client closes


def _av_stream(
    video_frames: int = 6, *, keyframe: bytes = H264_KEYFRAME, codec: int = 0x02
) -> bytes:
    parts = [_frame(0xFC, keyframe, codec=codec)]
    for number in range(video_frames - 1):
        parts.append(_frame(0xFA, bytes([number]) * 320, codec=14, rate=2))
        parts.append(_frame(0xFD, b"\x00\x00\x00\x01\x41" + bytes([number]) * (50 + number)))
    return b"".join(parts)


Fake = Callable[..., contextlib.AbstractContextManager[FakeCamera]]


@pytest.fixture
def fake() -> Callable[..., contextlib.AbstractContextManager[FakeCamera]]:
    def make(**knobs: object) -> contextlib.AbstractContextManager[FakeCamera]:
        return FakeCamera(**knobs).serve()  # type: ignore[arg-type]

    return make


def _open(camera: FakeCamera) -> Go2rtcStream:
    stream = Go2rtcStream("127.0.0.1", camera.port, "admin", "")
    stream.dial()
    return stream


def test_the_sofia_hash_is_go2rtc_s() -> None:
    for password in ("", "admin", "secret", "pässwörd"):
        assert sofia_hash(password) == our_sofia_hash(password)


def test_against_a_camera_that_does_what_go2rtc_expects(
    fake: Fake,
) -> None:
    with fake(stream=_av_stream()) as camera:
        stream = _open(camera)
        try:
            probe = stream.probe()
            assert (probe.video_codec, probe.fps) == ("H264", 25)
            assert (probe.audio_codec, probe.audio_rate) == ("PCMA", 8000)
            videos, audios = stream.frames(video=6, audio=5)
        finally:
            stream.close()
        # Start() reads again from the first media packet: the keyframe comes first.
        assert videos[0] == H264_KEYFRAME
        assert videos[1] == b"\x00\x00\x00\x01\x41" + bytes(50)
        assert audios == [bytes([n]) * 320 for n in range(5)]
        # What go2rtc sends, byte for byte: the login, the claim and the start.
        (login_id, login), (claim_id, claim), (start_id, start) = camera.received
        assert (login_id, claim_id, start_id) == (1000, 1413, 1410)
        assert login[20:] == (
            b'{"EncryptType":"MD5","LoginType":"DVRIP-Web","PassWord":"tlJwpbo6",'
            b'"UserName":"admin"}\n\x00'
        )
        assert claim[20:] == (
            b'{"Name":"OPMonitor","SessionID":"0x0000002A","OPMonitor":{"Action":"Claim",'
            b'"Parameter":{"Channel":0,"CombinMode":"NONE","StreamType":"Main",'
            b'"TransMode":"TCP"}}}\n\x00'
        )
        assert start[20:] == claim[20:].replace(b'"Claim"', b'"Start"')
        # Header: version 0, the session from the last reply, sequence numbers from 0.
        assert [HEADER.unpack(packet[:20])[1:6] for _, packet in camera.received] == [
            (0, 0, 0, 0, 0),
            (0, 0, 0, SESSION, 1),
            (0, 0, 0, SESSION, 2),
        ]


def test_h265_parameter_sets_are_taken_from_the_keyframe(
    fake: Fake,
) -> None:
    with fake(stream=_av_stream(keyframe=H265_KEYFRAME, codec=0x13)) as camera:
        stream = _open(camera)
        try:
            probe = stream.probe()
        finally:
            stream.close()
        assert probe.video_codec == "H265"
        assert probe.video_parameter_sets == [32, 33, 34]


def test_video_only_is_accepted_once_the_first_probe_time_is_over(
    fake: Fake,
) -> None:
    video_only = _frame(0xFC, H264_KEYFRAME) + _frame(0xFD, b"\x00\x00\x00\x01\x41")
    times = iter([0.0, 0.0, 6.0, 6.0, 6.0])
    with fake(stream=video_only) as camera:
        stream = _open(camera)
        try:
            probe = stream.probe(clock=lambda: next(times))
        finally:
            stream.close()
        assert (probe.video_codec, probe.audio_codec) == ("H264", None)


@pytest.mark.parametrize(
    ("knobs", "reason"),
    [
        (
            {"start_reply": _json({"Name": "OPMonitor", "Ret": 100, "SessionID": "0x0000002A"})},
            "dvrip: wrong packet: 7b224e616d65223a",
        ),
        (
            {"login_reply": _json({"Name": "", "Ret": 203, "SessionID": "0x00000000"})},
            "wrong response",
        ),
        ({"login_reply": _json({"Ret": 100}, b"\x00")}, "json:"),
        ({"login_reply": _json({"Ret": "100"})}, "wrong response"),
        ({"claim_reply": _json({"Name": "OPMonitor", "Ret": 103})}, "wrong response"),
        ({"stream": b"\x00\x00\x01\xf0" + bytes(20)}, "dvrip: unknown packet type: F0"),
        ({"stream": _frame(0xFC, H264_KEYFRAME, fps=0)}, "panic: integer divide by zero"),
        ({"stream": _frame(0xFA, bytes(320), codec=14, rate=0)}, "panic: index out of range"),
    ],
)
def test_where_go2rtc_gives_up(fake: Fake, knobs: dict[str, object], reason: str) -> None:
    with fake(**knobs) as camera:
        stream = Go2rtcStream("127.0.0.1", camera.port, "admin", "")
        try:
            with pytest.raises(Go2rtcError, match=reason.replace("(", r"\(")):
                stream.open_stream()
        finally:
            stream.close()


def test_go2rtc_gets_video_and_audio_from_the_simulator() -> None:
    # Issue 17: no JSON reply to the single-socket Start, one frame per packet.
    with (
        SimulatorThread() as simulator,
        Go2rtcStream(simulator.host, simulator.port, "admin", "") as stream,
    ):
        probe = stream.probe()
        assert (probe.video_codec, probe.audio_codec, probe.audio_rate) == ("H264", "PCMA", 8000)
        videos, audios = stream.frames(video=25, audio=10)
        assert videos[0].startswith(b"\x00\x00\x00\x01")
        assert all(len(audio) == 320 for audio in audios)
