"""Topics and Home Assistant discovery configs (pure), checked against what Home Assistant's
MQTT integration accepts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from xmcam.bridge.homeassistant import (
    Command,
    DeviceDescription,
    Topics,
    check_camera_name,
    discovery_configs,
    object_id,
)

# What Home Assistant's MQTT integration accepts (homeassistant/components/mqtt: the topic
# matcher of discovery.py, the device, availability and origin schemas of schemas.py, and the
# binary_sensor, switch, button and sensor platform schemas). Facts only, written down here.
DISCOVERY_TOPIC = re.compile(
    r"homeassistant/(?P<component>\w+)/(?:[a-zA-Z0-9_-]+/)?(?P<object_id>[a-zA-Z0-9_-]+)/config"
)
COMMON_KEYS = {
    "name",
    "unique_id",
    "device",
    "origin",
    "availability",
    "availability_mode",
    "entity_category",
    "qos",
    "icon",
    "json_attributes_topic",
}
PLATFORM_KEYS = {
    "binary_sensor": {"state_topic", "payload_on", "payload_off", "device_class"},
    "switch": {"state_topic", "command_topic", "payload_on", "payload_off", "device_class"},
    "button": {"command_topic", "payload_press", "device_class"},
    "sensor": {"state_topic", "unit_of_measurement", "device_class", "state_class"},
    "camera": {"topic", "image_encoding"},
}
REQUIRED_KEYS = {
    "binary_sensor": {"state_topic"},
    "switch": {"command_topic"},
    "button": {"command_topic"},
    "sensor": {"state_topic"},
    "camera": {"topic"},
}
DEVICE_KEYS = {
    "identifiers",
    "connections",
    "name",
    "manufacturer",
    "model",
    "model_id",
    "sw_version",
    "hw_version",
    "serial_number",
    "suggested_area",
    "via_device",
    "configuration_url",
}
DEVICE_CLASSES = {
    "binary_sensor": {"motion", "connectivity", "problem"},
    "button": {"identify", "restart", "update"},
    "switch": {"outlet", "switch"},
    "sensor": {"duration", "data_size"},
}
DURATION_UNITS = {"d", "h", "min", "s", "ms"}
DATA_SIZE_UNITS = {"B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"}


def check_home_assistant_config(topic: str, config: dict[str, Any]) -> None:
    """Fail unless Home Assistant would take this discovery config as it is meant."""
    match = DISCOVERY_TOPIC.fullmatch(topic)
    assert match, f"Home Assistant drops {topic!r} as an illegal discovery topic"
    component = match["component"]
    assert component in PLATFORM_KEYS
    assert set(config) <= COMMON_KEYS | PLATFORM_KEYS[component], set(config) - COMMON_KEYS
    assert REQUIRED_KEYS[component] <= set(config)
    assert json.loads(json.dumps(config)) == config
    assert _no_nulls(config), "a null where Home Assistant wants a string"
    assert isinstance(config["unique_id"], str)
    assert config["unique_id"]
    for key in ("state_topic", "command_topic", "topic"):
        if key in config:
            assert not set(config[key]) & set("+#"), "a publish topic has no wildcards"
    device = config["device"]
    assert set(device) <= DEVICE_KEYS
    assert device.get("identifiers") or device.get("connections")
    assert all(isinstance(item, str) for item in device["identifiers"])
    assert all(isinstance(device[key], str) for key in device if key != "identifiers")
    assert isinstance(config["origin"]["name"], str)
    assert "availability_topic" not in config  # exclusive with the list
    for item in config["availability"]:
        assert set(item) <= {"topic", "payload_available", "payload_not_available"}
        assert isinstance(item["topic"], str)
    assert config["availability_mode"] in {"all", "any", "latest"}
    if "device_class" in config:
        assert config["device_class"] in DEVICE_CLASSES[component]
    if config.get("device_class") == "duration":
        assert config["unit_of_measurement"] in DURATION_UNITS
    if config.get("device_class") == "data_size":
        assert config["unit_of_measurement"] in DATA_SIZE_UNITS
    if "image_encoding" in config:
        assert config["image_encoding"] == "b64"
    if "state_class" in config:
        assert config["state_class"] in {"measurement", "total", "total_increasing"}
    if "entity_category" in config:
        assert config["entity_category"] in {"config", "diagnostic"}


def _no_nulls(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_no_nulls(item) for item in value.values())
    if isinstance(value, list):
        return all(_no_nulls(item) for item in value)
    return value is not None


DEVICE = DeviceDescription(
    camera="porch",
    serial="58e7fa5e6e262535",
    model="HI3516D_83H50N",
    firmware="V4.03.R12",
    channels=2,
    alarm_outputs=1,
)


def test_every_config_passes_home_assistants_checks() -> None:
    configs = dict(discovery_configs(DEVICE, Topics()))
    assert sorted(configs) == [
        "homeassistant/binary_sensor/xmcam_porch_motion_0/config",
        "homeassistant/binary_sensor/xmcam_porch_motion_1/config",
        "homeassistant/button/xmcam_porch_reboot/config",
        "homeassistant/button/xmcam_porch_snapshot_take/config",
        "homeassistant/camera/xmcam_porch_snapshot_0/config",
        "homeassistant/camera/xmcam_porch_snapshot_1/config",
        "homeassistant/sensor/xmcam_porch_clock_skew/config",
        "homeassistant/sensor/xmcam_porch_storage_free/config",
        "homeassistant/switch/xmcam_porch_alarm_out_0/config",
    ]
    for topic, config in configs.items():
        check_home_assistant_config(topic, config)
    unique_ids = [config["unique_id"] for config in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids)


def test_the_configs_hold_the_pinned_topics_and_payloads() -> None:
    configs = dict(discovery_configs(DEVICE, Topics()))
    motion = configs["homeassistant/binary_sensor/xmcam_porch_motion_1/config"]
    assert motion["name"] == "Motion channel 1"
    assert (motion["state_topic"], motion["payload_on"], motion["payload_off"]) == (
        "xmcam/porch/motion/1",
        "ON",
        "OFF",
    )
    assert motion["device_class"] == "motion"
    assert motion["unique_id"] == "xmcam_58e7fa5e6e262535_porch_motion_1"
    assert motion["device"] == {
        "identifiers": ["xmcam_58e7fa5e6e262535_porch"],
        "name": "porch",
        "manufacturer": "Xiongmai",
        "model": "HI3516D_83H50N",
        "sw_version": "V4.03.R12",
        "serial_number": "58e7fa5e6e262535",
    }
    assert motion["availability"] == [
        {
            "topic": "xmcam/porch/availability",
            "payload_available": "online",
            "payload_not_available": "offline",
        },
        {
            "topic": "xmcam/bridge/availability",
            "payload_available": "online",
            "payload_not_available": "offline",
        },
    ]
    assert motion["availability_mode"] == "all"
    switch = configs["homeassistant/switch/xmcam_porch_alarm_out_0/config"]
    assert switch["name"] == "Alarm output"
    assert switch["command_topic"] == "xmcam/porch/alarm_out/0/set"
    assert switch["state_topic"] == "xmcam/porch/alarm_out/0"
    button = configs["homeassistant/button/xmcam_porch_reboot/config"]
    assert (button["command_topic"], button["payload_press"], button["device_class"]) == (
        "xmcam/porch/reboot/press",
        "PRESS",
        "restart",
    )
    skew = configs["homeassistant/sensor/xmcam_porch_clock_skew/config"]
    assert (skew["unit_of_measurement"], skew["device_class"], skew["state_class"]) == (
        "s",
        "duration",
        "measurement",
    )


def test_an_unknown_device_leaves_fields_out_instead_of_null() -> None:
    device = DeviceDescription(camera="front.door")
    configs = dict(discovery_configs(device, Topics("home/cams", "ha")))
    assert sorted(configs) == [
        "ha/binary_sensor/xmcam_front_door_motion_0/config",
        "ha/button/xmcam_front_door_reboot/config",
        "ha/button/xmcam_front_door_snapshot_take/config",
        "ha/camera/xmcam_front_door_snapshot_0/config",
        "ha/sensor/xmcam_front_door_clock_skew/config",
        "ha/sensor/xmcam_front_door_storage_free/config",
    ]
    motion = configs["ha/binary_sensor/xmcam_front_door_motion_0/config"]
    assert motion["name"] == "Motion"
    assert motion["state_topic"] == "home/cams/front.door/motion/0"
    assert motion["device"] == {
        "identifiers": ["xmcam_front_door"],
        "name": "front.door",
        "manufacturer": "Xiongmai",
    }
    assert motion["availability"][1]["topic"] == "home/cams/bridge/availability"


def test_topics() -> None:
    topics = Topics()
    assert topics.bridge_availability == "xmcam/bridge/availability"
    assert topics.homeassistant_status == "homeassistant/status"
    assert topics.availability("cam") == "xmcam/cam/availability"
    assert topics.motion("cam", 3) == "xmcam/cam/motion/3"
    assert topics.event("cam") == "xmcam/cam/event"
    assert topics.alarm_out("cam", 0) == "xmcam/cam/alarm_out/0"
    assert topics.alarm_out_set("cam", 0) == "xmcam/cam/alarm_out/0/set"
    assert topics.reboot_press("cam") == "xmcam/cam/reboot/press"
    assert topics.clock_skew("cam") == "xmcam/cam/clock_skew"
    assert topics.snapshot("cam", 1) == "xmcam/cam/snapshot/1"
    assert topics.snapshot_take("cam") == "xmcam/cam/snapshot/take"
    assert topics.storage_free("cam") == "xmcam/cam/storage_free"
    assert topics.command_subscriptions == (
        "xmcam/+/alarm_out/+/set",
        "xmcam/+/reboot/press",
        "xmcam/+/snapshot/take",
    )


@pytest.mark.parametrize(
    ("topic", "command"),
    [
        ("xmcam/cam/reboot/press", Command("cam", "reboot")),
        ("xmcam/cam/snapshot/take", Command("cam", "snapshot")),
        ("xmcam/cam/snapshot/0", None),  # an image, not a command
        ("xmcam/cam/alarm_out/0/set", Command("cam", "alarm_out", 0)),
        ("xmcam/a.b-c/alarm_out/12/set", Command("a.b-c", "alarm_out", 12)),
        ("xmcam/cam/alarm_out/0", None),  # the state, not a command
        ("xmcam/cam/alarm_out/x/set", None),
        ("xmcam/cam/alarm_out/²/set", None),
        ("xmcam/cam/alarm_out/1000/set", None),
        ("xmcam/cam/reboot", None),
        ("xmcam/cam/extra/reboot/press", None),
        ("other/cam/reboot/press", None),
        ("xmcamera/cam/reboot/press", None),
    ],
)
def test_commands_are_read_from_their_topics(topic: str, command: Command | None) -> None:
    assert Topics().parse_command(topic) == command


def test_camera_names_are_checked() -> None:
    assert check_camera_name("porch.cam-1") == "porch.cam-1"
    for bad in ("", "a/b", "a+b", "a#", "tab\there", "x" * 65, "bridge"):
        with pytest.raises(ValueError, match="camera name"):
            check_camera_name(bad)


def test_object_ids_hold_only_what_home_assistant_takes() -> None:
    assert object_id("xmcam", "front door.1", "motion_0") == "xmcam_front_door_1_motion_0"
    assert object_id("é") == "_"
