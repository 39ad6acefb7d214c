"""Debug dumps never show a secret, and keep every offset."""

from __future__ import annotations

from tests.seed import SEED_FRAMES
from xmcam.protocol import ClientConnection, encode_body, encode_frame, sofia_hash
from xmcam.protocol.debug import redacted_hex_dump, redacted_wire


def test_login_hash_is_overwritten_in_place() -> None:
    wire = SEED_FRAMES[0].payload
    redacted = redacted_wire(wire)
    assert len(redacted) == len(wire)
    assert b"tlJwpbo6" in wire
    assert b"tlJwpbo6" not in redacted
    assert b'"PassWord" : "********"' in redacted
    assert redacted[:20] == wire[:20]


def test_frames_without_secrets_are_unchanged() -> None:
    stream = b"".join(frame.payload for frame in SEED_FRAMES[1:])
    assert redacted_wire(stream) == stream


def test_several_packets_and_a_partial_one() -> None:
    login = ClientConnection().login("admin", "hunter2")
    change = encode_frame(
        1488,
        encode_body({"NewPassWord": sofia_hash("new"), "PassWord": sofia_hash("hunter2")}),
    )
    stream = login + change + login[:60]
    redacted = redacted_wire(stream)
    assert len(redacted) == len(stream)
    for secret in (sofia_hash("hunter2"), sofia_hash("new")):
        assert secret.encode() not in redacted


def test_media_payloads_are_kept() -> None:
    media = encode_frame(1412, b'"PassWord" : "abc"')
    assert redacted_wire(media) == media


def test_garbage_is_redacted_as_json() -> None:
    assert redacted_wire(b'xx"Password":"abc"') == b'xx"Password":"***"'


def test_hex_dump_rows_and_limit() -> None:
    dump = redacted_hex_dump(SEED_FRAMES[0].payload)
    lines = dump.splitlines()
    assert lines[0].startswith("0000   ff 00 00 00 00 00 00 00 00 00 00 00 00 00 e8 03   ")
    assert len(lines) == 8
    assert "tlJwpbo6" not in dump
    cut = redacted_hex_dump(bytes(100), limit=32)
    assert cut.splitlines()[-1] == "... 68 more bytes"
