"""In-memory plumbing for the simulator's sans-I/O tests: a manual clock, and a client on the
core's client role wired to a device connection with no socket in between."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xmcam.protocol import AlarmMessage, ClientConnection, ClientEvent, LoginReply, Reply
from xmcam.sim import CameraConnection, SimulatedDevice, load_profile
from xmcam.sim.profile import Profile


@dataclass
class ManualClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Wire:
    """A client and one device connection, bytes passed by hand."""

    def __init__(self, device: SimulatedDevice) -> None:
        self.device = device
        camera = device.open_connection()
        assert camera is not None
        self.camera: CameraConnection = camera
        self.client = ClientConnection()
        self.alarms: list[dict[str, Any]] = []

    def send(self, wire: bytes) -> list[ClientEvent]:
        events: list[ClientEvent] = []
        for frame in self.camera.receive(wire):
            events += self.client.receive_data(frame)
        for camera, frame in self.device.take_pushes():
            if camera is self.camera:
                events += self.client.receive_data(frame)
        for event in events:
            if isinstance(event, AlarmMessage):
                self.alarms.append(event.body.data["AlarmInfo"])
        return [event for event in events if not isinstance(event, AlarmMessage)]

    def login(self, user: str = "admin", password: str = "") -> LoginReply:
        (reply,) = self.send(self.client.login(user, password))
        assert isinstance(reply, LoginReply)
        return reply

    def call(self, message_id: int, body: dict[str, Any] | None = None) -> Reply:
        events = self.send(self.client.request(message_id, body or {}))
        assert len(events) == 1, events
        (reply,) = events
        assert isinstance(reply, Reply)
        return reply

    def silent(self, message_id: int, body: dict[str, Any] | None = None) -> None:
        assert self.send(self.client.request(message_id, body or {}, expect_reply=False)) == []


def sequential(profile: Profile | None = None) -> Profile:
    """The profile with session ids counting up from its first_session_id, as the seed's
    camera numbered them (the simulator's own are random): for tests that pin ids."""
    return (profile or load_profile()).with_quirks(session_ids="sequential")


def make_device(
    profile: Profile | None = None, clock: ManualClock | None = None
) -> SimulatedDevice:
    return SimulatedDevice(profile or load_profile(), clock=clock or ManualClock())


def logged_in(
    device: SimulatedDevice | None = None, user: str = "admin", password: str = ""
) -> Wire:
    wire = Wire(device or make_device())
    assert wire.login(user, password).ok
    return wire
