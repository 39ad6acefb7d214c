"""No request takes the simulated device down: random bytes raise ProtocolError only, and
any JSON body sent to any command gets a reply or silence, never an exception."""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.sim.helpers import logged_in, make_device, sequential
from xmcam.errors import ProtocolError
from xmcam.protocol import MessageId, encode_frame
from xmcam.sim.commands import _HANDLERS

COMMANDS = sorted(
    int(message_id) for message_id in _HANDLERS if message_id != MessageId.SYSMANAGER_REQ
)
NAMES = [
    "",
    "SystemInfo",
    "General.General",
    "Camera.Param.[0]",
    "Detect",
    "Alarm.AlarmOut",
    "OPTimeSetting",
    "OPMachine",
    "OPDefaultConfig",
    "ChannelTitle",
    "Users",
    "Camera.Param.[9]",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Name",
                    "Action",
                    "State",
                    "Channel",
                    "Command",
                    "Parameter",
                    "User",
                    "Group",
                    "Preset",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(NAMES))
    body: dict[str, Any] = {"Name": name}
    if draw(st.booleans()):
        body[name or "x"] = draw(json_values)
    extra = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "OPPTZControl",
                    "OPNetAlarm",
                    "User",
                    "Group",
                    "UserName",
                    "GroupName",
                    "PassWord",
                    "NewPassWord",
                    "EncryptType",
                    "ChannelTitle",
                ]
            ),
            json_values,
            max_size=3,
        )
    )
    body.update(extra)
    return body


@given(st.sampled_from([*COMMANDS, int(MessageId.SYSMANAGER_REQ)]), bodies())
def test_any_body_to_any_command_never_raises(message_id: int, body: dict[str, Any]) -> None:
    wire = logged_in(make_device(sequential()))  # session 1, as the frames below say
    wire.client.request(message_id, {})  # keep the client's bookkeeping out of the way
    frame = encode_frame(
        message_id, json.dumps(dict(body, SessionID="0x00000001")).encode(), session_id=1
    )
    for reply in wire.camera.receive(frame):
        assert reply[:1] == b"\xff"
    if message_id == MessageId.LOGOUT_REQ:
        return
    # The device still serves the session.
    keepalive = encode_frame(1006, b'{"Name":"KeepAlive","SessionID":"0x00000001"}', session_id=1)
    assert len(wire.camera.receive(keepalive)) == 1


@given(st.binary(max_size=300))
def test_random_bytes_raise_protocol_error_only(data: bytes) -> None:
    wire = logged_in()
    with contextlib.suppress(ProtocolError):
        wire.camera.receive(data)


def test_mutated_seed_like_traffic() -> None:
    rng = random.Random(3765)
    valid = [
        encode_frame(1020, b'{"Name":"SystemInfo","SessionID":"0x00000001"}\n', session_id=1),
        encode_frame(1042, b'{"Name":"Camera.Param.[0]","SessionID":"0x00000001"}\n', session_id=1),
        encode_frame(
            1400,
            b'{"Name":"OPPTZControl","OPPTZControl":{"Command":"DirectionUp",'
            b'"Parameter":{"Channel":0,"Preset":65535,"Step":5}}}\n',
            session_id=1,
        ),
    ]
    for _ in range(3000):
        frame = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 4)):
            frame[rng.randrange(20, len(frame))] = rng.randrange(256)
        wire = logged_in(make_device(sequential()))  # session 1, as the frames say
        try:
            wire.camera.receive(bytes(frame))
        except ProtocolError:
            continue
