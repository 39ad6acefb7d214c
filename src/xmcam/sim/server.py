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
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar

from xmcam.errors import ProtocolError
from xmcam.protocol import sofia_hash
from xmcam.sim.commands import Effect
from xmcam.sim.device import CameraConnection, SimulatedDevice
from xmcam.sim.faults import Faults, garbage_frame, reply_request_id
from xmcam.sim.profile import Profile, load_profile
from xmcam.sim.state import DeviceState

__all__ = ["Simulator", "SimulatorThread"]

log = logging.getLogger("xmcam.sim")

_COALESCE_WINDOW: Final = 0.02  # seconds a reply is held to share a write with the next
_CHUNK_GAP: Final = 0.0005  # seconds between the pieces of a split write

P = ParamSpec("P")
T = TypeVar("T")


class _Link(asyncio.Protocol):
    """One accepted TCP connection."""

    def __init__(self, simulator: Simulator) -> None:
        self._simulator = simulator
        self._transport: asyncio.Transport | None = None
        self.camera: CameraConnection | None = None
        self._held: list[bytes] = []
        self._flush_scheduled = False
        self._pieces_until = 0.0  # loop time of the last queued piece of a split write
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
        self.camera = self._simulator.device.open_connection()
        if self.camera is None:
            log.warning("refused %s: TCPMaxConn connections are open already", self.peer)
            transport.abort()
            return
        self._simulator.links[self.camera.number] = self
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
        self._after(camera)

    def _after(self, camera: CameraConnection) -> None:
        while camera.effects:
            effect = camera.effects.pop(0)
            if effect is Effect.REBOOT:
                self._simulator.reboot_soon()
            elif effect is Effect.CLOSE:
                self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.camera is not None:
            self._simulator.links.pop(self.camera.number, None)
            self.camera.close()
            log.debug("connection %d closed", self.camera.number)

    # ------------------------------------------------------------------ writing

    def send(self, frames: list[bytes]) -> None:
        """Write frames, through the fault knobs."""
        if not frames:
            return
        faults = self._simulator.faults
        if faults.garbage:
            frames = [part for frame in frames for part in (garbage_frame(), frame)]
        if faults.reply_delay > 0:
            loop = asyncio.get_running_loop()
            loop.call_later(faults.reply_delay, self._write, b"".join(frames))
        elif faults.coalesce:
            self._held.extend(frames)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_later(_COALESCE_WINDOW, self._flush_held)
        else:
            for frame in frames:
                self._write(frame)

    def _flush_held(self) -> None:
        self._flush_scheduled = False
        held, self._held = self._held, []
        self._write(b"".join(held))

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing() or not data:
            return
        chunk = self._simulator.faults.write_chunk
        loop = asyncio.get_running_loop()
        if chunk is None or chunk <= 0 or (len(data) <= chunk and loop.time() > self._pieces_until):
            transport.write(data)
            return
        # The pieces of an earlier write may still be queued: these go after them, never
        # between (each piece at its own time: timers due at the same time run in any order).
        first = max(loop.time(), self._pieces_until + _CHUNK_GAP)
        offsets = range(0, len(data), chunk)
        for index, start in enumerate(offsets):
            piece = data[start : start + chunk]
            loop.call_at(first + index * _CHUNK_GAP, self._write_piece, piece)
        self._pieces_until = first + (len(offsets) - 1) * _CHUNK_GAP

    def _write_piece(self, piece: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(piece)

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


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
    ) -> None:
        chosen = profile if isinstance(profile, Profile) else load_profile(profile)
        if channels is not None:
            chosen = chosen.with_channels(channels)
        if user is not None or password is not None:
            chosen = chosen.with_password(user or "admin", sofia_hash(password or ""))
        self.profile = chosen
        self.host = host
        self.port = port
        self.faults = faults or Faults()
        self.alarm_every = alarm_every
        self.links: dict[int, _Link] = {}
        self.reboots = 0
        path = Path(state_path) if state_path is not None else None
        options: dict[str, Any] = {"state_path": path, "wall_clock": wall_clock}
        if clock is not None:
            options["clock"] = clock
        self.device = SimulatedDevice(chosen, **options)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

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
        self._spawn(self._expiry_loop())
        if self.alarm_every:
            self._spawn(self._alarm_loop(self.alarm_every))
        log.info("simulating %s on %s:%d", self.profile.name, self.host, self.port)

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Link(self), self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_server()

    async def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self.drop_connections()
        if server is not None:
            await server.wait_closed()
        await asyncio.sleep(0)  # let the transports finish closing

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
        self._spawn(self.restart(self.profile.quirks.reboot_delay))

    async def restart(self, delay: float = 0.0) -> None:
        """Reboot: drop every connection, stop listening, and listen again on the same port
        after `delay` seconds. State survives; sessions do not."""
        await asyncio.sleep(0.05)  # let the reply to the reboot request leave first
        self.reboots += 1
        await self._close_server()
        log.info("rebooting: back in %.1f s", delay)
        await asyncio.sleep(delay)
        if not self._stopping:
            self.device.started_at = self.device.clock()
            await self._listen()

    # ------------------------------------------------------------------ background work

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
