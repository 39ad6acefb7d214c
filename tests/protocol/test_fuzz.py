"""A mutation fuzzer over the seed corpus: 100,000 inputs per harness on every CI run.

Hypothesis (test_properties.py) searches cleverly but slowly; this harness is blunt and fast,
h11-style: take real frames, mutate them (flip, insert, delete, splice, overwrite a length
with something absurd), feed each result whole and in random chunks, and require that the
only exception ever raised is ProtocolError. The generator is seeded, so a failure names the
input that caused it and reproduces.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

from tests.seed import SEED_FRAMES
from xmcam.errors import ProtocolError
from xmcam.protocol import (
    ClientConnection,
    DeviceConnection,
    FrameDecoder,
    Limits,
    SessionCipher,
    decode_body,
    encode_frame,
    encode_message,
)

INPUTS_PER_HARNESS = 100_000
SMALL_LIMITS = Limits(max_packet_payload=4096, max_message_size=16384, max_json_size=4096)

CORPUS: list[bytes] = [frame.payload for frame in SEED_FRAMES] + [
    b"".join(frame.payload for frame in SEED_FRAMES),
    b"".join(encode_message(1043, SEED_FRAMES[3].payload[20:], session_id=1, part_size=100)),
    encode_frame(1412, b"\x00\x00\x01\xfc\x02\x19\xf0\x87" + bytes(200), total_packets=2),
    encode_frame(1504, b'{ "AlarmInfo" : { "Channel" : 0 }, "Name" : "AlarmInfo" }\n\x00'),
]
BODIES: list[bytes] = [frame.payload[20:] for frame in SEED_FRAMES] + [
    b'"{ \\"Ret\\" : 100 }"',
    b'{ "A" : [ 1, 2, ], }\n\x00',
    b'{ " SessionID " : "0x0000000B" }',
]
ABSURD = [0, 1, 19, 20, 4095, 4096, 4097, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(6)
        position = rng.randrange(len(buffer) + 1)
        if choice == 0 and buffer:
            buffer[min(position, len(buffer) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1:
            buffer[position:position] = rng.randbytes(rng.randint(1, 8))
        elif choice == 2:
            del buffer[position : position + rng.randint(1, 16)]
        elif choice == 3 and len(buffer) >= 20:
            buffer[16:20] = struct.pack("<I", rng.choice(ABSURD))
        elif choice == 4 and len(buffer) >= 14:
            buffer[12] = rng.choice([0, 1, 2, 3, 0x63, 255])
            buffer[13] = rng.randrange(256)
        else:
            other = rng.choice(CORPUS)
            start = rng.randrange(len(other))
            buffer[position:position] = other[start : start + rng.randint(1, 64)]
    return bytes(buffer)


def chunks(data: bytes, rng: random.Random) -> list[bytes]:
    if rng.random() < 0.5:
        return [data]
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 6))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def run_harness(seed: int, corpus: list[bytes], feed: Callable[[list[bytes]], object]) -> int:
    rng = random.Random(seed)
    rejected = 0
    for index in range(INPUTS_PER_HARNESS):
        data = mutate(rng.choice(corpus), rng)
        try:
            feed(chunks(data, rng) if data else [data])
        except ProtocolError:
            rejected += 1
        except Exception as error:  # pragma: no cover - only reached on a bug
            raise AssertionError(f"input {index} of seed {seed}: {data.hex()}") from error
    return rejected


def feed_decoder(parts: list[bytes]) -> None:
    decoder = FrameDecoder(SMALL_LIMITS)
    for part in parts:
        for frame in decoder.feed(part):
            assert len(frame.payload) <= SMALL_LIMITS.max_message_size
        assert decoder.buffered <= 20 + SMALL_LIMITS.max_packet_payload
    decoder.eof()


def feed_client(parts: list[bytes]) -> None:
    connection = ClientConnection.for_session(1, limits=SMALL_LIMITS)
    connection.request(1020, {"Name": "SystemInfo"})
    for part in parts:
        connection.receive_data(part)


def feed_device(parts: list[bytes]) -> None:
    connection = DeviceConnection(limits=SMALL_LIMITS)
    for part in parts:
        connection.receive_data(part)


def test_frame_decoder_survives_mutated_streams() -> None:
    rejected = run_harness(1, CORPUS, feed_decoder)
    # Most mutations must be caught; some (payload bytes) are harmless. Both happen.
    assert 0 < rejected < INPUTS_PER_HARNESS


def test_client_connection_survives_mutated_streams() -> None:
    assert run_harness(2, CORPUS, feed_client) > 0


def test_device_connection_survives_mutated_streams() -> None:
    assert run_harness(3, CORPUS, feed_device) > 0


def test_body_reader_survives_mutated_bodies() -> None:
    def feed_body(parts: list[bytes]) -> None:
        assert isinstance(decode_body(b"".join(parts), SMALL_LIMITS).data, dict)

    assert run_harness(4, BODIES, feed_body) > 0


# The encrypted session: a real exchange's sealed frames as the corpus, mutated the same way.
SESSION_KEY = bytes(range(16))
ENCRYPTED_CORPUS: list[bytes] = [
    encode_frame(1007, SessionCipher(SESSION_KEY).seal(b'{ "Name" : "KeepAlive", "Ret" : 100 }\n')),
    encode_frame(1504, SessionCipher(SESSION_KEY).seal(b'{ "AlarmInfo" : { "Channel" : 0 } }\n')),
    encode_frame(1021, SessionCipher(SESSION_KEY).seal(SEED_FRAMES[3].payload[20:])),
    encode_frame(1414, b"7b39TFcOQLvicIPJ+ruy/zRNtJmETeNos+id7XiwLi9t7vW74uHQ3/gowFvs\x00"),
]


def feed_encrypted_client(parts: list[bytes]) -> None:
    connection = ClientConnection.for_session(
        1, session_cipher=SessionCipher(SESSION_KEY), limits=SMALL_LIMITS
    )
    connection.request(1006, {"Name": "KeepAlive"})
    for part in parts:
        connection.receive_data(part)


def test_an_encrypted_client_connection_survives_mutated_streams() -> None:
    assert run_harness(5, ENCRYPTED_CORPUS, feed_encrypted_client) > 0
