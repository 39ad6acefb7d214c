"""`xmcam bridge mqtt`: bridge camera alarms into MQTT and Home Assistant (docs/bridge.md).

It runs until SIGINT or SIGTERM, then marks every camera and the bridge offline on the broker
before it exits, with exit code 0 whenever the signal comes (even before the bridge has
started, and whether or not the broker is up): stopping is how a service ends. It logs one
line per change of a camera's availability (and the broker's) on stderr. The broker's
password never shows: give it in the URL or, better, in XMCAM_MQTT_PASSWORD, which `ps` does
not show.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from xmcam.bridge import INSTALL_HINT
from xmcam.bridge.broker import PASSWORD_ENVIRONMENT, parse_broker_url
from xmcam.bridge.homeassistant import MAX_AUDIT_INTERVAL
from xmcam.bridge.shard import Shard, parse_shard
from xmcam.cli.output import (
    TIME_FORMAT,
    CommandError,
    ExitCode,
    TerminalFormatter,
    warn_password_on_command_line,
)
from xmcam.cli.parsing import no_json
from xmcam.cli.session import positive_seconds, target_of, timeout_given
from xmcam.cli.signals import signals_noted, stop_signals, stopped_by
from xmcam.fleet import CameraEntry, InventoryError, load_inventory

if TYPE_CHECKING:
    from xmcam.bridge.mqtt import MqttBridge

__all__ = ["add_parser"]

MISSING_EXTRA: Final = (
    f"the MQTT bridge needs aiomqtt, which a plain install of xmcam brings; install it with: "
    f"{INSTALL_HINT}"
)
ALL_INTERFACES: Final = "0.0.0.0"  # noqa: S104  (cameras push to this host's LAN address)
_UNSAFE_NAME: Final = re.compile(r"[^\w.-]")


def _mqtt_handler(args: argparse.Namespace) -> int:
    # SIGINT and SIGTERM stop the bridge cleanly whenever they come: before its loop's
    # handlers are in place (importing the MQTT client, starting the loop), they are noted,
    # and the bridge stops as soon as it can. main() notes them from the command's start
    # (`signal_ends_cleanly`); this covers a caller that runs the handler itself.
    with signals_noted():
        return _bridge_until_stopped(args)


def _bridge_until_stopped(args: argparse.Namespace) -> int:
    try:
        from xmcam.bridge.mqtt import MqttBridge  # noqa: PLC0415  (imported when used)
    except ImportError as error:
        if (error.name or "").partition(".")[0] not in ("aiomqtt", "paho"):
            raise
        raise CommandError(MISSING_EXTRA, ExitCode.FAILURE) from None
    alarm_center_host = _alarm_center_host(args)
    if _password_in_url(args.broker):
        warn_password_on_command_line("the broker URL", PASSWORD_ENVIRONMENT)
    try:
        broker = parse_broker_url(args.broker)
        bridge = MqttBridge(
            broker,
            _cameras(args),
            alarm_center_port=args.alarm_center[1] if args.alarm_center else None,
            alarm_center_host=alarm_center_host,
            prefix=args.prefix,
            discovery_prefix=args.discovery_prefix,
            skew_interval=args.skew_interval,
            audit_interval=args.audit_interval,
            shard=args.shard,
            connect_rate=args.connect_rate,
        )
    except ValueError as error:
        raise CommandError(str(error), ExitCode.USAGE) from None
    with _bridge_log(args):
        logging.getLogger("xmcam.bridge").info(
            "bridging %d camera(s) to %s%s", len(bridge.cameras), broker.display, _of(bridge)
        )
        asyncio.run(_run(bridge))
    return ExitCode.SUCCESS


def _of(bridge: MqttBridge) -> str:
    """`, shard K/N of an inventory of M` for a sharded bridge."""
    if bridge.shard is None:
        return ""
    return f" (shard {bridge.shard.label} of an inventory of {bridge.inventory_size})"


def _audit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_AUDIT_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"expected 0 to {MAX_AUDIT_INTERVAL:.0f} seconds (30 days), not {text!r}"
        )
    return value


def _shard(text: str) -> Shard:
    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _rate(text: str) -> float:
    """Cameras per second: `N` or `N/s`."""
    number = text.strip().removesuffix("/s")
    try:
        value = float(number)
    except ValueError:
        value = 0.0
    if not 0 < value <= 100_000:  # also refuses nan
        raise argparse.ArgumentTypeError(f"not a rate of 0 to 100000 cameras/s: {text!r}")
    return value


def _alarm_center_host(args: argparse.Namespace) -> str:
    """Where the alarm center listens: --alarm-center's HOST or --alarm-center-bind, else
    every interface. Cameras push to this host's address on their LAN, which the bridge
    cannot know (several interfaces, DHCP, a container's network): so every interface unless
    told, and the pushes' source addresses are checked against the inventory instead."""
    given = args.alarm_center[0] if args.alarm_center else None
    bind = args.alarm_center_bind
    if bind is not None and args.alarm_center is None:
        raise CommandError("--alarm-center-bind needs --alarm-center PORT", ExitCode.USAGE)
    if bind is not None and given is not None and given != bind:
        raise CommandError(
            "the alarm center's address is given twice (--alarm-center HOST:PORT and "
            "--alarm-center-bind)",
            ExitCode.USAGE,
        )
    return bind or given or ALL_INTERFACES


def _password_in_url(url: str) -> bool:
    """Whether `mqtt://USER:PASSWORD@...` carries a password (the URL may be malformed:
    parse_broker_url says so later)."""
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def _cameras(args: argparse.Namespace) -> list[CameraEntry]:
    """The inventory's cameras, or the one camera of the global -H/-u/-p options."""
    if args.inventory is not None:
        try:
            inventory = load_inventory(args.inventory).with_timeout(timeout_given(args))
            return list(inventory)
        except InventoryError as error:
            raise CommandError(str(error), ExitCode.USAGE) from None
    target = target_of(args)
    name = args.name or _UNSAFE_NAME.sub("_", target.host)
    return [
        CameraEntry(
            name,
            target.host,
            target.port,
            target.user,
            target.password,
            target.timeout,
            encryption=target.encryption,
        )
    ]


async def _run(bridge: MqttBridge) -> None:
    # Both signals stop the bridge: it says offline, then returns (a second signal is
    # harmless, the goodbye is bounded by the bridge's shutdown grace).
    with stop_signals(lambda _: bridge.stop()):
        if stopped_by() is not None:  # a signal came while the bridge was starting
            bridge.stop()
        await bridge.run()


@contextlib.contextmanager
def _bridge_log(args: argparse.Namespace) -> Iterator[None]:
    """The bridge's own lines (availability changes) on stderr with the time, whatever the
    verbosity; -vv or --debug adds its debug lines (each alarm, the MQTT client's packets)."""
    logger = logging.getLogger("xmcam.bridge")
    handler = logging.StreamHandler(sys.stderr)
    # Camera models, firmware versions and serials in these lines are the devices' words.
    handler.setFormatter(TerminalFormatter("%(asctime)s %(message)s", TIME_FORMAT))
    previous = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if args.debug or args.verbose > 1 else logging.INFO)
    logger.propagate = False  # the command's own stderr handler would print each line again
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]


def _listen_address(text: str) -> tuple[str | None, int]:
    """`PORT` (the host left to --alarm-center-bind, else every interface) or `HOST:PORT`."""
    host, colon, port = text.rpartition(":")
    if (colon and not host) or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"not [HOST:]PORT (port 0 to 65535): {text!r}")
    return (host.strip("[]") if colon else None), int(port)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "bridge",
        help="bridge alarms into MQTT and Home Assistant",
        description="Bridge camera alarms into other systems. See `xmcam bridge mqtt --help`.",
        epilog="example: xmcam -H 192.168.1.10 bridge mqtt --broker mqtt://127.0.0.1:1883",
    )
    kinds = parser.add_subparsers(title="bridges", metavar="BRIDGE")
    mqtt = kinds.add_parser(
        "mqtt",
        help="alarms, availability and Home Assistant entities on an MQTT broker",
        description=(
            "Watch every camera (reconnecting by itself) and publish its alarms, motion "
            "sensors, availability and Home Assistant discovery configs on an MQTT broker; obey "
            "the alarm-output switches and the reboot buttons. Runs until Ctrl-C or SIGTERM, "
            "then marks everything offline and exits with 0. Topics: docs/bridge.md."
        ),
        epilog=(
            "examples:\n"
            "  xmcam bridge mqtt --broker mqtt://broker.lan --inventory cameras.toml\n"
            "  XMCAM_MQTT_PASSWORD=secret xmcam -H 192.168.1.10 bridge mqtt "
            "--broker mqtt://bridge@broker.lan:1883 --alarm-center 15002\n"
            "  xmcam bridge mqtt --broker mqtt://broker.lan --inventory cameras.toml "
            "--shard 0/3 --connect-rate 200/s"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mqtt.add_argument(
        "--broker",
        required=True,
        metavar="URL",
        help="mqtt://[USER[:PASSWORD]@]HOST[:PORT] (port 1883 unless given; the password "
        "may come from XMCAM_MQTT_PASSWORD instead)",
    )
    mqtt.add_argument(
        "--inventory",
        metavar="FILE",
        help="the cameras (TOML, as for `xmcam fleet`); without it, the camera of -H/-u/-p",
    )
    mqtt.add_argument(
        "--name", help="the camera's name in topics when it comes from -H (default: the host)"
    )
    mqtt.add_argument(
        "--alarm-center",
        type=_listen_address,
        metavar="[HOST:]PORT",
        help="also listen for alarm-center pushes from cameras on this TCP port (often 15002; "
        "every interface unless HOST or --alarm-center-bind is given)",
    )
    mqtt.add_argument(
        "--alarm-center-bind",
        metavar="ADDRESS",
        help="the address the alarm center listens on (default 0.0.0.0, every interface: "
        "cameras push to this host's LAN address; give that address to listen there only)",
    )
    mqtt.add_argument("--prefix", default="xmcam", help="the topics' first level (default xmcam)")
    mqtt.add_argument(
        "--discovery-prefix",
        default="homeassistant",
        help="Home Assistant's discovery prefix (default homeassistant)",
    )
    mqtt.add_argument(
        "--skew-interval",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how often each camera's clock is compared with this host's (default 60)",
    )
    mqtt.add_argument(
        "--audit-interval",
        type=_audit_interval,
        metavar="SECONDS",
        help="audit each camera (as `xmcam audit`, no port knocked on) when it comes online "
        "and then this often, and publish a Security problem sensor (default: no audit; "
        "86400 is once a day)",
    )
    mqtt.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="watch only the inventory's cameras whose name hashes into shard K of N "
        "(0 <= K < N): N bridges share one inventory, each with its own availability topic "
        "(docs/deploy.md)",
    )
    mqtt.add_argument(
        "--connect-rate",
        type=_rate,
        default=100.0,
        metavar="N/s",
        help="cameras started per second at most, with at most 64 logins under way (default 100/s)",
    )
    mqtt.set_defaults(handler=_mqtt_handler, signal_ends_cleanly=True)
    parser.set_defaults(handler=lambda args: _usage(parser))
    for each in (parser, mqtt):
        # It publishes to the broker and logs to stderr: there is nothing to print as JSON.
        no_json(each, "the bridge publishes to MQTT and prints nothing on stdout")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitCode.USAGE
