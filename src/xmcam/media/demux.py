"""A sans-I/O demuxer for the DVRIP media stream: bytes in, typed frames out.

Theory of operation. Live video (1412), playback (1422), downloads (1426) and recorded
files all carry one byte stream of frames (docs/protocol.md §11), cut into packets with no regard
for frame boundaries: a frame may span many packets and a packet may hold several frames.
The caller routes packets by message id (JSON replies never reach this module) and feeds
their payloads, in order, to `MediaDemuxer.feed()`, which returns every frame completed by
those bytes. Nothing here knows sockets, packets or clocks.

Each frame opens with `00 00 01` and a type byte; the demuxer reads that as one
little-endian u32 together with the next four bytes, so telling the five known types apart
and checking the start code is one `struct.unpack_from` and a compare. The header gives the
payload length, which is checked against `max_frame_size` before anything is kept. A frame
that is whole inside one fed buffer is cut out with one slice: its payload is copied once,
into the `bytes` the frame owns. A frame that runs past the end keeps its parts until the
rest arrives and is then joined, again one copy: parts of an immutable `bytes` buffer are
kept as memoryviews of it (bytearray and other writable buffers are copied, since the caller
may reuse them). At most 15 bytes of an unfinished header are kept between feeds.

Anything that is not a known header (an unknown type such as `00 00 01 FB`, a length over
the limit, the tail of a frame when a live stream starts mid-GOP, or plain garbage) is
skipped up to the next `00 00 01 F9/FA/FC/FD/FE`, found by a compiled pattern in C, never a
per-byte Python loop. Skipped bytes are counted in `dropped_bytes`, and each loss of sync
in `resyncs`. Video payloads cannot fake such a start code (emulation prevention makes
`00 00 01` a NAL start code, followed by a byte below 0x80), so a resync lands on a real
frame unless the garbage itself holds the pattern.

A P-frame (FD) whose payload holds no Annex-B NAL unit is not video: 4K main streams send a
127-byte "service block" like that every ~2 s (docs/protocol.md §F2.4), and decoders choke on
it. Those are counted in `service_blocks` and not returned.

`feed()` never raises on bytes: bad input only moves counters.
"""

from __future__ import annotations

import re
import struct
from typing import Final

from xmcam.media.annexb import has_nal_unit
from xmcam.media.frames import (
    SAMPLE_RATES,
    AudioCodec,
    AudioFrame,
    InfoFrame,
    MediaFrame,
    PictureFrame,
    VideoCodec,
    VideoFrame,
    decode_timestamp,
)

__all__ = ["MAX_FRAME_SIZE", "MediaDemuxer"]

# The largest payload a frame may declare. A 4K H.265 keyframe at a high bitrate is a few
# hundred KB, and the biggest reported (8 MP, 12 Mbit/s, I-frame-heavy) stays under 2 MB; 8 MiB
# leaves room for that while bounding what a corrupt or hostile length can make us hold.
MAX_FRAME_SIZE: Final = 8 * 1024 * 1024

# The start code and type byte read as one little-endian u32, and the u32 after it: FD's
# length, or FA/F9's T, S/N and u16 length.
_SHORT_HEADER: Final = struct.Struct("<II")
# FC and FE: start code and type, T, F, W, H, DateTime, Length.
_LONG_HEADER: Final = struct.Struct("<IBBBBII")
_SHORT_HEADER_SIZE: Final = _SHORT_HEADER.size
_LONG_HEADER_SIZE: Final = _LONG_HEADER.size

_INFO: Final = 0xF9010000  # 00 00 01 F9
_AUDIO: Final = 0xFA010000  # 00 00 01 FA
_I_FRAME: Final = 0xFC010000  # 00 00 01 FC
_P_FRAME: Final = 0xFD010000  # 00 00 01 FD
_PICTURE: Final = 0xFE010000  # 00 00 01 FE

_NEXT_FRAME: Final = re.compile(rb"\x00\x00\x01[\xf9\xfa\xfc\xfd\xfe]")
# The usual video payload opens with a NAL unit; only the others need the full search.
_LEADING_NAL: Final = re.compile(rb"\x00?\x00\x00\x01[\x00-\x7f]")
# The bytes of a start code a buffer may end with, longest first.
_START_CODE_PREFIXES: Final = (b"\x00\x00\x01", b"\x00\x00", b"\x00")

# A frame's first part is kept as a view of the caller's buffer (saving a copy) unless the
# bytes before it in that buffer, held alive by the view, would be more than this.
_MAX_HELD_PREFIX: Final = 64 * 1024

# A frozen dataclass's __init__ sets each field through object.__setattr__; the slots' own
# setters do the same for half the cost (as the protocol core builds its bodies). P-frames and
# audio frames, nearly every frame of a stream, are built this way.
_new_object: Final = object.__new__
_set_video_keyframe: Final = vars(VideoFrame)["keyframe"].__set__
_set_video_codec: Final = vars(VideoFrame)["codec"].__set__
_set_video_data: Final = vars(VideoFrame)["data"].__set__
_set_video_width: Final = vars(VideoFrame)["width"].__set__
_set_video_height: Final = vars(VideoFrame)["height"].__set__
_set_video_fps: Final = vars(VideoFrame)["fps"].__set__
_set_video_timestamp: Final = vars(VideoFrame)["timestamp"].__set__
_set_audio_codec: Final = vars(AudioFrame)["codec"].__set__
_set_audio_sample_rate: Final = vars(AudioFrame)["sample_rate"].__set__
_set_audio_data: Final = vars(AudioFrame)["data"].__set__

_VIDEO_CODECS: Final[dict[int, int]] = {int(codec): codec for codec in VideoCodec}
_AUDIO_CODECS: Final[dict[int, int]] = {int(codec): codec for codec in AudioCodec}

Header = tuple[int, ...]


def _video_size(header: Header) -> tuple[int, int]:
    """Width and height of an FC/FE header: W and H count 8 pixels, their bits 8-9 in T."""
    fields = header[1]
    width = (header[3] | (fields & 0x30) << 4) * 8
    height = (header[4] | (fields & 0xC0) << 2) * 8
    return width, height


class MediaDemuxer:
    """Cuts the DVRIP media byte stream into VideoFrame, AudioFrame, InfoFrame and
    PictureFrame objects.

    Feed it the payloads of the media packets (1412/1422/1426) in order, however they are
    cut; call `eof()` when the stream ends. Frames longer than `max_frame_size` are treated
    as garbage. Counters: `frames` returned, `dropped_bytes` skipped while resynchronising
    (and left over at `eof()`), `resyncs` (times the stream lost sync), `service_blocks`
    (P-frames without video, filtered). `buffered` is the bytes held for an unfinished frame.
    """

    __slots__ = (
        "_codec",
        "_head",
        "_header",
        "_header_size",
        "_length",
        "_max_frame_size",
        "_missing",
        "_parts",
        "_syncing",
        "dropped_bytes",
        "frames",
        "resyncs",
        "service_blocks",
    )

    def __init__(self, *, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        if max_frame_size < 0:
            raise ValueError(f"max_frame_size must be at least 0, not {max_frame_size}")
        self._max_frame_size = max_frame_size
        self.frames = 0
        self.dropped_bytes = 0
        self.resyncs = 0
        self.service_blocks = 0
        # The codec of the last I-frame, which P-frames inherit (0 before the first).
        self._codec = 0
        # Bytes of an unfinished header, or of a start code cut by the end of a feed.
        self._head = b""
        # The frame waiting for the rest of its payload: its header, payload length, payload
        # parts so far, how many payload bytes are still missing (0 when no frame is waiting).
        self._header: Header = ()
        self._header_size = 0
        self._length = 0
        self._parts: list[bytes | memoryview] = []
        self._missing = 0
        self._syncing = False

    @property
    def buffered(self) -> int:
        """Bytes held for a frame not yet complete (never more than a header plus
        `max_frame_size`)."""
        if self._missing:
            return self._header_size + self._length - self._missing
        return len(self._head)

    def feed(self, data: bytes | bytearray | memoryview) -> list[MediaFrame]:
        """The frames completed by `data`, the next bytes of the stream, in stream order."""
        # Per fed buffer, not per byte: at 4 Mbit/s most reads only extend a waiting frame,
        # so that path is inline and allocates nothing but the part it keeps.
        if type(data) is bytes:
            buffer: bytes | memoryview = data
            immutable = True
        else:
            buffer, immutable = self._as_buffer(data)
        missing = self._missing
        if missing:
            size = len(buffer)
            if size < missing:
                self._parts.append(buffer if immutable else bytes(buffer))
                self._missing = missing - size
                return []
            frames = self._finish_frame(buffer, missing)
            position = missing
        else:
            frames = []
            position = 0
            if self._head:
                buffer, immutable = self._head + buffer, True
                self._head = b""
        self._cut_frames(buffer, position, immutable, frames)
        self.frames += len(frames)
        return frames

    def eof(self) -> None:
        """The stream has ended: whatever is held for an unfinished frame is dropped (and
        counted in `dropped_bytes`). The demuxer is then ready for a new stream."""
        self.dropped_bytes += self.buffered
        self._head = b""
        self._reset_frame()
        self._syncing = False
        self._codec = 0

    def __repr__(self) -> str:
        return (
            f"MediaDemuxer(frames={self.frames}, dropped_bytes={self.dropped_bytes}, "
            f"resyncs={self.resyncs}, service_blocks={self.service_blocks}, "
            f"buffered={self.buffered})"
        )

    # -------------------------------------------------------------------------- internals

    @staticmethod
    def _as_buffer(data: bytes | bytearray | memoryview) -> tuple[bytes | memoryview, bool]:
        """`data` (not a `bytes`, which is used as it is) as something to slice, and whether
        views of it may be kept: only of bytes (which never change) and only of all of them
        (a view of a slice would keep the whole object alive)."""
        view = memoryview(data)
        if not view.c_contiguous:
            return view.tobytes(), True
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        source = view.obj
        return view, isinstance(source, bytes) and len(source) == view.nbytes

    def _reset_frame(self) -> None:
        # The header and sizes are only read while `_missing` is set.
        self._parts = []
        self._missing = 0

    def _finish_frame(self, buffer: bytes | memoryview, missing: int) -> list[MediaFrame]:
        """The waiting frame, completed by the first `missing` bytes of `buffer` (a list of
        it, empty for a service block)."""
        parts = self._parts
        parts.append(buffer if len(buffer) == missing else memoryview(buffer)[:missing])
        frame = self._frame(self._header, b"".join(parts))
        self._parts = []
        self._missing = 0
        return [] if frame is None else [frame]

    def _cut_frames(
        self, buffer: bytes | memoryview, position: int, immutable: bool, frames: list[MediaFrame]
    ) -> None:
        """Cuts the frames of `buffer` from `position` on, keeping an unfinished one."""
        unpack_short = _SHORT_HEADER.unpack_from
        frame_for = self._frame
        append = frames.append
        limit = self._max_frame_size
        lost = self._syncing
        end = len(buffer)
        while end - position >= _SHORT_HEADER_SIZE:
            kind, word = unpack_short(buffer, position)
            if kind == _P_FRAME:
                header: Header = (kind, word)
                length = word
                header_size = _SHORT_HEADER_SIZE
            elif kind in (_AUDIO, _INFO):
                header = (kind, word)
                length = word >> 16
                header_size = _SHORT_HEADER_SIZE
            elif kind in (_I_FRAME, _PICTURE):
                if end - position < _LONG_HEADER_SIZE:
                    break
                header = _LONG_HEADER.unpack_from(buffer, position)
                length = header[6]
                header_size = _LONG_HEADER_SIZE
            else:
                position = self._skip(buffer, position)
                lost = True
                continue
            if length > limit:
                position = self._skip(buffer, position)
                lost = True
                continue
            if lost:
                self._syncing = lost = False
            start = position + header_size
            position = start + length
            if position > end:
                # Keep the start of a frame whose payload runs past the end of `buffer`.
                part: bytes | memoryview = memoryview(buffer)[start:]
                if not immutable or start > _MAX_HELD_PREFIX:
                    part = bytes(part)
                self._header = header
                self._header_size = header_size
                self._length = length
                self._parts = [part]
                self._missing = length - len(part)
                return
            # bytes() of a slice of bytes is that slice: one copy either way.
            frame = frame_for(header, bytes(buffer[start:position]))
            if frame is not None:
                append(frame)
        self._head = bytes(buffer[position:])

    def _skip(self, buffer: bytes | memoryview, position: int) -> int:
        """Skips bytes that are not a frame, from `position` to the next start code of a
        known frame type; returns where that is (the end of `buffer` when there is none)."""
        if not self._syncing:
            self._syncing = True
            self.resyncs += 1
        found = _NEXT_FRAME.search(buffer, position + 1)
        if found is not None:
            self.dropped_bytes += found.start() - position
            return found.start()
        end = len(buffer)
        # Keep the end if it may be the first bytes of a start code cut by the feed.
        kept = 0
        for prefix in _START_CODE_PREFIXES:
            if end - len(prefix) > position and buffer[end - len(prefix) :] == prefix:
                kept = len(prefix)
                break
        self.dropped_bytes += end - kept - position
        return end - kept

    def _frame(self, header: Header, payload: bytes) -> MediaFrame | None:
        """The typed frame for `header` and its whole payload (None for a service block)."""
        kind = header[0]
        if kind == _P_FRAME:
            if _LEADING_NAL.match(payload) is None and not has_nal_unit(payload):
                self.service_blocks += 1
                return None
            video = _new_object(VideoFrame)  # VideoFrame(False, self._codec, payload)
            _set_video_keyframe(video, False)
            _set_video_codec(video, self._codec)
            _set_video_data(video, payload)
            _set_video_width(video, None)
            _set_video_height(video, None)
            _set_video_fps(video, None)
            _set_video_timestamp(video, None)
            return video
        if kind == _AUDIO:
            word = header[1]
            codec = word & 0xFF
            audio = _new_object(AudioFrame)  # AudioFrame(codec, rate, payload)
            _set_audio_codec(audio, _AUDIO_CODECS.get(codec, codec))
            _set_audio_sample_rate(audio, SAMPLE_RATES.get((word >> 8) & 0xFF))
            _set_audio_data(audio, payload)
            return audio
        if kind == _INFO:
            return InfoFrame(header[1] & 0xFF, payload)
        width, height = _video_size(header)
        codec = header[1] & 0x0F
        if kind == _PICTURE:
            return PictureFrame(codec, payload, width, height, decode_timestamp(header[5]))
        self._codec = _VIDEO_CODECS.get(codec, codec)
        fps = header[2] & 0x1F
        timestamp = decode_timestamp(header[5])
        return VideoFrame(True, self._codec, payload, width, height, fps, timestamp)
