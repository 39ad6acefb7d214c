"""`xmcam watch`: print the camera's alarm events as they come, one line each.

It keeps watching until Ctrl-C (or `--count` events): a dropped connection is rebuilt with
backoff, logged in and subscribed again, and the gap shows as a "disconnected" line and a
"reconnected" line, so nobody takes a quiet stretch for a quiet camera. A refused login
ends the watch at once: retrying it would lock the account.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
from typing import Any

from xmcam.aio import watch
from xmcam.cli.output import CommandError, ExitCode, print_json, safe_text
from xmcam.cli.parsing import json_lines
from xmcam.cli.session import Target, closing, target_of
from xmcam.client.models import AlarmEvent, ConnectionEvent

__all__ = ["add_parser", "describe_event", "watch_alarms"]


def describe_event(event: AlarmEvent | ConnectionEvent) -> str:
    """One line for people: when, what, where."""
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")
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
    alarms = 0
    events = watch(
        target.host,
        target.port,
        user=target.user,
        password=target.password,
        timeout=target.timeout,
        encryption=target.encryption,
    )
    async with closing(events):
        async for event in events:
            if args.json:
                print_json(event_record(event))
            else:
                print(describe_event(event), flush=True)
            if isinstance(event, AlarmEvent):
                alarms += 1
                if args.count is not None and alarms >= args.count:
                    break
    return ExitCode.SUCCESS


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
            "object per line). Reconnects by itself and shows the gap; stops on Ctrl-C."
        ),
        epilog="example: xmcam --json watch | jq -c 'select(.type == \"alarm\")'",
    )
    parser.add_argument("--count", type=_count, metavar="N", help="stop after N alarm events")
    json_lines(parser)
    parser.set_defaults(handler=_watch_handler)
