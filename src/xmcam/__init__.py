"""xmcam: the toolkit for Xiongmai (XMEye / iCSee / NetSurveillance) cameras and recorders.

They speak the DVRIP ("Sofia") protocol on TCP 34567. This package holds the sans-I/O
protocol core (`xmcam.protocol`) for both sides of the wire, the exception tree
(`xmcam.errors`) and the `xmcam` command. Importing it loads nothing outside the standard
library.
"""

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

__version__ = "0.1.0"

__all__ = [
    "AccountLockedError",
    "AuthenticationError",
    "ConfigNotFoundError",
    "ConnectionClosedError",
    "DeviceError",
    "FrameError",
    "InvalidRequestError",
    "MessageId",
    "NotLoggedInError",
    "PayloadError",
    "PermissionDeniedError",
    "ProtocolError",
    "ReassemblyError",
    "RequestTimeoutError",
    "Ret",
    "StateError",
    "TransportError",
    "UnsupportedError",
    "XMCamError",
    "__version__",
    "sofia_hash",
]
