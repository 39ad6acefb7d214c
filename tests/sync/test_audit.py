"""The blocking client's `audit()` against the simulator on 127.0.0.1, admin's password set:
the same findings as the asyncio client's, its ports knocked on one after the other."""

from __future__ import annotations

import socket

from tests.aio.test_audit import closed_port
from xmcam.sim import SimulatorThread
from xmcam.sync import Camera


def test_audit_of_a_camera_with_a_password_and_its_ports() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        SimulatorThread("xm530", password="secret") as sim,
        Camera(sim.host, sim.port, password="secret") as cam,
    ):
        open_port, nobody = listener.getsockname()[1], closed_port()
        report = cam.audit(ports=(nobody, open_port))
        found = {finding.check: finding for finding in report.findings}
        # admin's password is set; the profile's second user ([BES]'s capture) has none.
        assert found["passwords"].summary == "'nameuser' has a blank password"
        assert found["ports"].detail == {"checked": [nobody, open_port], "open": [open_port]}
        assert found["ports"].summary == f"open: {open_port}"
        assert cam.audit(fix=True, ports=None).fixed
        assert [finding.check for finding in cam.audit(ports=()).failed] == ["passwords"]
