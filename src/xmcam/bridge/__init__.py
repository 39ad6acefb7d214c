"""The MQTT / Home Assistant bridge (`xmcam bridge mqtt`, docs/bridge.md).

`MqttBridge` needs aiomqtt (a default dependency) and is imported on first use, so the pure
parts (topics, discovery configs, the broker URL, the outbox) work without it.
"""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Any, Final

from xmcam.bridge.broker import BrokerAddress, parse_broker_url
from xmcam.bridge.homeassistant import DeviceDescription, Topics, discovery_configs
from xmcam.bridge.outbox import Message, Outbox

if TYPE_CHECKING:
    from xmcam.bridge.mqtt import BridgedCamera, MqttBridge

__all__ = [
    "INSTALL_HINT",
    "BridgedCamera",
    "BrokerAddress",
    "DeviceDescription",
    "Message",
    "MqttBridge",
    "Outbox",
    "Topics",
    "discovery_configs",
    "parse_broker_url",
]

# aiomqtt is missing only from an environment that skipped it; xmcam is not on the package
# index, so the hint installs aiomqtt itself with the interpreter running xmcam.
INSTALL_HINT: Final = f"{shlex.quote(sys.executable or 'python3')} -m pip install aiomqtt"


def __getattr__(name: str) -> Any:
    if name in ("MqttBridge", "BridgedCamera"):
        from xmcam.bridge import mqtt  # noqa: PLC0415  (needs aiomqtt: imported on use)

        return getattr(mqtt, name)
    raise AttributeError(f"module 'xmcam.bridge' has no attribute {name!r}")
