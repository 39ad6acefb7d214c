"""The asyncio client's `audit()` against the simulator on 127.0.0.1: the XM530's settings
read, fixed and read back, and its ports knocked on (a listener of the test's own, and a
port nobody listens on)."""

from __future__ import annotations

import asyncio
import socket

from xmcam.aio import AsyncCamera
from xmcam.sim import Simulator


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # released: nothing listens there now


def test_audit_fixes_the_xm530_and_knocks_on_ports() -> None:
    async def main() -> None:
        listener = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        open_port = listener.sockets[0].getsockname()[1]
        nobody = closed_port()
        async with listener, Simulator("xm530") as sim, AsyncCamera(sim.host, sim.port) as cam:
            before = await cam.audit(ports=(open_port, nobody))
            failed = {finding.check for finding in before.failed}
            assert failed == {"cloud", "cloud-upgrade", "push", "upnp", "passwords", "ports"}
            assert before.findings[-1].detail == {"checked": [open_port, nobody],
                                                  "open": [open_port]}  # fmt: skip
            fixed = await cam.audit(fix=True, ports=None)
            assert {finding.check for finding in fixed.fixed} == {
                "cloud", "cloud-upgrade", "push", "upnp"
            }  # fmt: skip
            assert (await cam.get_config("NetWork.Nat"))["NatEnable"] is False
            assert {finding.check for finding in fixed.failed} == {"passwords"}

    asyncio.run(main())
