"""`xmcam rtsp-url`: the camera's RTSP URL, for players (VLC, ffplay) and NVRs (Frigate,
Blue Iris) that do not speak DVRIP.

XM firmware takes the login inside the URL's path, not as `rtsp://user:password@host`
(docs/protocol.md §10.1): `rtsp://HOST:PORT/user=U&password=P&channel=C&stream=S.sdp?real_stream`,
with C counted from 1 (DVRIP counts from 0) and S 0 for the main stream, 1 for the extra one.
The port and whether the server runs come from the `NetWork.RTSP` config.

Printing the password is this command's purpose: the URL goes to standard output only, and
nothing here logs it.
"""

from __future__ import annotations

import argparse
from typing import Any, Final
from urllib.parse import quote

from xmcam.aio import AsyncCamera
from xmcam.cli.output import CommandError, ExitCode, print_json
from xmcam.cli.session import Target, camera_command, channel_number, target_of
from xmcam.errors import DeviceError
from xmcam.protocol import sofia_hash
from xmcam.protocol.codes import ret_meaning

__all__ = ["add_parser", "rtsp_url", "rtsp_url_of"]

DEFAULT_RTSP_PORT: Final = 554
STREAMS: Final = {"main": 0, "extra": 1}
# Characters that would end a field of the path (`&`, `=`, `?`, `#`, `/`) or are not allowed
# in a URL are percent-encoded; letters, digits and `-._~` go as they are.
_SAFE: Final = ""  # quote() keeps letters, digits and -._~ whatever `safe` says


def rtsp_url_of(
    host: str, port: int, user: str, password: str, *, channel: int, stream: str
) -> str:
    """The URL XM firmware serves: `channel` counted from 0 as everywhere in xmcam (the URL
    counts from 1), `stream` "main" or "extra"."""
    address = f"[{host}]" if ":" in host else host
    return (
        f"rtsp://{address}:{port}/user={quote(user, safe=_SAFE)}"
        f"&password={quote(password, safe=_SAFE)}"
        f"&channel={channel + 1}&stream={STREAMS[stream]}.sdp?real_stream"
    )


async def rtsp_url(camera: AsyncCamera, args: argparse.Namespace) -> int:
    target: Target = args.rtsp_target
    # `--channel` was checked against the camera's channel count by `camera_command`.
    try:
        config = await camera.get_config("NetWork.RTSP")
    except DeviceError as error:
        raise CommandError(
            f"this camera has no RTSP server: NetWork.RTSP refused with Ret {error.ret} "
            f"({ret_meaning(error.ret)})",
            ExitCode.FAILURE,
        ) from None
    server = config.get("Server") if isinstance(config, dict) else None
    if not isinstance(config, dict) or config.get("IsServer") is not True:
        raise CommandError(
            "RTSP is off on this camera (NetWork.RTSP IsServer is not true); turn it on with: "
            "xmcam config set NetWork.RTSP '{\"IsServer\": true}'",
            ExitCode.FAILURE,
        )
    port = _port(server)
    password = sofia_hash(target.password) if args.hash else target.password
    url = rtsp_url_of(
        target.host, port, target.user, password, channel=args.channel, stream=args.stream
    )
    if args.json:
        record: dict[str, Any] = {
            "url": url,
            "channel": args.channel,
            "stream": args.stream,
            "port": port,
        }
        print_json(record)
    else:
        print(url)
    return ExitCode.SUCCESS


def _port(server: Any) -> int:
    """The server's port; 554 (the RTSP default) when the config leaves it out or is odd."""
    port = server.get("Port") if isinstance(server, dict) else None
    if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
        return port
    return DEFAULT_RTSP_PORT


def _handler(args: argparse.Namespace) -> int:
    # The login the URL carries is the one xmcam logs in with (-u, -p, XMCAM_PASSWORD, or the
    # inventory's entry for `-H NAME`).
    args.rtsp_target = target_of(args)
    return camera_command(rtsp_url)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "rtsp-url",
        help="print the camera's RTSP URL (for players and NVRs), password included",
        description=(
            "Print the URL of the camera's RTSP server, in the form XM firmware takes "
            "(the login in the path, channels counted from 1 there), with the port from the "
            "camera's NetWork.RTSP config. It holds the password xmcam logs in with, on "
            "standard output only. Exits 1 when the camera's RTSP server is off."
        ),
        epilog="example: xmcam rtsp-url --channel 0 --stream extra",
    )
    parser.add_argument(
        "--channel",
        type=channel_number,
        default=0,
        metavar="N",
        help="the video channel, counted from 0 as in every xmcam command (default 0)",
    )
    parser.add_argument(
        "--stream",
        choices=tuple(STREAMS),
        default="main",
        help="main (full resolution, default) or extra (the sub stream)",
    )
    parser.add_argument(
        "--hash",
        action="store_true",
        help="put the password's 8-character hash in the URL instead (firmware takes either; "
        "it is as good as the password, but never needs escaping)",
    )
    parser.set_defaults(handler=_handler)
