"""The asyncio client: `connect()`, `AsyncCamera` and the reconnect supervisor `watch()`."""

from xmcam.aio.camera import DEFAULT_PORT, AsyncCamera, connect
from xmcam.aio.link import Link
from xmcam.aio.media import LiveStream
from xmcam.aio.supervisor import Backoff, watch

__all__ = ["DEFAULT_PORT", "AsyncCamera", "Backoff", "Link", "LiveStream", "connect", "watch"]
