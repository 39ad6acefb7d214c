"""Live streams, snapshots and downloads on the blocking client: plain sockets, no thread.

Theory of operation. A stream or a download is read by its own iterator: each `next()` first
reads whatever has already arrived (without blocking, a bounded number of reads), then hands
out a frame; only when none is waiting does it block, in `poll()` on the media connection and
the control connection together. A live stream so drains the socket as the device fills it
(a slow consumer loses frames up to the next keyframe, never memory, never latency); a
download reads only when its consumer wants more, so TCP holds the device back and nothing
is lost. Both connections are `Link`s, which route the media packets to the transfer's sink
and map every socket failure the same way.

What to start, and how to fall back from two connections to one socket, are the plans of
`xmcam.client.media_operations`; this module performs their steps. It uses the camera only
through `MediaCamera`: its settings, its logged-in control connection, and `run()`.

With no thread there is no keepalive timer: the iterator sends KeepAlive on the control
connection itself when half the AliveInterval has passed since its last reply, blocking
in `poll()` no longer than that. Requests on the control connection (Start, Stop, the
keepalives) are made only on the connection the stream began on: if the camera has logged in
again since, the stream ended with the old session, and the iteration says so.
"""

from __future__ import annotations

import abc
import collections
import logging
import select
import time
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Any, Final, Protocol, TypeVar

from xmcam.client import media_operations as mops
from xmcam.client import operations as ops
from xmcam.client import plans
from xmcam.client.models import RecordFile, StreamStats
from xmcam.client.settings import Settings
from xmcam.errors import (
    ConnectionClosedError,
    RequestTimeoutError,
    StateError,
    XMCamError,
)
from xmcam.media.frames import MediaFrame, VideoFrame
from xmcam.protocol.codes import MessageId
from xmcam.protocol.connection import ClientConnection
from xmcam.protocol.framing import Frame
from xmcam.sync.link import Link

__all__ = ["LiveStream", "MediaCamera", "download", "snapshot"]

T = TypeVar("T")

_log: Final = logging.getLogger("xmcam.sync")

_READS_PER_TURN: Final = 16  # reads before a frame is handed out: 1 MiB at most


class MediaCamera(Settings, Protocol):
    """What the media code uses of a camera (`xmcam.Camera` is one): its settings, its
    control connection, and running procedures on it."""

    def control_link(self) -> Link:
        """The logged-in control connection, opened first when needed."""
        ...

    def run(self, procedure: ops.Procedure[T], *, on: Link | None = None) -> T:
        """Run `procedure` on the control connection (`on`: only on that one)."""
        ...


def _data_link(
    camera: MediaCamera, control: Link, claim: ops.Call, data_id: int, sink: Callable[[Frame], None]
) -> Link:
    """A data connection joining `control`'s session, its claim answered with success, its
    data packets (message `data_id`) going to `sink`. Raises what the claim met (a refusal,
    silence, a closed socket)."""
    timeout = mops.claim_wait(camera.claim_timeout, camera.timeout)
    session = control.connection
    joining = ClientConnection.for_session(
        session.session_id, session_id_style=session.session_id_style
    )
    link = Link.open(camera.host, camera.port, timeout, joining, name="data connection")
    link.media_sinks[data_id] = sink
    try:
        link.call(claim, timeout)
    except BaseException:
        link.close()
        raise
    return link


class _Transfer(abc.ABC):
    """What a live stream and a download share: the control connection they began on, the
    data connection (None in the single-socket flow), starting, the keepalives, and reading
    both."""

    def __init__(self, camera: MediaCamera, data_id: int) -> None:
        self.camera = camera
        self._data_id = data_id
        self._control: Link | None = None
        self._data: Link | None = None
        self._poll = select.poll()
        self._started = False
        self._closed = False

    @abc.abstractmethod
    def _on_packet(self, frame: Frame) -> None:
        """Take one data packet (each transfer its own: frames or file bytes)."""

    def _start(self, plan: plans.Plan[str]) -> str:
        """Perform a start plan; watch the connections it left; the flow it chose."""
        flow = plans.drive(plan, self._perform)
        self._started = True
        assert self._control is not None  # every start plan claims somewhere
        self._poll.register(self._control.fileno(), select.POLLIN)
        if self._data is not None:
            self._poll.register(self._data.fileno(), select.POLLIN)
        return flow

    def _perform(self, step: Any) -> None:
        """One step of a start plan (`xmcam.client.media_operations`)."""
        camera = self.camera
        if isinstance(step, mops.ClaimData):
            control = camera.control_link()
            self._data = _data_link(camera, control, step.claim, self._data_id, self._on_packet)
            self._control = control
        elif isinstance(step, mops.StartOnControl):
            self._on_control(step.procedure)
        elif isinstance(step, mops.ClaimOnControl):
            control = camera.control_link()
            if self._data_id in control.media_sinks:
                step.procedure.close()
                raise StateError("this camera's connection already carries such a transfer")
            control.media_sinks[self._data_id] = self._on_packet
            self._control = control
            camera.run(step.procedure, on=control)
        else:
            raise StateError(f"a transfer cannot perform {step!r}")

    def _on_control(self, procedure: ops.Procedure[None]) -> None:
        """Run `procedure` on the control connection the transfer began on."""
        self.camera.run(procedure, on=self._checked_control())

    def _checked_control(self) -> Link:
        """The control connection the transfer began on; raises when it has ended."""
        control = self._control
        if control is None or not control.logged_in:
            raise ConnectionClosedError("the control connection this stream began on has ended")
        return control

    def _keepalive(self) -> float:
        """Send KeepAlive on the control connection when due; the seconds until the next."""
        control = self._checked_control()
        period = ops.keepalive_period(control.connection.alive_interval)
        due = control.last_reply + period - control.clock()
        if due > 0:
            return due
        self.camera.run(ops.keepalive(), on=control)
        return period

    def _turn(self, wait: float) -> None:
        """Keep the session alive when due, wait up to `wait` seconds for data, read it: the
        media goes to our sink through the links, the end of a connection is raised."""
        due = self._keepalive()
        control = self._checked_control()
        ready = {fd for fd, _ in self._poll.poll(max(min(wait, due), 0) * 1000)}
        data = self._data
        if data is not None and data.fileno() in ready:
            data.read_ready(_READS_PER_TURN)
        if control.fileno() in ready:
            control.read_ready(_READS_PER_TURN)

    def _finish(self, stop: ops.Procedure[None]) -> None:
        """Send `stop` when the transfer ran and its connection is still there (when it is
        gone, so is the transfer on the device); close the data connection and take the sink
        back whatever happens."""
        control = self._control
        try:
            if self._started and control is not None and control.logged_in:
                try:
                    self._on_control(stop)
                except XMCamError as error:
                    _log.warning("%s failed: %s", type(self).__name__, error)
            else:
                stop.close()
        finally:
            data, self._data = self._data, None
            if data is not None:
                data.close()
            if control is not None and control.media_sinks.get(self._data_id) == self._on_packet:
                del control.media_sinks[self._data_id]


class LiveStream(_Transfer):
    """A live stream: a context manager and an iterator of MediaFrames (video, audio, info),
    from the first keyframe on. Make one with `camera.live()`:

        with cam.live(channel=0, substream=False) as stream:
            for frame in stream:
                ...

    Leaving the block (also by an error or Ctrl-C) sends Stop and closes the media
    connection. A consumer slower than the stream loses frames up to the next keyframe; see
    `stats`. The iteration raises ConnectionClosedError when the media or the control
    connection ends, and sends the control connection's keepalives itself.
    """

    def __init__(
        self,
        camera: MediaCamera,
        channel: int = 0,
        *,
        substream: bool = False,
        flow: str = "auto",
        max_queue: int = 256,
    ) -> None:
        mops.check_live_arguments(channel, flow, max_queue)
        super().__init__(camera, MessageId.MONITOR_DATA)
        self.channel = channel
        self.substream = substream
        self.flow = flow
        """The flow asked for; once started, the one in use: "two" or "one"."""
        self._feed = mops.LiveFeed(max_queue)

    def __repr__(self) -> str:
        stream = "sub" if self.substream else "main"
        return f"LiveStream(channel={self.channel}, stream={stream!r}, flow={self.flow!r})"

    @property
    def stats(self) -> StreamStats:
        return self._feed.stats()

    def start(self) -> None:
        """Claim and start the stream (iteration and `with` do this for you)."""
        if self._started or self._closed:
            return
        try:
            self.flow = self._start(mops.start_live(self.channel, self.substream, self.flow))
        except BaseException:
            self.close()
            raise

    def _on_packet(self, frame: Frame) -> None:
        self._feed.add(frame.payload)

    def __iter__(self) -> Iterator[MediaFrame]:
        return self

    def __next__(self) -> MediaFrame:
        return self.next_frame()

    def next_frame(self, timeout: float | None = None) -> MediaFrame:
        """The next frame; RequestTimeoutError when none came within `timeout` seconds
        (None: wait as long as it takes). StopIteration once the stream is closed."""
        if not self._started:
            self.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        wait = 0.0  # first read what has already arrived
        while True:
            if self._closed:
                raise StopIteration
            self._turn(wait)
            frame = self._feed.pop()
            if frame is not None:
                return frame
            wait = 3600.0 if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                raise RequestTimeoutError(f"no frame within {timeout:g} s")

    def __enter__(self) -> LiveStream:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Send Stop and close the media connection; the iteration ends."""
        if self._closed:
            return
        self._closed = True
        self._finish(mops.monitor_stop(self.channel, self.substream))


# ---------------------------------------------------------------------- snapshots


def snapshot(camera: MediaCamera, channel: int = 0, *, fallback: bool = True) -> bytes:
    """A JPEG by OPSNAP; with `fallback`, from the live stream's first keyframe when the
    device refuses (Ret 102, 108), answers no JPEG, or stays silent."""

    def perform(step: Any) -> bytes:
        if isinstance(step, mops.RunWithSink):
            link = camera.control_link()
            link.media_sinks[step.message_id] = step.sink
            try:
                return camera.run(step.procedure, on=link)
            finally:
                link.media_sinks.pop(step.message_id, None)
        if isinstance(step, mops.KeyframeJpeg):
            return _keyframe_jpeg(camera, step.channel)
        raise StateError(f"a snapshot cannot perform {step!r}")

    return plans.drive(mops.take_snapshot(channel, fallback=fallback), perform)


def _keyframe_jpeg(camera: MediaCamera, channel: int) -> bytes:
    from xmcam.media.writer import keyframe_to_jpeg  # noqa: PLC0415 - PyAV only when needed

    deadline = time.monotonic() + camera.timeout
    with LiveStream(camera, channel) as stream:
        while True:
            frame = stream.next_frame(max(deadline - time.monotonic(), 0.001))
            if isinstance(frame, VideoFrame) and frame.keyframe:
                break
    return keyframe_to_jpeg(frame)


# ---------------------------------------------------------------------- downloads


def download(camera: MediaCamera, record: RecordFile) -> Generator[bytes, None, None]:
    """The recording's bytes as the device sends them (its media container). DownloadStop
    is sent when the iteration ends, fails, or the iterator is closed."""
    transfer = _Download(camera, record)
    try:
        transfer.start()
        while (chunk := transfer.next_chunk()) is not None:
            yield chunk
    finally:
        transfer.close()


class _Download(_Transfer):
    def __init__(self, camera: MediaCamera, record: RecordFile) -> None:
        super().__init__(camera, MessageId.DOWNLOAD_DATA)
        self.record = record
        self._chunks: collections.deque[bytes] = collections.deque()
        self._done = False

    def start(self) -> None:
        self._start(mops.start_download(self.record))

    def _on_packet(self, frame: Frame) -> None:
        if self._done:
            return  # after the end: belongs to nothing
        if frame.payload:
            self._chunks.append(frame.payload)
        self._done = mops.is_last_download_packet(frame)

    def next_chunk(self) -> bytes | None:
        idle = max(self.camera.timeout, mops.DOWNLOAD_IDLE_TIMEOUT)
        deadline = time.monotonic() + idle
        control = self._control
        if self._chunks and (not self._done or (control is not None and control.logged_in)):
            self._keepalive()  # also while the consumer works through what was read
        while not self._chunks:
            if self._done:
                return None
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise RequestTimeoutError(f"no download data for {idle:g} s")
            try:
                self._turn(wait)
            except ConnectionClosedError:
                if not self._done:
                    raise  # a device may close the data connection after the end mark
        return self._chunks.popleft()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._finish(mops.download_stop(self.record))
