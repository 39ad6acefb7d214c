"""`xmcam demo`: the tour runs end to end, shows no secret, and its camera answers like the
seed's camera."""

from __future__ import annotations

import io
import json

import pytest

from tests.seed import SEED_FRAMES
from xmcam.cli import main
from xmcam.cli.demo import DemoCamera, run_demo
from xmcam.protocol import ClientConnection, LoginReply, encode_body, encode_frame, sofia_hash


def test_demo_runs_the_whole_tour(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for name in ("LOGIN_RSP", "SYSINFO_RSP", "KEEPALIVE_RSP", "GUARD_RSP", "CONFIG_SET_RSP",
                 "ALARM_REQ", "UNGUARD_REQ", "LOGOUT_RSP"):  # fmt: skip
        assert name in out
    assert "HI3516D_83H50N" in out
    assert "VideoMotion on channel 0: Start" in out
    assert "1 alarm pushed" in out
    assert sofia_hash("") not in out


def test_demo_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "demo"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["name"] for record in records][:2] == ["LOGIN_REQ", "LOGIN_RSP"]
    assert records[0]["body"]["PassWord"] == "<redacted>"
    assert {record["direction"] for record in records} == {"client", "device", "push"}
    assert main(["demo", "--json"]) == 0


def test_demo_camera_answers_the_seed_exchange_byte_for_byte() -> None:
    camera = DemoCamera()
    assert camera.receive(SEED_FRAMES[0].payload) == [SEED_FRAMES[1].payload]
    assert camera.receive(SEED_FRAMES[2].payload) == [SEED_FRAMES[3].payload]
    assert camera.receive(SEED_FRAMES[5].payload) == [SEED_FRAMES[6].payload]
    assert camera.receive(SEED_FRAMES[7].payload) == [SEED_FRAMES[8].payload]
    assert camera.receive(SEED_FRAMES[10].payload) == []


def test_demo_camera_refuses_a_wrong_password_and_ignores_requests_before_login() -> None:
    camera = DemoCamera()
    assert camera.receive(SEED_FRAMES[2].payload) == []
    client = ClientConnection()
    (answer,) = camera.receive(client.login("admin", "wrong"))
    (reply,) = client.receive_data(answer)
    assert isinstance(reply, LoginReply)
    assert reply.ret == 203


def test_demo_camera_answers_unknown_commands_with_ret_102() -> None:
    camera = DemoCamera()
    camera.receive(SEED_FRAMES[0].payload)
    request = encode_frame(
        1360, encode_body({"Name": "SystemFunction", "SessionID": "0x1"}), session_id=1
    )
    (answer,) = camera.receive(request)
    assert b'"Ret" : 102' in answer


def test_run_demo_writes_to_the_given_stream() -> None:
    stream = io.StringIO()
    assert run_demo(stream) == 0
    assert stream.getvalue().startswith("xmcam demo")


def test_demo_camera_refuses_unknown_config_names_with_ret_607() -> None:
    camera = DemoCamera()
    camera.receive(SEED_FRAMES[0].payload)
    body = {"Name": "General.General", "General.General": {}, "SessionID": "0x1"}
    (answer,) = camera.receive(encode_frame(1040, encode_body(body), session_id=1))
    assert b'"Ret" : 607' in answer


def test_demo_camera_ignores_messages_that_have_no_reply() -> None:
    camera = DemoCamera()
    camera.receive(SEED_FRAMES[0].payload)
    stray_reply = encode_frame(1001, encode_body({"SessionID": "0x00000001"}), session_id=1)
    assert camera.receive(stray_reply) == []
