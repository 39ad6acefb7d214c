"""Live streams, snapshots and downloads on the asyncio client.

Theory of operation. The camera's control connection is a `Link`; so is each data connection,
with a core connection that joins the control session (`ClientConnection.for_session`) and
sends only its claim. Media packets never pass through a queue of packets: the Link hands
each one, as it is cut from a read, to the sink registered for its message id, which feeds it
straight into the stream's `LiveFeed` (frames, bounded) or the download's chunk queue
(paused reading when the consumer falls behind, so nothing is lost and memory stays bounded).

Requests on the control connection (Start, Stop, DownloadStart, DownloadStop) run under the
camera's request lock like any other, and only on the connection the stream began on: when
that connection has ended, so has the stream on the device, and nothing is sent on a new one.
The camera's keepalive task goes on as usual, so a long stream keeps its session. A stream
watches its control connection and its media connection; either ending ends the iteration
with a ConnectionClosedError. Stopping runs in a shielded task: Stop is sent and the media
connection closed even when the caller is cancelled.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from xmcam.aio.link import Link
from xmcam.client import media_operations as mops
from xmcam.client import operations as ops
from xmcam.client.models import AlarmEvent, RecordFile, StreamStats
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

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from xmcam.aio.camera import AsyncCamera

__all__ = ["LiveStream", "download", "snapshot"]

_log: Final = logging.getLogger("xmcam.aio")


def _alarm_on_data_link(event: AlarmEvent) -> None:  # pragma: no cover - devices push on control
    _log.debug("dropped an alarm pushed on a data connection: %s", event.event)


async def _data_link(
    camera: AsyncCamera,
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
    link = await Link.open(camera.host, camera.port, camera.timeout, _alarm_on_data_link, on_end)
    session = control.connection
    link.connection = ClientConnection.for_session(
        session.session_id, session_id_style=session.session_id_style
    )
    link.media_sinks[data_id] = sink
    try:
        await link.call(claim, min(camera.claim_timeout, camera.timeout))
    except BaseException:
        await link.close()
        raise
    return link


async def _on_control(camera: AsyncCamera, control: Link, procedure: ops.Procedure[None]) -> bool:
    """Run `procedure` on `control` if it is still the camera's usable connection; False
    (and nothing sent) when it is gone."""
    async with camera._lock:
        if camera._link is not control or not control.usable:
            procedure.close()
            return False
        await camera._on(control, procedure)
        return True


async def _shielded(camera: AsyncCamera, work: Coroutine[Any, Any, None]) -> None:
    """Run `work` to its end even if the caller is cancelled (camera.close() awaits it)."""
    task = asyncio.create_task(work)
    camera._background.add(task)
    task.add_done_callback(camera._background.discard)
    await asyncio.shield(task)


class _Receiver:
    """Data arriving through callbacks, awaited by one consumer."""

    def __init__(self, camera: AsyncCamera) -> None:
        self.camera = camera
        self._error: XMCamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._watcher: asyncio.Task[None] | None = None

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


class LiveStream(_Receiver):
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
        camera: AsyncCamera,
        channel: int = 0,
        *,
        substream: bool = False,
        flow: str = "auto",
        max_queue: int = 256,
    ) -> None:
        mops.check_live_arguments(channel, flow, max_queue)
        super().__init__(camera)
        self.channel = channel
        self.substream = substream
        self.flow = flow
        """The flow asked for; once started, the one in use: "two" or "one"."""
        self._feed = mops.LiveFeed(max_queue)
        self._control: Link | None = None
        self._media: Link | None = None
        self._started = False
        self._running = False
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
            if self.flow == "one" or not await self._start_two():
                await self._start_one()
        except BaseException:
            self._closed = True
            await _shielded(self.camera, self._release())
            raise
        self._running = True
        assert self._control is not None
        self._watch(self._control)

    async def _start_two(self) -> bool:
        """The vendor flow; False when the claim failed and the single socket is to be tried."""
        camera = self.camera
        async with camera._lock:
            control = await camera._usable_link()
        claim = mops.monitor_claim(self.channel, self.substream)
        try:
            media = await _data_link(
                camera,
                control,
                claim,
                data_id=MessageId.MONITOR_DATA,
                sink=self._on_packet,
                on_end=self._media_ended,
            )
        except XMCamError as error:
            if self.flow == "two" or not mops.claim_falls_back(error):
                raise
            _log.info("live stream: the media claim failed (%s); trying one socket", error)
            return False
        self._media = media
        self._control = control
        start = mops.monitor_start(self.channel, self.substream)
        if not await _on_control(camera, control, start):
            raise ConnectionClosedError("the control connection ended as the stream started")
        self.flow = "two"
        return True

    async def _start_one(self) -> None:
        camera = self.camera
        async with camera._lock:
            control = await camera._usable_link()
            if MessageId.MONITOR_DATA in control.media_sinks:
                raise StateError("a single-socket live stream already runs on this connection")
            control.media_sinks[MessageId.MONITOR_DATA] = self._on_packet
            self._control = control
            await camera._on(control, mops.monitor_claim_and_start(self.channel, self.substream))
        self.flow = "one"

    def _on_packet(self, frame: Frame) -> None:
        feed = self._feed
        feed.add(frame.payload)
        if self._waiter is not None and len(feed):
            self._wake()

    def _media_ended(self, link: Link, error: XMCamError) -> None:
        if link is self._media:
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
            await _shielded(self.camera, self._shutdown())

    async def _shutdown(self) -> None:
        try:
            control = self._control
            if self._running and control is not None:
                stop = mops.monitor_stop(self.channel, self.substream)
                try:
                    await _on_control(self.camera, control, stop)
                except XMCamError as error:
                    _log.warning("live stream: Stop failed: %s", error)
        finally:
            await self._release()

    async def _release(self) -> None:
        await self._unwatch()
        media, self._media = self._media, None
        if media is not None:
            await media.close()
        control = self._control
        if control is not None and control.media_sinks.get(MessageId.MONITOR_DATA) == (
            self._on_packet
        ):
            del control.media_sinks[MessageId.MONITOR_DATA]


# ---------------------------------------------------------------------- snapshots


async def snapshot(camera: AsyncCamera, channel: int = 0, *, fallback: bool = True) -> bytes:
    """A JPEG by OPSNAP; with `fallback`, from the live stream's first keyframe when the
    device refuses (Ret 102, 108), answers no JPEG, or stays silent."""
    try:
        return await _opsnap(camera, channel)
    except XMCamError as error:
        if not fallback or not mops.snapshot_falls_back(error):
            raise
        _log.info("snapshot: OPSNAP failed (%s); decoding the live stream's keyframe", error)
    return await _snapshot_from_live(camera, channel)


async def _opsnap(camera: AsyncCamera, channel: int) -> bytes:
    collector = mops.SnapshotCollector()
    async with camera._lock:
        link = await camera._usable_link()
        link.media_sinks[MessageId.NET_SNAP_RSP] = collector.add
        try:
            return await camera._on(link, mops.snapshot(channel, collector))
        finally:
            link.media_sinks.pop(MessageId.NET_SNAP_RSP, None)


async def _snapshot_from_live(camera: AsyncCamera, channel: int) -> bytes:
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


async def download(camera: AsyncCamera, record: RecordFile) -> AsyncGenerator[bytes, None]:
    """The recording's bytes as the device sends them (its media container). Close the
    iterator (`contextlib.aclosing`) when stopping early: DownloadStop is sent then."""
    transfer = _Download(camera, record)
    try:
        await transfer.start()
        while (chunk := await transfer.next_chunk()) is not None:
            yield chunk
    finally:
        await transfer.close()


class _Download(_Receiver):
    def __init__(self, camera: AsyncCamera, record: RecordFile) -> None:
        super().__init__(camera)
        self.record = record
        self._chunks: collections.deque[bytes] = collections.deque()
        self._done = False
        self._control: Link | None = None
        self._data: Link | None = None
        self._reader: Link | None = None  # the link carrying the data, paused when behind
        self._paused = False
        self._started = False
        self._closed = False

    async def start(self) -> None:
        camera = self.camera
        async with camera._lock:
            control = await camera._usable_link()
        claim = mops.download_claim(self.record)
        try:
            data = await _data_link(
                camera,
                control,
                claim,
                data_id=MessageId.DOWNLOAD_DATA,
                sink=self._on_packet,
                on_end=self._data_ended,
            )
        except XMCamError as error:
            if not mops.claim_falls_back(error):
                raise
            _log.info("download: the data claim failed (%s); using one socket", error)
            await self._start_same_socket()
        else:
            self._data = self._reader = data
            self._control = control
            if not await _on_control(camera, control, mops.download_start(self.record)):
                raise ConnectionClosedError("the control connection ended as the download started")
            self._started = True
        assert self._control is not None
        self._watch(self._control)

    async def _start_same_socket(self) -> None:
        camera = self.camera
        async with camera._lock:
            control = await camera._usable_link()
            if MessageId.DOWNLOAD_DATA in control.media_sinks:
                raise StateError("a download already runs on this connection")
            control.media_sinks[MessageId.DOWNLOAD_DATA] = self._on_packet
            self._control = self._reader = control
            await camera._on(control, mops.download_claim_and_start(self.record))
        self._started = True

    def _on_packet(self, frame: Frame) -> None:
        if self._done:
            return  # after the end: belongs to nothing
        if frame.payload:
            self._chunks.append(frame.payload)
        if mops.is_last_download_packet(frame):
            self._done = True
        elif len(self._chunks) >= mops.DOWNLOAD_HIGH_WATER and not self._paused:
            assert self._reader is not None
            self._reader.pause_reading()
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
        if self._paused and self._reader is not None:
            self._reader.resume_reading()
        self._paused = False

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await _shielded(self.camera, self._shutdown())

    async def _shutdown(self) -> None:
        self._resume()  # the DownloadStop reply may have to come through the paused link
        try:
            control = self._control
            if self._started and control is not None:
                try:
                    await _on_control(self.camera, control, mops.download_stop(self.record))
                except XMCamError as error:
                    _log.warning("download: DownloadStop failed: %s", error)
        finally:
            await self._unwatch()
            data, self._data = self._data, None
            if data is not None:
                await data.close()
            control = self._control
            if control is not None and control.media_sinks.get(MessageId.DOWNLOAD_DATA) == (
                self._on_packet
            ):
                del control.media_sinks[MessageId.DOWNLOAD_DATA]
