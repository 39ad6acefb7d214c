"""`xmcam decode`: frames from raw bytes, hex text and hex dumps; secrets redacted; bad input
gives one line and the protocol exit code."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.seed import SEED_FRAMES, SEED_PATH
from xmcam.cli import ExitCode, main
from xmcam.cli.decode import decode_stream, parse_input
from xmcam.protocol import encode_frame, encode_message, sofia_hash
from xmcam.sim import SimulatorThread

CLIENT_STREAM = b"".join(frame.payload for frame in SEED_FRAMES if frame.from_client)


def test_parse_input_passes_raw_bytes_through() -> None:
    assert parse_input(CLIENT_STREAM) == CLIENT_STREAM
    assert parse_input(b"") == b""


def test_parse_input_reads_plain_hex() -> None:
    assert parse_input(CLIENT_STREAM.hex().encode()) == CLIENT_STREAM
    spaced = " ".join(f"{byte:02x}" for byte in CLIENT_STREAM[:40]).encode()
    assert parse_input(spaced + b"\n") == CLIENT_STREAM[:40]
    assert parse_input(b"0xff:0x00") == b"\xff\x00"


def test_parse_input_reads_a_hex_dump_with_offsets() -> None:
    payload = SEED_FRAMES[5].payload
    lines = [
        f"{offset:04x}   " + " ".join(f"{byte:02x}" for byte in payload[offset : offset + 16])
        for offset in range(0, len(payload), 16)
    ]
    assert parse_input("\n".join(lines).encode()) == payload


def test_decode_prints_each_frame_with_the_password_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "client.bin"
    capture.write_bytes(CLIENT_STREAM)
    assert main(["decode", str(capture)]) == ExitCode.SUCCESS
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("LOGIN_REQ (1000) v0 session 0x00000000 seq 0")
    assert "<redacted>" in lines[0]
    assert sofia_hash("") not in out


def test_decode_json_output() -> None:
    out = io.StringIO()
    stream = SEED_FRAMES[1].payload + encode_frame(1412, b"\x00\x00\x01\xfd", total_packets=3,
                                                   current_packet=1)  # fmt: skip
    stream += b"".join(encode_message(1043, b'{ "Ret" : 100 }', part_size=4))
    stream += encode_frame(1021, b"\xff not json")
    assert decode_stream(stream, out, as_json=True) == ExitCode.SUCCESS
    login, media, joined, broken = (json.loads(line) for line in out.getvalue().splitlines())
    assert login["key_spellings"] == {"DeviceType": "DeviceType "}
    assert media == {
        "message_id": 1412, "name": "MONITOR_DATA", "version": 0, "session_id": 0, "sequence": 0,
        "length": 4, "channel": 3, "end_flag": True,
    }  # fmt: skip
    assert joined["parts"] == 4
    assert joined["body"] == {"Ret": 100}
    assert "body_error" in broken


def test_decode_text_lines_for_media_and_unreadable_bodies() -> None:
    out = io.StringIO()
    stream = encode_frame(1412, b"\x00" * 9, total_packets=1) + encode_frame(1021, b"[1]")
    assert decode_stream(stream, out, as_json=False) == ExitCode.SUCCESS
    media, broken = out.getvalue().splitlines()
    assert media.endswith("9 bytes of media, channel 1")
    assert "unreadable body" in broken


def test_decode_reports_garbage_after_good_frames(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    code = decode_stream(SEED_FRAMES[0].payload + b"GET / HTTP/1.1\r\n\r\n", out, as_json=False)
    assert code == ExitCode.PROTOCOL
    assert out.getvalue().count("\n") == 1
    assert "protocol error after 1 frame(s): bad head byte 0x47" in capsys.readouterr().err


def test_decode_reports_a_truncated_stream(capsys: pytest.CaptureFixture[str]) -> None:
    assert decode_stream(SEED_FRAMES[0].payload[:-3], io.StringIO(), as_json=False) == 7
    assert "middle of a packet" in capsys.readouterr().err


def test_decode_of_nothing_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert decode_stream(b"", io.StringIO(), as_json=False) == ExitCode.PROTOCOL
    assert "no frames" in capsys.readouterr().err


def test_decode_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decode", str(tmp_path / "missing.bin")]) == ExitCode.USAGE
    assert "cannot read" in capsys.readouterr().err


def test_decode_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class FakeStdin:
        buffer = io.BytesIO(SEED_FRAMES[5].payload.hex().encode())

    monkeypatch.setattr("sys.stdin", FakeStdin())
    assert main(["decode", "-", "--json"]) == ExitCode.SUCCESS
    assert json.loads(capsys.readouterr().out)["name"] == "KEEPALIVE_REQ"


def test_the_whole_seed_document_is_refused_with_a_sentence() -> None:
    # Prose and several packets' dumps mixed: not one stream.
    with pytest.raises(ValueError, match="neither hex nor a hex dump"):
        parse_input(SEED_PATH.read_bytes())


def seed_dump_blocks() -> list[str]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in SEED_PATH.read_text(encoding="utf-8").splitlines():
        if re.match(r"^[0-9a-f]{4}   ", line):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return ["\n".join(block) for block in blocks]


def test_each_packet_dump_of_the_seed_decodes_to_its_dvrip_frame() -> None:
    # Wireshark's "Copy as hex dump" of a whole packet: Ethernet, IPv4 and TCP are stripped.
    blocks = seed_dump_blocks()
    assert len(blocks) == len(SEED_FRAMES)
    for block, frame in zip(blocks, SEED_FRAMES, strict=True):
        assert parse_input(block.encode()) == frame.payload


def test_hexdump_c_format() -> None:
    payload = SEED_FRAMES[5].payload
    rows = []
    for offset in range(0, len(payload), 16):
        row = payload[offset : offset + 16]
        left = " ".join(f"{byte:02x}" for byte in row[:8])
        right = " ".join(f"{byte:02x}" for byte in row[8:])
        text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in row)
        rows.append(f"{offset:08x}  {left}  {right:<23}  |{text}|")
    assert parse_input("\n".join(rows).encode()) == payload


def test_dump_rows_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="does not follow"):
        parse_input(b"0010   ff 00 00 00\n")


def test_text_that_is_not_hex_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "odd.txt"
    source.write_bytes(b"ff 0")
    assert main(["decode", str(source)]) == ExitCode.USAGE
    assert "neither hex nor a hex dump" in capsys.readouterr().err


def test_json_lines_escape_what_a_terminal_cannot_take() -> None:
    out = io.StringIO()
    body = b'{ "Title" : "cam\xc2\x9b2J\\ud800" }'
    assert decode_stream(encode_frame(1049, body), out, as_json=True) == ExitCode.SUCCESS
    line = out.getvalue()
    assert "\\u009b" in line
    assert "\\ud800" in line
    assert json.loads(line)["body"]["Title"] == "cam\x9b2J\ud800"


def test_text_lines_show_the_devices_key_spelling() -> None:
    out = io.StringIO()
    decode_stream(SEED_FRAMES[1].payload, out, as_json=False)
    assert out.getvalue().rstrip().endswith('(keys as sent: ["DeviceType "])')


def _xxd_format(data: bytes) -> str:
    """What `xxd` prints, for where the program is missing: offset, groups of two bytes,
    the ASCII column."""
    lines = []
    for offset in range(0, len(data), 16):
        row = data[offset : offset + 16]
        pairs = [row[i : i + 2].hex() for i in range(0, len(row), 2)]
        text = "".join(chr(byte) if 0x20 <= byte < 0x7F else "." for byte in row)
        lines.append(f"{offset:08x}: {' '.join(pairs):<39}  {text}")
    return "\n".join(lines) + "\n"


def test_decode_reads_xxd_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = tmp_path / "client.bin"
    capture.write_bytes(CLIENT_STREAM)
    xxd = shutil.which("xxd")
    if xxd is not None:  # the real program (package xxd, or vim-common)
        dump = subprocess.run(
            [xxd, str(capture)], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        assert dump == _xxd_format(CLIENT_STREAM)  # our stand-in writes what xxd writes
    else:
        dump = _xxd_format(CLIENT_STREAM)
    assert parse_input(dump.encode()) == CLIENT_STREAM
    hexed = tmp_path / "client.xxd"
    hexed.write_text(dump, encoding="ascii")
    assert main(["decode", str(hexed)]) == ExitCode.SUCCESS
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("LOGIN_REQ (1000)")
    # an odd length: the last group holds one byte
    assert parse_input(_xxd_format(CLIENT_STREAM[:37]).encode()) == CLIENT_STREAM[:37]


def test_decode_reads_what_our_own_verbose_log_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimulatorThread() as sim:
        assert main(["-H", f"127.0.0.1:{sim.port}", "-vv", "info"]) == ExitCode.SUCCESS
    log = capsys.readouterr().err
    assert "xmcam: -> SYSINFO_REQ" in log  # the -v summary lines, skipped by decode
    path = tmp_path / "log.txt"
    path.write_text(log, encoding="utf-8")
    assert main(["decode", "--json", str(path)]) == ExitCode.SUCCESS
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = [record["name"] for record in records]
    assert names[names.index("LOGIN_REQ") :][:4] == [
        "LOGIN_REQ", "LOGIN_RSP", "SYSINFO_REQ", "SYSINFO_RSP"
    ]  # fmt: skip
    assert all("body" in record for record in records)
    # --debug prints the same dumps
    assert parse_input(log.replace("xmcam: ", "xmcam.wire: ").encode()) == parse_input(log.encode())


def test_a_frame_cut_in_our_log_is_skipped() -> None:
    first = b"".join(encode_message(1020, b'{ "Name" : "SystemInfo" }\n\x00'))
    second = b"".join(encode_message(1021, b'{ "Name" : "SystemInfo", "Ret" : 100 }\n\x00'))

    def dump(frame: bytes) -> list[str]:
        return [
            f"{offset:04x}   " + " ".join(f"{byte:02x}" for byte in frame[offset : offset + 16])
            for offset in range(0, len(frame), 16)
        ]

    log = ["xmcam: -> SYSINFO_REQ", *dump(first)[:2], "... 4000 more bytes"]
    log += ["xmcam: <- SYSINFO_RSP", *dump(second)]
    assert parse_input("\n".join(log).encode()) == second


def test_the_help_example_is_not_garbled(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["decode", "--help"])
    text = capsys.readouterr().out
    assert "xxd stream.bin | xmcam decode -" in text
    assert "| echo" not in text
