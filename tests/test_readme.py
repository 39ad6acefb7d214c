"""The README's library example runs as written, over a real loopback socket, against the
demo's scripted camera (the device role of the same core)."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from xmcam.cli.demo import DemoCamera

README = Path(__file__).parent.parent / "README.md"


@contextlib.contextmanager
def camera_on_loopback() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        connection, _ = server.accept()
        camera = DemoCamera()
        with connection:
            while data := connection.recv(65536):
                for answer in camera.receive(data):
                    connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        thread.join(timeout=10)
        server.close()


def test_readme_library_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert code is not None
    with camera_on_loopback() as port:
        source = code.group(1).replace('("192.168.1.10", 34567)', f'("127.0.0.1", {port})')
        assert f'127.0.0.1", {port}' in source
        exec(compile(source, "README.md", "exec"), {})  # noqa: S102 - our own README
    assert capsys.readouterr().out == "HI3516D_83H50N V4.03.R12.G7914927.12012.145902.0020000\n"


def test_readme_names_both_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "xmcam demo" in text
    assert "bash .ci/run" in text
