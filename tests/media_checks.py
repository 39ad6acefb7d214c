"""What the live-stream, snapshot and download tests of both clients check against the
simulator: its clips' access units (to tell which frame of the clip a received frame is),
its snapshot, and its connections."""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib import resources

import av
import pytest

from xmcam.media.annexb import access_units
from xmcam.media.frames import MediaFrame, VideoCodec, VideoFrame
from xmcam.protocol import MessageId, Request
from xmcam.sim import Simulator
from xmcam.sim.context import RequestContext
from xmcam.sim.media_commands import MediaReply, handle_media

_CLIPS = resources.files("xmcam.sim") / "clips"
SNAPSHOT = (_CLIPS / "snapshot.jpg").read_bytes()


def _unit_index(name: str) -> dict[bytes, int]:
    units = access_units((_CLIPS / name).read_bytes(), VideoCodec.H264)
    return {unit.data: number for number, unit in enumerate(units)}


MAIN_UNITS = _unit_index("main.h264")
EXTRA_UNITS = _unit_index("extra.h264")


def assert_gop_order(frames: list[MediaFrame], units: dict[bytes, int]) -> None:
    """Every video frame is one of the clip's, and every P-frame is the one that follows the
    video frame before it: frames were only ever dropped up to a keyframe."""
    previous: int | None = None
    for frame in frames:
        if not isinstance(frame, VideoFrame):
            continue
        number = units[frame.data]
        if not frame.keyframe:
            assert previous is not None, "a P-frame came first"
            assert number == (previous + 1) % len(units), f"frame {number} after {previous}"
        previous = number


def picture_size(jpeg: bytes) -> tuple[int, int]:
    """The size of a JPEG as PyAV decodes it (it must decode)."""
    with av.open(io.BytesIO(jpeg)) as container:
        context = container.streams.video[0].codec_context
        assert context.name == "mjpeg"
        return context.width, context.height


@dataclass(frozen=True)
class Connections:
    """What the simulator has open: its logged-in (control) connections' request counts,
    its other (media) connections, and the claims."""

    control_requests: tuple[int, ...]
    media: int
    claims: int


def connections(sim: Simulator) -> Connections:
    device = sim.device
    control = tuple(
        connection.frames_received
        for connection in device.connections.values()
        if connection.session_id is not None
    )
    return Connections(
        control_requests=control,
        media=len(device.connections) - len(control),
        claims=len(device.media.claims),
    )


_STARTS: dict[int, tuple[str, str]] = {
    MessageId.MONITOR_REQ: ("OPMonitor", "Start"),
    MessageId.PLAY_REQ: ("OPPlayBack", "DownloadStart"),
}


def refuse_starts(monkeypatch: pytest.MonkeyPatch, ret: int) -> None:
    """Make the simulator take claims as ever but answer every Start and DownloadStart with
    Ret `ret`, on whatever connection: a camera that refuses to stream what it let be
    claimed."""

    def refusing(context: RequestContext, request: Request) -> MediaReply:
        name, start = _STARTS.get(request.message_id, ("", ""))
        operation = request.body.get(name) if request.body is not None and name else None
        if isinstance(operation, dict) and operation.get("Action") == start:
            return {"Name": name, "Ret": ret}
        return handle_media(context, request)

    # The simulated device calls the handler by this name.
    monkeypatch.setattr("xmcam.sim.device.handle_media", refusing)
