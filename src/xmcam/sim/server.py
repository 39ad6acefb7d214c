"""The simulator's asyncio shell: a TCP server that moves bytes between sockets and the
sans-I/O device (`xmcam.sim.device`), and applies the fault knobs on the way out.

`Simulator` runs on the caller's event loop; `SimulatorThread` runs one on its own loop in a
background thread, for blocking code and tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar

from xmcam.errors import ProtocolError
from xmcam.protocol import Ret, sofia_hash
from xmcam.sim.alarm_push import AlarmCenterPusher, configure_alarm_center
from xmcam.sim.context import Effect
from xmcam.sim.device import CameraConnection, SimulatedDevice
from xmcam.sim.discovery import DiscoveryResponder, net_common_of, with_identity
from xmcam.sim.faults import Faults, garbage_frame, reply_request_id
from xmcam.sim.media import MediaSettings
from xmcam.sim.profile import Profile, load_profile
from xmcam.sim.recordings import Recording, load_recordings
from xmcam.sim.state import DeviceState
from xmcam.sim.streaming import MediaStreams
from xmcam.sim.upgrade import PROGRESS_STEPS, UpgradeOutcome

__all__ = ["Simulator", "SimulatorThread"]

log = logging.getLogger("xmcam.sim")

_COALESCE_WINDOW: Final = 0.02  # seconds a reply is held to share a write with the next
_CHUNK_GAP: Final = 0.0005  # seconds between the pieces of a split write
# Bytes a client may leave unread (replies and alarms) before it is cut off.
MAX_UNSENT = 4 * 1024 * 1024
# Seconds a closed connection may take to let its last replies go before it is aborted.
CLOSE_GRACE = 2.0
# Bytes of split media writes (write_chunk) queued before a stream waits for them to go.
_MEDIA_BACKLOG: Final = 64 * 1024

P = ParamSpec("P")
T = TypeVar("T")


def _loop_time() -> float:
    """The running event loop's clock; outside one, the monotonic clock it reads."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


class _Link(asyncio.Protocol):
    """One accepted TCP connection."""

    def __init__(self, simulator: Simulator) -> None:
        self._simulator = simulator
        self._transport: asyncio.Transport | None = None
        self.camera: CameraConnection | None = None
        # Frames held back by reply_delay or coalesce, with the loop time each is due, in the
        # order they were sent: a knob changed meanwhile never lets a later frame overtake.
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._outbox_bytes = 0
        self._outbox_timer: asyncio.TimerHandle | None = None
        self._pieces_pending = 0  # pieces of split writes not yet written
        self._pieces_bytes = 0
        self._pieces_until = 0.0  # loop time of the last queued piece of a split write
        self._writable = asyncio.Event()  # cleared while the transport's buffer is full
        self._writable.set()
        self.peer = "?"

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host = str(peer[0]) if isinstance(peer, tuple) else self.peer
        self.camera = self._simulator.device.open_connection(host)
        if self.camera is None:
            log.warning("refused %s: TCPMaxConn connections are open already", self.peer)
            transport.abort()
            return
        self._simulator.links[self.camera.number] = self
        for dropped in self._simulator.device.take_dropped():
            link = self._simulator.links.pop(dropped.number, None)
            if link is not None:
                link.abort()
        log.debug("connection %d from %s", self.camera.number, self.peer)

    def data_received(self, data: bytes) -> None:
        camera = self.camera
        if camera is None or self._transport is None or self._transport.is_closing():
            return
        faults = self._simulator.faults
        camera.omit_terminator = faults.omit_terminator
        try:
            replies = camera.receive(data)
        except ProtocolError as error:
            log.warning("connection %d (%s) closed: %s", camera.number, self.peer, error)
            self.close()
            return
        limit = faults.drop_after_frames
        if limit is not None and camera.frames_received >= limit:
            log.info("connection %d dropped after %d frames (fault)", camera.number, limit)
            self.close()
            return
        self.send([reply for reply in replies if reply_request_id(reply) not in faults.silent_ids])
        self._simulator.flush_pushes()
        self._simulator.streams.apply()
        self._after(camera)

    def _after(self, camera: CameraConnection) -> None:
        while camera.effects:
            effect = camera.effects.pop(0)
            if effect is Effect.REBOOT:
                self._simulator.reboot_soon()
            elif effect is Effect.CLOSE:
                self.close()
            elif effect is Effect.UPGRADE and camera.upgrade_outcome is not None:
                outcome, camera.upgrade_outcome = camera.upgrade_outcome, None
                self._simulator.spawn(self._simulator.report_upgrade(self, camera, outcome))

    def pause_writing(self) -> None:
        # The client reads slower than it asks: read no more requests until it catches up.
        self._writable.clear()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._writable.set()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._forget_unsent()
        self._writable.set()  # a stream waiting to write finds the connection gone
        if self.camera is not None:
            self._simulator.links.pop(self.camera.number, None)
            self.camera.close()
            self._simulator.streams.apply()
            log.debug("connection %d closed", self.camera.number)

    # ------------------------------------------------------------------ media (streaming.py)

    @property
    def closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    @property
    def write_paused(self) -> bool:
        """Whether the transport's buffer is full (the client reads slower than it is fed)."""
        return not self._writable.is_set()

    def send_media(self, packet: bytes) -> bool:
        """Write a media packet now: split by write_chunk, never held by reply_delay or
        coalesce. True when the writer must wait for `drained()` before the next one."""
        self._write(packet)
        return not self._writable.is_set() or self._pieces_bytes > _MEDIA_BACKLOG

    async def drained(self) -> None:
        """Wait until the client has taken enough of what was written, or is gone."""
        while not self.closing:
            if not self._writable.is_set():
                await self._writable.wait()
            elif self._pieces_bytes > _MEDIA_BACKLOG:
                await asyncio.sleep(_CHUNK_GAP)
            else:
                return

    # ------------------------------------------------------------------ writing

    @property
    def unsent(self) -> int:
        """Bytes meant for this client that the kernel has not taken yet."""
        transport = self._transport
        buffered = transport.get_write_buffer_size() if transport is not None else 0
        return buffered + self._outbox_bytes + self._pieces_bytes

    def send(self, frames: list[bytes]) -> None:
        """Write frames, through the fault knobs."""
        if not frames:
            return
        faults = self._simulator.faults
        if faults.garbage:
            frames = [part for frame in frames for part in (garbage_frame(), frame)]
        delay = faults.reply_delay if faults.reply_delay > 0 else 0.0
        if delay or faults.coalesce or self._outbox:
            self._hold(frames, delay)
        else:
            # The replies of one read in one write: one system call, not one per reply (an
            # upgrade's blocks are answered a block each, hundreds a second).
            self._write(frames[0] if len(frames) == 1 else b"".join(frames))
        self._check_unsent()

    def _hold(self, frames: list[bytes], delay: float) -> None:
        loop = asyncio.get_running_loop()
        if delay:
            due = loop.time() + delay
        elif self._outbox:  # coalesced with the frames held already
            due = self._outbox[-1][0]
        else:
            due = loop.time() + _COALESCE_WINDOW
        if self._outbox:
            due = max(due, self._outbox[-1][0])
        self._outbox.extend((due, frame) for frame in frames)
        self._outbox_bytes += sum(len(frame) for frame in frames)
        if self._outbox_timer is None:
            self._outbox_timer = loop.call_at(self._outbox[0][0], self._release)

    def _release(self) -> None:
        """Write the held frames that are due (the first one at least: its timer fired)."""
        loop = asyncio.get_running_loop()
        self._outbox_timer = None
        due = [self._outbox.popleft()[1]]
        while self._outbox and self._outbox[0][0] <= loop.time():
            due.append(self._outbox.popleft()[1])
        self._outbox_bytes -= sum(len(frame) for frame in due)
        if self._simulator.faults.coalesce:
            self._write(b"".join(due))
        else:
            for frame in due:
                self._write(frame)
        if self._outbox:
            self._outbox_timer = loop.call_at(self._outbox[0][0], self._release)

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing() or not data:
            return
        chunk = self._simulator.faults.write_chunk
        split = chunk is not None and 0 < chunk < len(data)
        if not split and not self._pieces_pending:
            transport.write(data)
        else:
            # Pieces of an earlier write may still be queued: these go after them, never
            # between (each piece at its own time: timers due at the same time run in any order).
            self._write_in_pieces(data, chunk if split and chunk is not None else len(data))
        self._check_unsent()

    def _write_in_pieces(self, data: bytes, size: int) -> None:
        loop = asyncio.get_running_loop()
        first = max(loop.time(), self._pieces_until + _CHUNK_GAP)
        starts = range(0, len(data), size)
        for index, start in enumerate(starts):
            loop.call_at(first + index * _CHUNK_GAP, self._write_piece, data[start : start + size])
        self._pieces_pending += len(starts)
        self._pieces_bytes += len(data)
        self._pieces_until = first + (len(starts) - 1) * _CHUNK_GAP

    def _write_piece(self, piece: bytes) -> None:
        self._pieces_pending -= 1
        self._pieces_bytes -= len(piece)
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(piece)

    def _check_unsent(self) -> None:
        """Cut off a client that lets its replies or alarms pile up unread: memory stays
        bounded whatever it does (reading its requests pauses already, alarms do not)."""
        unsent = self.unsent
        if unsent > MAX_UNSENT and self._transport is not None:
            number = self.camera.number if self.camera is not None else 0
            log.warning(
                "connection %d (%s) cut off: %d bytes it does not read", number, self.peer, unsent
            )
            self.abort()

    def _forget_unsent(self) -> None:
        if self._outbox_timer is not None:
            self._outbox_timer.cancel()
            self._outbox_timer = None
        self._outbox.clear()
        self._outbox_bytes = 0

    def close(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.close()
            # A client that never reads would keep a closing connection, and its TCPMaxConn
            # slot, for ever: what it has not taken in CLOSE_GRACE seconds is dropped.
            asyncio.get_running_loop().call_later(CLOSE_GRACE, transport.abort)

    def abort(self) -> None:
        self._forget_unsent()
        if self._transport is not None:
            self._transport.abort()


class Simulator:
    """A simulated XM camera or recorder listening on TCP.

    >>> async with Simulator() as camera:          # doctest: +SKIP
    ...     print(camera.port)
    """

    def __init__(
        self,
        profile: Profile | str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_path: str | Path | None = None,
        user: str | None = None,
        password: str | None = None,
        channels: int | None = None,
        alarm_every: float | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], datetime] | None = None,
        faults: Faults | None = None,
        discovery_port: int | None = None,
        alarm_center: tuple[str, int] | None = None,
        serial: str | None = None,
        mac: str | None = None,
        video: str | Path | None = None,
        sub_video: str | Path | None = None,
        audio: str | Path | None = None,
        no_audio: bool = False,
        recordings: str | Path | Iterable[Recording] | None = None,
        encryption: str | None = None,
        hidden_accounts: bool | None = None,
        talk_record: str | Path | None = None,
    ) -> None:
        chosen = profile if isinstance(profile, Profile) else load_profile(profile)
        if encryption is not None:  # the encrypted FunSDK session: off, optional, required
            chosen = chosen.with_encryption(encryption)
        media = {
            name: Path(value)
            for name, value in (("main", video), ("extra", sub_video), ("audio", audio))
            if value is not None
        }
        if media or no_audio:  # the clips to stream: xmcam.sim.media
            chosen = chosen.with_media(no_audio=no_audio, **media)
        if serial is not None or mac is not None:  # several devices of one profile, told apart
            chosen = with_identity(chosen, serial=serial, mac=mac)
        if channels is not None:
            chosen = chosen.with_channels(channels)
        if user is not None or password is not None:
            chosen = chosen.with_password(user or "admin", sofia_hash(password or ""))
        # The profile's hidden accounts (`default`: CVE-2018-17919) are disabled once the
        # device has a password of its own, unless asked for or the profile keeps them.
        if hidden_accounts is None:
            hidden_accounts = password is None or chosen.keep_hidden_accounts
        chosen = chosen.with_hidden_accounts(hidden_accounts, besides=user or "admin")
        self.profile = chosen
        self.host = host
        self.port = port
        self.faults = faults or Faults()
        self.alarm_every = alarm_every
        self.links: dict[int, _Link] = {}
        self.reboots = 0
        path = Path(state_path) if state_path is not None else None
        # Without a clock of its own, the device keeps the event loop's time: a loop whose
        # clock skips idle waits (a test's virtual time) then drives expiries and lockouts too.
        self.device = SimulatedDevice(
            chosen, state_path=path, clock=clock or _loop_time, wall_clock=wall_clock
        )
        if chosen.media != MediaSettings():  # named files are read now: a bad one is refused
            self.device.media.library.check()
        if recordings is not None:
            source = Path(recordings) if isinstance(recordings, str | Path) else recordings
            self.device.media.catalogue = load_recordings(source)
        if talk_record is not None:  # a WAV of each talk session: sim/talk.py
            self.device.talk.record_dir = Path(talk_record)
        # The live streams and downloads: sim/streaming.py.
        self.streams = MediaStreams(self.device.media, self.links, self.faults)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._rebooting = False
        # UDP discovery (None: off; 0: a free port) and the alarm-center push: sim/discovery.py
        # and sim/alarm_push.py.
        self.discovery_port = discovery_port
        self.discovery: DiscoveryResponder | None = None
        serial = chosen.system_info.get("SerialNo")
        self.alarm_push = AlarmCenterPusher(
            self.device.state, serial=str(serial) if serial is not None else "", host=host
        )
        self.device.on_alarm = self.alarm_push.push  # every alarm, OPNetAlarm's (1506) too
        self._alarm_center = alarm_center

    @property
    def state(self) -> DeviceState:
        return self.device.state

    @property
    def session_count(self) -> int:
        return self.device.session_count

    @property
    def connection_count(self) -> int:
        return len(self.links)

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        await self._listen()
        self._stopping = False
        if self._alarm_center is not None:
            configure_alarm_center(self.state, *self._alarm_center)
        if self.discovery_port is not None and self.discovery is None:
            self.discovery = await DiscoveryResponder.open(
                self._net_common, self.host, self.discovery_port
            )
            self.discovery_port = self.discovery.port
        self._spawn(self._expiry_loop())
        if self.alarm_every:
            self._spawn(self._alarm_loop(self.alarm_every))
        log.info("simulating %s on %s:%d", self.profile.name, self.host, self.port)

    def _net_common(self) -> dict[str, Any]:
        """What a search reply says of the device, as it is now (the port it listens on)."""
        return net_common_of(
            self.state, host=self.host, port=self.port, channels=self.profile.channels.video
        )

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Link(self), self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._stopping = True
        if self.discovery is not None:
            self.discovery.close()
            self.discovery = None
        await self.alarm_push.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.streams.stop()
        await self._close_server()

    async def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self.drop_connections()
        if server is not None:
            await server.wait_closed()
        await asyncio.sleep(0)  # let the transports finish closing
        for link in list(self.links.values()):
            link.abort()  # clients that read nothing: their replies are dropped, not waited for
        await asyncio.sleep(0)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ what tests drive

    def trigger_alarm(
        self, channel: int = 0, event: str = "VideoMotion", status: str = "Start"
    ) -> int:
        """Raise (`Start`) or end (`Stop`) an alarm; returns how many sessions it was pushed to."""
        for link in self.links.values():  # the knob as it is now, not as at the last read
            if link.camera is not None:
                link.camera.omit_terminator = self.faults.omit_terminator
        count = self.device.alarm(channel, event, status)
        self.flush_pushes()
        return count

    def flush_pushes(self) -> None:
        for camera, frame in self.device.take_pushes():
            link = self.links.get(camera.number)
            if link is not None:
                link.send([frame])

    def drop_connections(self) -> None:
        """Close every client connection now, as a network cut would."""
        for link in list(self.links.values()):
            link.close()

    def reboot_soon(self) -> None:
        """Reboot after the replies of this read have gone; a reboot under way is not
        started again (two OPMachine requests in one read reboot once)."""
        if not self._rebooting:
            self._rebooting = True
            self._spawn(self.restart(self.profile.quirks.reboot_delay))

    async def restart(self, delay: float = 0.0) -> None:
        """Reboot: drop every connection, stop listening, and listen again on the same port
        after `delay` seconds. State survives; sessions do not."""
        self._rebooting = True
        try:
            await asyncio.sleep(0.05)  # let the reply to the reboot request leave first
            self.reboots += 1
            await self._close_server()
            log.info("rebooting: back in %.1f s", delay)
            await asyncio.sleep(delay)
            if not self._stopping:
                self.device.started_at = self.device.clock()
                await self._listen()
        finally:
            self._rebooting = False

    async def report_upgrade(
        self, link: _Link, camera: CameraConnection, outcome: UpgradeOutcome
    ) -> None:
        """The device's side of an upgrade once the image is in (sim/upgrade.py): a bad
        image's 513/514 at once; for a good one its progress in 1524 frames, one every
        `upgrade_step_delay` seconds, the new version installed, 515, and the reboot
        (`upgrade_end` leaves out the 515, or everything after the progress)."""
        quirks = self.profile.quirks

        def report(ret: int) -> None:
            if not link.closing and camera.session_id is not None:
                link.send([camera.progress(ret)])

        if outcome.ret != Ret.UPGRADE_SUCCEEDED:
            report(self.device.finish_upgrade(outcome))
            return
        for percent in PROGRESS_STEPS:
            await asyncio.sleep(quirks.upgrade_step_delay)
            report(percent)
        await asyncio.sleep(quirks.upgrade_step_delay)
        if quirks.upgrade_end == "silent":  # a flash that hangs: nothing more, nothing installed
            self.device.upgrading = None
            return
        ret = self.device.finish_upgrade(outcome)
        if ret != Ret.UPGRADE_SUCCEEDED:
            report(ret)
            return
        if quirks.upgrade_end == "515":
            report(ret)
        self.reboot_soon()

    # ------------------------------------------------------------------ background work

    def spawn(self, coroutine: Any) -> None:
        """Run `coroutine` in the background until it ends or the simulator stops."""
        self._spawn(coroutine)

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expiry_loop(self) -> None:
        period = min(1.0, self.profile.alive_interval / 4)
        while True:
            await asyncio.sleep(period)
            for camera in self.device.expired():
                log.info("connection %d expired (nothing received in time)", camera.number)
                link = self.links.get(camera.number)
                if link is not None:
                    link.close()
                else:  # pragma: no cover - a connection is always linked while open
                    camera.close()

    async def _alarm_loop(self, every: float) -> None:
        status = "Start"
        while True:
            await asyncio.sleep(every)
            self.trigger_alarm(0, "VideoMotion", status)
            status = "Stop" if status == "Start" else "Start"


class SimulatorThread:
    """A `Simulator` on its own event loop in a background thread, for blocking code.

    >>> with SimulatorThread() as camera:          # doctest: +SKIP
    ...     print(camera.port)
    """

    def __init__(self, profile: Profile | str | Path | None = None, **options: Any) -> None:
        self.simulator = Simulator(profile, **options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self.simulator.host

    @property
    def port(self) -> int:
        return self.simulator.port

    @property
    def faults(self) -> Faults:
        return self.simulator.faults

    @property
    def state(self) -> DeviceState:
        return self.simulator.state

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.simulator.start())
            except BaseException as error:  # handed to the starting thread, raised there
                ready.set_exception(error)
                return
            ready.set_result(None)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="xmcam-sim", daemon=True)
        self._thread.start()
        try:
            ready.result(timeout=10)
        except BaseException:
            self._shutdown()
            raise

    def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a function on the simulator's loop and return its result."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the simulator thread is not running")

        async def run() -> T:
            return function(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    def run(self, coroutine: Any) -> Any:
        """Await a coroutine on the simulator's loop (e.g. `simulator.restart(0.1)`)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the simulator thread is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)

    def trigger_alarm(
        self, channel: int = 0, event: str = "VideoMotion", status: str = "Start"
    ) -> int:
        return self.call(self.simulator.trigger_alarm, channel, event, status)

    def drop_connections(self) -> None:
        self.call(self.simulator.drop_connections)

    def stop(self) -> None:
        if self._loop is None:
            return
        with contextlib.suppress(Exception):
            self.run(self.simulator.stop())
        self._shutdown()

    def _shutdown(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return

        async def cancel_rest() -> None:
            current = asyncio.current_task()
            rest = [task for task in asyncio.all_tasks() if task is not current]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)
            await loop.shutdown_asyncgens()
            loop.stop()

        loop.call_soon_threadsafe(lambda: loop.create_task(cancel_rest()))
        if thread is not None:
            thread.join(timeout=10)
        loop.close()

    def __enter__(self) -> SimulatorThread:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
