"""`split_host_port`: the one reading of "HOST[:PORT]" for the library and the CLI, and both
cameras taking "HOST:PORT" as the CLI does."""

from __future__ import annotations

import asyncio

import pytest

import xmcam
from xmcam.client.settings import DEFAULT_PORT, split_host_port
from xmcam.sim import SimulatorThread


@pytest.mark.parametrize(
    ("text", "port", "expected"),
    [
        ("cam.lan", None, ("cam.lan", DEFAULT_PORT)),
        ("cam.lan", 80, ("cam.lan", 80)),
        ("127.0.0.1:45185", None, ("127.0.0.1", 45185)),
        ("127.0.0.1:45185", 45185, ("127.0.0.1", 45185)),
        ("[::1]:34568", None, ("::1", 34568)),
        ("[::1]", None, ("::1", DEFAULT_PORT)),
        ("::1", None, ("::1", DEFAULT_PORT)),  # a bare IPv6 address has no port
        ("fe80::1", 81, ("fe80::1", 81)),
    ],
)
def test_split_host_port(text: str, port: int | None, expected: tuple[str, int]) -> None:
    assert split_host_port(text, port) == expected


@pytest.mark.parametrize(
    ("text", "port", "message"),
    [
        ("127.0.0.1:45185", 34567, "two ports"),
        ("[::1", None, r"expected \[ADDRESS\]:PORT"),
        ("[::1]x", None, r"expected \[ADDRESS\]:PORT"),
        (":80", None, "the name is empty"),
        ("cam:0", None, "bad port"),
        ("cam:65536", None, "bad port"),
        ("cam:²", None, "bad port"),
    ],
)
def test_malformed_addresses_are_value_errors(text: str, port: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_host_port(text, port)


def test_both_cameras_take_host_colon_port() -> None:
    with SimulatorThread() as sim:
        address = f"127.0.0.1:{sim.port}"
        with xmcam.Camera(address, timeout=2) as camera:
            assert (camera.host, camera.port) == ("127.0.0.1", sim.port)
            assert camera.system_info().model

        async def use() -> str | None:
            async with xmcam.connect(address, timeout=2) as camera:
                return (await camera.system_info()).model

        assert asyncio.run(use())
        assert xmcam.AsyncCamera(address).port == sim.port
    with pytest.raises(ValueError, match="two ports"):
        xmcam.AsyncCamera(address, port=sim.port + 1)
