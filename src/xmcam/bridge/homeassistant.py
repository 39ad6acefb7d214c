"""The bridge's MQTT topics and its Home Assistant discovery configs, sans I/O.

Topic layout (docs/bridge.md pins it), with `xmcam` the default prefix and `<camera>` the
camera's name in the inventory:

    xmcam/bridge/availability              online / offline (retained; the bridge's last will)
    xmcam/<camera>/availability            online / offline (retained)
    xmcam/<camera>/motion/<channel>        ON / OFF (retained)
    xmcam/<camera>/event                   one JSON object per alarm (not retained)
    xmcam/<camera>/alarm_out/<n>           ON / OFF (retained), the output's state
    xmcam/<camera>/alarm_out/<n>/set       ON / OFF / AUTO: commands to the bridge
    xmcam/<camera>/reboot/press            PRESS: reboot the camera
    xmcam/<camera>/clock_skew              seconds, device clock minus the bridge's (retained)
    xmcam/<camera>/snapshot/<channel>      a JPEG taken on each motion start (retained)
    xmcam/<camera>/snapshot/take           PRESS: take a snapshot of every channel now
    xmcam/<camera>/storage_free            MiB free on the camera's disks (retained)

Home Assistant reads one retained config per entity under
`homeassistant/<component>/<object_id>/config`. What it requires, from its MQTT integration
(homeassistant/components/mqtt: discovery.py and schemas.py; the button, switch, sensor and
binary_sensor pages of home-assistant.io):

- the topic's object id matches `[a-zA-Z0-9_-]+`, or the message is dropped as "illegal";
- a device block holds at least one of `identifiers` / `connections`; its other keys
  (`name`, `manufacturer`, `model`, `sw_version`, `hw_version`, `serial_number`) are strings
  when present, never null, so unknown values are left out;
- `availability` is a list of `{topic, payload_available, payload_not_available}` and may
  not come with `availability_topic`; with `availability_mode: all` an entity is available
  only while every topic says so (here: the camera and the bridge itself);
- a `unique_id` is what lets Home Assistant keep an entity (and its device) across restarts;
- a sensor with `device_class: duration` takes a unit among d, h, min, s, ms; one with
  `data_size` a unit such as MiB;
- a `camera` entity reads its picture from `topic`, the image's bytes as they are (no
  `image_encoding`: raw; `b64` would mean base64 text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from xmcam import __version__

__all__ = [
    "AUTO",
    "BRIDGE_TOPIC_NAME",
    "DEFAULT_DISCOVERY_PREFIX",
    "DEFAULT_PREFIX",
    "MANUFACTURER",
    "MAX_AUDIT_INTERVAL",
    "MOTION_EVENTS",
    "OFF",
    "OFFLINE",
    "ON",
    "ONLINE",
    "PRESS",
    "Command",
    "DeviceDescription",
    "Topics",
    "check_camera_name",
    "discovery_configs",
    "object_id",
]

DEFAULT_PREFIX: Final = "xmcam"
DEFAULT_DISCOVERY_PREFIX: Final = "homeassistant"
MANUFACTURER: Final = "Xiongmai"
BRIDGE_TOPIC_NAME: Final = "bridge"
"""The topic level of the bridge's own availability: no camera may take this name."""

ONLINE: Final = "online"
OFFLINE: Final = "offline"
ON: Final = "ON"
OFF: Final = "OFF"
AUTO: Final = "AUTO"
PRESS: Final = "PRESS"

MOTION_EVENTS: Final = frozenset({"VideoMotion", "MotionDetect"})
"""Events that drive a channel's motion sensor (older firmware says VideoMotion, newer
MotionDetect); every event, these included, also goes to the event topic."""

_OBJECT_ID_UNSAFE: Final = re.compile(r"[^a-zA-Z0-9_-]")
_TOPIC_UNSAFE: Final = frozenset("/+#\0")
MAX_NAME_LENGTH: Final = 64


def check_camera_name(name: str) -> str:
    """The name as a topic level, or ValueError: not empty, no `/`, `+`, `#` or NUL, no
    control characters, at most 64 characters, and not the bridge's own `bridge`."""
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a camera name has 1 to {MAX_NAME_LENGTH} characters: {name!r}")
    if any(char in _TOPIC_UNSAFE or not char.isprintable() for char in name):
        raise ValueError(
            f"a camera name may not hold '/', '+', '#' or control characters: {name!r}"
        )
    if name == BRIDGE_TOPIC_NAME:
        raise ValueError(f"the camera name {name!r} is the bridge's own topic")
    return name


def object_id(*parts: str) -> str:
    """A Home Assistant object id from parts: characters it refuses become `_`."""
    return _OBJECT_ID_UNSAFE.sub("_", "_".join(parts))


@dataclass(frozen=True, slots=True)
class Command:
    """A command read from MQTT: switch alarm output `output`, or reboot."""

    camera: str
    kind: Literal["alarm_out", "reboot", "snapshot"]
    output: int | None = None


MAX_AUDIT_INTERVAL: Final = 30 * 86400.0
"""Seconds between two audits of a camera for its security sensor, at most (30 days)."""


@dataclass(frozen=True, slots=True)
class Topics:
    """The bridge's topics under `prefix` (and Home Assistant's under `discovery_prefix`)."""

    prefix: str = DEFAULT_PREFIX
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX
    bridge: str = ""
    """The bridge's own level under `bridge/` when it is one of several (`shard-K-of-N`)."""

    @property
    def bridge_availability(self) -> str:
        """`<prefix>/bridge/availability`, or `<prefix>/bridge/<bridge>/availability` for one
        of several bridges: each has its own last will, and each camera's availability
        names the bridge that serves it."""
        if self.bridge:
            return f"{self.prefix}/{BRIDGE_TOPIC_NAME}/{self.bridge}/availability"
        return f"{self.prefix}/{BRIDGE_TOPIC_NAME}/availability"

    @property
    def homeassistant_status(self) -> str:
        """Where Home Assistant announces itself ("online" after each start)."""
        return f"{self.discovery_prefix}/status"

    def availability(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/availability"

    def motion(self, camera: str, channel: int) -> str:
        return f"{self.prefix}/{camera}/motion/{channel}"

    def event(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/event"

    def alarm_out(self, camera: str, output: int) -> str:
        return f"{self.prefix}/{camera}/alarm_out/{output}"

    def alarm_out_set(self, camera: str, output: int) -> str:
        return f"{self.alarm_out(camera, output)}/set"

    def reboot_press(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/reboot/press"

    def clock_skew(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/clock_skew"

    def snapshot(self, camera: str, channel: int) -> str:
        return f"{self.prefix}/{camera}/snapshot/{channel}"

    def snapshot_take(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/snapshot/take"

    def storage_free(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/storage_free"

    def security(self, camera: str) -> str:
        """ON while the camera fails a check of `xmcam audit`, OFF when it passes them."""
        return f"{self.prefix}/{camera}/security"

    def security_attributes(self, camera: str) -> str:
        """The audit's findings, as JSON: what failed, and each check's summary."""
        return f"{self.security(camera)}/attributes"

    def discovery(self, component: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/{object_id}/config"

    @property
    def command_subscriptions(self) -> tuple[str, ...]:
        """The filters the bridge subscribes to for commands."""
        return (
            f"{self.prefix}/+/alarm_out/+/set",
            f"{self.prefix}/+/reboot/press",
            f"{self.prefix}/+/snapshot/take",
        )

    def parse_command(self, topic: str) -> Command | None:
        """The command a topic carries, or None for any other topic."""
        start = f"{self.prefix}/"
        if not topic.startswith(start):
            return None
        levels = topic[len(start) :].split("/")
        if len(levels) == 3 and levels[1:] == ["reboot", "press"]:
            return Command(levels[0], "reboot")
        if len(levels) == 3 and levels[1:] == ["snapshot", "take"]:
            return Command(levels[0], "snapshot")
        if len(levels) == 4 and levels[1] == "alarm_out" and levels[3] == "set":
            number = levels[2]
            if number.isascii() and number.isdigit() and len(number) <= 3:
                return Command(levels[0], "alarm_out", int(number))
        return None


@dataclass(frozen=True, slots=True)
class DeviceDescription:
    """What the bridge knows of a camera once it has logged in (SystemInfo and the outputs)."""

    camera: str
    serial: str | None = None
    model: str | None = None
    firmware: str | None = None
    hardware_version: str | None = None
    channels: int = 1
    alarm_outputs: int = 0

    @property
    def identity(self) -> str:
        """The stem of every unique id: the serial, with the camera's name, since clones and
        simulators share serials and Home Assistant needs each entity unique."""
        return object_id(self.serial, self.camera) if self.serial else object_id(self.camera)

    def device_block(self) -> dict[str, Any]:
        block: dict[str, Any] = {
            "identifiers": [f"xmcam_{self.identity}"],
            "name": self.camera,
            "manufacturer": MANUFACTURER,
        }
        optional = {
            "model": self.model,
            "sw_version": self.firmware,
            "hw_version": self.hardware_version,
            "serial_number": self.serial,
        }
        block.update({key: value for key, value in optional.items() if value})
        return block


def discovery_configs(
    device: DeviceDescription, topics: Topics, *, security: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """Every discovery config of a camera: (topic, payload), published retained; with
    `security`, also its audit's problem sensor (the bridge audits it now and then)."""
    camera = device.camera
    common: dict[str, Any] = {
        "device": device.device_block(),
        "origin": {"name": "xmcam", "sw_version": __version__},
        "availability": [
            _availability(topics.availability(camera)),
            _availability(topics.bridge_availability),
        ],
        "availability_mode": "all",
    }
    configs: list[tuple[str, dict[str, Any]]] = []

    def add(component: str, key: str, name: str, fields: Mapping[str, Any]) -> None:
        unique = f"xmcam_{device.identity}_{key}"
        payload = {"name": name, "unique_id": unique, **fields, **common}
        configs.append((topics.discovery(component, object_id("xmcam", camera, key)), payload))

    for channel in range(device.channels):
        add(
            "binary_sensor",
            f"motion_{channel}",
            "Motion" if device.channels == 1 else f"Motion channel {channel}",
            {
                "state_topic": topics.motion(camera, channel),
                "payload_on": ON,
                "payload_off": OFF,
                "device_class": "motion",
            },
        )
    for output in range(device.alarm_outputs):
        add(
            "switch",
            f"alarm_out_{output}",
            "Alarm output" if device.alarm_outputs == 1 else f"Alarm output {output}",
            {
                "state_topic": topics.alarm_out(camera, output),
                "command_topic": topics.alarm_out_set(camera, output),
                "payload_on": ON,
                "payload_off": OFF,
                "qos": 1,
            },
        )
    add(
        "button",
        "reboot",
        "Reboot",
        {
            "command_topic": topics.reboot_press(camera),
            "payload_press": PRESS,
            "device_class": "restart",
            "entity_category": "config",
            "qos": 1,
        },
    )
    add(
        "sensor",
        "clock_skew",
        "Clock skew",
        {
            "state_topic": topics.clock_skew(camera),
            "unit_of_measurement": "s",
            "device_class": "duration",
            "state_class": "measurement",
            "entity_category": "diagnostic",
        },
    )
    for channel in range(device.channels):
        add(
            "camera",
            f"snapshot_{channel}",
            "Snapshot" if device.channels == 1 else f"Snapshot channel {channel}",
            {"topic": topics.snapshot(camera, channel)},
        )
    add(
        "button",
        "snapshot_take",
        "Take snapshot",
        {"command_topic": topics.snapshot_take(camera), "payload_press": PRESS, "qos": 1},
    )
    add(
        "sensor",
        "storage_free",
        "Storage free",
        {
            "state_topic": topics.storage_free(camera),
            "unit_of_measurement": "MiB",
            "device_class": "data_size",
            "state_class": "measurement",
            "entity_category": "diagnostic",
        },
    )
    if security:
        add(
            "binary_sensor",
            "security",
            "Security",
            {
                "state_topic": topics.security(camera),
                "payload_on": ON,
                "payload_off": OFF,
                "device_class": "problem",
                "json_attributes_topic": topics.security_attributes(camera),
                "entity_category": "diagnostic",
            },
        )
    return configs


def _availability(topic: str) -> dict[str, str]:
    return {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}
