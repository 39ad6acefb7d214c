"""`xmcam demo`: the protocol core talking to itself, in memory, with no camera at hand.

The client role logs in, reads SystemInfo, keeps the session alive, subscribes to alarms,
switches the alarm output on and off and logs out; a small scripted camera built on the
device role answers the way the camera in the seed capture does, and pushes one motion
alarm. Every frame crosses as bytes, exactly as it would on TCP 34567, and is printed with
its secrets redacted.

This is the first command in the README. When the simulator (`xmcam sim`) and the network
client land, the demo runs the same tour over a real loopback socket against the simulator.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, TextIO

from xmcam.cli.output import ExitCode, dumps_safe, safe_text
from xmcam.protocol import (
    AlarmMessage,
    ClientConnection,
    ClientEvent,
    DeviceConnection,
    Frame,
    FrameDecoder,
    LoginReply,
    LoginRequest,
    MessageId,
    Reply,
    Request,
    SessionIdStyle,
    describe_ret,
    message_name,
    password_matches,
    redact,
    sofia_hash,
)

__all__ = ["DemoCamera", "add_parser", "run_demo"]

# The seed capture's camera (tests/data/seed-capture.txt).
SEED_SYSTEM_INFO: Final[dict[str, Any]] = {
    "AlarmInChannel": 1,
    "AlarmOutChannel": 1,
    "AudioInChannel": 1,
    "BuildTime": "2020-02-26 17:11:38",
    "CombineSwitch": 0,
    "DeviceModel": "",
    "DeviceRunTime": "0x00001278",
    "DeviceType": 40,
    "DigChannel": 0,
    "EncryptVersion": "Unknown",
    "ExtraChannel": 0,
    "HardWare": "HI3516D_83H50N",
    "HardWareVersion": "1.01",
    "SerialNo": "58e7fa5e6e262535",
    "SoftWareVersion": "V4.03.R12.G7914927.12012.145902.0020000",
    "TalkInChannel": 1,
    "TalkOutChannel": 1,
    "UpdataTime": "",
    "UpdataType": "0x00000000",
    "VideoInChannel": 1,
    "VideoOutChannel": 1,
}
SEED_LOGIN_REPLY: Final[dict[str, Any]] = {
    "AliveInterval": 20,
    "ChannelNum": 1,
    "DataUseAES": False,
    "DeviceType ": "IPC",  # sic: the trailing space is the camera's own
    "ExtraChannel": 0,
    "Ret": 100,
}
DEMO_ALARM: Final[dict[str, Any]] = {
    "Channel": 0,
    "Event": "VideoMotion",
    "StartTime": "2020-02-26 18:00:00",
    "Status": "Start",
}


@dataclass
class DemoCamera:
    """A scripted camera on the device role of the core: enough of the seed's camera to
    answer the demo's tour. (The full simulator is `xmcam sim`.)"""

    user: str = "admin"
    password_hash: str = field(default_factory=lambda: sofia_hash(""))
    session_id: int = 1
    alarm_out: list[dict[str, str]] = field(
        default_factory=lambda: [{"AlarmOutStatus": "CLOSE", "AlarmOutType": "AUTO"}]
    )
    connection: DeviceConnection = field(default_factory=DeviceConnection)
    guarded: bool = False

    def receive(self, data: bytes) -> list[bytes]:
        """Bytes from the client in, the camera's frames out (replies and pushes)."""
        out: list[bytes] = []
        for event in self.connection.receive_data(data):
            if isinstance(event, LoginRequest):
                out.append(self._login(event))
            elif event.authenticated and event.session_matches and event.reply_id is not None:
                out.extend(self._command(event))
            # Requests before login, for another session, or with no reply id get silence,
            # as on real devices.
        return out

    def _login(self, request: LoginRequest) -> bytes:
        if request.user == self.user and password_matches(
            request.password, request.encrypt_type, self.password_hash
        ):
            return self.connection.accept_login(request, self.session_id, SEED_LOGIN_REPLY)
        return self.connection.reject_login(request, {"Name": "", "Ret": 203})

    def _command(self, request: Request) -> list[bytes]:
        handler = self._handlers.get(request.message_id)
        if handler is None:
            body = request.body.data if request.body is not None else {}
            return [self.connection.reply(request, {"Name": body.get("Name", ""), "Ret": 102})]
        return handler(self, request)

    def _system_info(self, request: Request) -> list[bytes]:
        content = {"Name": "SystemInfo", "Ret": 100, "SystemInfo": SEED_SYSTEM_INFO}
        return [self.connection.reply(request, content, session_id_style=SessionIdStyle.SHORT)]

    def _keepalive(self, request: Request) -> list[bytes]:
        return [self.connection.reply(request, {"Name": "KeepAlive", "Ret": 100})]

    def _guard(self, request: Request) -> list[bytes]:
        self.guarded = True
        return [self.connection.reply(request, {"Name": "", "Ret": 100})]

    def _unguard(self, request: Request) -> list[bytes]:
        self.guarded = False
        return []  # the seed's camera sends no reply to unguard

    def _config_set(self, request: Request) -> list[bytes]:
        body = request.body.data if request.body is not None else {}
        if body.get("Name") != "Alarm.AlarmOut":
            return [self.connection.reply(request, {"Name": "", "Ret": 607})]
        self.alarm_out = body["Alarm.AlarmOut"]
        frames = [self.connection.reply(request, {"Name": "", "Ret": 100})]
        if self.guarded and self.alarm_out[0].get("AlarmOutType") == "MANUAL":
            # Switching the output on makes this camera report motion: one alarm push.
            alarm = {"AlarmInfo": DEMO_ALARM, "Name": "AlarmInfo"}
            frames.append(self.connection.push(MessageId.ALARM_REQ, alarm))
        return frames

    def _logout(self, request: Request) -> list[bytes]:
        frames = [self.connection.reply(request, {"Name": "", "Ret": 100})]
        self.connection.logout()
        return frames

    _handlers: ClassVar[dict[int, Callable[[DemoCamera, Request], list[bytes]]]] = {
        MessageId.SYSINFO_REQ: _system_info,
        MessageId.KEEPALIVE_REQ: _keepalive,
        MessageId.GUARD_REQ: _guard,
        MessageId.UNGUARD_REQ: _unguard,
        MessageId.CONFIG_SET_REQ: _config_set,
        MessageId.LOGOUT_REQ: _logout,
    }


Printer = Callable[[str, Frame], None]


def _describe(frame: Frame) -> str:
    """One line of what a frame says, secrets redacted, device strings made safe."""
    body = frame.body().data
    message_id = frame.message_id
    if message_id == MessageId.LOGIN_REQ:
        return f"user {safe_text(str(body.get('UserName')))}, password <redacted>"
    ret = body.get("Ret")
    status = f"{describe_ret(ret)}" if isinstance(ret, int) else ""
    if message_id == MessageId.LOGIN_RSP:
        return (
            f"{status}: session {body.get('SessionID')}, keepalive every "
            f"{body.get('AliveInterval')} s, {safe_text(str(body.get('DeviceType')))}, "
            f"{body.get('ChannelNum')} channel(s)"
        )
    if message_id == MessageId.SYSINFO_RSP:
        info = body.get("SystemInfo", {})
        model, firmware, serial = (
            safe_text(str(info.get(key))) for key in ("HardWare", "SoftWareVersion", "SerialNo")
        )
        return f"{status}: {model}, firmware {firmware}, serial {serial}"
    if message_id == MessageId.ALARM_REQ:
        alarm = body.get("AlarmInfo", {})
        return f"{alarm.get('Event')} on channel {alarm.get('Channel')}: {alarm.get('Status')}"
    if message_id == MessageId.CONFIG_SET_REQ:
        name = str(body.get("Name"))
        return f"{safe_text(name)} = {dumps_safe(redact(body.get(name)))}"
    summary = {key: value for key, value in body.items() if key != "SessionID"}
    return status or dumps_safe(redact(summary))


def _text_printer(stream: TextIO) -> Printer:
    arrows = {"client": "  →", "device": "  ←", "push": "  ⇠"}

    def show(direction: str, frame: Frame) -> None:
        name = f"{message_name(frame.message_id)} ({frame.message_id})"
        size = len(frame.payload) + 20
        print(f"{arrows[direction]} {name:<22} {size:>4} B  {_describe(frame)}", file=stream)

    return show


def _json_printer(stream: TextIO) -> Printer:
    def show(direction: str, frame: Frame) -> None:
        record = {
            "direction": direction,
            "message_id": frame.message_id,
            "name": message_name(frame.message_id),
            "session_id": frame.session_id,
            "sequence": frame.sequence,
            "bytes": len(frame.payload) + 20,
            "body": redact(frame.body().data),
        }
        print(json.dumps(record, ensure_ascii=False), file=stream)

    return show


def run_demo(stream: TextIO = sys.stdout, *, as_json: bool = False) -> int:
    """Run the tour; return the exit code."""
    camera = DemoCamera()
    client = ClientConnection()
    watch_client = FrameDecoder()  # only to print what the client sends
    show = _json_printer(stream) if as_json else _text_printer(stream)
    totals = {"client": 0, "device": 0}
    alarms: list[dict[str, Any]] = []

    def exchange(wire: bytes) -> list[ClientEvent]:
        for frame in watch_client.feed(wire):
            show("client", frame)
        totals["client"] += len(wire)
        events: list[ClientEvent] = []
        for answer in camera.receive(wire):
            totals["device"] += len(answer)
            for event in client.receive_data(answer):
                frame = event.frame
                show("push" if isinstance(event, AlarmMessage) else "device", frame)
                if isinstance(event, AlarmMessage):
                    alarms.append(event.body.data.get("AlarmInfo", {}))
                events.append(event)
        return events

    def call(message_id: int, body: dict[str, Any], *, expect_reply: bool = True) -> None:
        for event in exchange(client.request(message_id, body, expect_reply=expect_reply)):
            if isinstance(event, Reply):
                event.raise_for_ret()

    if not as_json:
        print("xmcam demo: a client and a camera talking DVRIP, in memory", file=stream)
        print("(the core's client role on the left, its device role on the right)\n", file=stream)
    (login,) = exchange(client.login("admin", ""))
    assert isinstance(login, LoginReply)
    login.raise_for_ret()
    call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
    call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
    call(MessageId.GUARD_REQ, {"Name": ""})
    for state in ("MANUAL", "CLOSE"):
        outputs = [{"AlarmOutStatus": "OPEN", "AlarmOutType": state}]
        call(MessageId.CONFIG_SET_REQ, {"Name": "Alarm.AlarmOut", "Alarm.AlarmOut": outputs})
    call(MessageId.UNGUARD_REQ, {"Name": ""}, expect_reply=False)
    call(MessageId.LOGOUT_REQ, {"Name": ""})
    if not as_json:
        print(
            f"\nDone: {totals['client']} bytes sent, {totals['device']} bytes received, "
            f"{len(alarms)} alarm pushed, the password hash never shown.",
            file=stream,
        )
    return ExitCode.SUCCESS


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo",
        help="watch a client and a camera talk DVRIP (no camera needed)",
        description=(
            "Run a short tour (login, system info, keepalive, alarms, alarm output on and "
            "off, logout) between xmcam's client role and a scripted camera, in memory, "
            "and print every frame."
        ),
        epilog="example: xmcam demo --json | jq .name",
    )
    parser.set_defaults(handler=lambda args: run_demo(sys.stdout, as_json=args.json))
