"""`xmcam decode`: read DVRIP frames from a capture and say what they hold.

Input is one direction of a TCP stream on port 34567: raw bytes (a file saved with
Wireshark's "Follow TCP Stream → Save as raw"), or the same as hex text (spaces, newlines and
`0x`/offset columns of a hex dump are ignored when every line is hex). Each frame prints as
one line: header fields, the message name, and the JSON body with passwords and hashes
redacted. Media packets print their size only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, BinaryIO, Final, TextIO

from xmcam.cli.output import ExitCode, dumps_safe, safe_text
from xmcam.errors import PayloadError, ProtocolError
from xmcam.protocol import Frame, FrameDecoder, message_name, redact

__all__ = ["add_parser", "decode_stream", "parse_input"]

_HEX_DUMP_LINE: Final = re.compile(r"^\s*(?:[0-9a-fA-F]{4,8}[:\s]\s*)?((?:[0-9a-fA-F]{2}\s?)+)")
_PLAIN_HEX: Final = re.compile(rb"^[0-9a-fA-Fx\s:]*$")


def parse_input(data: bytes) -> bytes:
    """The stream's bytes: `data` itself, or decoded from hex text when it is hex text."""
    if not data.strip() or not _PLAIN_HEX.match(data):
        return data
    text = data.decode("ascii")
    lines = text.splitlines()
    # A hex dump with offset columns ("0000   ff 00 ..."): keep the byte columns only.
    if len(lines) > 1 and all(_HEX_DUMP_LINE.match(line) for line in lines if line.strip()):
        dumped = [_HEX_DUMP_LINE.match(line) for line in lines if line.strip()]
        offsets = [line.split()[0] for line in lines if line.strip()]
        if all(len(offset) in (4, 8) for offset in offsets) and int(offsets[0], 16) == 0:
            return bytes.fromhex("".join(m.group(1) for m in dumped if m is not None))
    return bytes.fromhex(re.sub(r"0x|[\s:]", "", text))


def _record(frame: Frame) -> dict[str, Any]:
    header = frame.header
    record: dict[str, Any] = {
        "message_id": frame.message_id,
        "name": message_name(frame.message_id),
        "version": header.version,
        "session_id": header.session_id,
        "sequence": header.sequence,
        "bytes": len(frame.payload),
    }
    if frame.parts > 1:
        record["parts"] = frame.parts
    if frame.is_media:
        record["channel"] = header.channel
        record["end_flag"] = header.end_flag
        return record
    try:
        body = frame.body()
    except PayloadError as error:
        record["body_error"] = str(error)
        return record
    record["body"] = redact(body.data)
    if body.original_keys:
        record["key_spellings"] = dict(body.original_keys)
    return record


def decode_stream(data: bytes, out: TextIO, *, as_json: bool) -> int:
    """Print every frame in `data`; return the exit code."""
    decoder = FrameDecoder()
    count = 0
    try:
        for frame in decoder.feed(data):
            count += 1
            record = _record(frame)
            if as_json:
                print(json.dumps(record, ensure_ascii=False), file=out)
            else:
                print(_line(record), file=out)
        decoder.feed(b"")  # raises an error found after the last good frame
        decoder.eof()
    except ProtocolError as error:
        print(f"xmcam decode: protocol error after {count} frame(s): {safe_text(str(error))}",
              file=sys.stderr)  # fmt: skip
        return ExitCode.PROTOCOL
    if count == 0:
        print("xmcam decode: no frames in the input", file=sys.stderr)
        return ExitCode.PROTOCOL
    return ExitCode.SUCCESS


def _line(record: dict[str, Any]) -> str:
    head = (
        f"{record['name']} ({record['message_id']}) v{record['version']} "
        f"session 0x{record['session_id']:08X} seq {record['sequence']}"
    )
    if "body" in record:
        return f"{head}: {dumps_safe(record['body'])}"
    if "body_error" in record:
        return (
            f"{head}: {record['bytes']} bytes, unreadable body ({safe_text(record['body_error'])})"
        )
    end = ", end" if record.get("end_flag") else ""
    return f"{head}: {record['bytes']} bytes of media, channel {record.get('channel')}{end}"


def _read(source: str, stdin: BinaryIO) -> bytes:
    if source == "-":
        return stdin.read()
    return Path(source).read_bytes()


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "decode",
        help="decode DVRIP frames from a capture file or hex",
        description=(
            "Decode one direction of a DVRIP TCP stream (raw bytes or hex text) and print "
            "each frame: header fields and the JSON body, passwords and hashes redacted."
        ),
        epilog="example: xmcam decode stream.bin   |   echo 'ff 00 00 00 ...' | xmcam decode -",
    )
    parser.add_argument("source", help="file to read, or - for standard input")

    def handler(args: argparse.Namespace) -> int:
        try:
            raw = _read(args.source, sys.stdin.buffer)
        except OSError as error:
            print(f"xmcam decode: cannot read {args.source}: {error.strerror}", file=sys.stderr)
            return ExitCode.USAGE
        return decode_stream(parse_input(raw), sys.stdout, as_json=args.json)

    parser.set_defaults(handler=handler)
