"""python-dvr's recordings methods, as its current source has them, on the PyPI package's camera.

The PyPI release of python-dvr (0.0.1, module `dvrip`) has no `list_local_files` or
`download_file`; its repository (OpenIPC/python-dvr, `dvrip.py`) added them later, and that is
what its users run against recorders. These functions are our rendering of those two methods,
step by step, on a logged-in `DVRIPCam` of the installed release (whose `send`, socket and
`receive_with_timeout` they share), so the simulator is held to what they do:

- `list_local_files`: 1440 with `Event "*"`, `StreamType "0x00000000"`; a Ret other than 100
  is "no files"; while a page holds 64 records it asks again from the last record's
  `BeginTime` and appends the page as it comes (the repeated record included; it does not
  drop duplicates). A later page without `OPFileQuery` is a KeyError there.
- `download_file`: the claim (1424, `Action "Claim"`, `PlayMode "ByName"`) through `send`,
  which reads its reply; then 1420 `DownloadStart` written with version 0 and compact JSON,
  and from there every packet's data is file data, whatever its message id (a JSON reply
  here lands in the file), until a packet with no data. A read that times out returns None,
  and `bytearray.extend(None)` is the TypeError "can't extend bytearray with NoneType" that
  a download ended only by EndFlag gives. Then `DownloadStop` through `send`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

__all__ = ["download_file", "list_local_files"]

PAGE: int = 64


def _query(cam: Any, begin: str, end: str, filetype: str, channel: int) -> Any:
    body = {
        "BeginTime": begin,
        "Channel": channel,
        "DriverTypeMask": "0x0000FFFF",
        "EndTime": end,
        "Event": "*",
        "StreamType": "0x00000000",
        "Type": filetype,
    }
    return cam.send(1440, {"Name": "OPFileQuery", "OPFileQuery": body})


def list_local_files(
    cam: Any, begin: str, end: str, filetype: str, channel: int = 0
) -> list[dict[str, Any]]:
    data = _query(cam, begin, end, filetype, channel)
    if data is None:
        raise ConnectionRefusedError("Could not get files")
    if data["Ret"] != 100:
        return []
    found: list[dict[str, Any]] = list(data["OPFileQuery"])
    while len(data["OPFileQuery"]) == PAGE:  # the 511-record rule never comes into play here
        data = _query(cam, data["OPFileQuery"][-1]["BeginTime"], end, filetype, channel)
        found += data["OPFileQuery"]
    return found


def _playback(action: str, name: str, begin: str, end: str) -> dict[str, Any]:
    parameter = {
        "PlayMode": "ByName",
        "FileName": name,
        "StreamType": 0,
        "Value": 0,
        "TransMode": "TCP",
    }
    operation = {"Action": action, "Parameter": parameter, "StartTime": begin, "EndTime": end}
    return {"Name": "OPPlayBack", "OPPlayBack": operation}


def _get_file(cam: Any, first_length: int) -> bytearray:
    data = bytearray()
    data.extend(cam.receive_with_timeout(first_length))
    while True:
        header = cam.receive_with_timeout(20)
        length = struct.unpack("I", header[16:])[0]  # TypeError on None: the timeout
        if length == 0:
            return data
        data.extend(cam.receive_with_timeout(length))


def download_file(cam: Any, begin: str, end: str, name: str, target: Path) -> None:
    cam.send(1424, _playback("Claim", name, begin, end))
    cam.busy.acquire()
    body = json.dumps(
        _playback("DownloadStart", name, begin, end), ensure_ascii=False, separators=(",", ":")
    ).encode()
    tail = b"\x0a\x00"
    header = struct.pack("BB2xII2xHI", 255, 0, cam.session, cam.packet_count, 1420, len(body) + 2)
    cam.socket_send(header + body + tail)
    head = cam.socket_recv(20)
    (_, _, cam.session, _, _, length) = struct.unpack("BB2xII2xHI", head)
    data = _get_file(cam, length)
    cam.busy.release()
    target.write_bytes(data)
    cam.send(1420, _playback("DownloadStop", name, begin, end))
