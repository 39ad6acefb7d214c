"""Live streams, snapshots and downloads on the asyncio client.

Theory of operation. The camera's control connection is a `Link`; so is each data connection,
with a core connection that joins the control session (`ClientConnection.for_session`) and
sends only its claim. Media packets never pass through a queue of packets: the Link hands
each one, as it is cut from a read, to the sink registered for its message id, which feeds it
straight into the stream's `LiveFeed` (frames, bounded) or the download's chunk queue
(paused reading when the consumer falls behind, so nothing is lost and memory stays bounded).

What to start, and how to fall back from two connections to one socket, are the plans of
`xmcam.client.media_operations`; this module performs their steps. It uses the camera only
through `MediaCamera`: its settings, its logged-in control connection, `run()` and
`run_to_end()`. Requests on the control connection (Start, Stop, DownloadStart, DownloadStop)
run under the camera's request lock like any other, and only on the connection the stream
began on: when that connection has ended, so has the stream on the device, and nothing is
sent on a new one.
The camera's keepalive task goes on as usual, so a long stream keeps its session. A stream
watches its control connection and its media connection; either ending ends the iteration
with a ConnectionClosedError. Stopping runs in a shielded task: Stop is sent and the media
connection closed even when the caller is cancelled.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine
from types import TracebackType
from typing import Any, Final, Protocol, TypeVar

from xmcam.aio.link import Link
from xmcam.client import media_operations as mops
from xmcam.client import operations as ops
from xmcam.client import plans
from xmcam.client.models import AlarmEvent, RecordFile, StreamStats
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

__all__ = ["LiveStream", "MediaCamera", "download", "snapshot"]

T = TypeVar("T")

_log: Final = logging.getLogger("xmcam.aio")


class MediaCamera(Settings, Protocol):
    """What the media code uses of a camera (`xmcam.AsyncCamera` is one): its settings, its
    control connection, and running procedures on it."""

    async def control_link(self) -> Link:
        """The logged-in control connection, opened first when needed."""
        ...

    async def run(self, procedure: ops.Procedure[T], *, on: Link | None = None) -> T:
        """Run `procedure` on the control connection (`on`: only on that one)."""
        ...

    async def run_to_end(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` to its end even if the caller is cancelled meanwhile."""
        ...


def _alarm_on_data_link(event: AlarmEvent) -> None:  # pragma: no cover - devices push on control
    _log.debug("dropped an alarm pushed on a data connection: %s", event.event)


async def _data_link(
    camera: MediaCamera,
    control: Link,
    claim: ops.Call,
    *,
    data_id: int,
    sink: Callable[[Frame], None],
    on_end: Callable[[Link, XMCamError], None],
) -> Link:
    """A data connection joining `control`'s session, its claim answered with success, its
    data packets (message `data_id`) going to `sink`. Raises what the claim met (a refusal,
    silence, a closed socket)."""
    session = control.connection
    joining = ClientConnection.for_session(
        session.session_id, session_id_style=session.session_id_style
    )
    link = await Link.open(
        camera.host, camera.port, camera.timeout, _alarm_on_data_link, on_end, connection=joining
    )
    link.media_sinks[data_id] = sink
    try:
        await link.call(claim, mops.claim_wait(camera.claim_timeout, camera.timeout))
    except BaseException:
        await link.close()
        raise
    return link


class _Transfer(abc.ABC):
    """What a live stream and a download share: the control connection they began on
    (watched: its end ends the transfer), the data connection (None in the single-socket
    flow), starting and stopping, and the consumer waiting for data that arrives through
    callbacks."""

    def __init__(self, camera: MediaCamera, data_id: int) -> None:
        self.camera = camera
        self._data_id = data_id
        self._control: Link | None = None
        self._data: Link | None = None
        self._running = False  # the start plan succeeded: a stop is due
        self._error: XMCamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._watcher: asyncio.Task[None] | None = None

    @abc.abstractmethod
    def _on_packet(self, frame: Frame) -> None:
        """Take one data packet (each transfer its own: frames or file bytes)."""

    @abc.abstractmethod
    def _data_ended(self, link: Link, error: XMCamError) -> None:
        """The data connection `link` has ended with `error`."""

    async def _start(self, plan: plans.Plan[str]) -> str:
        """Perform a start plan; watch the control connection it left; the flow it chose."""
        flow = await plans.drive_async(plan, self._perform)
        self._running = True
        assert self._control is not None  # every start plan claims somewhere
        self._watch(self._control)
        return flow

    async def _perform(self, step: Any) -> None:
        """One step of a start plan (`xmcam.client.media_operations`)."""
        camera = self.camera
        if isinstance(step, mops.ClaimData):
            control = await camera.control_link()
            self._data = await _data_link(
                camera,
                control,
                step.claim,
                data_id=self._data_id,
                sink=self._on_packet,
                on_end=self._data_ended,
            )
            self._control = control
        elif isinstance(step, mops.StartOnControl):
            await camera.run(step.procedure, on=self._control)
        elif isinstance(step, mops.ClaimOnControl):
            control = await camera.control_link()
            if self._data_id in control.media_sinks:
                step.procedure.close()
                raise StateError("this camera's connection already carries such a transfer")
            control.media_sinks[self._data_id] = self._on_packet
            self._control = control
            await camera.run(step.procedure, on=control)
        else:
            raise StateError(f"a transfer cannot perform {step!r}")

    async def _finish(self, stop: ops.Procedure[None]) -> None:
        """Send `stop` when the transfer ran and its control connection is still there (when
        it is gone, so is the transfer on the device); close the data connection and take the
        sink back whatever happens."""
        try:
            control = self._control
            if self._running and control is not None and control.error is None:
                try:
                    await self.camera.run(stop, on=control)
                except XMCamError as error:
                    _log.warning("%s: the stop failed: %s", type(self).__name__, error)
            else:
                stop.close()
        finally:
            await self._release()

    async def _release(self) -> None:
        await self._unwatch()
        data, self._data = self._data, None
        if data is not None:
            await data.close()
        control = self._control
        if control is not None and control.media_sinks.get(self._data_id) == self._on_packet:
            del control.media_sinks[self._data_id]

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: XMCamError) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    def _watch(self, control: Link) -> None:
        """Fail when the control connection ends: the device ends its streams with it."""

        async def watch() -> None:
            await control.ended.wait()
            self._fail(ConnectionClosedError(f"the control connection ended: {control.error}"))

        self._watcher = asyncio.create_task(watch())

    async def _unwatch(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


class LiveStream(_Transfer):
    """A live stream: an async context manager and an async iterator of MediaFrames (video,
    audio, info), from the first keyframe on. Make one with `camera.live()`:

        async with cam.live(channel=0, substream=False) as stream:
            async for frame in stream:
                ...

    Leaving the block (also by an error or a cancel) sends Stop and closes the media
    connection. A consumer slower than the stream loses frames up to the next keyframe; see
    `stats`. The iteration raises ConnectionClosedError when the media or the control
    connection ends.
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
        self._started = False
        self._closed = False

    def __repr__(self) -> str:
        stream = "sub" if self.substream else "main"
        return f"LiveStream(channel={self.channel}, stream={stream!r}, flow={self.flow!r})"

    @property
    def stats(self) -> StreamStats:
        return self._feed.stats()

    async def start(self) -> None:
        """Claim and start the stream (iteration and `async with` do this for you)."""
        if self._started:
            return
        self._started = True
        try:
            self.flow = await self._start(mops.start_live(self.channel, self.substream, self.flow))
        except BaseException:
            self._closed = True
            await self.camera.run_to_end(self._release())
            raise

    def _on_packet(self, frame: Frame) -> None:
        feed = self._feed
        feed.add(frame.payload)
        if self._waiter is not None and len(feed):
            self._wake()

    def _data_ended(self, link: Link, error: XMCamError) -> None:
        if link is self._data:
            self._fail(ConnectionClosedError(f"the media connection ended: {error}"))

    def __aiter__(self) -> LiveStream:
        return self

    async def __anext__(self) -> MediaFrame:
        if not self._started:
            await self.start()
        while True:
            if self._closed:
                raise StopAsyncIteration
            frame = self._feed.pop()
            if frame is not None:
                return frame
            if self._error is not None:
                raise self._error
            await self._wait()

    async def __aenter__(self) -> LiveStream:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Send Stop and close the media connection; the iteration ends."""
        if self._closed:
            return
        self._closed = True
        self._wake()
        if self._started:
            stop = mops.monitor_stop(self.channel, self.substream)
            await self.camera.run_to_end(self._finish(stop))


# ---------------------------------------------------------------------- snapshots


async def snapshot(camera: MediaCamera, channel: int = 0, *, fallback: bool = True) -> bytes:
    """A JPEG by OPSNAP; with `fallback`, from the live stream's first keyframe when the
    device refuses (Ret 102, 108), answers no JPEG, or stays silent."""

    async def perform(step: Any) -> bytes:
        if isinstance(step, mops.RunWithSink):
            link = await camera.control_link()
            link.media_sinks[step.message_id] = step.sink
            try:
                return await camera.run(step.procedure, on=link)
            finally:
                link.media_sinks.pop(step.message_id, None)
        if isinstance(step, mops.KeyframeJpeg):
            return await _keyframe_jpeg(camera, step.channel)
        raise StateError(f"a snapshot cannot perform {step!r}")

    return await plans.drive_async(mops.take_snapshot(channel, fallback=fallback), perform)


async def _keyframe_jpeg(camera: MediaCamera, channel: int) -> bytes:
    from xmcam.media.writer import keyframe_to_jpeg  # noqa: PLC0415 - PyAV only when needed

    deadline = asyncio.timeout(camera.timeout)
    try:
        async with deadline, LiveStream(camera, channel) as stream:
            async for frame in stream:  # pragma: no branch - a live stream never ends by itself
                if isinstance(frame, VideoFrame) and frame.keyframe:
                    keyframe = frame
                    break
    except TimeoutError:
        if not deadline.expired():
            raise
        raise RequestTimeoutError(f"no keyframe within {camera.timeout:g} s") from None
    return await asyncio.to_thread(keyframe_to_jpeg, keyframe)


# ---------------------------------------------------------------------- downloads


async def download(camera: MediaCamera, record: RecordFile) -> AsyncGenerator[bytes, None]:
    """The recording's bytes as the device sends them (its media container). Close the
    iterator (`contextlib.aclosing`) when stopping early: DownloadStop is sent then."""
    transfer = _Download(camera, record)
    try:
        await transfer.start()
        while (chunk := await transfer.next_chunk()) is not None:
            yield chunk
    finally:
        await transfer.close()


class _Download(_Transfer):
    def __init__(self, camera: MediaCamera, record: RecordFile) -> None:
        super().__init__(camera, MessageId.DOWNLOAD_DATA)
        self.record = record
        self._chunks: collections.deque[bytes] = collections.deque()
        self._done = False
        self._paused = False  # reading paused on the link carrying the data
        self._closed = False

    async def start(self) -> None:
        await self._start(mops.start_download(self.record))

    def _on_packet(self, frame: Frame) -> None:
        if self._done:
            return  # after the end: belongs to nothing
        if frame.payload:
            self._chunks.append(frame.payload)
        if mops.is_last_download_packet(frame):
            self._done = True
        elif len(self._chunks) >= mops.DOWNLOAD_HIGH_WATER and not self._paused:
            reader = self._data or self._control
            assert reader is not None  # packets come on one of them
            reader.pause_reading()
            self._paused = True
        self._wake()

    def _data_ended(self, link: Link, error: XMCamError) -> None:
        if link is self._data and not self._done:
            self._fail(ConnectionClosedError(f"the download connection ended: {error}"))

    async def next_chunk(self) -> bytes | None:
        idle = max(self.camera.timeout, mops.DOWNLOAD_IDLE_TIMEOUT)
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                if self._paused and len(self._chunks) <= mops.DOWNLOAD_HIGH_WATER // 2:
                    self._resume()
                return chunk
            if self._done:
                return None
            if self._error is not None:
                raise self._error
            try:
                async with asyncio.timeout(idle):
                    await self._wait()
            except TimeoutError:
                raise RequestTimeoutError(f"no download data for {idle:g} s") from None

    def _resume(self) -> None:
        reader = self._data or self._control
        if self._paused and reader is not None:
            reader.resume_reading()
        self._paused = False

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.camera.run_to_end(self._shutdown())

    async def _shutdown(self) -> None:
        self._resume()  # the DownloadStop reply may have to come through the paused link
        await self._finish(mops.download_stop(self.record))
