"""`xmcam sim`: a simulated XM camera or recorder on the device side of the protocol core.

With the default profile it answers like the camera in the seed capture, byte for byte.

>>> from xmcam.sim import Simulator
>>> async def main() -> None:                    # doctest: +SKIP
...     async with Simulator() as camera:
...         print(camera.port)                   # a client may connect to 127.0.0.1 here
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xmcam.sim.device import CameraConnection, SimulatedDevice
    from xmcam.sim.faults import Faults
    from xmcam.sim.media import MediaError, MediaSettings
    from xmcam.sim.profile import BUILTIN_PROFILES, Profile, ProfileError, Quirks, load_profile
    from xmcam.sim.recordings import Recording, load_recordings
    from xmcam.sim.server import Simulator, SimulatorThread
    from xmcam.sim.state import DeviceState, PtzCommand, StateFileError, StateSaveError

# Where each public name lives. The package imports a module when one of its names is first
# used, so that a command that only builds its parser (every `xmcam` command does, the
# simulator's among them) does not load the whole simulator: about 40 ms of each start.
_HOMES: dict[str, str] = {
    "CameraConnection": "device",
    "SimulatedDevice": "device",
    "Faults": "faults",
    "MediaError": "media",
    "MediaSettings": "media",
    "BUILTIN_PROFILES": "profile",
    "Profile": "profile",
    "ProfileError": "profile",
    "Quirks": "profile",
    "load_profile": "profile",
    "Recording": "recordings",
    "load_recordings": "recordings",
    "Simulator": "server",
    "SimulatorThread": "server",
    "DeviceState": "state",
    "PtzCommand": "state",
    "StateFileError": "state",
    "StateSaveError": "state",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # looked up once
    return value


__all__ = [
    "BUILTIN_PROFILES",
    "CameraConnection",
    "DeviceState",
    "Faults",
    "MediaError",
    "MediaSettings",
    "Profile",
    "ProfileError",
    "PtzCommand",
    "Quirks",
    "Recording",
    "SimulatedDevice",
    "Simulator",
    "SimulatorThread",
    "StateFileError",
    "StateSaveError",
    "load_profile",
    "load_recordings",
]
