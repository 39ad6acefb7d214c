"""The simulator's live media and snapshots: clips, the frame source and the packetizer on
their own, then the wire contract over TCP on 127.0.0.1 (the vendor's two-connection flow,
the single-socket flow, the Ret 103 cases, the quirks, pacing, a client that never reads)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest

from tests.media_clips import CLIP_FRAMES, CLIP_GOP
from tests.sim.media_client import DvripSocket, claim, frames_of, live, monitor
from tests.waiting import until
from xmcam.media.demux import MediaDemuxer
from xmcam.media.frames import AudioCodec, AudioFrame, VideoCodec, VideoFrame
from xmcam.protocol import MediaPacket, MessageId
from xmcam.sim import Faults, ProfileError, Simulator, load_profile
from xmcam.sim.media import (
    AUDIO_FRAME_BYTES,
    MEDIA_PAYLOAD,
    LiveSource,
    MediaError,
    MediaLibrary,
    MediaSettings,
    Packetizer,
    StreamKind,
    clip_from_bytes,
    detect_codec,
    jpeg_size,
    load_audio,
    load_clip,
    parse_media_settings,
)
from xmcam.sim.profile import parse_profile

pytestmark = pytest.mark.timeout(30)

CLIPS = resources.files("xmcam.sim") / "clips"
NOW = datetime(2026, 11, 25, 10, 8, 41)


def builtin(name: str) -> Path:
    return Path(str(CLIPS / name))


def videos(frames: Sequence[object]) -> list[VideoFrame]:
    return [frame for frame in frames if isinstance(frame, VideoFrame)]


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """The seed's camera streaming as fast as the socket takes it."""
    async with Simulator(faults=Faults(media_pace=0), wall_clock=lambda: NOW) as running:
        yield running


# ---------------------------------------------------------------------- clips and frames


def test_the_builtin_clips() -> None:
    main, extra = load_clip(builtin("main.h264")), load_clip(builtin("extra.h264"))
    assert (main.codec, main.width, main.height, len(main.frames)) == (
        VideoCodec.H264,
        640,
        360,
        100,
    )
    assert (extra.width, extra.height, extra.gop) == (352, 288, 25)
    assert [i for i, unit in enumerate(main.frames) if unit.keyframe] == [0, 25, 50, 75]
    assert len(load_audio(builtin("audio.alaw"))) == 100  # 4 s of 40 ms frames
    assert jpeg_size(builtin("snapshot.jpg").read_bytes()) == (640, 360)


def test_clips_made_with_ffmpeg(h264_clip: Path, h265_clip: Path, h265_4k_clip: Path) -> None:
    small = load_clip(h264_clip)
    assert (small.codec, small.width, small.height) == (VideoCodec.H264, 320, 240)
    assert (len(small.frames), small.gop) == (CLIP_FRAMES, CLIP_GOP)
    hevc = load_clip(h265_clip)
    assert (hevc.codec, hevc.width, hevc.height, len(hevc.frames)) == (
        VideoCodec.H265,
        320,
        240,
        50,
    )
    four_k = load_clip(h265_4k_clip)
    assert (four_k.codec, four_k.header_size, len(four_k.frames)) == (
        VideoCodec.H265,
        (3840, 2160),
        3,
    )
    assert detect_codec(h265_clip.read_bytes()) is VideoCodec.H265
    assert detect_codec(h264_clip.read_bytes()) is VideoCodec.H264


def test_a_clip_that_starts_mid_gop_plays_from_its_first_keyframe(h264_clip: Path) -> None:
    whole = load_clip(h264_clip)
    cut = clip_from_bytes(b"".join(unit.data for unit in whole.frames[3:]), "cut")
    assert cut.frames[0].keyframe
    assert len(cut.frames) == CLIP_FRAMES - CLIP_GOP


def test_files_that_cannot_be_streamed_are_refused_in_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.h264"
    junk.write_bytes(b"\x00\x00\x00\x01\x41\x9a" + bytes(100))  # a P-slice, no keyframe
    with pytest.raises(MediaError, match=r"no H\.264/H\.265 keyframe"):
        load_clip(junk)
    with pytest.raises(MediaError, match="cannot read clip"):
        load_clip(tmp_path / "missing.h264")
    short = tmp_path / "short.alaw"
    short.write_bytes(bytes(100))
    with pytest.raises(MediaError, match="shorter than one"):
        load_audio(short)
    not_jpeg = tmp_path / "x.jpg"
    not_jpeg.write_bytes(b"GIF89a")
    with pytest.raises(MediaError, match="not a JPEG"):
        MediaLibrary(MediaSettings(snapshot=not_jpeg)).check()
    with pytest.raises(MediaError):
        Simulator(video=junk)


def test_media_settings_from_a_profile() -> None:
    settings = parse_media_settings({"fps": 30, "main": "a.h265", "audio": None})
    assert settings == MediaSettings(fps=30, main=Path("a.h265"), no_audio=True)
    for bad in ({"fps": 0}, {"fps": True}, {"main": 3}, {"colour": "red"}):
        with pytest.raises(MediaError):
            parse_media_settings(bad)
    with pytest.raises(ProfileError, match=r"media\.fps"):
        parse_profile(json.dumps({"media": {"fps": 99}}))
    quirks = {
        "snapshot": 102,
        "download_end": "empty",
        "monitor_mid_gop": True,
        "start_reply": True,
        "media_packing": True,
        "snapshot_split": True,
    }
    profile = parse_profile(json.dumps({"quirks": quirks}))
    assert (profile.quirks.snapshot, profile.quirks.download_end) == (102, "empty")
    assert profile.quirks.start_reply
    assert profile.quirks.media_packing
    assert profile.quirks.snapshot_split
    for bad_quirk in (
        {"snapshot": "png"},
        {"snapshot": True},
        {"download_end": "eof"},
        {"start_reply": 1},
        {"media_packing": "yes"},
    ):
        with pytest.raises(ProfileError):
            parse_profile(json.dumps({"quirks": bad_quirk}))
    assert load_profile("nvr-8ch").quirks.snapshot == 108
    # As real cameras: no reply to a Start on its claim's socket, one frame per packet, a
    # download ended by an empty packet with EndFlag 1, a snapshot in one packet.
    seed = load_profile().quirks
    assert (seed.start_reply, seed.media_packing, seed.download_end) == (False, False, "empty-flag")
    assert not seed.snapshot_split


def test_the_packetizer_cuts_at_8192_and_numbers_from_1() -> None:
    packetizer = Packetizer(MessageId.MONITOR_DATA, session_id=7, channel=3)
    packets = packetizer.feed(bytes(20000))
    assert [len(packet) - 20 for packet in packets] == [8192, 8192]
    (rest,) = packetizer.flush()
    assert len(rest) - 20 == 20000 - 2 * 8192
    assert packetizer.flush() == []
    headers = [packet[:20] for packet in [*packets, rest]]
    assert [int.from_bytes(head[8:12], "little") for head in headers] == [1, 2, 3]
    assert {(head[1], head[4], head[12], head[13]) for head in headers} == {(1, 7, 3, 0)}
    assert {int.from_bytes(head[14:16], "little") for head in headers} == {1412}


@pytest.mark.parametrize("size", [1, 8192, 8193, 16384])
def test_whole_data_ends_with_the_flag_or_an_empty_packet(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    flagged = list(Packetizer(1426, session_id=1).whole(data, end="flag"))
    assert [packet[13] for packet in flagged] == [0] * (len(flagged) - 1) + [1]
    assert b"".join(packet[20:] for packet in flagged) == data
    assert len(flagged) == -(-size // 8192)
    for end, last_flag in (("empty", 0), ("empty-flag", 1)):
        packets = list(Packetizer(1426, session_id=1).whole(data, end=end))
        assert len(packets[-1]) == 20  # the header alone
        assert [packet[13] for packet in packets] == [0] * (len(packets) - 1) + [last_flag]
        assert b"".join(packet[20:] for packet in packets) == data
        assert len(packets) == -(-size // 8192) + 1
    with pytest.raises(ValueError, match="eof"):
        list(Packetizer(1426, session_id=1).whole(data, end="eof"))


def test_frames_get_packets_of_their_own() -> None:
    packetizer = Packetizer(MessageId.MONITOR_DATA, session_id=7)
    frames = [b"\x00\x00\x01\xfc" + bytes(20000), b"\x00\x00\x01\xfa" + bytes(324), b"x" * 8192]
    packets = packetizer.frames(frames)
    assert [len(packet) - 20 for packet in packets] == [8192, 8192, 20004 - 2 * 8192, 328, 8192]
    assert b"".join(packet[20:] for packet in packets) == b"".join(frames)
    assert [int.from_bytes(p[8:12], "little") for p in packets] == [1, 2, 3, 4, 5]
    # What feed() kept back goes first, in a packet of its own.
    assert len(packetizer.feed(bytes(10))) == 0
    (kept, frame) = packetizer.frames([b"y" * 5])
    assert (kept[20:], frame[20:]) == (bytes(10), b"y" * 5)


def test_the_live_source_loops_the_clip_with_audio_under_each_frame() -> None:
    clip = load_clip(builtin("main.h264"))
    audio = load_audio(builtin("audio.alaw"))
    source = LiveSource(clip, fps=25, audio=audio, start_time=NOW)
    demuxer = MediaDemuxer()
    frames = [frame for _ in range(250) for frame in demuxer.feed(source.next_burst())]
    video = videos(frames)
    sound = [frame for frame in frames if isinstance(frame, AudioFrame)]
    assert len(video) == len(sound) == 250  # 25 fps and 40 ms audio frames: one each
    assert [i for i, frame in enumerate(video) if frame.keyframe] == list(range(0, 250, 25))
    assert [frame.data for frame in video[100:200]] == [unit.data for unit in clip.frames]
    assert {(frame.codec, frame.sample_rate, len(frame.data)) for frame in sound} == {
        (AudioCodec.G711A, 8000, AUDIO_FRAME_BYTES)
    }
    stamps = [frame.timestamp for frame in video if frame.keyframe]
    assert stamps[0] == NOW
    assert stamps[5] == NOW.replace(second=NOW.second + 5)
    assert source.next_due == 10.0
    # 30 fps: 25 audio frames a second still, each with the video frame it falls under.
    fast = LiveSource(clip, fps=30, audio=audio, start_time=NOW)
    for _ in range(30):
        fast.next_burst()
    assert fast.audio_sent == 25


def test_a_mid_gop_start_begins_with_the_tail_of_a_frame() -> None:
    clip = load_clip(builtin("main.h264"))
    source = LiveSource(clip, start_time=NOW, mid_gop=True)
    first = source.next_burst()
    assert not first.startswith(b"\x00\x00\x01")
    demuxer = MediaDemuxer()
    frames = demuxer.feed(first)
    frames += [frame for _ in range(20) for frame in demuxer.feed(source.next_burst())]
    assert not videos(frames)[0].keyframe  # mid-GOP: P-frames until the next keyframe
    assert demuxer.dropped_bytes > 0


# ---------------------------------------------------------------------- live over TCP


async def test_the_vendor_two_connection_flow(simulator: Simulator) -> None:
    control, media = await live(simulator)
    session = control.protocol.session_id
    frames, packets = await frames_of(media, 130)
    video = videos(frames)
    assert [i for i, frame in enumerate(video) if frame.keyframe][:3] == [0, 25, 50]
    first = video[0]
    assert (first.codec, first.width, first.height, first.fps) == (VideoCodec.H264, 640, 360, 25)
    assert first.timestamp == NOW
    assert any(isinstance(frame, AudioFrame) for frame in frames)
    headers = [packet.frame.header for packet in packets]
    assert [header.sequence for header in headers] == list(range(1, len(headers) + 1))
    assert all(header.length <= MEDIA_PAYLOAD for header in headers)
    assert_one_frame_per_packet([packet.frame.payload for packet in packets])
    assert {(h.session_id, h.version, h.total_packets, h.current_packet) for h in headers} == {
        (session, 1, 0, 0)
    }
    assert {header.message_id for header in headers} == {MessageId.MONITOR_DATA}
    # Stop on the control connection: a reply there, and the media connection closes.
    assert (await control.call(MessageId.MONITOR_REQ, monitor("Stop"))).ret == 100
    assert await media.closed_by_peer()
    assert (await control.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})).ret == 100
    await control.close()
    await media.close()


async def test_the_claim_reply_carries_the_session_on_the_media_connection(
    simulator: Simulator,
) -> None:
    control = await DvripSocket.logged_in(simulator)
    media, reply = await claim(simulator, control)
    assert reply.frame.header.message_id == MessageId.MONITOR_CLAIM_RSP
    assert reply.frame.session_id == control.protocol.session_id
    session = f"0x{control.protocol.session_id:08X}"
    assert reply.body.data == {"Name": "OPMonitor", "Ret": 100, "SessionID": session}
    assert simulator.session_count == 1  # the media connection joins, it does not log in
    await media.close()
    await control.close()


@pytest.mark.parametrize(("stream", "size"), [("Extra1", (352, 288)), ("Extra", (352, 288))])
async def test_the_sub_stream(simulator: Simulator, stream: str, size: tuple[int, int]) -> None:
    control, media = await live(simulator, stream=stream)
    frames, _ = await frames_of(media, 1)
    assert (frames[0].width, frames[0].height) == size  # type: ignore[union-attr]
    await media.close()
    await control.close()


async def test_h265_and_4k_clips_from_files(h265_clip: Path, h265_4k_clip: Path) -> None:
    faults = Faults(media_pace=0)
    async with Simulator(
        video=h265_4k_clip, sub_video=h265_clip, no_audio=True, faults=faults
    ) as sim:
        control, media = await live(sim)
        frames, packets = await frames_of(media, 7)
        video = videos(frames)
        assert (video[0].codec, video[0].width, video[0].height) == (VideoCodec.H265, 3840, 2160)
        assert [frame.keyframe for frame in video[:6]] == [True, False, False] * 2
        assert not any(isinstance(frame, AudioFrame) for frame in frames)
        assert packets[0].frame.payload[4] == 0x53  # T: H.265 and the high bits of 3840x2160
        sub, _ = await claim(sim, control, stream="Extra1")
        await control.call(MessageId.MONITOR_REQ, monitor("Start", stream="Extra1"))
        sub_frames, _ = await frames_of(sub, 1)
        assert (sub_frames[0].width, sub_frames[0].height) == (320, 240)  # type: ignore[union-attr]
        for connection in (media, sub, control):
            await connection.close()


def assert_one_frame_per_packet(payloads: list[bytes]) -> None:
    """Each payload is a whole frame, or a piece of one frame: a packet never holds the end
    of a frame and the start of the next (what python-dvr's reader needs)."""
    left = 0  # bytes of the current frame still to come
    for payload in payloads:
        if left == 0:
            assert payload[:3] == b"\x00\x00\x01", payload[:8].hex()
            kind = payload[3]
            if kind in (0xFC, 0xFE):
                left = 16 + int.from_bytes(payload[12:16], "little")
            elif kind == 0xFD:
                left = 8 + int.from_bytes(payload[4:8], "little")
            else:
                left = 8 + int.from_bytes(payload[6:8], "little")
        assert len(payload) <= left, "a packet holds the end of one frame and more"
        left -= len(payload)


async def test_the_single_socket_flow(simulator: Simulator) -> None:
    control = await DvripSocket.logged_in(simulator)
    assert (await control.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim"))).ret == 100
    # The Start on the claimed socket gets no reply, as from cameras: the media come next.
    start = monitor("Start")
    control.send(control.protocol.request(MessageId.MONITOR_REQ, start, expect_reply=False))
    first = await control.event()
    assert isinstance(first, MediaPacket), first
    assert first.frame.payload.startswith(b"\x00\x00\x01\xfc")
    control.packets.append(first)
    frames, _ = await frames_of(control, 30)
    assert videos(frames)[0].keyframe
    # Replies are routed by message id among the media packets; the connection stays.
    assert (await control.call(MessageId.MONITOR_REQ, monitor("Stop"))).ret == 100
    control.packets.clear()  # those sent before the Stop's reply
    keepalive = await control.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    assert keepalive.ret == 100
    assert control.packets == []  # nothing flows once stopped
    with pytest.raises(TimeoutError):
        await control.event(timeout=0.3)
    await control.close()


async def test_the_channel_is_in_byte_12() -> None:
    async with Simulator("nvr-8ch", faults=Faults(media_pace=0)) as sim:
        control, media = await live(sim, channel=5)
        packet = await media.packet()
        assert packet.frame.header.total_packets == 5
        await media.close()
        await control.close()


async def test_ret_103_cases(simulator: Simulator) -> None:
    control = await DvripSocket.logged_in(simulator)
    # A channel the device does not have, a stream it does not have.
    for channel, stream in ((1, "Main"), (0, "Extra2"), (0, "Sub")):
        media, reply = await claim(simulator, control, channel, stream)
        assert reply.ret == 103
        await media.close()
    # Start naming a channel no claim has ([MAD] R04).
    assert (await control.call(MessageId.MONITOR_REQ, monitor("Start"))).ret == 103
    # A claim naming a session no connection has: 103, then the device closes it.
    stranger = await DvripSocket.open(simulator, control.protocol.for_session(0x1234))
    reply = await stranger.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim"))
    assert reply.ret == 103
    assert await stranger.closed_by_peer()
    # A body that is no OPMonitor request.
    assert (await control.call(MessageId.MONITOR_REQ, {"Name": "OPMonitor"})).ret == 103
    await stranger.close()
    await control.close()


async def test_the_stream_ends_with_the_control_connection(simulator: Simulator) -> None:
    control, media = await live(simulator)
    await media.packet()
    await control.close()
    assert await media.closed_by_peer()
    await media.close()


async def test_a_claimed_media_connection_outlives_the_login_timeout() -> None:
    # Expiry is checked every AliveInterval / 4: a short one keeps the test short.
    profile = load_profile().with_alive_interval(1).with_quirks(unauthenticated_timeout=0.2)
    async with Simulator(profile, faults=Faults(media_pace=0)) as sim:
        control, media = await live(sim)
        idle = await DvripSocket.open(sim)  # never logs in: closed after 0.2 s
        assert await idle.closed_by_peer()
        await media.packet()  # the media connection, which never logged in, still streams
        assert sim.connection_count == 2
        for connection in (idle, media, control):
            await connection.close()


async def test_quirk_monitor_claim_silent() -> None:
    profile = load_profile().with_quirks(monitor_claim_silent=True)
    async with Simulator(profile, faults=Faults(media_pace=0)) as sim:
        control = await DvripSocket.logged_in(sim)
        media = await control.media_for(sim)
        media.send(media.protocol.request(MessageId.MONITOR_CLAIM_REQ, monitor("Claim")))
        with pytest.raises(TimeoutError):
            await media.event(timeout=0.3)
        # The single-socket fallback works.
        assert (await control.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim"))).ret == 100
        start = monitor("Start")
        control.send(control.protocol.request(MessageId.MONITOR_REQ, start, expect_reply=False))
        assert (await control.packet()).frame.header.message_id == MessageId.MONITOR_DATA
        await media.close()
        await control.close()


async def test_quirk_start_reply() -> None:
    # The simulator's old behaviour: a Start on the claimed socket answered with 1411.
    profile = load_profile().with_quirks(start_reply=True)
    async with Simulator(profile, faults=Faults(media_pace=0)) as sim:
        control = await DvripSocket.logged_in(sim)
        assert (await control.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim"))).ret == 100
        reply = await control.call(MessageId.MONITOR_REQ, monitor("Start"))
        assert (reply.frame.header.message_id, reply.ret) == (MessageId.MONITOR_RSP, 100)
        assert control.packets == []  # the reply came before any media
        assert (await control.packet()).frame.header.message_id == MessageId.MONITOR_DATA
        await control.close()


@pytest.mark.parametrize("action", ["Start", "Claim", "Whatever"])
async def test_a_claim_is_a_claim_whatever_its_action(simulator: Simulator, action: str) -> None:
    # `dvrip` claims with Action "Start" on its media connection; real firmware goes by the
    # message id.
    control = await DvripSocket.logged_in(simulator)
    media, reply = await claim(simulator, control, action=action)
    assert reply.ret == 100
    assert (await control.call(MessageId.MONITOR_REQ, monitor("Start"))).ret == 100
    frames, _ = await frames_of(media, 1)
    assert videos(frames)[0].keyframe
    await media.close()
    await control.close()


@pytest.mark.parametrize("pace", [0, 1])
async def test_quirk_media_packing(pace: float) -> None:
    profile = load_profile().with_quirks(media_packing=True)
    async with Simulator(profile, faults=Faults(media_pace=pace)) as sim:
        control, media = await live(sim)
        frames, packets = await frames_of(media, 12)
        assert videos(frames)[0].keyframe
        payloads = [packet.frame.payload for packet in packets]
        with pytest.raises(AssertionError, match="holds the end of one frame"):
            assert_one_frame_per_packet(payloads)  # an audio frame shares a video frame's
        if not pace:
            assert all(len(payload) == MEDIA_PAYLOAD for payload in payloads)
        await media.close()
        await control.close()


async def test_quirk_monitor_mid_gop() -> None:
    profile = load_profile().with_quirks(monitor_mid_gop=True)
    async with Simulator(profile, faults=Faults(media_pace=0)) as sim:
        control, media = await live(sim)
        demuxer = MediaDemuxer()
        first = await media.packet()
        assert not first.frame.payload.startswith(b"\x00\x00\x01\xfc")
        frames = demuxer.feed(first.frame.payload)
        more, _ = await frames_of(media, 30, demuxer)
        video = videos(frames + more)
        assert not video[0].keyframe
        assert any(frame.keyframe for frame in video)
        assert demuxer.dropped_bytes > 0
        await media.close()
        await control.close()


async def test_live_streams_are_paced_in_real_time() -> None:
    async with Simulator(no_audio=True) as sim:
        control = await DvripSocket.logged_in(sim)
        media, _ = await claim(sim, control)
        started = time.monotonic()  # before the Start: no frame can be due earlier
        assert (await control.call(MessageId.MONITOR_REQ, monitor("Start"))).ret == 100
        demuxer = MediaDemuxer()
        arrivals: list[float] = []
        payloads: list[bytes] = []
        while len(arrivals) < 13:  # frame 12 is due 0.48 s after the start at 25 fps
            payloads.append((await media.packet()).frame.payload)
            arrivals += [time.monotonic()] * len(videos(demuxer.feed(payloads[-1])))
        # Never early (a frame waits for its time); late only by what a loaded machine adds.
        assert 0.47 <= arrivals[12] - started < 3.0
        # Paced: each frame goes out when due, in its own packet (these frames fit in one).
        assert all(payload.startswith(b"\x00\x00\x01") for payload in payloads)
        await media.close()
        await control.close()


async def test_write_chunk_splits_media_writes(simulator: Simulator) -> None:
    simulator.faults.write_chunk = 1000
    control, media = await live(simulator)
    frames, packets = await frames_of(media, 60)
    assert videos(frames)[0].keyframe
    assert [packet.frame.header.sequence for packet in packets] == list(range(1, len(packets) + 1))
    await media.close()
    await control.close()


async def test_a_client_that_never_reads_holds_the_stream_not_the_memory(
    simulator: Simulator,
) -> None:
    control = await DvripSocket.logged_in(simulator)
    media = await DvripSocket.open(
        simulator, control.protocol.for_session(control.protocol.session_id), receive_buffer=4096
    )
    assert (await media.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim"))).ret == 100
    assert (await control.call(MessageId.MONITOR_REQ, monitor("Start"))).ret == 100
    link = simulator.links[max(simulator.links)]  # the newest connection: the media one
    await until(lambda: link.write_paused, 5)  # the stream filled the socket
    await asyncio.sleep(0.3)  # unpaced: a stream that ignored the full buffer would pile up
    assert link.unsent < 256 * 1024
    # When the client reads again, nothing was lost: the sequence numbers run on.
    _, packets = await frames_of(media, 200)
    sequences = [packet.frame.header.sequence for packet in packets]
    assert sequences == list(range(1, len(sequences) + 1))
    await media.close()
    await control.close()


# ---------------------------------------------------------------------- snapshots


def snapshot_request(channel: int = 0) -> dict[str, object]:
    return {"Name": "OPSNAP", "OPSNAP": {"Channel": channel}}


async def snapshot_packets(control: DvripSocket) -> list[bytes]:
    control.send(control.protocol.request(MessageId.NET_SNAP_REQ, snapshot_request()))
    packets = [await control.packet()]
    while not packets[-1].frame.header.current_packet:
        packets.append(await control.packet())
    assert control.protocol.pending_request is None  # the EndFlag completed the request
    return [packet.frame.payload for packet in packets]


async def test_opsnap_answers_the_jpeg_in_one_packet(simulator: Simulator) -> None:
    control = await DvripSocket.logged_in(simulator)
    payloads = await snapshot_packets(control)
    assert payloads == [builtin("snapshot.jpg").read_bytes()]
    assert len(payloads[0]) > MEDIA_PAYLOAD
    reply = await control.call(MessageId.NET_SNAP_REQ, snapshot_request(channel=3))
    assert reply.ret == 103
    await control.close()


async def test_quirk_snapshot_split() -> None:
    async with Simulator(load_profile().with_quirks(snapshot_split=True)) as sim:
        control = await DvripSocket.logged_in(sim)
        payloads = await snapshot_packets(control)
        assert b"".join(payloads) == builtin("snapshot.jpg").read_bytes()
        assert [len(payload) for payload in payloads][:1] == [MEDIA_PAYLOAD]
        assert len(payloads) == 2
        await control.close()


@pytest.mark.parametrize(("profile", "ret"), [("nvr-8ch", 108), (None, 102)])
async def test_opsnap_refused(profile: str | None, ret: int) -> None:
    chosen = load_profile(profile)
    if profile is None:
        chosen = chosen.with_quirks(snapshot=102)
    async with Simulator(chosen) as sim:
        control = await DvripSocket.logged_in(sim)
        reply = await control.call(MessageId.NET_SNAP_REQ, snapshot_request())
        assert (reply.body.name, reply.ret) == ("OPSNAP", ret)
        await control.close()


async def test_opsnap_silent() -> None:
    async with Simulator(load_profile().with_quirks(snapshot="silent")) as sim:
        control = await DvripSocket.logged_in(sim)
        control.send(control.protocol.request(MessageId.NET_SNAP_REQ, snapshot_request()))
        with pytest.raises(TimeoutError):
            await control.event(timeout=0.3)
        await control.close()


def test_a_library_serves_the_streams_it_has(h264_clip: Path) -> None:
    library = MediaLibrary(MediaSettings(extra2=h264_clip))
    assert library.streams == frozenset(StreamKind)
    assert library.clip(StreamKind.EXTRA2).width == 320
    assert StreamKind.from_request("Extra") is StreamKind.EXTRA1
    assert StreamKind.from_request(1) is None
