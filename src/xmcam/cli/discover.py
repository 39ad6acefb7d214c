"""`xmcam discover`: find cameras on the local network by the UDP search (protocol.md §21)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import socket
import sys

from xmcam.aio.discovery import DEFAULT_MAX_DEVICES, DiscoveryStats, discover
from xmcam.cli.output import CommandError, ExitCode, print_json, print_table, safe_text
from xmcam.cli.session import positive_seconds, timeout_given
from xmcam.protocol.discovery import SEARCH_PORT, DiscoveredDevice

__all__ = ["add_parser", "run_discover"]

DEFAULT_SEARCH_TIMEOUT = 2.0
_HEADERS = ("host", "MAC", "serial", "type", "firmware", "TCP port", "channels")


def _address(text: str, default_port: int, *, lowest_port: int = 1) -> tuple[str, int]:
    """HOST or HOST:PORT (an IPv4 address or a name: the search is IPv4 only), the port
    defaulting to `default_port`."""
    host, colon, port_text = text.partition(":")
    if not host or ":" in port_text:
        raise CommandError(f"bad address {text!r}: expected HOST or HOST:PORT", ExitCode.USAGE)
    if not colon:
        return host, default_port
    # isdigit() alone lets through digits int() refuses ("²").
    if (
        not (port_text.isascii() and port_text.isdigit())
        or not lowest_port <= int(port_text) < 65536
    ):
        raise CommandError(
            f"bad port {port_text!r}: expected {lowest_port} to 65535", ExitCode.USAGE
        )
    return host, int(port_text)


def _repeats(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"not a number of probes (1 to 100): {text!r}")
    return int(text)


def _max_devices(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 1_000_000:
        raise argparse.ArgumentTypeError(f"not a number of devices (1 to 1000000): {text!r}")
    return int(text)


def _row(device: DiscoveredDevice) -> tuple[object, ...]:
    return (
        device.host,
        device.mac,
        device.serial,
        device.device_type,
        device.firmware,
        device.tcp_port,
        device.channels,
    )


def _resolved(address: tuple[str, int], what: str) -> tuple[str, int]:
    """`address` with its host name resolved to an IPv4 address (the search is IPv4 only),
    before the search starts: a name that does not resolve is named as such, not taken
    for a failure to bind."""
    host, port = address
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return address
    try:
        infos = socket.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as error:
        reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
        raise CommandError(
            f"cannot resolve the {what} {safe_text(host)!r}: {reason}", ExitCode.CONNECTION
        ) from None
    return str(infos[0][4][0]), port


def run_discover(args: argparse.Namespace) -> int:
    targets = [
        _resolved(_address(text, SEARCH_PORT), "target")
        for text in args.targets or ["255.255.255.255"]
    ]
    bind = (
        _resolved(_address(args.bind, 0, lowest_port=0), "bind address")
        if args.bind
        else ("0.0.0.0", SEARCH_PORT)  # noqa: S104
    )
    # One timeout, one meaning: discover's own --timeout when given, else the global one
    # when given (`xmcam --timeout 1 discover`), else the search's default.
    timeout = args.search_timeout or timeout_given(args) or DEFAULT_SEARCH_TIMEOUT
    stats = DiscoveryStats()
    try:
        found = asyncio.run(
            discover(
                timeout=timeout,
                targets=targets,
                bind=bind,
                repeats=args.repeats,
                max_devices=args.max_devices,
                stats=stats,
            )
        )
    except OSError as error:
        reason = error.strerror or str(error)
        raise CommandError(
            f"cannot search from {bind[0]}:{bind[1]}: {reason} (broadcasts and port "
            f"{SEARCH_PORT} may need permissions; try --bind 0.0.0.0:0)",
            ExitCode.CONNECTION,
        ) from None
    if stats.dropped:
        # More devices than any LAN holds: someone is flooding the search.
        print(
            f"xmcam: {stats.dropped} replies from devices beyond the first "
            f"{args.max_devices} were dropped (--max-devices)",
            file=sys.stderr,
        )
    if args.json:
        print_json(found)  # one document; [] when nobody answered
    if not found:
        print(f"xmcam: no devices answered in {timeout:g} s", file=sys.stderr)
        return ExitCode.FAILURE
    if not args.json:
        print_table(_HEADERS, [_row(device) for device in found])
    return ExitCode.SUCCESS


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "discover",
        help="find cameras on the local network",
        description=(
            "Send the UDP search (message 1530) to the targets, three times, and list the "
            "devices that answer. Devices reply to UDP port 34569, often as a broadcast, so "
            "the search listens there by default: binding it, and broadcasting, may need "
            "permissions (or a firewall rule). Exit code 0 when devices answered, 1 when none."
        ),
        epilog=(
            "examples:\n  xmcam discover\n  xmcam discover --timeout 5 --json\n"
            "  xmcam discover --target 192.168.1.255 --target 10.0.0.7\n"
            "  xmcam discover --target 127.0.0.1:34569 --bind 127.0.0.1:0"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Its own destination, so that main() can tell it from the global --timeout: the
    # command's wins when given, the global one applies when only it is given.
    parser.add_argument(
        "--timeout",
        dest="search_timeout",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="how long to listen for replies (default: the global --timeout when given "
        f"before the command, else {DEFAULT_SEARCH_TIMEOUT:g})",
    )
    parser.add_argument(
        "--target",
        dest="targets",
        action="append",
        metavar="HOST[:PORT]",
        help=f"where to send the probe, repeatable (default 255.255.255.255:{SEARCH_PORT})",
    )
    parser.add_argument(
        "--bind",
        metavar="HOST[:PORT]",
        help=f"the local address to search from (default 0.0.0.0:{SEARCH_PORT})",
    )
    parser.add_argument(
        "--repeats", type=_repeats, default=3, metavar="N", help="probes per target (default 3)"
    )
    parser.add_argument(
        "--max-devices",
        type=_max_devices,
        default=DEFAULT_MAX_DEVICES,
        metavar="N",
        help=f"keep at most N devices, count the replies of more (default {DEFAULT_MAX_DEVICES})",
    )
    parser.set_defaults(handler=run_discover)
