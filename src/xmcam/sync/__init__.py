"""The blocking client: `Camera`, on a plain socket, with no event loop and no thread."""

from xmcam.sync.camera import DEFAULT_PORT, Camera
from xmcam.sync.link import Link
from xmcam.sync.media import LiveStream

__all__ = ["DEFAULT_PORT", "Camera", "Link", "LiveStream"]
