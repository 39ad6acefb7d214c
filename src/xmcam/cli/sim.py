"""`xmcam sim`: run a simulated camera until Ctrl-C or SIGTERM.

The first line on stdout is `listening on HOST:PORT` (with --json, one JSON document:
`{"listening": "HOST:PORT", "host": HOST, "port": PORT}`), so that scripts can read the port
when they asked for `--port 0`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from xmcam.cli.output import ExitCode, print_json, warn_password_on_command_line
from xmcam.cli.session import positive_seconds
from xmcam.protocol import DEFAULT_PORT
from xmcam.sim.faults import Faults
from xmcam.sim.media import MediaError
from xmcam.sim.profile import BUILTIN_PROFILES, ProfileError
from xmcam.sim.state import StateFileError, StateSaveError

__all__ = ["PASSWORD_ENVIRONMENT", "add_parser", "run_simulator"]

PASSWORD_ENVIRONMENT = "XMCAM_SIM_PASSWORD"  # noqa: S105  (a variable's name)


def _message_ids(text: str) -> set[int]:
    try:
        ids = {int(item, 0) for item in text.split(",") if item.strip()}
    except ValueError:
        ids = {-1}
    if not all(0 <= message_id <= 0xFFFF for message_id in ids):
        raise argparse.ArgumentTypeError(f"not a list of message ids: {text!r}")
    return ids


def _delay(text: str) -> float:
    """Seconds, 0 included (no delay)."""
    return 0.0 if text.strip() in ("0", "0.0") else positive_seconds(text)


def _at_least_one(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (0 to 65535): {text!r}")
    return int(text)


def _host_port(text: str) -> tuple[str, int]:
    """HOST:PORT of the alarm center (an IPv4 address or a name)."""
    host, _, port = text.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {text!r}")
    return host, int(port)


def _serial(text: str) -> str:
    if not 0 < len(text) <= 64 or not text.isprintable():
        raise argparse.ArgumentTypeError(f"not a serial number (1 to 64 characters): {text!r}")
    return text


def _faults(args: argparse.Namespace) -> Faults:
    return Faults(
        reply_delay=args.reply_delay,
        silent_ids=args.silent_ids or set(),
        drop_after_frames=args.drop_after_frames,
        write_chunk=args.write_chunk,
        coalesce=args.coalesce,
        omit_terminator=args.omit_terminator,
        garbage=args.garbage,
        media_pace=0.0 if args.unpaced else 1.0,
    )


async def run_simulator(args: argparse.Namespace, stop: asyncio.Event | None = None) -> int:
    """Serve until `stop` is set (or a signal arrives); return the exit code."""
    # Here, not at the top: every command builds this command's parser, few run it.
    from xmcam.sim.server import Simulator  # noqa: PLC0415

    try:
        simulator = Simulator(
            args.profile,
            host=args.host,
            port=args.port,
            state_path=args.state,
            user=args.sim_user,
            password=_password(args),
            channels=args.channels,
            alarm_every=args.alarm_every,
            faults=_faults(args),
            video=args.video,
            sub_video=args.sub_video,
            audio=args.audio,
            no_audio=args.no_audio,
            recordings=args.recordings,
            discovery_port=args.discovery_port,
            alarm_center=args.alarm_center,
            serial=args.serial,
            encryption=args.encryption,
            hidden_accounts=args.hidden_accounts,
            talk_record=getattr(args, "talk_record", None),
        )
    except (ProfileError, StateFileError, MediaError) as error:
        print(f"xmcam: {error}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        await simulator.start()
    except OSError as error:
        print(f"xmcam: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return ExitCode.CONNECTION
    except StateSaveError as error:  # --alarm-center written to a state file that cannot be
        await simulator.stop()
        print(f"xmcam: {error}", file=sys.stderr)
        return ExitCode.USAGE
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal_number, stop.set)
    # Signals are handled before the first line: a script may stop us as soon as it reads it.
    if getattr(args, "json", False):
        address = f"{simulator.host}:{simulator.port}"
        print_json({"listening": address, "host": simulator.host, "port": simulator.port})
    else:
        print(f"listening on {simulator.host}:{simulator.port}", flush=True)
    profile = simulator.profile
    print(
        f"xmcam: profile {profile.name}: {profile.channels.video} channel(s); "
        f"encrypted session {profile.encryption.mode.value}; "
        f"faults: {simulator.faults.describe()}; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    if simulator.discovery_port is not None:
        print(
            f"xmcam: answering searches on UDP {simulator.host}:{simulator.discovery_port}",
            file=sys.stderr,
        )
    try:
        await stop.wait()
    finally:
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal_number)
        await simulator.stop()
    print("xmcam: simulator stopped", file=sys.stderr, flush=True)
    return ExitCode.SUCCESS


def _password(args: argparse.Namespace) -> str | None:
    """--password, else XMCAM_SIM_PASSWORD, else None (the profile's: empty)."""
    if args.sim_password is not None:
        return str(args.sim_password)
    return os.environ.get(PASSWORD_ENVIRONMENT)


def _run(args: argparse.Namespace) -> int:
    # Logging (-v, -vv) is set up by main() for every command.
    if args.sim_password:
        warn_password_on_command_line("--password", PASSWORD_ENVIRONMENT)
    return asyncio.run(run_simulator(args))


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "sim",
        help="run a simulated XM camera (no hardware needed)",
        description=(
            "Serve DVRIP on TCP like an XM camera. The default profile answers exactly like "
            "the camera in the seed capture. The first line printed is 'listening on HOST:PORT'. "
            "Ctrl-C or SIGTERM stops it with exit 0: the end a service is meant to have, not "
            "the 130 of an interrupted command."
        ),
        epilog=(
            "examples:\n  xmcam sim --port 0\n  xmcam sim --profile nvr-8ch --alarm-every 10\n"
            "  xmcam sim --state cam.json --reply-delay 0.5 --silent-ids 1020\n"
            "  xmcam sim --video cam.h265 --sub-video sub.h264 --no-audio --recordings files.json\n"
            "  xmcam sim --profile v506               # wants the encrypted session\n"
            "  xmcam sim --encryption optional        # the seed's camera, both kinds of login\n"
            f"built-in profiles: {', '.join(BUILTIN_PROFILES)}"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(
        json_help='print where it listens as one JSON document on the first line: {"listening": '
        '"HOST:PORT", "host": HOST, "port": PORT}'
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: loopback)"
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="TCP port; 0 picks a free one"
    )
    parser.add_argument("--profile", help="a built-in profile name or a profile JSON file")
    parser.add_argument(
        "--encryption",
        choices=("off", "optional", "required"),
        help="the encrypted FunSDK session: off, optional (both kinds of login) or required "
        "(as newer firmware; the v506 profile's own setting)",
    )
    parser.add_argument("--state", type=Path, help="keep changes in this JSON file across restarts")
    # Own destinations: the global -u/-p options are the client's, not the simulator's.
    parser.add_argument(
        "--user", dest="sim_user", help="the account clients log in with (default: admin)"
    )
    parser.add_argument(
        "--password",
        dest="sim_password",
        help=f"its password (default: env {PASSWORD_ENVIRONMENT}, else empty as in the seed; "
        'prefer the environment, which "ps" does not show)',
    )
    parser.add_argument(
        "--hidden-accounts",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let the profile's hidden accounts (the firmware's 'default', CVE-2018-17919) "
        "log in: yes unless a password is given (default), or as told",
    )
    parser.add_argument("--channels", type=int, help="number of video channels")
    parser.add_argument(
        "--alarm-every", type=positive_seconds, metavar="SECONDS", help="motion alarm start/stop"
    )
    parser.add_argument(
        "--discovery-port",
        type=_port,
        metavar="PORT",
        help="answer UDP searches (xmcam discover) on this port: 34569 as a device, 0 a free one",
    )
    parser.add_argument(
        "--alarm-center",
        type=_host_port,
        metavar="HOST:PORT",
        help="push every alarm to this alarm center (NetWork.AlarmServer), e.g. 127.0.0.1:15002",
    )
    parser.add_argument(
        "--serial", type=_serial, help="another serial number (and MAC), to run several devices"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log connections (-vv: more)"
    )
    faults = parser.add_argument_group("fault knobs")
    faults.add_argument(
        "--reply-delay",
        type=_delay,
        default=0.0,
        metavar="SECONDS",
        help="wait this long before each reply (default 0: at once)",
    )
    faults.add_argument(
        "--silent-ids", type=_message_ids, metavar="ID,ID", help="never answer these"
    )
    faults.add_argument(
        "--drop-after-frames", type=_at_least_one, metavar="N", help="close after N frames"
    )
    faults.add_argument("--write-chunk", type=_at_least_one, metavar="BYTES", help="split writes")
    faults.add_argument("--coalesce", action="store_true", help="pack replies into one write")
    faults.add_argument("--omit-terminator", action="store_true", help="JSON without \\n\\0")
    faults.add_argument("--garbage", action="store_true", help="junk frame before each reply")
    media = parser.add_argument_group("media (default: the built-in 640x360 H.264 clips)")
    media.add_argument(
        "--video", type=Path, metavar="FILE", help="main stream: an H.264 or H.265 Annex-B clip"
    )
    media.add_argument("--sub-video", type=Path, metavar="FILE", help="sub-stream (Extra1) clip")
    sound = media.add_mutually_exclusive_group()
    sound.add_argument("--audio", type=Path, metavar="FILE", help="G.711 A-law 8 kHz, raw")
    sound.add_argument("--no-audio", action="store_true", help="streams without audio")
    media.add_argument(
        "--recordings", type=Path, metavar="FILE", help="serve these recordings (a JSON list)"
    )
    media.add_argument(
        "--unpaced", action="store_true", help="live streams as fast as the socket takes them"
    )
    media.add_argument(
        "--talk-record",
        type=Path,
        metavar="DIR",
        help="write what each talk session played to DIR/talk-NNN-chN.wav (8 kHz 16-bit; "
        "-2, -3 ... added when that name is taken: nothing is overwritten)",
    )
    parser.set_defaults(handler=_run)
