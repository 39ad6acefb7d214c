"""The blocking Link on one end of a socket pair, the test playing the device on the other:
replies, media routed while a reply is awaited, and every failure mapped the same way on the
control connection and on a data connection (the link ends with it)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from xmcam.client import operations as ops
from xmcam.errors import (
    ConfigNotFoundError,
    ConnectionClosedError,
    FrameError,
    RequestTimeoutError,
    StateError,
)
from xmcam.protocol.codes import MessageId
from xmcam.protocol.connection import ClientConnection, Reply
from xmcam.protocol.framing import Frame, encode_frame
from xmcam.protocol.payload import DEVICE_TERMINATOR, encode_body
from xmcam.sync.link import Link

CONFIG_GET = ops.Call(MessageId.CONFIG_GET_REQ, {"Name": "General.General"})
NAMES = ["connection", "data connection"]


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, device = socket.socketpair()
    with ours, device:
        yield ours, device


def reply_to(request_id: int, body: dict[str, object]) -> bytes:
    return encode_frame(request_id + 1, encode_body(body, DEVICE_TERMINATOR), session_id=1)


def link_on(sock: socket.socket, name: str = "connection") -> Link:
    return Link(sock, ClientConnection.for_session(1), name)


def test_a_call_and_its_reply(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, device = pair
    link = link_on(ours)
    device.sendall(reply_to(CONFIG_GET.message_id, {"Ret": 100, "General.General": {"A": 1}}))
    before = link.last_reply
    reply = link.call(CONFIG_GET, 1.0)
    assert isinstance(reply, Reply)
    assert reply.body.get("General.General") == {"A": 1}
    assert link.last_reply >= before
    assert link.logged_in
    assert device.recv(65536)[14:16] == struct.pack("<H", CONFIG_GET.message_id)


def test_a_named_request_and_its_reply(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, device = pair
    link = link_on(ours)
    device.sendall(reply_to(MessageId.SYSINFO_REQ, {"Ret": 100, "SystemInfo": {"A": 1}}))
    reply = link.ask(MessageId.SYSINFO_REQ, "SystemInfo", 1.0)
    assert reply.body.get("SystemInfo") == {"A": 1}
    request = device.recv(65536)
    assert request[20:] == encode_body({"Name": "SystemInfo", "SessionID": "0x00000001"})
    device.sendall(reply_to(MessageId.CONFIG_GET_REQ, {"Ret": 607}))
    with pytest.raises(ConfigNotFoundError):  # a failure Ret: raised, and the link goes on
        link.ask(MessageId.CONFIG_GET_REQ, "No.Such", 1.0)
    assert link.logged_in
    link.close()
    with pytest.raises(ConnectionClosedError):
        link.ask(MessageId.SYSINFO_REQ, "SystemInfo", 1.0)


def test_a_named_request_answered_by_media_is_refused(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    # A snapshot is answered by JPEG packets, never by a reply: not a request for ask().
    ours, device = pair
    link = link_on(ours)
    jpeg = encode_frame(MessageId.NET_SNAP_RSP, b"\xff\xd8", session_id=1, current_packet=1)
    device.sendall(jpeg)
    with pytest.raises(StateError, match="without a reply"):
        link.ask(MessageId.NET_SNAP_REQ, "OPSNAP", 1.0)


def answer(device: socket.socket, bodies: list[dict[str, object]]) -> threading.Thread:
    """A device thread: reads one request per body, then sends that body as its reply."""

    def device_side() -> None:
        for body in bodies:
            request = device.recv(65536)
            device.sendall(reply_to(struct.unpack_from("<H", request, 14)[0], body))

    thread = threading.Thread(target=device_side)
    thread.start()
    return thread


def test_a_procedure_meets_a_failure_ret_and_the_link_goes_on(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, device = pair
    link = link_on(ours)
    general = {"MachineName": "cam"}
    device_side = answer(device, [{"Ret": 607}, {"Ret": 100, "General.General": general}])
    try:  # 607: unknown; General.General is device-wide (no SystemInfo asked first)
        exported = link.run(ops.export_config(["No.Such", "General.General"]), 1.0)
        assert exported == {"General.General": general}
    finally:
        device_side.join(10)
    assert link.logged_in


@pytest.mark.parametrize("name", NAMES)
def test_a_timeout_is_a_request_timeout_on_every_connection(
    pair: tuple[socket.socket, socket.socket], name: str
) -> None:
    link = link_on(pair[0], name)
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match=r"no reply to CONFIG_GET_REQ within 0\.05 s"):
        link.call(CONFIG_GET, 0.05)
    assert time.monotonic() - started < 1.0
    # Desynchronised: a late reply would answer the next request, so the link has ended.
    assert not link.logged_in
    assert isinstance(link.error, ConnectionClosedError)
    with pytest.raises(ConnectionClosedError):
        link.call(CONFIG_GET, 0.05)


@pytest.mark.parametrize("name", NAMES)
def test_the_peer_closing_is_a_closed_connection_on_every_connection(
    pair: tuple[socket.socket, socket.socket], name: str
) -> None:
    ours, device = pair
    link = link_on(ours, name)
    device.shutdown(socket.SHUT_WR)
    with pytest.raises(ConnectionClosedError, match=f"the camera closed the {name}$"):
        link.call(CONFIG_GET, 1.0)
    assert link.error is not None
    assert not link.logged_in


def test_bad_bytes_end_the_link_with_the_protocol_error(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, device = pair
    link = link_on(ours)
    device.sendall(b"\x00" * 20)  # not a header
    with pytest.raises(FrameError):
        link.call(CONFIG_GET, 1.0)
    assert isinstance(link.error, FrameError)


Sunk = tuple[Link, socket.socket, list[Frame]]


@pytest.fixture
def sunk(pair: tuple[socket.socket, socket.socket]) -> Sunk:
    """A link whose live-stream packets go to a list; the device's end of the socket."""
    link = link_on(pair[0])
    packets: list[Frame] = []
    link.media_sinks[MessageId.MONITOR_DATA] = packets.append
    return link, pair[1], packets


def test_media_goes_to_its_sink_while_a_reply_is_awaited(sunk: Sunk) -> None:
    link, device, packets = sunk
    media = encode_frame(MessageId.MONITOR_DATA, b"\x00\x00\x01\xfc" + b"x" * 100, session_id=1)
    device.sendall(media + media + reply_to(CONFIG_GET.message_id, {"Ret": 100, "A": {}}))
    assert link.call(CONFIG_GET, 1.0) is not None
    assert [len(packet.payload) for packet in packets] == [104, 104]


def test_what_arrives_while_idle_is_read_without_blocking(sunk: Sunk) -> None:
    link, device, packets = sunk
    assert link.still_open(64)  # nothing arrived: no wait
    device.sendall(encode_frame(MessageId.MONITOR_DATA, b"data", session_id=1))
    assert link.still_open(64)
    assert [packet.payload for packet in packets] == [b"data"]
    device.shutdown(socket.SHUT_WR)
    assert not link.still_open(64)
    assert isinstance(link.error, ConnectionClosedError)


def test_a_forced_logout_ends_the_link(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, device = pair
    link = link_on(ours)
    device.sendall(encode_frame(MessageId.FORCELOGOUT_REQ, b"", session_id=1))
    with pytest.raises(ConnectionClosedError, match="forced logout"):
        link.read_ready(4)
    assert not link.logged_in


def test_an_interrupted_request_ends_the_link(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, device = pair
    link = link_on(ours)

    def interrupt(frame: Frame) -> None:
        raise KeyboardInterrupt

    link.media_sinks[MessageId.MONITOR_DATA] = interrupt
    device.sendall(encode_frame(MessageId.MONITOR_DATA, b"data", session_id=1))
    with pytest.raises(KeyboardInterrupt):
        link.call(CONFIG_GET, 1.0)
    assert isinstance(link.error, ConnectionClosedError)  # the request is left outstanding


def test_a_request_larger_than_the_send_buffer_waits_for_room(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, device = pair
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    link = link_on(ours)
    call = ops.Call(MessageId.CONFIG_SET_REQ, {"Name": "X", "X": "y" * 300_000})
    received = bytearray()

    def device_side() -> None:
        while len(received) < 20 or len(received) < 20 + struct.unpack_from("<I", received, 16)[0]:
            time.sleep(0.001)  # a device slower than the client: the client's buffer fills
            received.extend(device.recv(8192))
        device.sendall(reply_to(call.message_id, {"Ret": 100}))

    thread = threading.Thread(target=device_side)
    thread.start()
    try:
        assert link.call(call, 5.0) is not None
    finally:
        thread.join(10)
    assert b"y" * 300_000 in received
    assert link.logged_in


def test_a_refused_connection_is_a_closed_connection() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ConnectionClosedError, match=f"cannot connect to 127.0.0.1:{port}"):
        Link.open("127.0.0.1", port, 1.0)


def test_a_call_without_reply_is_sent_and_done(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, device = pair
    link = link_on(ours)
    assert link.run(ops.unguard(), 1.0) is None
    assert device.recv(65536)[14:16] == struct.pack("<H", MessageId.UNGUARD_REQ)
    assert link.logged_in


def test_a_failed_send_is_a_closed_connection(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, device = pair
    link = link_on(ours)
    device.close()
    with pytest.raises(ConnectionClosedError, match="sending failed"):
        link.call(CONFIG_GET, 1.0)
    assert not link.logged_in


def test_a_request_the_device_never_takes_times_out(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _device = pair  # never reads
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    link = link_on(ours)
    call = ops.Call(MessageId.CONFIG_SET_REQ, {"Name": "X", "X": "y" * 3_000_000})
    with pytest.raises(RequestTimeoutError, match=r"CONFIG_SET_REQ within 0\.1 s"):
        link.call(call, 0.1)
    assert not link.logged_in
