"""A minimal blocking client of the encrypted FunSDK session, on the core alone: a socket and a
`ClientConnection`, for the simulator's tests (the library's own clients come on top of the
same core calls). Never used against anything but 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from xmcam.protocol import (
    AlarmMessage,
    ClientConnection,
    ClientEvent,
    LoginReply,
    NegotiationReply,
    Reply,
)

READ_SIZE = 65536


class EncryptedTestClient:
    """connect → negotiate → login (encrypted or plain) → call ..., each step blocking."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.connection = ClientConnection()
        self.alarms: list[dict[str, Any]] = []
        self._events: list[ClientEvent] = []

    def close(self) -> None:
        self.sock.close()

    def send(self, wire: bytes) -> None:
        self.sock.sendall(wire)

    def next_event(self) -> ClientEvent:
        """The next event that is not an alarm (alarms are kept in `alarms`). Raises
        ConnectionError at EOF, the core's ProtocolError on bad bytes, TimeoutError."""
        while True:
            while self._events:
                event = self._events.pop(0)
                if isinstance(event, AlarmMessage):
                    self.alarms.append(event.body.data)
                    continue
                return event
            data = self.sock.recv(READ_SIZE)
            if not data:
                self.connection.connection_lost()
                raise ConnectionError("the camera closed the connection")
            self._events.extend(self.connection.receive_data(data))

    def negotiate(self) -> NegotiationReply:
        self.send(self.connection.negotiate())
        event = self.next_event()
        assert isinstance(event, NegotiationReply), event
        return event

    def login(
        self, user: str = "admin", password: str = "", *, encrypted: bool = True
    ) -> LoginReply:
        """One login attempt; encrypted after a negotiation that offered a key."""
        if encrypted:
            if self.connection.offer is None:
                self.negotiate()
            wire = self.connection.login_encrypted(user, password)
        else:
            wire = self.connection.login(user, password)
        self.send(wire)
        event = self.next_event()
        assert isinstance(event, LoginReply), event
        return event

    def call(self, message_id: int, body: dict[str, Any] | None = None) -> Reply:
        self.send(self.connection.request(message_id, body or {}))
        event = self.next_event()
        assert isinstance(event, Reply), event
        return event

    def silence(self, message_id: int, body: dict[str, Any], wait: float = 0.3) -> bool:
        """Send a request as one that needs no answer, and report whether nothing came back
        within `wait` seconds (the connection stays usable)."""
        self.send(self.connection.request(message_id, body, expect_reply=False))
        timeout = self.sock.gettimeout()
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(READ_SIZE)
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(timeout)
        self._events.extend(self.connection.receive_data(data))
        return False


@contextmanager
def encrypted_client(host: str, port: int, **options: Any) -> Iterator[EncryptedTestClient]:
    client = EncryptedTestClient(host, port, **options)
    try:
        yield client
    finally:
        client.close()
