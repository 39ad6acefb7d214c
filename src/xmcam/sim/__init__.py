"""`xmcam sim`: a simulated XM camera or recorder on the device side of the protocol core.

With the default profile it answers like the camera in the seed capture, byte for byte.

>>> from xmcam.sim import Simulator
>>> async def main() -> None:                    # doctest: +SKIP
...     async with Simulator() as camera:
...         print(camera.port)                   # a client may connect to 127.0.0.1 here
"""

from xmcam.sim.device import CameraConnection, SimulatedDevice
from xmcam.sim.faults import Faults
from xmcam.sim.media import MediaError, MediaSettings
from xmcam.sim.profile import BUILTIN_PROFILES, Profile, ProfileError, Quirks, load_profile
from xmcam.sim.recordings import Recording, load_recordings
from xmcam.sim.server import Simulator, SimulatorThread
from xmcam.sim.state import DeviceState, PtzCommand, StateFileError, StateSaveError

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
