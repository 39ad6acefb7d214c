"""`xmcam decode`: read DVRIP frames from a capture and say what they hold.

Input is one direction of a TCP stream on port 34567: raw bytes (a file saved with
Wireshark's "Follow TCP Stream → Save as raw"), plain hex (`xxd -p`), a hex dump with offsets
(Wireshark's, `hexdump -C`'s or `xxd`'s; the ASCII column is ignored), or what our own `-vv`
or `--debug` printed (each frame's dump; the summary lines of `-v` are skipped). A dump of
one whole captured packet (Ethernet, IPv4, TCP) is reduced to its TCP payload. Each frame
prints as one line: header fields, the message name, and the JSON body with passwords and hashes
redacted. Media packets print their size only.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, BinaryIO, Final, TextIO

from xmcam.cli.output import ExitCode, dumps_safe, safe_text
from xmcam.cli.parsing import json_lines
from xmcam.errors import PayloadError, ProtocolError
from xmcam.protocol import Frame, FrameDecoder, message_name, redact

__all__ = ["add_parser", "decode_stream", "parse_input"]

# One row of a hex dump: an offset, then up to 16 bytes as hex pairs separated by one space
# (two after the eighth, as `hexdump -C` writes), then anything (the ASCII column).
_DUMP_ROW: Final = re.compile(
    r"^\s*([0-9a-fA-F]{4,8}):?[ \t]+"
    r"((?:[0-9a-fA-F]{2} ){0,7}[0-9a-fA-F]{2}(?: {1,2}(?:[0-9a-fA-F]{2} ){0,7}[0-9a-fA-F]{2})?)"
    r"(?:\s|$)"
)
_PLAIN_HEX_NOISE: Final = re.compile(r"0[xX]|[\s:,]")
# One row of `xxd`: an 8-digit offset and a colon, then up to 16 bytes in groups of two
# (`ff00 0000`; the last group of an odd row has one), then two spaces and the ASCII column.
_XXD_ROW: Final = re.compile(
    r"^([0-9a-fA-F]{8}):((?: [0-9a-fA-F]{2}(?:[0-9a-fA-F]{2})?){1,8})(?:  |$)"
)
# Our own log (`-v`, `-vv`, `--debug`): its lines start "xmcam", its hex rows do not.
_OUR_LOG_LINE: Final = re.compile(r"^xmcam[.:]")
_CUT_ROW: Final = re.compile(r"^\.\.\. \d+ more bytes$")


def parse_input(data: bytes) -> bytes:
    """The stream's bytes: `data` itself when it is binary, else decoded from hex text: a hex
    dump with offsets (Wireshark, `hexdump -C`, the seed capture's rows) or plain hex.

    Raises ValueError, with a sentence for the user, for text that is neither.
    """
    if not data.strip() or data[:1] == b"\xff" or not data.isascii():
        return data
    text = data.decode("ascii")
    rows = [line for line in text.splitlines() if line.strip()]
    if any(_OUR_LOG_LINE.match(line) for line in rows):
        return _from_our_log(rows)
    xxd_rows = [_XXD_ROW.match(line) for line in rows]
    if all(xxd_rows):
        return _join_xxd_rows([row for row in xxd_rows if row is not None])
    matches = [_DUMP_ROW.match(line) for line in rows]
    if all(matches):
        return _join_dump_rows([match for match in matches if match is not None])
    digits = _PLAIN_HEX_NOISE.sub("", text)
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise ValueError(
            "the input is text but neither hex nor a hex dump (odd digits or other characters)"
        ) from None


def _from_our_log(rows: list[str]) -> bytes:
    """The frames of what `xmcam -vv` (or `--debug`) printed: each frame's hex dump starts
    again at offset 0000 under its summary line; the summary lines (all that `-v` prints) and
    any other log line are skipped, and so is a frame whose dump was cut ("... N more
    bytes": its rest was never printed)."""
    frames: list[bytearray] = []
    cut: set[int] = set()
    for line in rows:
        if _CUT_ROW.match(line.strip()) and frames:
            cut.add(len(frames) - 1)
            continue
        row = _DUMP_ROW.match(line)
        if row is None or _OUR_LOG_LINE.match(line):
            continue
        offset = int(row.group(1), 16)
        if offset == 0:
            frames.append(bytearray())
        elif not frames or offset != len(frames[-1]):
            raise ValueError(f"hex dump row at offset {row.group(1)} follows no row before it")
        frames[-1] += bytes.fromhex(row.group(2))
    return b"".join(bytes(frame) for number, frame in enumerate(frames) if number not in cut)


def _join_xxd_rows(rows: list[re.Match[str]]) -> bytes:
    data = bytearray()
    for row in rows:
        if int(row.group(1), 16) != len(data):
            raise ValueError(
                f"xxd row at offset {row.group(1)} does not follow the {len(data)} bytes before "
                "it (give one stream at a time)"
            )
        data += bytes.fromhex(row.group(2).replace(" ", ""))
    return _tcp_payload(bytes(data))


def _join_dump_rows(rows: list[re.Match[str]]) -> bytes:
    data = bytearray()
    for row in rows:
        if int(row.group(1), 16) != len(data):
            raise ValueError(
                f"hex dump row at offset {row.group(1)} does not follow the {len(data)} bytes "
                "before it (give one stream at a time)"
            )
        data += bytes.fromhex(row.group(2))
    return _tcp_payload(bytes(data))


_ETHERNET_IPV4: Final = b"\x08\x00"
_TCP: Final = 6


def _tcp_payload(data: bytes) -> bytes:
    """A dump of a whole captured packet (Wireshark's "Copy as hex dump", the seed's rows)
    starts with Ethernet, IPv4 and TCP headers: keep only the TCP payload. Anything else is
    returned as it is."""
    if len(data) < 54 or data[12:14] != _ETHERNET_IPV4 or data[14] >> 4 != 4 or data[23] != _TCP:
        return data
    ip_start = 14
    ip_length = int.from_bytes(data[ip_start + 2 : ip_start + 4], "big")
    tcp_start = ip_start + (data[ip_start] & 0x0F) * 4
    if tcp_start + 20 > len(data):
        return data
    payload_start = tcp_start + (data[tcp_start + 12] >> 4) * 4
    return data[payload_start : ip_start + ip_length]


def _record(frame: Frame) -> dict[str, Any]:
    header = frame.header
    record: dict[str, Any] = {
        "message_id": frame.message_id,
        "name": message_name(frame.message_id),
        "version": header.version,
        "session_id": header.session_id,
        "sequence": header.sequence,
        "length": len(frame.payload),
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
                print(dumps_safe(record), file=out)
            else:
                print(_line(record), file=out)
        decoder.feed(b"")  # raises an error found after the last good frame
        decoder.eof()
    except ProtocolError as error:
        print(f"xmcam: protocol error after {count} frame(s): {safe_text(str(error))}",
              file=sys.stderr)  # fmt: skip
        return ExitCode.PROTOCOL
    if count == 0:
        print("xmcam: no frames in the input", file=sys.stderr)
        return ExitCode.PROTOCOL
    return ExitCode.SUCCESS


def _line(record: dict[str, Any]) -> str:
    head = (
        f"{record['name']} ({record['message_id']}) v{record['version']} "
        f"session 0x{record['session_id']:08X} seq {record['sequence']}"
    )
    if "body" in record:
        spellings = record.get("key_spellings")
        sent_as = f" (keys as sent: {dumps_safe(list(spellings.values()))})" if spellings else ""
        return f"{head}: {dumps_safe(record['body'])}{sent_as}"
    if "body_error" in record:
        reason = safe_text(record["body_error"])
        return f"{head}: {record['length']} bytes, unreadable body ({reason})"
    end = ", end" if record.get("end_flag") else ""
    return f"{head}: {record['length']} bytes of media, channel {record.get('channel')}{end}"


def _read(source: str, stdin: BinaryIO) -> bytes:
    if source == "-":
        return stdin.read()
    return Path(source).read_bytes()


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "decode",
        help="decode DVRIP frames from a capture file or hex",
        description=(
            "Decode one direction of a DVRIP TCP stream (raw bytes; hex text: plain, a hex "
            "dump, xxd's; or what xmcam -vv or --debug printed) and print each frame: header "
            "fields and the JSON body, passwords and hashes redacted."
        ),
        epilog=(
            "examples:\n"
            "  xmcam decode stream.bin\n"
            "  xxd stream.bin | xmcam decode -\n"
            "  xmcam -vv info 2> log.txt; xmcam decode log.txt"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", help="file to read, or - for standard input")
    json_lines(parser)  # one object per frame, as a capture is a sequence of them

    def handler(args: argparse.Namespace) -> int:
        try:
            raw = _read(args.source, sys.stdin.buffer)
        except OSError as error:
            print(f"xmcam: cannot read {args.source}: {error.strerror}", file=sys.stderr)
            return ExitCode.USAGE
        try:
            stream = parse_input(raw)
        except ValueError as error:
            print(f"xmcam: {error}", file=sys.stderr)
            return ExitCode.USAGE
        return decode_stream(stream, sys.stdout, as_json=args.json)

    parser.set_defaults(handler=handler)
