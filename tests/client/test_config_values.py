"""Config values without I/O: the merge rules, the changes, placeholders, identity."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmcam.client.config_values import (
    changes,
    fill_placeholders,
    keep_identity,
    merge,
    path_text,
)
from xmcam.client.models import ConfigChange

DEVICE: dict[str, Any] = {
    "Enable": True,
    "Server": {"Name": "ntp", "Port": 123, "Password": "s"},
    "Attribute": [9600, "None", 8, 1],
    "Outputs": [{"Type": "AUTO", "On": False}, {"Type": "AUTO", "On": False}],
}


def test_objects_merge_member_by_member_at_every_depth() -> None:
    before = copy.deepcopy(DEVICE)
    merged = merge(DEVICE, {"Server": {"Port": 124}, "Enable": False})
    assert merged == dict(
        DEVICE, Enable=False, Server={"Name": "ntp", "Port": 124, "Password": "s"}
    )
    assert before == DEVICE  # inputs untouched
    merged["Server"]["Name"] = "changed"
    assert DEVICE["Server"]["Name"] == "ntp"  # no shared parts


def test_arrays_are_replaced_whole() -> None:
    assert merge(DEVICE, {"Attribute": [115200]})["Attribute"] == [115200]
    assert merge(DEVICE, {"Outputs": [{"Type": "MANUAL"}]})["Outputs"] == [{"Type": "MANUAL"}]


def test_an_object_keyed_by_index_changes_those_elements() -> None:
    merged = merge(DEVICE, {"Outputs": {"1": {"On": True}}})
    assert merged["Outputs"] == [{"Type": "AUTO", "On": False}, {"Type": "AUTO", "On": True}]
    assert merge([1, 2, 3], {"0": 9, "2": 7}) == [9, 2, 7]
    assert merge([1, 2], {}) == [1, 2]


@pytest.mark.parametrize(
    ("partial", "message"),
    [
        ({"Outputs": {"2": {}}}, r"the value\.Outputs has 2 element\(s\); no element 2"),
        ({"Outputs": {"Type": "x"}}, "array of 2 on the device"),
        ({"Outputs": {"-1": {}}}, "array of 2"),
        ({"Outputs": {"1e3": {}}}, "array of 2"),
        ({"Outputs": {"٣": {}}}, "array of 2"),  # a decimal digit, but not 0-9
    ],
)
def test_objects_that_do_not_fit_an_array_are_refused(
    partial: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        merge(DEVICE, partial)


def test_other_values_replace_and_new_members_are_added() -> None:
    assert merge(DEVICE, {"Enable": None})["Enable"] is None
    assert merge(DEVICE, {"Extra": {"a": 1}})["Extra"] == {"a": 1}
    assert merge(5, {"a": 1}) == {"a": 1}
    assert merge({"a": 1}, [1]) == [1]
    assert merge(DEVICE, {}) == DEVICE


def test_changes_name_each_leaf() -> None:
    new = merge(DEVICE, {"Server": {"Port": 124}, "Outputs": {"0": {"On": True}}, "New": 1})
    del new["Enable"]
    assert changes(DEVICE, new) == [
        ConfigChange(("Enable",), True, None, "removed"),
        ConfigChange(("Server", "Port"), 123, 124),
        ConfigChange(("Outputs", 0, "On"), False, True),
        ConfigChange(("New",), None, 1, "added"),
    ]
    assert changes(DEVICE, copy.deepcopy(DEVICE)) == []


def test_changes_of_types_and_lengths() -> None:
    assert changes({"a": True}, {"a": 1}) == [ConfigChange(("a",), True, 1)]
    assert changes({"a": 1}, {"a": 1.0}) == []
    assert changes([1, 2], [1]) == [ConfigChange((), [1, 2], [1])]
    assert changes({"a": [1]}, {"a": {"0": 1}}) == [ConfigChange(("a",), [1], {"0": 1})]


def test_path_text() -> None:
    assert path_text(("Server", "Port")) == "Server.Port"
    assert path_text(("Outputs", 1, "On")) == "Outputs[1].On"
    assert path_text((0, "Enable")) == "[0].Enable"
    assert path_text(()) == ""


def test_placeholders_keep_the_device_secret() -> None:
    listed = [{"Password": "a"}, {"Password": "b"}]
    current = {"SSID": "home", "Keys": "wifi-secret", "List": listed}
    new = {"SSID": "away", "Keys": "<redacted>", "List": [{"Password": "<redacted>"}]}
    assert fill_placeholders(new, current) == {
        "SSID": "away",
        "Keys": "wifi-secret",
        "List": [{"Password": "a"}],
    }


@pytest.mark.parametrize("current", [{}, {"Keys": None}, {"Keys": "<redacted>"}, []])
def test_a_placeholder_with_nothing_to_keep_is_refused(current: Any) -> None:
    with pytest.raises(ValueError, match=r"Keys is <redacted>"):
        fill_placeholders({"Keys": "<redacted>"}, current, "NetWork.Wifi")


def test_identity_is_kept_from_the_device_or_left_out() -> None:
    device = {"HostIP": "0x0101A8C0", "MAC": "aa", "HttpPort": 80}
    ours, kept = keep_identity(
        "NetWork.NetCommon",
        {"HostIP": "0x0201A8C0", "MAC": "aa", "SN": "other", "HttpPort": 81},
        device,
    )
    assert ours == {"HostIP": "0x0101A8C0", "MAC": "aa", "HttpPort": 81}
    assert kept == ["HostIP", "SN"]
    root, kept = keep_identity(
        "NetWork",
        {"NetCommon": {"HostIP": "x"}, "Wifi": {"HostIP": "y"}},
        {"NetCommon": {"HostIP": "a"}, "Wifi": {"HostIP": "b"}},
    )
    assert root == {"NetCommon": {"HostIP": "a"}, "Wifi": {"HostIP": "b"}}
    assert kept == ["NetCommon.HostIP", "Wifi.HostIP"]
    assert keep_identity("General.General", {"HostIP": 1}, {}) == ({"HostIP": 1}, [])
    assert keep_identity("NetWork.NetCommon", [1], {}) == ([1], [])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values, json_values)
def test_merging_then_comparing_never_crashes_and_a_merge_of_itself_changes_nothing(
    current: Any, partial: Any
) -> None:
    assert changes(current, merge(current, current)) == []
    try:
        merged = merge(current, partial)
    except ValueError:
        return
    assert isinstance(changes(current, merged), list)
    if not isinstance(partial, dict):
        assert merged == partial
