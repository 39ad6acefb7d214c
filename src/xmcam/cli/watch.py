"""`xmcam watch`: print the camera's alarm events as they come, one line each.

It keeps watching until Ctrl-C or SIGTERM (or `--count` events): a dropped connection is
rebuilt with backoff, logged in and subscribed again, and the gap shows as a "disconnected"
line and a "reconnected" line, so nobody takes a quiet stretch for a quiet camera. A refused
login ends the watch at once: retrying it would lock the account. So does a first connection
that fails (a closed port, a mistyped name: nothing was ever watched), unless `--retry` asks
to keep trying, for a camera that is still booting. Ctrl-C and SIGTERM end it alike: it logs
out, prints a one-line summary on stderr and exits 130 (Ctrl-C) or 143 (SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
import time
from typing import Any

from xmcam.aio import AsyncCamera, watch
from xmcam.cli.output import TIME_FORMAT, CommandError, ExitCode, print_json, safe_text
from xmcam.cli.parsing import json_lines
from xmcam.cli.session import Target, closing, target_of
from xmcam.cli.signals import signal_name
from xmcam.client.models import AlarmEvent, ConnectionEvent

__all__ = ["add_parser", "describe_event", "watch_alarms"]


def describe_event(event: AlarmEvent | ConnectionEvent) -> str:
    """One line for people: when, what, where."""
    now = datetime.datetime.now().astimezone().strftime(TIME_FORMAT)
    if isinstance(event, ConnectionEvent):
        reason = f": {event.error}" if event.error else ""
        return safe_text(f"{now}  -- {event.kind}{reason}", limit=300)
    started = event.start_time or "-"
    return safe_text(
        f"{now}  channel {event.channel}  {event.event}  {event.status}  (device time {started})",
        limit=300,
    )


def event_record(event: AlarmEvent | ConnectionEvent) -> dict[str, Any]:
    """One JSON line for scripts; `type` tells an alarm from a connection gap."""
    received = datetime.datetime.now().astimezone().isoformat(timespec="milliseconds")
    if isinstance(event, ConnectionEvent):
        error = str(event.error) if event.error else None
        return {"type": event.kind, "received": received, "error": error}
    return {
        "type": "alarm",
        "received": received,
        "channel": event.channel,
        "event": event.event,
        "status": event.status,
        "start_time": event.start_time,
        "raw": event.raw,
    }


async def watch_alarms(target: Target, args: argparse.Namespace) -> int:
    alarms = gaps = 0
    connected = False
    started = time.monotonic()

    async def on_connect(_: AsyncCamera) -> None:
        nonlocal connected
        connected = True

    events = watch(
        target.host,
        target.port,
        user=target.user,
        password=target.password,
        timeout=target.timeout,
        encryption=target.encryption,
        on_connect=on_connect,
    )
    try:
        async with closing(events):
            async for event in events:
                if isinstance(event, ConnectionEvent) and event.kind == "disconnected":
                    if not connected and not getattr(args, "retry", False):
                        raise _first_connection_failed(target, event.error)
                    gaps += 1
                if args.json:
                    print_json(event_record(event))
                else:
                    print(describe_event(event), flush=True)
                if isinstance(event, AlarmEvent):
                    alarms += 1
                    if args.count is not None and alarms >= args.count:
                        break
    except (asyncio.CancelledError, KeyboardInterrupt):
        # Ctrl-C or SIGTERM (xmcam.cli.signals): logged out above; main() gives the exit
        # code (130 or 143).
        seconds = time.monotonic() - started
        print(
            f"xmcam: watch stopped by {signal_name()} after {seconds:.0f} s: "
            f"{alarms} alarm event(s), {gaps} disconnection(s)",
            file=sys.stderr,
            flush=True,
        )
        raise
    return ExitCode.SUCCESS


def _first_connection_failed(target: Target, error: BaseException | None) -> CommandError:
    """The one line for a watch that never connected (a closed port, a mistyped name)."""
    reason = str(error or "the connection failed")
    if target.host not in reason:
        reason = f"cannot connect to {target.address}: {reason}"
    return CommandError(f"{reason} (--retry keeps trying)", ExitCode.CONNECTION)


def _watch_handler(args: argparse.Namespace) -> int:
    target = target_of(args)
    try:
        return asyncio.run(watch_alarms(target, args))
    except ValueError as error:
        # A host name the resolver refuses outright (a label over 63 bytes, not encodable).
        raise CommandError(str(error), ExitCode.USAGE) from None


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive count: {text!r}")
    return int(text)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "watch",
        help="print alarm events as they come, until Ctrl-C",
        description=(
            "Subscribe to the camera's alarms and print one line per event (--json: one JSON "
            "object per line). Once connected, it reconnects by itself and shows the gap; a "
            "first connection that fails ends it (exit code 3) unless --retry. Ctrl-C or "
            "SIGTERM stops it with a summary on stderr; exit code 130 (Ctrl-C) or 143 "
            "(SIGTERM), 0 after --count events."
        ),
        epilog="example: xmcam --json watch | jq -c 'select(.type == \"alarm\")'",
    )
    parser.add_argument("--count", type=_count, metavar="N", help="stop after N alarm events")
    parser.add_argument(
        "--retry",
        action="store_true",
        help="keep trying when the first connection fails (a camera still booting); "
        "without it that ends the watch with exit code 3",
    )
    json_lines(parser)
    parser.set_defaults(handler=_watch_handler)
