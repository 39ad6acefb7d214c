"""`xmcam raw`: send any message id with any JSON body and print the reply.

For what the other commands do not cover. The session id is filled in by the client; a body
without "Name" gets none. The reply prints whole, secrets redacted; a failure Ret code ends
the command like any other device error.
"""

from __future__ import annotations

import argparse
from typing import Any

from xmcam.aio import AsyncCamera
from xmcam.cli.config import read_json_argument
from xmcam.cli.output import CommandError, ExitCode, pretty_json, print_json, safe_text
from xmcam.cli.session import camera_command
from xmcam.protocol import MessageId

__all__ = ["add_parser", "parse_message_id", "raw_request"]

_MAX_MESSAGE_ID = 0xFFFF


def parse_message_id(text: str) -> int:
    """A message id: decimal (1020), hex (0x3fc) or a name (SYSINFO_REQ, sysinfo_req)."""
    name = text.upper()
    if name in MessageId.__members__:
        return int(MessageId[name])
    try:
        number = int(text, 0)
    except ValueError:
        number = -1
    if not 0 <= number <= _MAX_MESSAGE_ID:
        raise CommandError(
            f"not a message id (0 to 65535, or a name like SYSINFO_REQ): {safe_text(text)!r}",
            ExitCode.USAGE,
        )
    return number


async def raw_request(camera: AsyncCamera, args: argparse.Namespace) -> int:
    reply = await camera.request(args.message_id, args.body)
    if args.json:
        print_json(reply)
    else:
        print(pretty_json(reply))
    return ExitCode.SUCCESS


def _handler(args: argparse.Namespace) -> int:
    args.message_id = parse_message_id(args.message)
    body: Any = None if args.json_body is None else read_json_argument(args.json_body)
    if body is not None and not isinstance(body, dict):
        raise CommandError("the body must be a JSON object", ExitCode.USAGE)
    args.body = body
    return camera_command(raw_request)(args)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "raw",
        help="send any message id with a JSON body, print the reply",
        description=(
            "Send one request and print the reply's body. MSGID is a number or a name from "
            "the protocol's table; JSON is the body (or @FILE, or - for standard input)."
        ),
        epilog=(
            "examples:\n"
            '  xmcam raw 1020 \'{"Name": "StorageInfo"}\'\n'
            '  xmcam raw ABILITY_GET_REQ \'{"Name": "SystemFunction"}\''
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("message", metavar="MSGID", help="message id: 1020, 0x3fc or SYSINFO_REQ")
    parser.add_argument("json_body", metavar="JSON", nargs="?", help="the body (default none)")
    parser.set_defaults(handler=_handler)
