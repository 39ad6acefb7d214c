"""Profiles: the built-in ones load and describe the seed's camera and an NVR; bad profile
files get a one-line ProfileError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.seed import SEED_LOGIN_REPLY, SEED_SYSTEM_INFO
from tests.sim.helpers import logged_in, make_device
from xmcam.protocol import SessionIdStyle, sofia_hash
from xmcam.sim import BUILTIN_PROFILES, ProfileError, load_profile
from xmcam.sim.profile import parse_profile


def test_the_default_profile_is_the_seed_camera() -> None:
    profile = load_profile()
    assert profile.name == "ipc-seed"
    assert profile.system_info == SEED_SYSTEM_INFO
    assert profile.login_reply == SEED_LOGIN_REPLY
    assert profile.channels.video == 1
    assert profile.alive_interval == 20
    assert profile.quirks.session_id_style is SessionIdStyle.PADDED
    assert profile.quirks.session_id_style_by_reply == {1021: SessionIdStyle.SHORT}
    assert profile.quirks.terminator == b"\n\x00"
    admin = next(user for user in profile.users if user["Name"] == "admin")
    assert admin["Password"] == sofia_hash("")


@pytest.mark.parametrize("name", BUILTIN_PROFILES)
def test_every_builtin_profile_loads(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.per_channel["video"]
    for user in profile.users:
        # Only hashes are stored: eight characters of the Sofia alphabet.
        assert len(user["Password"]) == 8


def test_the_nvr_profile_has_eight_channels_and_short_session_ids() -> None:
    profile = load_profile("nvr-8ch")
    assert profile.channels.video == 8
    assert profile.login_reply["ChannelNum"] == 8
    assert profile.quirks.session_id_style is SessionIdStyle.SHORT
    assert profile.quirks.unknown_user_ret == 204


def test_the_seed_profile_has_real_config_shapes() -> None:
    """Where a real camera ([BES]) and the vendor's config document agree (issue 17)."""
    profile = load_profile()
    servers = profile.config["NetWork.AlarmServer"]
    assert [server["Protocol"] for server in servers] == ["GENERAL"] + ["NONE"] * 4
    assert [entry["Interface"] for entry in profile.config["NetWork.NetDHCP"]] == [
        "eth0",
        "eth1",
        "eth2",
        "eth3",
        "",
    ]
    handlers = [
        profile.per_channel["video"][name]["EventHandler"]
        for name in ("Detect.MotionDetect", "Detect.BlindDetect", "Detect.LossDetect")
    ] + [profile.per_channel["alarm_in"]["Alarm.LocalAlarm"]["EventHandler"]]
    for handler in handlers:
        assert {"PtzLink", "MatrixEnable", "MatrixMask", "TourMask"} <= set(handler)
        assert "MultiAlarmEnable" not in handler
        assert [len(day) for day in handler["TimeSection"]] == [6] * 7
    assert profile.per_channel["video"]["Uart.PTZ"] == {
        "Attribute": [9600, "None", 8, 1],
        "DeviceNo": 1,
        "NumberInMatrixs": 0,
        "PortNo": 1,
        "ProtocolName": "PELCOD",
    }


def test_the_xm530_profile_is_the_besder_camera() -> None:
    profile = load_profile("xm530")
    assert profile.system_info["HardWare"] == "XM530_50X50-WG_8M"
    assert profile.login_reply == {
        "AliveInterval": 30,
        "ChannelNum": 1,
        "DeviceType ": "IPC",
        "ExtraChannel": 0,
        "Ret": 100,
    }
    quirks = profile.quirks
    assert quirks.session_id_style is SessionIdStyle.PADDED_LOWER
    assert (quirks.unknown_ability_ret, quirks.unknown_config_ret) == (103, 607)
    assert quirks.unknown_config_null
    assert quirks.reply_names == {
        1041: "echo",
        1451: "echo",
        1453: None,
        1471: "AuthorityList",
        1473: "Users",
        1475: "Groups",
    }
    assert quirks.lenient_config_writes
    assert (quirks.work_state_masks, quirks.work_state_channel_state) == ("hex", False)
    assert profile.channel_titles == ["Living room"]
    assert profile.fixed_replies[2000] == {"Name": "", "Ret": 514}
    assert profile.abilities["MultiVstd"] == "PAL|NTSC"
    # A channel more than the profile names a title for gets the usual one.
    assert make_device(profile.with_channels(2)).state.channel_titles == ["Living room", "CAM02"]


def test_a_profile_file_by_path(tmp_path: Path) -> None:
    data = json.loads(
        Path(__file__).parents[2].joinpath("src/xmcam/sim/profiles/ipc-seed.json").read_text()
    )
    data["name"] = "mine"
    data["quirks"]["rets"]["wrong_password"] = 206
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    profile = load_profile(path)
    assert profile.name == "mine"
    assert profile.quirks.wrong_password_ret == 206


def test_with_channels_and_password() -> None:
    profile = load_profile().with_channels(4).with_password("admin", sofia_hash("secret"))
    assert profile.channels.video == 4
    assert profile.login_reply["ChannelNum"] == 4
    assert profile.system_info["VideoInChannel"] == 4
    assert load_profile("nvr-8ch").with_channels(16).system_info["DigChannel"] == 16
    assert next(u for u in profile.users if u["Name"] == "admin")["Password"] == sofia_hash(
        "secret"
    )
    extra = load_profile().with_password("operator", sofia_hash("x"))
    assert [u["Name"] for u in extra.users][-1] == "operator"
    with pytest.raises(ProfileError, match="channels"):
        load_profile().with_channels(0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ('{"channels": {"video": 0}}', "channels.video"),
        ('{"channels": {"video": true}}', "channels.video"),
        ('{"config": []}', "config must be a JSON object"),
        ('{"users": [{"Password": "x"}]}', "needs a Name"),
        ('{"users": {}}', "JSON array"),
        ('{"per_channel": {"lens": {}}}', "per_channel.lens"),
        ('{"quirks": {"session_id_style": "fancy"}}', "session_id_style"),
        ('{"quirks": {"teleport": 1}}', "unknown quirk"),
        ('{"quirks": {"unauthenticated": "shout"}}', "unauthenticated"),
        ('{"channel_titles": [1]}', "channel_titles"),
        ('{"channel_titles": {}}', "channel_titles must be a JSON array"),
        ('{"fixed_replies": {"x": {"Ret": 100}}}', "not a message id"),
        ('{"fixed_replies": {"2000": {"Name": ""}}}', "with a Ret"),
        ('{"fixed_replies": {"2000": []}}', "with a Ret"),
        ('{"hidden_accounts": ["ghost"]}', "'ghost' is not one of its users"),
        ('{"hidden_accounts": "default"}', "hidden_accounts must be a JSON array"),
        ('{"keep_hidden_accounts": 1}', "keep_hidden_accounts must be true or false"),
    ],
)
def test_bad_profiles_are_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message) as caught:
        parse_profile(text, origin="test")
    assert "\n" not in str(caught.value)


def test_hidden_accounts_are_named_by_the_profile() -> None:
    seed = load_profile()
    assert (seed.hidden_accounts, seed.keep_hidden_accounts) == (("default",), False)
    assert load_profile("nvr-8ch").hidden_accounts == ("default",)
    assert load_profile("xm530").hidden_accounts == ()  # its accounts are all listed
    assert seed.disabled_accounts == frozenset()
    assert seed.with_hidden_accounts(False).disabled_accounts == {"default"}
    # The account the simulator was told to serve is never the one disabled.
    assert seed.with_hidden_accounts(False, besides="default").disabled_accounts == set()
    assert seed.with_hidden_accounts(False).with_hidden_accounts(True).disabled_accounts == set()
    text = (
        '{"users": [{"Name": "ghost"}], "hidden_accounts": ["ghost"], "keep_hidden_accounts": true}'
    )
    profile = parse_profile(text)
    assert (profile.hidden_accounts, profile.keep_hidden_accounts) == (("ghost",), True)


def test_a_missing_profile_names_the_builtin_ones(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="ipc-seed, nvr-8ch, xm530"):
        load_profile(tmp_path / "nope.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(ProfileError, match="UTF-8"):
        load_profile(binary)


@pytest.mark.parametrize(
    "quirks",
    [
        '{"max_failed_logins": "5"}',
        '{"lockout_seconds": "long"}',
        '{"reply_to_unguard": 1}',
        '{"unauthenticated": 5}',
        '{"terminator": "\\u20ac"}',
        '{"rets": {"locked": "x"}}',
        '{"rets": []}',
        '{"rets": {"teleport": 1}}',
        '{"session_id_style_by_reply": {"a": "short"}}',
        '{"session_id_style_by_reply": []}',
        '{"key_spellings": 5}',
        '{"first_session_id": 4294967296}',
        '{"first_session_id": -1}',
        '{"max_failed_logins": 0}',
        '{"reply_names": {"x": "echo"}}',
        '{"reply_names": {"1041": 5}}',
        '{"work_state_masks": "octal"}',
        '{"unknown_config_null": 1}',
        '{"rets": {"unknown_ability": "x"}}',
        '{"session_ids": "guessable"}',
    ],
)
def test_quirks_of_the_wrong_type_are_refused_in_one_line(quirks: str) -> None:
    with pytest.raises(ProfileError, match="quirks") as caught:
        parse_profile(f'{{"quirks": {quirks}}}', origin="test")
    assert "\n" not in str(caught.value)


def test_a_recorder_without_alarm_inputs_or_outputs_and_256_channels(tmp_path: Path) -> None:
    data = json.loads(Path("src/xmcam/sim/profiles/nvr-8ch.json").read_text())
    data["channels"] = {"video": 256, "alarm_in": 0, "alarm_out": 0}
    device = make_device(parse_profile(json.dumps(data)))
    wire = logged_in(device)
    assert wire.call(1042, {"Name": "Alarm.AlarmOut"}).body.data["Alarm.AlarmOut"] == []
    assert wire.call(1040, {"Name": "Alarm.AlarmOut", "Alarm.AlarmOut": []}).ok
    assert wire.call(1040, {"Name": "Alarm.AlarmOut.[0]", "Alarm.AlarmOut.[0]": {}}).ret == 607
    state = wire.call(1020, {"Name": "WorkState"}).body.data["WorkState"]
    assert len(state["ChannelState"]) == 256
    assert wire.call(1042, {"Name": "Camera.Param.[255]"}).ok
    assert wire.call(1048, {"Name": "ChannelTitle"}).ok
