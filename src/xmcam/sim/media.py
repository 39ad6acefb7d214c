"""The simulator's media, sans I/O: clips, the live frame source and the packetizer.

Theory of operation. A clip is an Annex-B H.264 or H.265 elementary stream (the codec is
detected from its parameter sets), cut once into access units by `xmcam.media.annexb`; its
picture size comes from the SPS. A live stream plays a clip in a loop for ever: video frame n
is due `n / fps` seconds after the stream started, and the G.711 A-law track, when there is
one, is cut into 320-byte (40 ms) frames that go out with the video frame they fall under.
Each video frame is wrapped as an FC (keyframe: codec, size, fps and the device's clock in
its header) or FD frame, each audio frame as FA (docs/protocol.md §11). `LiveSource` hands these
out as bursts (what is due at one instant); it knows no clock: the shell (`streaming.py`)
waits until a burst is due and writes it.

`Packetizer` cuts the frames into DVRIP media packets of at most 8192 bytes of payload. Live
media go as cameras send them, one frame per packet (a big frame spans packets); packing
small frames together into one packet is a quirk (`media_packing`). Readers must not count on
either (docs/protocol.md §11), but python-dvr does. Live packets carry the session id, a sequence
number counting from 1, the channel in byte 12 and 0 in byte 13; a snapshot ends with
EndFlag 1 in byte 13 of its last packet, a download as the profile says (`download_end`).

Everything that comes from a file is checked here (size, codec, a keyframe, a picture size)
and refused with a `MediaError` in one line.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final

from xmcam.media.annexb import AccessUnit, access_units, nal_units, probe_size
from xmcam.media.frames import (
    AudioCodec,
    VideoCodec,
    encode_audio_frame,
    encode_picture_frame,
    encode_video_frame,
)
from xmcam.protocol import encode_frame

__all__ = [
    "AUDIO_FRAME_BYTES",
    "MAX_CLIP_BYTES",
    "MAX_PICTURE_BYTES",
    "MEDIA_PAYLOAD",
    "Clip",
    "LiveSource",
    "MediaError",
    "MediaLibrary",
    "MediaSettings",
    "Packetizer",
    "StreamKind",
    "detect_codec",
    "jpeg_size",
    "load_audio",
    "load_clip",
    "media_container",
    "parse_media_settings",
    "picture_container",
    "read_bounded",
]

MEDIA_PAYLOAD: Final = 8192
"""Bytes of media per packet: what real firmware sends ([BES]; [AND]: "<= 8192 per 1412")."""
AUDIO_FRAME_BYTES: Final = 320
"""One live audio frame: 40 ms of G.711 at 8 kHz, what cameras send ([AND])."""
AUDIO_RATE: Final = 8000
AUDIO_FRAMES_PER_SECOND: Final = AUDIO_RATE // AUDIO_FRAME_BYTES  # 25
MAX_CLIP_BYTES: Final = 64 * 1024 * 1024
"""A clip or audio file larger than this is refused rather than read into memory."""
MAX_PICTURE_BYTES: Final = 8 * 1024 * 1024
"""A JPEG (snapshot, picture recording) larger than this is refused."""
MAX_FPS: Final = 30  # the F byte holds 5 bits; PAL 1-25, NTSC 1-30 (docs/protocol.md §11)

_CLIPS: Final = "clips"
_DEFAULT_MAIN: Final = "main.h264"
_DEFAULT_EXTRA: Final = "extra.h264"
_DEFAULT_AUDIO: Final = "audio.alaw"
_DEFAULT_SNAPSHOT: Final = "snapshot.jpg"
_H265_VPS_HEADER: Final = 0x40  # nal_unit_type 32 << 1, layer 0
_CODEC_PROBE_BYTES: Final = 64 * 1024
_JPEG_START: Final = b"\xff\xd8"
# Start-of-frame markers (baseline, extended, progressive, lossless ...), not DHT/JPG/DAC.
_JPEG_FRAME_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_MAX_HEADER_DIMENSION: Final = 0x3FF * 8  # 10 bits of width/8 or height/8 (docs/protocol.md §11)


class MediaError(ValueError):
    """A clip, audio track or picture that cannot be served, with the reason in one line."""


class StreamKind(enum.Enum):
    """A live stream of a channel, by its OPMonitor StreamType."""

    MAIN = "Main"
    EXTRA1 = "Extra1"
    EXTRA2 = "Extra2"

    @classmethod
    def from_request(cls, value: object) -> StreamKind | None:
        """The stream a StreamType names: `Main`; `Extra` and `Extra1` are the same sub-stream
        (docs/protocol.md §10: clients send either); `Extra2`. None for anything else."""
        return _STREAM_NAMES.get(value) if isinstance(value, str) else None


_STREAM_NAMES: Final = {
    "Main": StreamKind.MAIN,
    "Extra": StreamKind.EXTRA1,
    "Extra1": StreamKind.EXTRA1,
    "Extra2": StreamKind.EXTRA2,
}


# ---------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """What a device streams: a profile's `media` object, or the simulator's options.

    A clip left None is the built-in one (`xmcam/sim/clips`); `extra2` None means the device
    has no third stream (StreamType Extra2 is refused). `audio` None with `no_audio` false is
    the built-in tone."""

    fps: int = 25
    main: Path | None = None
    extra: Path | None = None
    extra2: Path | None = None
    audio: Path | None = None
    no_audio: bool = False
    snapshot: Path | None = None

    def with_changes(self, **changes: Any) -> MediaSettings:
        return replace(self, **changes)


_PATH_FIELDS: Final = ("main", "extra", "extra2", "audio", "snapshot")


def parse_media_settings(raw: object, origin: str = "profile") -> MediaSettings:
    """A profile's `media` object, checked: `fps` 1..30, clip paths as text, `audio` a path
    or null (no audio). Raises MediaError in one line."""
    if not isinstance(raw, dict):
        raise MediaError(f"{origin}: media must be a JSON object")
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "fps":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_FPS:
                raise MediaError(f"{origin}: media.fps must be a whole number 1..{MAX_FPS}")
            fields["fps"] = value
        elif key == "audio" and value is None:
            fields["no_audio"] = True
        elif key in _PATH_FIELDS:
            if not isinstance(value, str) or not value:
                raise MediaError(f"{origin}: media.{key} must be a file path")
            fields[key] = Path(value)
        else:
            raise MediaError(f"{origin}: unknown media setting {key!r}")
    return MediaSettings(**fields)


# ---------------------------------------------------------------------- clips


@dataclass(frozen=True, slots=True)
class Clip:
    """A video clip cut into access units, starting at a keyframe."""

    name: str
    codec: VideoCodec
    width: int
    height: int
    frames: tuple[AccessUnit, ...]

    @property
    def gop(self) -> int:
        """Frames from the first keyframe to the next (the whole clip when it has one)."""
        following = (i for i, unit in enumerate(self.frames) if i and unit.keyframe)
        return next(following, len(self.frames))

    @property
    def header_size(self) -> tuple[int, int]:
        """The size as an FC header can hold it: in units of 8 pixels, rounded up."""
        return -(-self.width // 8) * 8, -(-self.height // 8) * 8


def detect_codec(data: bytes) -> VideoCodec:
    """H.265 when the stream has a video parameter set (H.264 has none: its NAL header byte
    0x40 would be the never-used type 0), else H.264."""
    for nal in nal_units(data[:_CODEC_PROBE_BYTES]):
        if nal[0] == _H265_VPS_HEADER and len(nal) > 1 and nal[1] & 0x07 > 0:
            return VideoCodec.H265
    return VideoCodec.H264


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """A file's bytes; MediaError when it cannot be read or is larger than `limit`."""
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise MediaError(f"cannot read {what} {path}: {error.strerror}") from None
    if len(data) > limit:
        raise MediaError(f"{what} {path} is larger than {limit // (1024 * 1024)} MiB")
    return data


def clip_from_bytes(data: bytes, name: str) -> Clip:
    """A clip from an Annex-B stream; MediaError when it is not one we can stream."""
    codec = detect_codec(data)
    units = access_units(data, codec)
    first_key = next((i for i, unit in enumerate(units) if unit.keyframe), None)
    if first_key is None:
        raise MediaError(f"clip {name} holds no H.264/H.265 keyframe")
    size = probe_size(codec, units[first_key].data)
    if size is None:
        raise MediaError(f"clip {name}: its first keyframe has no readable sequence parameter set")
    if max(size) > _MAX_HEADER_DIMENSION:
        raise MediaError(f"clip {name}: {size[0]}x{size[1]} is larger than a frame header holds")
    # A clip that starts mid-GOP plays from its first keyframe: a stream starts at one.
    frames = tuple(units[first_key:])
    return Clip(name, codec, size[0], size[1], frames)


def load_clip(path: Path) -> Clip:
    return clip_from_bytes(read_bounded(path, MAX_CLIP_BYTES, "clip"), str(path))


def load_audio(path: Path) -> tuple[bytes, ...]:
    """Raw G.711 A-law at 8 kHz cut into 320-byte frames (a shorter tail is left out)."""
    data = read_bounded(path, MAX_CLIP_BYTES, "audio")
    count = len(data) // AUDIO_FRAME_BYTES
    if not count:
        raise MediaError(f"audio {path} is shorter than one 40 ms frame ({AUDIO_FRAME_BYTES} B)")
    return tuple(data[i * AUDIO_FRAME_BYTES : (i + 1) * AUDIO_FRAME_BYTES] for i in range(count))


def load_picture(path: Path) -> bytes:
    data = read_bounded(path, MAX_PICTURE_BYTES, "picture")
    if not data.startswith(_JPEG_START):
        raise MediaError(f"picture {path} is not a JPEG")
    return data


def _builtin(name: str) -> Path:
    return Path(str(resources.files("xmcam.sim").joinpath(_CLIPS, name)))


@dataclass
class MediaLibrary:
    """A device's clips, loaded on first use and kept (every stream of a device shares them)."""

    settings: MediaSettings = field(default_factory=MediaSettings)
    _clips: dict[StreamKind, Clip] = field(default_factory=dict)
    _audio: tuple[bytes, ...] | None = None
    _snapshot: bytes | None = None

    @property
    def streams(self) -> frozenset[StreamKind]:
        """The streams each channel has."""
        if self.settings.extra2 is None:
            return frozenset({StreamKind.MAIN, StreamKind.EXTRA1})
        return frozenset(StreamKind)

    def clip(self, kind: StreamKind) -> Clip:
        clip = self._clips.get(kind)
        if clip is None:
            settings = self.settings
            path = {
                StreamKind.MAIN: settings.main or _builtin(_DEFAULT_MAIN),
                StreamKind.EXTRA1: settings.extra or _builtin(_DEFAULT_EXTRA),
                StreamKind.EXTRA2: settings.extra2 or _builtin(_DEFAULT_EXTRA),
            }[kind]
            clip = self._clips[kind] = load_clip(path)
        return clip

    def audio(self) -> tuple[bytes, ...]:
        """The audio frames; empty when the device sends no audio."""
        if self.settings.no_audio:
            return ()
        if self._audio is None:
            self._audio = load_audio(self.settings.audio or _builtin(_DEFAULT_AUDIO))
        return self._audio

    def snapshot(self) -> bytes:
        if self._snapshot is None:
            self._snapshot = load_picture(self.settings.snapshot or _builtin(_DEFAULT_SNAPSHOT))
        return self._snapshot

    def check(self) -> None:
        """Load everything now: a bad file is refused at start-up, not at the first stream."""
        for kind in self.streams:
            self.clip(kind)
        self.audio()
        self.snapshot()


# ---------------------------------------------------------------------- frames


def _video_frame(clip: Clip, unit: AccessUnit, fps: int, when: datetime | None) -> bytes:
    if not unit.keyframe:
        return encode_video_frame(unit.data, keyframe=False)
    width, height = clip.header_size
    return encode_video_frame(
        unit.data,
        keyframe=True,
        codec=clip.codec,
        width=width,
        height=height,
        fps=fps,
        timestamp=when,
    )


def _media_time(when: datetime) -> datetime | None:
    """`when` if a media time stamp can hold it (the years 2000-2063), else none."""
    return when if 2000 <= when.year <= 2063 else None


class LiveSource:
    """The frames of one live stream in the order they go out, looping the clip for ever.

    `next_frames()` returns the frames due at one instant (a video frame and the audio frames
    under it), each whole; `next_burst()` the same joined. With `mid_gop`, the stream starts
    in the middle of the clip's first GOP with the tail of a frame, as many cameras do
    (docs/protocol.md §10)."""

    def __init__(
        self,
        clip: Clip,
        *,
        fps: int = 25,
        audio: tuple[bytes, ...] = (),
        start_time: datetime,
        mid_gop: bool = False,
    ) -> None:
        self.clip = clip
        self.fps = fps
        self._audio = audio
        self._start_time = start_time
        self._first = clip.gop // 2 if mid_gop else 0
        self._cut_first = mid_gop
        self.frames_sent = 0  # video frames
        self.audio_sent = 0

    @property
    def next_due(self) -> float:
        """Seconds from the start at which the next burst is due."""
        return self.frames_sent / self.fps

    def next_burst(self) -> bytes:
        return b"".join(self.next_frames())

    def next_frames(self) -> list[bytes]:
        clip, number = self.clip, self.frames_sent
        unit = clip.frames[(self._first + number) % len(clip.frames)]
        when = _media_time(self._start_time + timedelta(seconds=number // self.fps))
        parts = [_video_frame(clip, unit, self.fps, when)]
        if self._cut_first:
            self._cut_first = False
            parts[0] = parts[0][len(parts[0]) // 2 :]  # the tail of a frame, as mid-GOP
        self.frames_sent = number = number + 1
        if self._audio:
            # Audio frame m is due at m / 25 s; it goes with the video frame it falls under.
            while self.audio_sent * self.fps < AUDIO_FRAMES_PER_SECOND * number:
                samples = self._audio[self.audio_sent % len(self._audio)]
                parts.append(encode_audio_frame(samples, codec=AudioCodec.G711A))
                self.audio_sent += 1
        return parts


def media_container(
    clip: Clip, *, fps: int, audio: tuple[bytes, ...], start_time: datetime
) -> bytes:
    """A recorded file's bytes: the clip once, as the DVRIP media container (the frames a
    live stream of it would carry), which is what `.h264` files on a device hold."""
    source = LiveSource(clip, fps=fps, audio=audio, start_time=start_time)
    return b"".join(source.next_burst() for _ in clip.frames)


def jpeg_size(jpeg: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame segment, or None when there is none."""
    position = 2
    while position + 9 <= len(jpeg) and jpeg[position] == 0xFF:
        marker = jpeg[position + 1]
        length = int.from_bytes(jpeg[position + 2 : position + 4], "big")
        if marker in _JPEG_FRAME_MARKERS:
            height = int.from_bytes(jpeg[position + 5 : position + 7], "big")
            width = int.from_bytes(jpeg[position + 7 : position + 9], "big")
            return width, height
        position += 2 + length
    return None


def picture_container(jpeg: bytes, *, when: datetime) -> bytes:
    """A picture recording's bytes: the JPEG in one FE frame (with its size, when a frame
    header can hold it)."""
    width, height = jpeg_size(jpeg) or (0, 0)
    width, height = -(-width // 8) * 8, -(-height // 8) * 8
    if width > _MAX_HEADER_DIMENSION or height > _MAX_HEADER_DIMENSION:
        width = height = 0
    return encode_picture_frame(jpeg, width=width, height=height, timestamp=_media_time(when))


# ---------------------------------------------------------------------- packets

_DEVICE_VERSION: Final = 1
_ENDS: Final = ("flag", "empty-flag", "empty")


class Packetizer:
    """Cuts a frame stream into DVRIP media packets of at most `payload_size` bytes.

    `frames()` gives each frame packets of its own, as cameras send live media: a frame
    longer than a payload spans several packets, and a packet never holds the end of one
    frame and the start of the next (python-dvr reads a frame's header at the start of every
    packet after a complete frame). With the `media_packing` quirk, `feed()` packs instead: it
    returns only full packets and keeps the rest for the next call, so small frames share
    packets, and `flush()` sends what is kept (a paced live stream flushes each burst so that
    nothing waits for the next frame). Sequence numbers count from `first_sequence`."""

    def __init__(
        self,
        message_id: int,
        *,
        session_id: int,
        channel: int = 0,
        payload_size: int = MEDIA_PAYLOAD,
        first_sequence: int = 1,
    ) -> None:
        if not 0 < payload_size <= MAX_PICTURE_BYTES:
            raise ValueError(f"payloads are 1..{MAX_PICTURE_BYTES} bytes, not {payload_size}")
        self.message_id = message_id
        self.session_id = session_id
        self.channel = channel
        self.payload_size = payload_size
        self.sequence = first_sequence
        self._pending = bytearray()
        self.packets_sent = 0

    def _packet(self, payload: bytes, end: bool = False) -> bytes:
        sequence = self.sequence
        self.sequence = (sequence + 1) & 0xFFFFFFFF
        self.packets_sent += 1
        return encode_frame(
            self.message_id,
            payload,
            session_id=self.session_id,
            sequence=sequence,
            version=_DEVICE_VERSION,
            total_packets=self.channel,
            current_packet=1 if end else 0,
        )

    def feed(self, data: bytes) -> list[bytes]:
        pending = self._pending
        pending += data
        size = self.payload_size
        full = len(pending) // size * size
        packets = [self._packet(bytes(pending[i : i + size])) for i in range(0, full, size)]
        del pending[:full]
        return packets

    def flush(self) -> list[bytes]:
        """The bytes kept back, as one packet (none when nothing is kept)."""
        if not self._pending:
            return []
        payload = bytes(self._pending)
        self._pending.clear()
        return [self._packet(payload)]

    def frames(self, frames: list[bytes]) -> list[bytes]:
        """Each frame in packets of its own (what is kept back by `feed()` goes first)."""
        packets = self.flush()
        size = self.payload_size
        for frame in frames:
            packets += [self._packet(frame[i : i + size]) for i in range(0, len(frame), size)]
        return packets

    def whole(self, data: bytes, *, end: str = "flag") -> Iterator[bytes]:
        """All of `data` (a JPEG, a file) as packets, made as they are taken, ended as `end`
        says: "flag", EndFlag 1 on the last packet; "empty-flag", an empty packet with EndFlag
        1 after the data; "empty", an empty packet with EndFlag 0 after it (docs/protocol.md §15:
        devices end downloads all three ways)."""
        if end not in _ENDS:
            raise ValueError(f"a download ends {', '.join(_ENDS)}, not {end!r}")
        size = self.payload_size
        last = max(len(data) - 1, 0) // size * size
        for start in range(0, last + 1, size):
            yield self._packet(data[start : start + size], end == "flag" and start == last)
        if end != "flag":
            yield self._packet(b"", end == "empty-flag")
