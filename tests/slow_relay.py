"""A TCP relay on 127.0.0.1 that slows what a server sends, for tests that must catch a real
process in the middle of a transfer the server would otherwise finish in milliseconds (the
simulator sends a download as fast as the socket takes it).

Each connection made to the relay gets its own connection to the server; what the client
sends passes at once, what the server sends passes `chunk` bytes at a time with `pause`
seconds between the pieces. Blocking sockets and threads: it serves a process the test
started, whatever loop the test runs.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Self

__all__ = ["SlowRelay"]


class SlowRelay:
    def __init__(self, target_port: int, *, chunk: int = 2048, pause: float = 0.02) -> None:
        self.target_port = target_port
        self.chunk = chunk
        self.pause = pause
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()

    def __enter__(self) -> Self:
        self._start(self._accept)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closed.set()
        for thread in self._threads[:1]:  # the accepting thread: no socket is added after it
            thread.join(timeout=10)
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in list(self._threads):
            thread.join(timeout=10)

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        # A blocked accept() does not wake when another thread closes the socket: look at
        # `_closed` a few times a second instead.
        self._listener.settimeout(0.1)
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            self._sockets += [client, server]
            self._start(self._pump, client, server, None)
            self._start(self._pump, server, client, self.pause)

    def _pump(self, source: socket.socket, sink: socket.socket, pause: float | None) -> None:
        with contextlib.suppress(OSError):
            while not self._closed.is_set():
                data = source.recv(self.chunk if pause is not None else 65536)
                if not data:
                    break
                sink.sendall(data)
                if pause is not None:
                    time.sleep(pause)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
