"""Live streams, snapshots and downloads on the blocking client: plain sockets, no thread.

Theory of operation. A stream or a download is read by its own iterator: each `next()` first
reads whatever has already arrived (without blocking, a bounded number of reads), then hands
out a frame; only when none is waiting does it block, in `poll()` on the media connection and
the control connection together. A live stream so drains the socket as the device fills it
(a slow consumer loses frames up to the next keyframe, never memory, never latency); a
download reads only when its consumer wants more, so TCP holds the device back and nothing
is lost.

With no thread there is no keepalive timer: the iterator sends KeepAlive on the control
connection itself when half the AliveInterval has passed since its last reply, blocking
in `poll()` no longer than that. Requests on the control connection (Start, Stop, the
keepalives) are made only on the connection the stream began on: if the camera has logged in
again since, the stream ended with the old session, and the iteration says so. In the
single-socket flow media packets arrive on the control connection; the camera hands them to
the stream's sink, also while it waits for a reply.
"""

from __future__ import annotations

import abc
import collections
import logging
import select
import socket
import time
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Final

from xmcam.client import media_operations as mops
from xmcam.client import operations as ops
from xmcam.client.models import RecordFile, StreamStats
from xmcam.errors import (
    ConnectionClosedError,
    RequestTimeoutError,
    StateError,
    XMCamError,
)
from xmcam.media.frames import MediaFrame, VideoFrame
from xmcam.protocol.codes import MessageId, message_name
from xmcam.protocol.connection import (
    ClientConnection,
    ClientEvent,
    ClientState,
    MediaPacket,
    Reply,
)
from xmcam.protocol.framing import Frame

if TYPE_CHECKING:
    from xmcam.sync.camera import Camera

__all__ = ["LiveStream", "download", "snapshot"]

_log: Final = logging.getLogger("xmcam.sync")

_READ_SIZE: Final = 65536
_READS_PER_TURN: Final = 16  # reads before a frame is handed out: 1 MiB at most


class _DataSocket:
    """A data connection joining the control session: it sends its claim, then only reads."""

    def __init__(self, sock: socket.socket, connection: ClientConnection) -> None:
        self.socket = sock
        self.connection = connection

    @classmethod
    def claimed(cls, camera: Camera, claim: ops.Call, sink: Callable[[Frame], None]) -> _DataSocket:
        """Connect, claim, and return the connection once the claim succeeded; raises what
        the claim met (a refusal, silence, a closed socket)."""
        timeout = min(camera.claim_timeout, camera.timeout)
        try:
            sock = socket.create_connection((camera.host, camera.port), timeout=timeout)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise ConnectionClosedError(f"cannot open a data connection: {reason}") from None
        control = camera._connection
        connection = ClientConnection.for_session(
            control.session_id, session_id_style=control.session_id_style
        )
        data = cls(sock, connection)
        try:
            data._claim(claim, time.monotonic() + timeout, sink)
        except BaseException:
            sock.close()
            raise
        sock.setblocking(False)
        return data

    def _claim(self, claim: ops.Call, deadline: float, sink: Callable[[Frame], None]) -> None:
        wire = self.connection.request(claim.message_id, claim.body)
        ops.log_frame("->", wire)
        try:
            self.socket.sendall(wire)
        except OSError as error:
            raise ConnectionClosedError(f"sending failed: {error.strerror}") from None
        while True:
            self.socket.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                data = self.socket.recv(_READ_SIZE)
            except TimeoutError:
                name = message_name(claim.message_id)
                raise RequestTimeoutError(f"no reply to the {name} claim") from None
            except OSError as error:
                raise ConnectionClosedError(f"receiving failed: {error.strerror}") from None
            if not data:
                raise ConnectionClosedError("the camera closed the data connection")
            reply = _route(self.connection.receive_data(data), sink)
            if reply is not None:
                reply.raise_for_ret()
                return

    def read(self, sink: Callable[[Frame], None]) -> None:
        """Read what has arrived, without blocking (a bounded number of reads)."""
        for _ in range(_READS_PER_TURN):
            try:
                data = self.socket.recv(_READ_SIZE)
            except BlockingIOError:
                return
            except OSError as error:
                raise ConnectionClosedError(f"the data connection failed: {error}") from None
            if not data:
                raise ConnectionClosedError("the camera closed the data connection")
            _route(self.connection.receive_data(data), sink)

    def close(self) -> None:
        self.connection.connection_lost()
        self.socket.close()


def _route(events: list[ClientEvent], sink: Callable[[Frame], None]) -> Reply | None:
    """Media to `sink`; the claim's reply back; what ends the connection raised."""
    reply = None
    for event in events:
        if type(event) is MediaPacket:
            sink(event.frame)
            continue
        routed = ops.route(event)
        if isinstance(routed, Reply):
            reply = routed
        elif isinstance(routed, XMCamError):
            raise routed
    return reply


class _Transfer(abc.ABC):
    """What a live stream and a download share: the control connection they began on, the
    data connection (None in the single-socket flow), the keepalives, and reading both."""

    def __init__(self, camera: Camera, data_id: int) -> None:
        self.camera = camera
        self._data_id = data_id
        self._control: ClientConnection | None = None
        self._data: _DataSocket | None = None
        self._poll = select.poll()
        self._control_poll = select.poll()
        self._started = False
        self._running = False
        self._closed = False

    @abc.abstractmethod
    def _on_packet(self, frame: Frame) -> None:
        """Take one data packet (each transfer its own: frames or file bytes)."""

    def _claim_data(self, claim: ops.Call) -> None:
        """The data connection for `claim`, joining the camera's (usable) session."""
        camera = self.camera
        camera._ensure_usable()
        self._control = camera._connection
        self._data = _DataSocket.claimed(camera, claim, self._on_packet)

    def _claim_here(self, procedure: ops.Procedure[None]) -> None:
        """The single-socket flow: the claim and the start on the control connection."""
        camera = self.camera
        camera._ensure_usable()
        if self._data_id in camera._media_sinks:
            procedure.close()
            raise StateError("this camera's connection already carries such a transfer")
        camera._media_sinks[self._data_id] = self._on_packet
        self._control = camera._connection
        camera._drive(procedure)

    def _on_control(self, procedure: ops.Procedure[None]) -> None:
        """Run `procedure` on the control connection the transfer began on."""
        self._check_control()
        self.camera._drive(procedure)

    def _control_alive(self) -> bool:
        """Whether the control connection the transfer began on is still the camera's."""
        camera = self.camera
        control = self._control
        return (
            camera._connection is control
            and camera._socket is not None
            and control.state is ClientState.LOGGED_IN
        )

    def _check_control(self) -> None:
        if not self._control_alive():
            raise ConnectionClosedError("the control connection this stream began on has ended")

    def _watch(self) -> None:
        camera = self.camera
        assert camera._socket is not None
        self._poll.register(camera._socket, select.POLLIN)
        self._control_poll.register(camera._socket, select.POLLIN)
        if self._data is not None:
            self._poll.register(self._data.socket, select.POLLIN)
        self._running = True

    def _keepalive(self) -> float:
        """Send KeepAlive on the control connection when due; the seconds until the next."""
        self._check_control()
        camera = self.camera
        assert self._control is not None
        period = ops.keepalive_period(self._control.alive_interval)
        due = camera._last_reply + period - camera.clock()
        if due > 0:
            return due
        camera._drive(ops.keepalive())
        return period

    def _turn(self, wait: float) -> None:
        """Keep the session alive when due, wait up to `wait` seconds for data, read it."""
        due = self._keepalive()
        camera = self.camera
        assert camera._socket is not None  # _check_control() saw it
        ready = {fd for fd, _ in self._poll.poll(max(min(wait, due), 0) * 1000)}
        data = self._data
        if data is not None and data.socket.fileno() in ready:
            data.read(self._on_packet)
        if camera._socket.fileno() in ready:
            self._read_control()

    def _read_control(self) -> None:
        """Read what has arrived on the control connection: its media goes to our sink
        through the camera, an alarm is dropped, the end of the connection raised."""
        camera = self.camera
        sock = camera._socket
        assert sock is not None
        try:
            for _ in range(_READS_PER_TURN):
                if not self._control_poll.poll(0):
                    return
                data = sock.recv(_READ_SIZE)
                if not data:
                    raise ConnectionClosedError("the camera closed the control connection")
                for event in camera._connection.receive_data(data):
                    camera._route(event)
        except OSError as error:
            camera.close()
            raise ConnectionClosedError(f"the control connection failed: {error}") from None
        except XMCamError:
            camera.close()
            raise

    def _finish(self, stop: ops.Procedure[None]) -> None:
        """Send `stop` when the transfer ran and its connection is still there (when it is
        gone, so is the transfer on the device); close the data connection and take the sink
        back whatever happens."""
        camera = self.camera
        try:
            if self._started and self._control_alive():
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
            if camera._media_sinks.get(self._data_id) == self._on_packet:
                del camera._media_sinks[self._data_id]


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
        camera: Camera,
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
            if self.flow == "one" or not self._start_two():
                self._claim_here(mops.monitor_claim_and_start(self.channel, self.substream))
                self.flow = "one"
            self._started = True
            self._watch()
        except BaseException:
            self.close()
            raise

    def _start_two(self) -> bool:
        try:
            self._claim_data(mops.monitor_claim(self.channel, self.substream))
        except XMCamError as error:
            if self.flow == "two" or not mops.claim_falls_back(error):
                raise
            _log.info("live stream: the media claim failed (%s); trying one socket", error)
            return False
        self._on_control(mops.monitor_start(self.channel, self.substream))
        self.flow = "two"
        return True

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


def snapshot(camera: Camera, channel: int = 0, *, fallback: bool = True) -> bytes:
    """A JPEG by OPSNAP; with `fallback`, from the live stream's first keyframe when the
    device refuses (Ret 102, 108), answers no JPEG, or stays silent."""
    try:
        return _opsnap(camera, channel)
    except XMCamError as error:
        if not fallback or not mops.snapshot_falls_back(error):
            raise
        _log.info("snapshot: OPSNAP failed (%s); decoding the live stream's keyframe", error)
    return _snapshot_from_live(camera, channel)


def _opsnap(camera: Camera, channel: int) -> bytes:
    collector = mops.SnapshotCollector()
    camera._media_sinks[MessageId.NET_SNAP_RSP] = collector.add
    try:
        return camera._run(mops.snapshot(channel, collector))
    finally:
        camera._media_sinks.pop(MessageId.NET_SNAP_RSP, None)


def _snapshot_from_live(camera: Camera, channel: int) -> bytes:
    from xmcam.media.writer import keyframe_to_jpeg  # noqa: PLC0415 - PyAV only when needed

    deadline = time.monotonic() + camera.timeout
    with LiveStream(camera, channel) as stream:
        while True:
            frame = stream.next_frame(max(deadline - time.monotonic(), 0.001))
            if isinstance(frame, VideoFrame) and frame.keyframe:
                break
    return keyframe_to_jpeg(frame)


# ---------------------------------------------------------------------- downloads


def download(camera: Camera, record: RecordFile) -> Generator[bytes, None, None]:
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
    def __init__(self, camera: Camera, record: RecordFile) -> None:
        super().__init__(camera, MessageId.DOWNLOAD_DATA)
        self.record = record
        self._chunks: collections.deque[bytes] = collections.deque()
        self._done = False

    def start(self) -> None:
        try:
            self._claim_data(mops.download_claim(self.record))
        except XMCamError as error:
            if not mops.claim_falls_back(error):
                raise
            _log.info("download: the data claim failed (%s); using one socket", error)
            self._claim_here(mops.download_claim_and_start(self.record))
        else:
            self._on_control(mops.download_start(self.record))
        self._started = True
        self._watch()

    def _on_packet(self, frame: Frame) -> None:
        if self._done:
            return  # after the end: belongs to nothing
        if frame.payload:
            self._chunks.append(frame.payload)
        self._done = mops.is_last_download_packet(frame)

    def next_chunk(self) -> bytes | None:
        idle = max(self.camera.timeout, mops.DOWNLOAD_IDLE_TIMEOUT)
        deadline = time.monotonic() + idle
        if self._chunks and (not self._done or self._control_alive()):
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
