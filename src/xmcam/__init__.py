"""xmcam: the toolkit for Xiongmai (XMEye / iCSee / NetSurveillance) cameras and recorders.

They speak the DVRIP ("Sofia") protocol on TCP 34567. This package holds the asyncio client
(`xmcam.connect`, `xmcam.watch`), the blocking client (`xmcam.Camera`), their result models,
the sans-I/O protocol core (`xmcam.protocol`) for both sides of the wire, the exception tree
(`xmcam.errors`), media (`xmcam.media`: the demuxer, and file writers on PyAV), discovery,
fleets (`xmcam.fleet`), the alarm-center listener, the MQTT bridge (`xmcam.bridge`) and the
`xmcam` command. Importing it loads nothing outside the standard library; the clients (with
asyncio and socket) and everything else load when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xmcam.client.models import (
    AlarmEvent,
    AlarmOutput,
    ConnectionEvent,
    Disk,
    Group,
    LoginInfo,
    Partition,
    RecordFile,
    StreamStats,
    SystemInfo,
    User,
    WorkState,
)
from xmcam.client.talk import TalkStats
from xmcam.errors import (
    AccountLockedError,
    AuthenticationError,
    ConfigNotFoundError,
    ConnectionClosedError,
    DeviceError,
    FrameError,
    InvalidRequestError,
    NotLoggedInError,
    PayloadError,
    PermissionDeniedError,
    ProtocolError,
    ReassemblyError,
    RequestTimeoutError,
    StateError,
    TransportError,
    UnsupportedError,
    XMCamError,
)
from xmcam.protocol import MessageId, Ret, sofia_hash

if TYPE_CHECKING:
    from xmcam.aio import AsyncCamera, Backoff, connect, watch
    from xmcam.aio.alarm_center import AlarmCenterServer
    from xmcam.aio.discovery import discover
    from xmcam.client.audit import AuditReport
    from xmcam.fleet import (
        CameraEntry,
        CameraResult,
        Inventory,
        InventoryError,
        load_inventory,
        run_fleet,
    )
    from xmcam.media import AudioFrame, InfoFrame, MediaDemuxer, PictureFrame, VideoFrame
    from xmcam.media.writer import keyframe_to_jpeg, open_writer
    from xmcam.protocol.alarm_center import AlarmCenterMessage
    from xmcam.protocol.discovery import DiscoveredDevice
    from xmcam.sync import Camera

# The clients load on first use: `import xmcam` stays cheap for the core's users.
_LAZY = {
    "AsyncCamera": "xmcam.aio",
    "Backoff": "xmcam.aio",
    "connect": "xmcam.aio",
    "watch": "xmcam.aio",
    "Camera": "xmcam.sync",
    "AuditReport": "xmcam.client.audit",
    "discover": "xmcam.aio.discovery",
    "DiscoveredDevice": "xmcam.protocol.discovery",
    "AlarmCenterServer": "xmcam.aio.alarm_center",
    "AlarmCenterMessage": "xmcam.protocol.alarm_center",
    "CameraEntry": "xmcam.fleet",
    "CameraResult": "xmcam.fleet",
    "Inventory": "xmcam.fleet",
    "InventoryError": "xmcam.fleet",
    "load_inventory": "xmcam.fleet",
    "run_fleet": "xmcam.fleet",
    "MediaDemuxer": "xmcam.media",
    "VideoFrame": "xmcam.media",
    "AudioFrame": "xmcam.media",
    "InfoFrame": "xmcam.media",
    "PictureFrame": "xmcam.media",
    "open_writer": "xmcam.media.writer",
    "keyframe_to_jpeg": "xmcam.media.writer",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xmcam' has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "AccountLockedError",
    "AlarmCenterMessage",
    "AlarmCenterServer",
    "AlarmEvent",
    "AlarmOutput",
    "AsyncCamera",
    "AudioFrame",
    "AuditReport",
    "AuthenticationError",
    "Backoff",
    "Camera",
    "CameraEntry",
    "CameraResult",
    "ConfigNotFoundError",
    "ConnectionClosedError",
    "ConnectionEvent",
    "DeviceError",
    "DiscoveredDevice",
    "Disk",
    "FrameError",
    "Group",
    "InfoFrame",
    "InvalidRequestError",
    "Inventory",
    "InventoryError",
    "LoginInfo",
    "MediaDemuxer",
    "MessageId",
    "NotLoggedInError",
    "Partition",
    "PayloadError",
    "PermissionDeniedError",
    "PictureFrame",
    "ProtocolError",
    "ReassemblyError",
    "RecordFile",
    "RequestTimeoutError",
    "Ret",
    "StateError",
    "StreamStats",
    "SystemInfo",
    "TalkStats",
    "TransportError",
    "UnsupportedError",
    "User",
    "VideoFrame",
    "WorkState",
    "XMCamError",
    "__version__",
    "connect",
    "discover",
    "keyframe_to_jpeg",
    "load_inventory",
    "open_writer",
    "run_fleet",
    "sofia_hash",
    "watch",
]
