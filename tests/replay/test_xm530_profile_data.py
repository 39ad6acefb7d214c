"""The `xm530` profile's data is the captured camera's: every config name, ability, account
and identity field [BES] shows is in it with the captured value, and every part names its
[BES] source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.replay_camera import load_exchanges

PROFILE: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "src/xmcam/sim/profiles/xm530.json").read_text("utf-8")
)
EXCHANGES = load_exchanges()


def _profile_value(name: str) -> Any:
    """The value the profile holds for a config name, as the camera answers it for channel 0
    (`X.[0]`) or whole (a per-channel array of one element for a single-channel camera)."""
    if name in PROFILE["config"]:
        return PROFILE["config"][name]
    base = name.removesuffix(".[0]")
    for templates in PROFILE["per_channel"].values():
        if base in templates:
            return templates[base] if name.endswith(".[0]") else [templates[base]]
    raise KeyError(name)


CAPTURED_CONFIG = {
    item.name: item.reply[item.name]
    for item in reversed(EXCHANGES)  # the first capture of a name wins
    if item.message_id == 1042 and item.reply and item.ret == 100 and item.name in item.reply
}


@pytest.mark.parametrize("name", sorted(CAPTURED_CONFIG))
def test_every_captured_config_name_has_its_captured_value(name: str) -> None:
    assert _profile_value(name) == CAPTURED_CONFIG[name]


def test_names_the_camera_lacks_are_not_in_the_profile() -> None:
    lacking = [item.name for item in EXCHANGES if item.message_id == 1042 and item.ret == 607]
    assert len(lacking) == 4
    for name in lacking:
        assert name is not None
        with pytest.raises(KeyError):
            _profile_value(name)


def test_every_captured_ability_is_in_the_profile() -> None:
    captured = {
        item.name: item.reply[item.name]
        for item in EXCHANGES
        if item.message_id == 1360 and item.ret == 100 and item.reply and item.name
    }
    assert PROFILE["abilities"] == captured
    assert isinstance(PROFILE["abilities"]["MultiVstd"], str)
    assert isinstance(PROFILE["abilities"]["ComProtocol"], list)


def test_identity_accounts_and_quirks() -> None:
    assert PROFILE["login_reply"] == {
        "AliveInterval": 30,
        "ChannelNum": 1,
        "DeviceType ": "IPC",
        "ExtraChannel": 0,
        "Ret": 100,
    }
    assert PROFILE["system_info"]["HardWare"] == "XM530_50X50-WG_8M"
    assert [user["Name"] for user in PROFILE["users"]] == ["admin", "nameuser"]
    # No captured hash is kept: every account has the empty password.
    assert {user["Password"] for user in PROFILE["users"]} == {"tlJwpbo6"}
    assert len(PROFILE["authorities"]) == 25
    assert PROFILE["channel_titles"] == ["Living room"]
    quirks = PROFILE["quirks"]
    assert quirks["rets"]["unknown_ability"] == 103
    assert quirks["reply_names"]["1453"] is None
    assert PROFILE["fixed_replies"]["2000"] == {"Name": "", "Ret": 514}
    positions = [record["Position"] for record in PROFILE["log"]["records"]]
    assert positions == sorted(set(positions))


def test_every_part_names_its_source() -> None:
    sources = PROFILE["sources"]
    for part in ("login_reply", "system_info", "storage", "users", "groups", "authorities"):
        assert sources[part].startswith("[BES] command_codes/payloads/")
    config_names = set(PROFILE["config"]) | {
        name for templates in PROFILE["per_channel"].values() for name in templates
    }
    assert set(sources["config"]) == config_names
    assert set(sources["abilities"]) == set(PROFILE["abilities"])
    assert set(sources["fixed_replies"]) == set(PROFILE["fixed_replies"])
