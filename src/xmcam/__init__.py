"""xmcam: the toolkit for Xiongmai (XMEye / iCSee / NetSurveillance) cameras and recorders.

They speak the DVRIP ("Sofia") protocol on TCP 34567. This package holds the asyncio client
(`xmcam.connect`, `xmcam.watch`), the blocking client (`xmcam.Camera`), their result models,
the sans-I/O protocol core (`xmcam.protocol`) for both sides of the wire, the exception tree
(`xmcam.errors`) and the `xmcam` command. Importing it loads nothing outside the standard
library, and the clients (with asyncio and socket) only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from xmcam.models import (
    AlarmEvent,
    AlarmOutput,
    ConnectionEvent,
    Disk,
    Group,
    LoginInfo,
    Partition,
    SystemInfo,
    User,
    WorkState,
)
from xmcam.protocol import MessageId, Ret, sofia_hash

if TYPE_CHECKING:
    from xmcam.aio import AsyncCamera, Backoff, connect, watch
    from xmcam.sync import Camera

# The clients load on first use: `import xmcam` stays cheap for the core's users.
_LAZY = {
    "AsyncCamera": "xmcam.aio",
    "Backoff": "xmcam.aio",
    "connect": "xmcam.aio",
    "watch": "xmcam.aio",
    "Camera": "xmcam.sync",
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
    "AlarmEvent",
    "AlarmOutput",
    "AsyncCamera",
    "AuthenticationError",
    "Backoff",
    "Camera",
    "ConfigNotFoundError",
    "ConnectionClosedError",
    "ConnectionEvent",
    "DeviceError",
    "Disk",
    "FrameError",
    "Group",
    "InvalidRequestError",
    "LoginInfo",
    "MessageId",
    "NotLoggedInError",
    "Partition",
    "PayloadError",
    "PermissionDeniedError",
    "ProtocolError",
    "ReassemblyError",
    "RequestTimeoutError",
    "Ret",
    "StateError",
    "SystemInfo",
    "TransportError",
    "UnsupportedError",
    "User",
    "WorkState",
    "XMCamError",
    "__version__",
    "connect",
    "sofia_hash",
    "watch",
]
