"""XM firmware images, sans I/O: the description an image carries, and a check of the image that
runs as its bytes arrive (docs/protocol.md §18).

An XM upgrade file (`*.bin`) is a zip archive: the flash images it installs, and a JSON member
named `InstallDesc` that says which hardware and vendor it is for ("Hardware", "Vendor") and
what to burn ("UpgradeCommand"). The device's own upgrade information (1525) names the same
two keys. A client reads the description before it sends a byte and compares "Hardware" with
the device's `SystemInfo.HardWare`; the device checks the image as the 1522 blocks come.

`ImageCheck` is that check, written so that it never needs the whole image at once: each
member's CRC-32 (over its inflated bytes for a deflated member) runs as the blocks are fed, the
central directory at the end is checked against the members seen, and `finish()` gives the one
final answer. It holds no more than a header, the description and the central directory, each
bounded; an image over `MAX_IMAGE_SIZE` or with more than `MAX_MEMBERS` members is refused, and a
member that inflates past its declared size is refused as soon as it does (no zip bomb).

What it does not take: encrypted members, members whose sizes come after their data (general
purpose flag bit 3; a zip written to a file never needs it) and methods other than stored and
deflated. Those are FirmwareImageError, like a truncated or corrupt image.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from xmcam.errors import FirmwareImageError

__all__ = [
    "BLOCK_SIZE",
    "DESCRIPTION_NAME",
    "MAX_DESCRIPTION_SIZE",
    "MAX_IMAGE_SIZE",
    "MAX_MEMBERS",
    "FirmwareDescription",
    "ImageCheck",
    "hardware_matches",
    "parse_description",
    "read_description",
]

BLOCK_SIZE: Final = 0x8000
"""Bytes of image per 1522 packet, as python-dvr sends them ([PYD] `upgrade()`)."""
DESCRIPTION_NAME: Final = "InstallDesc"
MAX_IMAGE_SIZE: Final = 64 * 1024 * 1024
"""The largest image taken: XM cameras have 8 to 32 MB of flash."""
MAX_DESCRIPTION_SIZE: Final = 64 * 1024
MAX_MEMBERS: Final = 256
_MAX_DIRECTORY: Final = 1024 * 1024  # bytes of central directory and end record

_LOCAL: Final = b"PK\x03\x04"
_CENTRAL: Final = b"PK\x01\x02"
_END: Final = b"PK\x05\x06"
_LOCAL_HEADER: Final = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_END_RECORD: Final = struct.Struct("<4sHHHHIIH")  # 22 bytes
_STORED: Final = 0
_DEFLATED: Final = 8
_ENCRYPTED_FLAG: Final = 0x1
_DESCRIPTOR_FLAG: Final = 0x8


@dataclass(frozen=True, slots=True)
class FirmwareDescription:
    """What an image's InstallDesc says of it. `version` is its "SoftWareVersion" (or
    "Version"): vendor files usually name the version only in their file name, so it may be
    None."""

    hardware: str | None
    vendor: str | None
    version: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)


def parse_description(data: bytes) -> FirmwareDescription:
    """Read an InstallDesc member (JSON, UTF-8, perhaps with a BOM or trailing NULs)."""
    if len(data) > MAX_DESCRIPTION_SIZE:
        raise FirmwareImageError(f"{DESCRIPTION_NAME} is over {MAX_DESCRIPTION_SIZE} bytes")
    try:
        value = json.loads(data.rstrip(b"\x00").decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FirmwareImageError(f"{DESCRIPTION_NAME} is not JSON") from None
    if not isinstance(value, dict):
        raise FirmwareImageError(f"{DESCRIPTION_NAME} is not a JSON object")
    version = value.get("SoftWareVersion", value.get("Version"))
    return FirmwareDescription(
        hardware=_text(value.get("Hardware")),
        vendor=_text(value.get("Vendor")),
        version=_text(version),
        fields=value,
    )


def read_description(image: bytes | bytearray | memoryview) -> FirmwareDescription:
    """Check a whole image (`ImageCheck`) and return its description."""
    check = ImageCheck()
    check.feed(image)
    return check.finish()


def hardware_matches(description: FirmwareDescription, hardware: str | None) -> bool:
    """Whether an image is for the device whose `SystemInfo.HardWare` is `hardware`: the same
    name, ignoring case and surrounding blanks. An image that names no hardware matches
    nothing."""
    if description.hardware is None or hardware is None:
        return False
    return description.hardware.strip().casefold() == hardware.strip().casefold()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class ImageCheck:
    """Check an image as its bytes arrive: `feed()` each block, then `finish()`.

    `feed()` never raises: the first fault is kept (`fault`) and what follows is only counted,
    so that a device can answer once, at the end, as XM devices do."""

    def __init__(self, max_size: int = MAX_IMAGE_SIZE) -> None:
        self.size = 0
        """Bytes fed so far."""
        self.members = 0
        self.fault: str | None = None
        """Why the image is refused, once a fault has been seen."""
        self._max_size = max_size
        self._header = bytearray()  # a local header being gathered
        self._directory = bytearray()  # the central directory and end record
        self._in_directory = False
        self._remaining = 0  # compressed bytes of the current member still to come
        self._name = ""
        self._crc = 0
        self._expected_crc = 0
        self._declared = 0  # the current member's uncompressed size
        self._inflated = 0
        self._inflater: Any = None  # zlib's Decompress for a deflated member
        self._capture: bytearray | None = None  # the InstallDesc member's bytes
        self._description: bytes | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """The next bytes of the image."""
        self.size += len(data)
        if self.fault is not None:
            return
        if self.size > self._max_size:
            self.fault = f"the image is over {self._max_size} bytes"
            return
        view = memoryview(data)
        while view and self.fault is None:
            if self._in_directory:
                self._directory += view
                if len(self._directory) > _MAX_DIRECTORY:
                    self.fault = "the central directory is too large"
                return
            view = self._member_data(view) if self._remaining else self._local_header(view)

    def _local_header(self, view: memoryview) -> memoryview:
        header = self._header
        fixed = _LOCAL_HEADER.size
        if len(header) < fixed:
            taken = min(fixed - len(header), len(view))
            header += view[:taken]
            view = view[taken:]
            if bytes(header[:4]) in (_CENTRAL, _END):  # the members are over: the directory
                self._in_directory = True
                self._directory += header
                header.clear()
                return view
            if len(header) >= 4 and header[:4] != _LOCAL:
                self.fault = "not a zip archive (no local header where one must be)"
                return view
            if len(header) < fixed:
                return view
        name_length, extra_length = struct.unpack_from("<HH", header, 26)
        wanted = fixed + name_length + extra_length
        taken = min(wanted - len(header), len(view))
        header += view[:taken]
        if len(header) == wanted:
            self._start_member(bytes(header))
            header.clear()
        return view[taken:]

    def _start_member(self, header: bytes) -> None:
        (_, _, flags, method, _, _, crc, size, declared, name_length, _) = (
            _LOCAL_HEADER.unpack_from(header)
        )
        name = header[_LOCAL_HEADER.size : _LOCAL_HEADER.size + name_length]
        self._name = name.decode("utf-8", "replace")
        self.members += 1
        if self.members > MAX_MEMBERS:
            self.fault = f"more than {MAX_MEMBERS} members"
        elif flags & (_ENCRYPTED_FLAG | _DESCRIPTOR_FLAG):
            self.fault = f"member {self._name!r} is encrypted or streamed (not supported)"
        elif method not in (_STORED, _DEFLATED) or (method == _STORED and size != declared):
            self.fault = f"member {self._name!r} has an unsupported compression"
        elif declared > self._max_size:
            self.fault = f"member {self._name!r} is over {self._max_size} bytes"
        if self.fault is not None:
            return
        self._expected_crc, self._declared = crc, declared
        self._crc = self._inflated = 0
        self._inflater = zlib.decompressobj(-15) if method == _DEFLATED else None
        self._capture = None
        if self._name.rsplit("/", 1)[-1] == DESCRIPTION_NAME:
            if declared > MAX_DESCRIPTION_SIZE:
                self.fault = f"{DESCRIPTION_NAME} is over {MAX_DESCRIPTION_SIZE} bytes"
                return
            self._capture = bytearray()
        self._remaining = size
        if size == 0:
            self._end_member()

    def _member_data(self, view: memoryview) -> memoryview:
        chunk, view = view[: self._remaining], view[self._remaining :]
        self._remaining -= len(chunk)
        inflater = self._inflater
        if inflater is not None:
            try:
                # One byte over what is declared is enough to know it is too much.
                plain = inflater.decompress(chunk, self._declared - self._inflated + 1)
            except zlib.error:
                self.fault = f"member {self._name!r} does not inflate"
                return view
            if inflater.unconsumed_tail:
                plain += b"?"  # more would come: over the declared size
        else:
            plain = chunk
        self._inflated += len(plain)
        if self._inflated > self._declared:
            self.fault = f"member {self._name!r} is larger than its header says"
            return view
        self._crc = zlib.crc32(plain, self._crc)
        if self._capture is not None:
            self._capture += plain
        if not self._remaining:
            self._end_member()
        return view

    def _end_member(self) -> None:
        inflater = self._inflater
        if inflater is not None and not inflater.eof:
            self.fault = f"member {self._name!r} ends before its compressed data does"
        elif self._inflated != self._declared or self._crc != self._expected_crc:
            self.fault = f"member {self._name!r} is corrupt (CRC or size mismatch)"
        elif self._capture is not None:
            self._description = bytes(self._capture)
        self._inflater = self._capture = None

    def finish(self) -> FirmwareDescription:
        """The image's description, once every byte has come; FirmwareImageError when it is
        corrupt, cut short or not an XM upgrade file."""
        if self.fault is not None:
            raise FirmwareImageError(self.fault)
        directory = self._directory
        end = directory.rfind(_END)
        if not self._in_directory or end < 0 or len(directory) - end < _END_RECORD.size:
            raise FirmwareImageError("the image is cut short (no end of the zip archive)")
        (_, _, _, _, entries, _, _, comment_length) = _END_RECORD.unpack_from(directory, end)
        if entries != self.members or end + _END_RECORD.size + comment_length != len(directory):
            raise FirmwareImageError("the zip directory does not match the members")
        if self._description is None:
            raise FirmwareImageError(f"no {DESCRIPTION_NAME} in the image: not an XM upgrade file")
        return parse_description(self._description)
