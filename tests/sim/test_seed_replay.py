"""The default profile is the seed's camera: the seed's requests, sent over TCP to a running
simulator, get the seed's replies byte for byte, header and body.

The conversation is the seed's: login (frame 0), SystemInfo (2), alarm guard (not captured;
its reply is frame 4), KeepAlive (5), alarm out MANUAL (7) and CLOSE (9), unguard (10), then
one more KeepAlive. Only `DeviceRunTime` in the SystemInfo reply is live by nature; it is
compared masked. The CLOSE request is not answered in the capture; its reply is the MANUAL
one's (frame 8) with the request's sequence number, 2. The unguard gets nothing, which the
KeepAlive after it proves without waiting for a timeout: its reply is the next bytes.

Each conversation is written three ways: one request at a time (each reply read before the
next request), byte by byte, and all requests joined in one write.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from typing import Final

import pytest

from tests.seed import SEED_FRAMES
from xmcam.protocol import ClientConnection
from xmcam.sim import SimulatorThread, load_profile

HEADER_SIZE: Final = 20
SEQUENCE: Final = slice(8, 12)
TIMEOUT: Final = 5.0
_RUN_TIME: Final = re.compile(rb'("DeviceRunTime" ?: ?"0x)[0-9A-F]{8}(")')


def _guard_request() -> bytes:
    # The seed's client logged in as session 1; {"Name": ""} with its SessionID is the guard
    # request every XM client sends (docs/protocol.md §9).
    return ClientConnection.for_session(1).request(1500, {"Name": ""})


def _with_sequence(frame: bytes, sequence: int) -> bytes:
    return frame[: SEQUENCE.start] + sequence.to_bytes(4, "little") + frame[SEQUENCE.stop :]


def _conversation() -> list[tuple[bytes, bytes | None]]:
    """(request, the reply it gets or None) in the seed's order."""
    frames = [frame.payload for frame in SEED_FRAMES]
    return [
        (frames[0], frames[1]),  # login
        (frames[2], frames[3]),  # SystemInfo
        (_guard_request(), frames[4]),  # guard
        (frames[5], frames[6]),  # KeepAlive
        (frames[7], frames[8]),  # alarm out MANUAL
        (frames[9], _with_sequence(frames[8], 2)),  # alarm out CLOSE
        (frames[10], None),  # unguard: no reply, as in the seed
        (frames[5], frames[6]),  # KeepAlive: its reply is the next thing on the wire
    ]


def _masked(frame: bytes) -> bytes:
    masked, count = _RUN_TIME.subn(rb"\g<1>--------\g<2>", frame)
    assert count <= 1
    return masked


def _read_frame(sock: socket.socket) -> bytes:
    header = _read_exactly(sock, HEADER_SIZE)
    length = int.from_bytes(header[16:20], "little")
    assert length < 64 * 1024
    return header + _read_exactly(sock, length)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"the simulator closed the connection after {len(data)} of {size} bytes"
        data += chunk
    return bytes(data)


@pytest.fixture
def simulator() -> Iterator[SimulatorThread]:
    # The seed's camera numbered its sessions from 1; the simulator's own ids are random
    # unless the profile says `session_ids: sequential`.
    with SimulatorThread(load_profile().with_quirks(session_ids="sequential")) as running:
        yield running


@pytest.fixture
def connection(simulator: SimulatorThread) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", simulator.port), timeout=TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        yield sock


def _check_replies(sock: socket.socket, expected: list[bytes]) -> None:
    for index, reply in enumerate(expected):
        got = _read_frame(sock)
        assert _masked(got) == _masked(reply), f"reply {index}"
        assert len(got) == len(reply)


def test_the_masks_cover_only_the_run_time() -> None:
    system_info = SEED_FRAMES[3].payload
    assert _masked(system_info) != system_info
    assert _masked(system_info).count(b"--------") == 1
    assert _masked(SEED_FRAMES[6].payload) == SEED_FRAMES[6].payload
    assert _with_sequence(SEED_FRAMES[8].payload, 2) != SEED_FRAMES[8].payload
    assert _with_sequence(SEED_FRAMES[8].payload, 1) == SEED_FRAMES[8].payload


def test_one_request_at_a_time(connection: socket.socket, simulator: SimulatorThread) -> None:
    for index, (request, reply) in enumerate(_conversation()):
        connection.sendall(request)
        if reply is not None:
            got = _read_frame(connection)
            assert _masked(got) == _masked(reply), f"request {index}"
    # The seed's session, guarded then unguarded; the alarm output last set to CLOSE.
    assert simulator.call(lambda: simulator.simulator.session_count) == 1
    assert simulator.trigger_alarm() == 0


def test_byte_by_byte(connection: socket.socket) -> None:
    conversation = _conversation()
    wire = b"".join(request for request, _ in conversation)
    for offset in range(len(wire)):
        connection.sendall(wire[offset : offset + 1])
        if offset % 64 == 0:
            time.sleep(0)  # let the simulator's reads see single bytes
    _check_replies(connection, [reply for _, reply in conversation if reply is not None])


def test_all_in_one_write(connection: socket.socket) -> None:
    conversation = _conversation()
    connection.sendall(b"".join(request for request, _ in conversation))
    _check_replies(connection, [reply for _, reply in conversation if reply is not None])


def test_a_fresh_simulator_reports_the_seeds_run_time(connection: socket.socket) -> None:
    # Up for less than a minute, it adds nothing to the seed's DeviceRunTime: every byte of
    # the SystemInfo reply is the seed's, unmasked.
    connection.sendall(SEED_FRAMES[0].payload + SEED_FRAMES[2].payload)
    assert _read_frame(connection) == SEED_FRAMES[1].payload
    assert _read_frame(connection) == SEED_FRAMES[3].payload
