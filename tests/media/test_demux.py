"""The media demuxer: fed whole, byte by byte, joined and in random chunks; Hypothesis
properties; and a regression test for each media quirk of docs/protocol.md §F2.4."""

from __future__ import annotations

import random
import re
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.media.streams import MediaStream, clip_bytes, clip_stream
from xmcam.media.demux import MAX_FRAME_SIZE, MediaDemuxer
from xmcam.media.frames import (
    SAMPLE_RATES,
    AudioCodec,
    AudioFrame,
    InfoFrame,
    MediaFrame,
    PictureFrame,
    VideoCodec,
    VideoFrame,
    encode_audio_frame,
    encode_info_frame,
    encode_picture_frame,
    encode_timestamp,
    encode_video_frame,
)

P_FRAME_DATA = b"\x00\x00\x00\x01\x41\x9a\x02"
I_FRAME_DATA = b"\x00\x00\x00\x01\x67\x42\x00\x00\x00\x01\x68\xce\x00\x00\x00\x01\x65\x88"
WHEN = datetime(2026, 8, 8, 21, 38, 57)
NEXT_FRAME = re.compile(rb"\x00\x00\x01[\xf9\xfa\xfc\xfd\xfe]")


def cut(data: bytes, sizes: Iterator[int]) -> list[bytes]:
    """`data` in pieces of the given sizes (the last piece takes what is left)."""
    pieces = []
    offset = 0
    while offset < len(data):
        size = next(sizes, len(data))
        pieces.append(data[offset : offset + size])
        offset += size
    return pieces


def random_pieces(data: bytes, seed: int, largest: int = 9000) -> list[bytes]:
    chooser = random.Random(seed)
    return cut(data, iter(lambda: chooser.randint(1, largest), None))


def demux(
    pieces: Sequence[bytes | bytearray | memoryview], **options: int
) -> tuple[list[MediaFrame], MediaDemuxer]:
    """The frames of `pieces` fed in turn and then eof(), and the demuxer (for its counters).
    Checks on the way that the demuxer never holds more than a header and a frame."""
    demuxer = MediaDemuxer(**options)
    limit = options.get("max_frame_size", MAX_FRAME_SIZE) + 16
    frames: list[MediaFrame] = []
    for piece in pieces:
        frames += demuxer.feed(piece)
        assert demuxer.buffered <= limit
    demuxer.eof()
    assert demuxer.buffered == 0
    assert demuxer.frames == len(frames)
    return frames, demuxer


def counters(demuxer: MediaDemuxer) -> tuple[int, int, int, int]:
    return demuxer.frames, demuxer.dropped_bytes, demuxer.resyncs, demuxer.service_blocks


FEEDS: dict[str, Callable[[bytes], list[bytes]]] = {
    "whole": lambda data: [data],
    "byte by byte": lambda data: [data[index : index + 1] for index in range(len(data))],
    "random chunks": lambda data: random_pieces(data, seed=len(data)),
    "8 KiB packets": lambda data: cut(data, iter(lambda: 8192, None)),
}


def three_ways(data: bytes, **options: int) -> tuple[list[MediaFrame], tuple[int, int, int, int]]:
    """The frames and counters of `data` fed every way of FEEDS; all must agree."""
    results = []
    for name, feed_way in FEEDS.items():
        frames, demuxer = demux(feed_way(data), **options)
        results.append((name, frames, counters(demuxer)))
    _, frames, numbers = results[0]
    for name, other_frames, other_numbers in results[1:]:
        assert other_frames == frames, name
        assert other_numbers == numbers, name
    return frames, numbers


@pytest.fixture(scope="module")
def main_stream() -> MediaStream:
    return clip_stream(clip_bytes("main.h264"), audio=clip_bytes("audio.alaw"))


# ---------------------------------------------------------------------- fed three ways


def test_main_clip_three_ways(main_stream: MediaStream) -> None:
    data = bytes(main_stream.data)
    for name in ("whole", "random chunks", "8 KiB packets"):
        frames, demuxer = demux(FEEDS[name](data))
        assert frames == main_stream.frames, name
        assert counters(demuxer) == (200, 0, 0, 0)


def test_byte_by_byte(main_stream: MediaStream) -> None:
    part = MediaStream(main_stream.data[:60_000], [])
    frames, numbers = three_ways(bytes(part.data))
    assert frames == main_stream.frames[: len(frames)]
    assert len(frames) > 20
    # The last frame is cut: what was held of it is counted at eof(), nothing else.
    whole = sum(len(encode_again(frame)) for frame in frames)
    assert numbers == (len(frames), 60_000 - whole, 0, 0)


def encode_again(frame: MediaFrame) -> bytes:
    """A video or audio frame encoded again (for its length)."""
    if isinstance(frame, VideoFrame):
        if frame.keyframe:
            assert frame.width is not None
            assert frame.height is not None
            return encode_video_frame(
                frame.data, keyframe=True, width=frame.width, height=frame.height
            )
        return encode_video_frame(frame.data, keyframe=False)
    assert isinstance(frame, AudioFrame)
    return encode_audio_frame(frame.data)


def test_several_streams_joined(main_stream: MediaStream) -> None:
    extra = clip_stream(clip_bytes("extra.h264"))
    joined = main_stream + extra + main_stream
    for name in ("whole", "random chunks"):
        frames, demuxer = demux(FEEDS[name](bytes(joined.data)))
        assert frames == joined.frames
        assert counters(demuxer) == (len(joined.frames), 0, 0, 0)


def test_h265_and_4k_clips(made_clips: dict[str, bytes]) -> None:
    small = clip_stream(made_clips["small.h265"], VideoCodec.H265)
    uhd = clip_stream(made_clips["4k.h265"], VideoCodec.H265)
    joined = small + uhd
    frames, numbers = three_ways(bytes(joined.data))
    assert frames == joined.frames
    assert numbers == (len(joined.frames), 0, 0, 0)
    keyframe = frames[-1]
    assert isinstance(keyframe, VideoFrame)
    assert (keyframe.codec, keyframe.width, keyframe.height) == (VideoCodec.H265, 3840, 2160)
    assert uhd.data[4] == 0x53  # T: H.265 with the high bits of 3840 and 2160


def test_frame_fields(main_stream: MediaStream) -> None:
    frames, _ = demux([bytes(main_stream.data)])
    first, audio, second = frames[:3]
    assert first == VideoFrame(
        True, VideoCodec.H264, first.data, 640, 360, 25, datetime(2026, 11, 25, 12, 0, 0)
    )
    assert isinstance(first, VideoFrame)
    assert first.data.startswith(b"\x00\x00\x00\x01\x67")
    assert audio == AudioFrame(AudioCodec.G711A, 8000, clip_bytes("audio.alaw")[:320])
    assert isinstance(second, VideoFrame)
    assert (second.keyframe, second.codec, second.width, second.timestamp) == (
        False,
        VideoCodec.H264,
        None,
        None,
    )
    assert type(first.data) is bytes
    assert type(second.data) is bytes
    # P-frames and audio frames are built by their slots' setters: the same as built by hand.
    assert second == VideoFrame(False, VideoCodec.H264, second.data)
    assert hash(second) == hash(VideoFrame(False, VideoCodec.H264, second.data))
    assert repr(audio) == repr(AudioFrame(AudioCodec.G711A, 8000, audio.data))
    keyframes = [frame for frame in frames if isinstance(frame, VideoFrame) and frame.keyframe]
    assert [frame.timestamp for frame in keyframes] == [
        datetime(2026, 11, 25, 12, 0, second) for second in range(4)
    ]


# ----------------------------------------------------------------------- quirks (§2.4)


def test_service_block_is_filtered_and_counted() -> None:
    # hass-xmeye: a 127-byte FD "frame" without NAL units every ~2 s on 4K main streams.
    block = bytes(random.Random(7).randrange(1, 256) for _ in range(127))
    assert b"\x00\x00\x01" not in block
    stream = (
        encode_video_frame(
            I_FRAME_DATA, keyframe=True, codec=VideoCodec.H265, width=3840, height=2160
        )
        + encode_video_frame(P_FRAME_DATA, keyframe=False)
        + encode_video_frame(block, keyframe=False)
        + encode_video_frame(P_FRAME_DATA, keyframe=False)
        + encode_video_frame(b"", keyframe=False)  # empty: no NAL either
    )
    assert len(encode_video_frame(block, keyframe=False)) == 135
    frames, numbers = three_ways(stream)
    assert [frame.data for frame in frames] == [I_FRAME_DATA, P_FRAME_DATA, P_FRAME_DATA]
    assert numbers == (3, 0, 0, 2)


def test_nal_unit_not_at_the_start_of_a_p_frame() -> None:
    payload = b"\x09\x10" + P_FRAME_DATA  # two stray bytes, then a NAL unit
    frames, numbers = three_ways(encode_video_frame(payload, keyframe=False))
    assert frames == [VideoFrame(False, 0, payload)]  # no I-frame yet: codec unknown (0)
    assert numbers == (1, 0, 0, 0)


def i_frame_header(t: int, w: int, h: int, *, f: int = 25, stamp: int = 0) -> bytes:
    return b"\x00\x00\x01\xfc" + struct.pack("<BBBBII", t, f, w, h, stamp, len(I_FRAME_DATA))


@pytest.mark.parametrize(
    ("t", "w", "h", "codec", "size"),
    [
        (0x02, 0xF0, 0x87, VideoCodec.H264, (1920, 1080)),
        (0x12, 0x40, 0xB4, VideoCodec.H264, (2560, 1440)),
        (0x03, 0x50, 0x2D, VideoCodec.H265, (640, 360)),
        (0x13, 0x40, 0xB4, VideoCodec.H265, (2560, 1440)),
        (0x43, 0x00, 0x00, VideoCodec.H265, (0, 2048)),
        (0x53, 0xE0, 0x0E, VideoCodec.H265, (3840, 2160)),  # 4K, not 1792x112
        (0xF3, 0xFF, 0xFF, VideoCodec.H265, (8184, 8184)),
        (0x01, 0x16, 0x12, VideoCodec.MPEG4, (176, 144)),
        (0x05, 0x16, 0x12, 5, (176, 144)),  # a codec we do not know stays a number
    ],
)
def test_codec_ids_and_sizes(t: int, w: int, h: int, codec: int, size: tuple[int, int]) -> None:
    stream = i_frame_header(t, w, h, stamp=encode_timestamp(WHEN)) + I_FRAME_DATA
    stream += encode_video_frame(P_FRAME_DATA, keyframe=False)
    frames, _ = three_ways(stream)
    assert frames == [
        VideoFrame(True, codec, I_FRAME_DATA, size[0], size[1], 25, WHEN),
        VideoFrame(False, codec, P_FRAME_DATA),
    ]


def test_fps_bits_and_bad_time_stamp() -> None:
    stream = i_frame_header(0x02, 0x50, 0x2D, f=0xE0 | 30, stamp=0xFFFFFFFF) + I_FRAME_DATA
    (frame,), _ = three_ways(stream)
    assert isinstance(frame, VideoFrame)
    assert (frame.fps, frame.timestamp) == (30, None)


def test_stream_starting_mid_frame(main_stream: MediaStream) -> None:
    # A live stream starts mid-GOP: the first bytes are the tail of a frame.
    head = main_stream.frames[:16]
    data = bytes(main_stream.data[: sum(len(encode_again(frame)) for frame in head)])
    first_frame = len(encode_again(head[0]))  # the keyframe
    for skipped in (1, 4, 9, 100, first_frame - 3):
        frames, numbers = three_ways(data[skipped:])
        # P-frames before the next keyframe have lost their I-frame: codec unknown (0).
        assert frames == with_codecs(head[1:])
        assert numbers == (len(frames), first_frame - skipped, 1, 0)


def test_stream_starting_in_a_header() -> None:
    # The tail of a header looks like a frame start in no way: skipped to the next start code.
    stream = encode_audio_frame(bytes(320)) + encode_video_frame(P_FRAME_DATA, keyframe=False)
    frames, numbers = three_ways(stream[2:])
    assert frames == [VideoFrame(False, 0, P_FRAME_DATA)]
    assert numbers == (1, 326, 1, 0)


@pytest.mark.parametrize("opening", [b"{", b"[", b'{"Name":"OPMonitor","Ret":100}\n\x00'])
def test_media_payloads_opening_like_json(opening: bytes) -> None:
    # hass-xmeye: ~0.8% of media packets begin with `{` or `[`; the demuxer never looks.
    audio = opening + bytes(320 - len(opening))
    info = b"[" + b"SPEED:42;" + b"]"
    stream = encode_audio_frame(audio) + encode_info_frame(info)
    stream += encode_video_frame(P_FRAME_DATA, keyframe=False)
    frames, numbers = three_ways(stream)
    assert frames == [
        AudioFrame(AudioCodec.G711A, 8000, audio),
        InfoFrame(1, info),
        VideoFrame(False, 0, P_FRAME_DATA),
    ]
    assert numbers == (3, 0, 0, 0)
    # A packet whose payload starts with the `{` at a frame's payload start.
    cut_at = 8
    assert stream[cut_at : cut_at + 1] == opening[:1]
    assert demux([stream[:cut_at], stream[cut_at:]])[0] == frames


def test_lengths_over_the_limit() -> None:
    good = encode_video_frame(P_FRAME_DATA, keyframe=False)
    too_long = encode_video_frame(P_FRAME_DATA + bytes(1000), keyframe=False)
    stream = good + too_long + good
    frames, numbers = three_ways(stream, max_frame_size=1000)
    assert frames == [VideoFrame(False, 0, P_FRAME_DATA)] * 2
    assert numbers == (2, len(too_long), 1, 0)
    # At the default limit, a header claiming 4 GiB (or just over 8 MiB) is garbage too.
    for length in (0xFFFFFFFF, MAX_FRAME_SIZE + 1):
        huge = b"\x00\x00\x01\xfd" + length.to_bytes(4, "little") + bytes(50)
        frames, numbers = three_ways(good + huge + good)
        assert len(frames) == 2
        assert numbers == (2, len(huge), 1, 0)
    # A long header over a small limit.
    i_frame = encode_video_frame(bytes(2000), keyframe=True, width=8, height=8)
    frames, numbers = three_ways(i_frame + good, max_frame_size=1000)
    assert numbers == (1, len(i_frame), 1, 0)


def test_length_at_the_limit_is_kept() -> None:
    frame = encode_video_frame(P_FRAME_DATA + bytes(993), keyframe=False)
    frames, numbers = three_ways(frame, max_frame_size=1000)
    assert frames == [VideoFrame(False, 0, frame[8:])]
    assert numbers == (1, 0, 0, 0)


@pytest.mark.parametrize("kind", [0xFB, 0xFF, 0xF8, 0x00, 0x65, 0x41])
def test_unknown_type_bytes(kind: int) -> None:
    # [KWE]: resync on the next 00 00 01 F9/FA/FC/FD/FE when the type is unknown.
    unknown = b"\x00\x00\x01" + bytes([kind]) + bytes([8, 0, 0, 0]) + bytes(range(1, 9))
    good = encode_video_frame(P_FRAME_DATA, keyframe=False)
    frames, numbers = three_ways(good + unknown + good + unknown)
    assert frames == [VideoFrame(False, 0, P_FRAME_DATA)] * 2
    assert numbers == (2, 2 * len(unknown), 2, 0)


def test_kwe_sixteen_byte_p_frame_header_is_garbage() -> None:
    # [KWE] assumes a 16-byte FD header; a stream written that way resyncs frame by frame.
    body = P_FRAME_DATA
    odd = b"\x00\x00\x01\xfd" + bytes(8) + len(body).to_bytes(4, "little") + body
    frames, numbers = three_ways(odd + encode_audio_frame(bytes(320)))
    # Length 0 in the first 4 bytes: an empty FD (a service block), then 12 bytes of garbage.
    assert frames == [AudioFrame(AudioCodec.G711A, 8000, bytes(320))]
    assert numbers == (1, len(odd) - 8, 1, 1)


def test_info_frame() -> None:
    text = b"GPS:$GPRMC,083559.00,A,4717.11437,N,00833.91522,E,0.004,77.52,091202,,,A*57;"
    text += b"G-SENSOR:+1020,-0950,+0330;SPEED:42;"
    stream = encode_info_frame(text) + encode_info_frame(b"", info_type=6)
    frames, numbers = three_ways(stream)
    assert frames == [InfoFrame(1, text), InfoFrame(6, b"")]
    assert numbers == (2, 0, 0, 0)


def test_common_audio_frame() -> None:
    # [AND]: 00 00 01 FA 0E 02 40 01 and 320 bytes of G.711 A-law, 40 ms at 8 kHz.
    samples = clip_bytes("audio.alaw")[:320]
    frame = bytes.fromhex("000001fa0e024001") + samples
    frames, numbers = three_ways(frame * 3)
    assert frames == [AudioFrame(AudioCodec.G711A, 8000, samples)] * 3
    assert numbers == (3, 0, 0, 0)


def test_audio_codecs_and_rates() -> None:
    stream = b"".join(
        b"\x00\x00\x01\xfa" + bytes([codec, rate]) + b"\x02\x00\x11\x22"
        for codec, rate in [(10, 9), (0x0E, 1), (0x33, 0), (7, 12)]
    )
    frames, _ = three_ways(stream)
    assert frames == [
        AudioFrame(AudioCodec.G711U, 48000, b"\x11\x22"),
        AudioFrame(AudioCodec.G711A, 4000, b"\x11\x22"),
        AudioFrame(0x33, None, b"\x11\x22"),
        AudioFrame(AudioCodec.PCM8, None, b"\x11\x22"),
    ]
    assert frames[0].codec is AudioCodec.G711U  # type: ignore[union-attr]
    assert set(SAMPLE_RATES.values()) >= {4000, 48000}


def test_picture_frame() -> None:
    jpeg = clip_bytes("snapshot.jpg")
    stream = encode_picture_frame(jpeg, width=640, height=360, timestamp=WHEN)
    stream += encode_picture_frame(b"\xff\xd8\xff\xd9", width=3840, height=2160)
    frames, numbers = three_ways(stream)
    assert frames == [
        PictureFrame(0, jpeg, 640, 360, WHEN),
        PictureFrame(0, b"\xff\xd8\xff\xd9", 3840, 2160, None),
    ]
    assert numbers == (2, 0, 0, 0)


def test_garbage_between_frames_is_counted_exactly() -> None:
    good = encode_video_frame(P_FRAME_DATA, keyframe=False)
    garbage = [b"x", b"\x00", b"\x00\x00", b"\x00\x00\x01", b"\x00\x00\x01\x00" * 5, bytes(100)]
    stream = good + b"".join(blob + good for blob in garbage) + b"\x00\x00\x01"
    frames, numbers = three_ways(stream)
    assert len(frames) == len(garbage) + 1
    # The start code cut by the end of the stream is dropped at eof(): not a resync.
    assert numbers == (len(frames), sum(map(len, garbage)) + 3, len(garbage), 0)


# -------------------------------------------------------------------- buffers and limits


def test_partial_frame_is_held_then_counted_at_eof() -> None:
    frame = encode_video_frame(P_FRAME_DATA + bytes(100), keyframe=False)
    demuxer = MediaDemuxer()
    assert demuxer.feed(frame[:5]) == []
    assert demuxer.buffered == 5
    assert demuxer.feed(frame[5:50]) == []
    assert demuxer.buffered == 50
    demuxer.eof()
    assert (demuxer.buffered, demuxer.dropped_bytes, demuxer.frames) == (0, 50, 0)
    # Ready for a new stream.
    assert demuxer.feed(frame) == [VideoFrame(False, 0, frame[8:])]
    assert "frames=1" in repr(demuxer)
    assert "dropped_bytes=50" in repr(demuxer)


def test_memory_stays_bounded_while_a_frame_fills() -> None:
    limit = 4096
    demuxer = MediaDemuxer(max_frame_size=limit)
    frame = encode_video_frame(P_FRAME_DATA + bytes(limit - len(P_FRAME_DATA)), keyframe=False)
    pieces = cut(frame, iter(lambda: 100, None))
    held = []
    for piece in pieces[:-1]:
        assert demuxer.feed(piece) == []
        held.append(demuxer.buffered)
    assert held == list(range(100, len(frame), 100))
    assert demuxer.feed(pieces[-1]) == [VideoFrame(False, 0, frame[8:])]
    assert demuxer.buffered == 0


def test_reused_bytearray_does_not_change_a_held_frame() -> None:
    frame = encode_video_frame(P_FRAME_DATA + bytes(range(200)), keyframe=False)
    demuxer = MediaDemuxer()
    buffer = bytearray(frame[:100])
    assert demuxer.feed(buffer) == []
    buffer[:] = b"\xee" * 100  # the caller reuses its buffer, as a socket reader would
    middle = bytearray(frame[100:150])
    assert demuxer.feed(middle) == []
    middle[:] = b"\xee" * 50
    buffer.extend(b"more")  # and may resize it: nothing of ours holds it
    (result,) = demuxer.feed(bytearray(frame[150:]))
    assert result == VideoFrame(False, 0, frame[8:])


def strided(data: bytes) -> memoryview:
    """A view of `data` that is not contiguous (every other byte of a larger buffer)."""
    spread = bytearray(2 * len(data))
    spread[::2] = data
    return memoryview(bytes(spread))[::2]


@pytest.mark.parametrize(
    "wrap",
    [
        bytes,
        bytearray,
        memoryview,
        lambda data: memoryview(bytearray(data)),
        strided,
        lambda data: memoryview(data).cast("I"),  # items of 4 bytes
    ],
)
def test_buffer_types(wrap: Callable[[bytes], bytes | bytearray | memoryview]) -> None:
    payload = P_FRAME_DATA + bytes(range(256)) * 11 + bytes(1)
    stream = encode_video_frame(payload, keyframe=False) + encode_audio_frame(bytes(320))
    assert len(stream) % 4 == 0  # whole 32-bit items for the cast view
    chooser = random.Random(3)
    pieces = cut(stream, iter(lambda: 4 * chooser.randint(1, 175), None))
    frames, demuxer = demux([wrap(piece) for piece in pieces])
    assert frames == [VideoFrame(False, 0, payload), AudioFrame(14, 8000, bytes(320))]
    assert all(type(frame.data) is bytes for frame in frames)
    assert counters(demuxer) == (2, 0, 0, 0)


def test_first_part_far_into_a_big_buffer_is_copied() -> None:
    # The start of a frame at the end of a large read is copied, so the read can be freed.
    audio = encode_audio_frame(bytes(300))
    prefix = audio * 300  # 92 KiB of whole frames
    frame = encode_video_frame(P_FRAME_DATA + bytes(5000), keyframe=False)
    frames, _ = demux([prefix + frame[:1000], frame[1000:]])
    assert len(frames) == 301
    assert frames[-1] == VideoFrame(False, 0, frame[8:])


def test_views_never_keep_a_larger_object_alive() -> None:
    frame = encode_video_frame(P_FRAME_DATA + bytes(5000), keyframe=False)
    demuxer = MediaDemuxer()
    for sliced in (False, True):
        source = bytes(100) + frame[:1000]
        references = sys.getrefcount(source)
        view = memoryview(source)[100:] if sliced else memoryview(source)
        assert demuxer.feed(view) == []
        del view
        # A view of all of a bytes object is kept (no copy); of a slice, the part is copied.
        assert (sys.getrefcount(source) == references) is sliced
        demuxer.eof()
        assert sys.getrefcount(source) == references
    assert demuxer.dropped_bytes == 100 + 1000 + 1000


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 0"):
        MediaDemuxer(max_frame_size=-1)


def test_zero_limit_keeps_only_empty_frames() -> None:
    stream = encode_info_frame(b"") + encode_info_frame(b"x")
    frames, numbers = three_ways(stream, max_frame_size=0)
    assert frames == [InfoFrame(1, b"")]
    assert numbers == (1, 9, 1, 0)


# ---------------------------------------------------------------------------- properties


@st.composite
def media_frames(draw: st.DrawFn) -> tuple[bytes, MediaFrame]:
    """A random frame of any type, encoded, and what the demuxer must return for it (a
    P-frame's codec is filled in by the caller)."""
    kind = draw(st.sampled_from(["I", "P", "audio", "info", "picture"]))
    payload = draw(st.binary(max_size=300))
    width = draw(st.integers(0, 1023)) * 8
    height = draw(st.integers(0, 1023)) * 8
    when = draw(st.none() | st.datetimes(datetime(2000, 1, 1), datetime(2063, 12, 31)))
    when = when.replace(microsecond=0) if when is not None else None
    if kind == "I":
        video_codec = draw(st.sampled_from(list(VideoCodec)))
        fps = draw(st.integers(1, 30))
        encoded = encode_video_frame(
            payload,
            keyframe=True,
            codec=video_codec,
            width=width,
            height=height,
            fps=fps,
            timestamp=when,
        )
        return encoded, VideoFrame(True, video_codec, payload, width, height, fps, when)
    if kind == "P":
        payload = b"\x00\x00\x00\x01" + bytes([draw(st.integers(0, 0x7F))]) + payload
        return encode_video_frame(payload, keyframe=False), VideoFrame(False, 0, payload)
    if kind == "audio":
        codec = draw(st.sampled_from(list(AudioCodec)))
        rate = draw(st.sampled_from(sorted(SAMPLE_RATES.values())))
        encoded = encode_audio_frame(payload, codec=codec, sample_rate=rate)
        return encoded, AudioFrame(codec, rate, payload)
    if kind == "info":
        info_type = draw(st.integers(0, 255))
        return encode_info_frame(payload, info_type=info_type), InfoFrame(info_type, payload)
    encoded = encode_picture_frame(payload, width=width, height=height, timestamp=when)
    return encoded, PictureFrame(0, payload, width, height, when)


def with_codecs(frames: list[MediaFrame]) -> list[MediaFrame]:
    """The frames with each P-frame given the codec of the I-frame before it."""
    codec = 0
    result: list[MediaFrame] = []
    for frame in frames:
        if isinstance(frame, VideoFrame) and frame.keyframe:
            codec = frame.codec
        if isinstance(frame, VideoFrame) and not frame.keyframe:
            result.append(VideoFrame(False, codec, frame.data))
        else:
            result.append(frame)
    return result


chunk_sizes = st.lists(st.integers(1, 400), min_size=1, max_size=50)


@given(st.lists(media_frames(), max_size=12), chunk_sizes)
def test_encoded_frames_come_back_for_any_chunking(
    encoded: list[tuple[bytes, MediaFrame]], sizes: list[int]
) -> None:
    stream = b"".join(data for data, _ in encoded)
    frames, demuxer = demux(cut(stream, iter(sizes)))
    assert frames == with_codecs([frame for _, frame in encoded])
    assert counters(demuxer) == (len(encoded), 0, 0, 0)


@given(st.binary(max_size=3000), chunk_sizes, st.sampled_from([0, 16, 300, MAX_FRAME_SIZE]))
def test_arbitrary_bytes_never_raise_and_stay_bounded(
    data: bytes, sizes: list[int], limit: int
) -> None:
    frames, demuxer = demux(cut(data, iter(sizes)), max_frame_size=limit)
    kept = sum(len(frame.data) for frame in frames)
    assert kept + demuxer.dropped_bytes <= len(data)
    assert demuxer.resyncs <= demuxer.dropped_bytes


@given(
    st.lists(st.tuples(media_frames(), st.binary(max_size=40)), min_size=1, max_size=10),
    chunk_sizes,
)
def test_garbage_between_frames_is_skipped_and_counted(
    parts: list[tuple[tuple[bytes, MediaFrame], bytes]], sizes: list[int]
) -> None:
    for _, garbage in parts:
        assume(NEXT_FRAME.search(garbage) is None)
    stream = b"".join(garbage + encoded for (encoded, _), garbage in parts)
    frames, demuxer = demux(cut(stream, iter(sizes)))
    assert frames == with_codecs([frame for (_, frame), _ in parts])
    blobs = [garbage for _, garbage in parts if garbage]
    assert counters(demuxer) == (len(parts), sum(map(len, blobs)), len(blobs), 0)


@given(st.lists(media_frames(), min_size=1, max_size=6), st.integers(1, 200))
def test_any_cut_of_the_start_resyncs(encoded: list[tuple[bytes, MediaFrame]], skip: int) -> None:
    stream = b"".join(data for data, _ in encoded)
    # The frames that start at or after the cut come back; the bytes before them are dropped.
    starts = []
    offset = 0
    for data, _ in encoded:
        starts.append(offset)
        offset += len(data)
    skip = min(skip, len(stream))
    first = next((index for index, start in enumerate(starts) if start >= skip), len(encoded))
    tail = stream[skip:]
    assume(NEXT_FRAME.search(stream[skip : starts[first] if first < len(starts) else None]) is None)
    got, demuxer = demux([tail[: len(tail) // 2], tail[len(tail) // 2 :]])
    expected = with_codecs([frame for _, frame in encoded])[first:]
    # P-frames before the first I-frame after the cut have no codec to inherit.
    assert [frame for frame in got if not isinstance(frame, VideoFrame)] == [
        frame for frame in expected if not isinstance(frame, VideoFrame)
    ]
    assert [frame.data for frame in got] == [frame.data for frame in expected]
    dropped = (starts[first] if first < len(starts) else len(stream)) - skip
    assert demuxer.dropped_bytes == dropped
    if first < len(starts):
        assert demuxer.resyncs == (1 if dropped else 0)
    else:  # a short cut tail may be dropped by eof(), which is no resync
        assert demuxer.resyncs <= 1


# ---------------------------------------------------------------------------- the docs


def test_docs_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "media.md").read_text(encoding="utf-8")
    section = docs[docs.index("## The demuxer") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    stream = clip_stream(clip_bytes("main.h264"), audio=clip_bytes("audio.alaw"))
    recording = tmp_path / "recording.h264"
    recording.write_bytes(b"tail of a frame" + stream.data)
    source = code.group(1).replace('"recording.h264"', repr(str(recording)))
    exec(compile(source, "docs/media.md", "exec"), {})  # noqa: S102 - our own docs
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "keyframe 640 360 25 2026-11-25 12:00:00"
    assert len(lines) == 5
    assert lines[-1] == "200 15 1 0"
