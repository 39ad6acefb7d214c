"""A bare DVRIP client for the simulator's media tests: the core's client role on an asyncio
stream, with the media requests of the wire contract spelled out by hand (the real clients
live in xmcam.aio and xmcam.sync; these tests check the device side byte by byte)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from xmcam.media.demux import MediaDemuxer
from xmcam.media.frames import MediaFrame
from xmcam.protocol import ClientConnection, ClientEvent, MediaPacket, MessageId, Reply
from xmcam.sim import Simulator

TIMEOUT = 3.0


class DvripSocket:
    """One TCP connection to the simulator. Media packets read while waiting for a reply are
    kept in `packets`, in order."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        protocol: ClientConnection,
    ) -> None:
        self.reader, self.writer, self.protocol = reader, writer, protocol
        self.events: list[ClientEvent] = []
        self.packets: list[MediaPacket] = []

    @classmethod
    async def open(
        cls,
        simulator: Simulator,
        protocol: ClientConnection | None = None,
        *,
        receive_buffer: int | None = None,
        source: str | None = None,
    ) -> DvripSocket:
        """A connection; from the loopback address `source` (127.0.0.2, ...: another
        host, as the simulator sees it) when given."""
        if receive_buffer is None:
            local = (source, 0) if source is not None else None
            reader, writer = await asyncio.open_connection(
                simulator.host, simulator.port, local_addr=local
            )
        else:  # a small kernel buffer: a client that does not read fills it soon
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (simulator.host, simulator.port))
            reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer, protocol or ClientConnection())

    @classmethod
    async def logged_in(
        cls, simulator: Simulator, *, password: str = "", source: str | None = None
    ) -> DvripSocket:
        control = await cls.open(simulator, source=source)
        control.send(control.protocol.login("admin", password))
        reply = await control.reply()
        assert reply.ok
        return control

    async def media_for(self, simulator: Simulator, *, source: str | None = None) -> DvripSocket:
        """A second connection joining this one's session, not logged in itself (from the
        loopback address `source` when given)."""
        return await DvripSocket.open(
            simulator, ClientConnection.for_session(self.protocol.session_id), source=source
        )

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def event(self, timeout: float = TIMEOUT) -> ClientEvent:
        while not self.events:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionResetError("closed by the simulator")
            self.events += self.protocol.receive_data(data)
        return self.events.pop(0)

    async def reply(self, timeout: float = TIMEOUT) -> Reply:
        while True:
            event = await self.event(timeout)
            if isinstance(event, Reply):
                return event
            assert isinstance(event, MediaPacket), event
            self.packets.append(event)

    async def call(self, message_id: int, body: dict[str, Any]) -> Reply:
        self.send(self.protocol.request(message_id, body))
        return await self.reply()

    async def packet(self, timeout: float = TIMEOUT) -> MediaPacket:
        if self.packets:
            return self.packets.pop(0)
        event = await self.event(timeout)
        assert isinstance(event, MediaPacket), event
        return event

    async def closed_by_peer(self, timeout: float = TIMEOUT) -> bool:
        """Read (and drop) until the simulator closes the connection."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), timeout):
                pass
        except ConnectionError:
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def monitor(action: str, channel: int = 0, stream: str = "Main") -> dict[str, Any]:
    parameter = {"Channel": channel, "CombinMode": "NONE", "StreamType": stream, "TransMode": "TCP"}
    return {"Name": "OPMonitor", "OPMonitor": {"Action": action, "Parameter": parameter}}


async def claim(
    simulator: Simulator,
    control: DvripSocket,
    channel: int = 0,
    stream: str = "Main",
    *,
    action: str = "Claim",
) -> tuple[DvripSocket, Reply]:
    """The vendor flow's claim on a second connection: the media socket and the claim's reply."""
    media = await control.media_for(simulator)
    reply = await media.call(MessageId.MONITOR_CLAIM_REQ, monitor(action, channel, stream))
    return media, reply


async def live(
    simulator: Simulator, channel: int = 0, stream: str = "Main"
) -> tuple[DvripSocket, DvripSocket]:
    """A started live stream in the two-connection flow: (control, media)."""
    control = await DvripSocket.logged_in(simulator)
    media, reply = await claim(simulator, control, channel, stream)
    assert reply.ret == 100
    assert (await control.call(MessageId.MONITOR_REQ, monitor("Start", channel, stream))).ret == 100
    return control, media


async def frames_of(
    connection: DvripSocket, count: int, demuxer: MediaDemuxer | None = None
) -> tuple[list[MediaFrame], list[MediaPacket]]:
    """At least `count` frames from the media packets arriving on a connection, and the
    packets they came in."""
    demuxer = demuxer or MediaDemuxer()
    frames: list[MediaFrame] = []
    packets: list[MediaPacket] = []
    while len(frames) < count:
        packet = await connection.packet()
        packets.append(packet)
        frames += demuxer.feed(packet.frame.payload)
    return frames, packets
