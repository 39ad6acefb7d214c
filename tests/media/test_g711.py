"""G.711 A-law: known vectors, the whole tables against a reference, and the codec's error bound."""

from __future__ import annotations

import array
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmcam.media import g711

# (16-bit sample, A-law code) pairs from ITU-T G.711's table: the ends of each range, the
# signs, and the idle code 0xD5 (0x55 for the negative side).
VECTORS = [
    (0, 0xD5),
    (-1, 0x55),
    (8, 0xD5),
    (-8, 0x55),
    (100, 0xD3),
    (-100, 0x53),
    (1000, 0xFA),
    (32767, 0xAA),
    (-32768, 0x2A),
]

# SHA-256 of the whole encoder (every 16-bit sample, -32768..32767 in order) and decoder
# (codes 0..255) output, as CPython's `audioop` (a C implementation of G.711, removed in 3.13)
# computes them: the reference the tables were checked against.
ENCODED_SHA256 = "38488f6fd710f4686360edc4d38639f96c491595ef93f8eb8d62d5e07ca6ce7b"
DECODED_SHA256 = "e04788d110e58ff8c70c93b8480190d973e3b67876b6119abbaec766cc75c174"


@pytest.mark.parametrize(("sample", "code"), VECTORS)
def test_known_vectors(sample: int, code: int) -> None:
    assert g711.encode_sample(sample) == code
    pcm = array.array("h", [sample]).tobytes()
    assert g711.pcm_to_alaw(pcm) == bytes([code])


def test_the_decoded_ends_and_silence() -> None:
    assert g711.decode_sample(0xD5) == 8
    assert g711.decode_sample(0x55) == -8
    assert g711.decode_sample(0xAA) == 32256
    assert g711.decode_sample(0x2A) == -32256
    assert g711.ALAW_SILENCE == 0xD5


def test_the_whole_tables_match_the_reference() -> None:
    every_sample = array.array("h", range(-32768, 32768)).tobytes()
    assert hashlib.sha256(g711.pcm_to_alaw(every_sample)).hexdigest() == ENCODED_SHA256
    decoded = g711.alaw_to_pcm(bytes(range(256)))
    assert hashlib.sha256(decoded).hexdigest() == DECODED_SHA256


def test_odd_pcm_is_refused() -> None:
    with pytest.raises(ValueError, match="even number"):
        g711.pcm_to_alaw(b"\x00\x01\x02")


def test_empty_in_empty_out() -> None:
    assert g711.pcm_to_alaw(b"") == b""
    assert g711.alaw_to_pcm(b"") == b""


def test_out_of_range_samples_are_clamped() -> None:
    assert g711.encode_sample(40000) == g711.encode_sample(32767)
    assert g711.encode_sample(-40000) == g711.encode_sample(-32768)


@given(st.integers(-32768, 32767))
def test_round_trip_error_within_half_a_step(sample: int) -> None:
    decoded = g711.decode_sample(g711.encode_sample(sample))
    assert abs(decoded - sample) <= g711.max_round_trip_error(sample)


@given(st.integers(0, 255))
def test_a_decoded_code_encodes_back_to_itself(code: int) -> None:
    # Codes for +0 and -0 differ (0xD5, 0x55); every code is its own decoded value's code.
    assert g711.encode_sample(g711.decode_sample(code)) == code


@given(st.lists(st.integers(-32768, 32767), max_size=400))
def test_buffers_agree_with_samples(samples: list[int]) -> None:
    pcm = array.array("h", samples).tobytes()
    alaw = g711.pcm_to_alaw(pcm)
    assert alaw == bytes(g711.encode_sample(sample) for sample in samples)
    decoded = array.array("h")
    decoded.frombytes(g711.alaw_to_pcm(alaw))
    assert list(decoded) == [g711.decode_sample(code) for code in alaw]


def test_the_error_bound_is_tight() -> None:
    # Half a step per segment: 8 in the first two, then 16, 32, ... 512 (+1 for the
    # negative side's offset); the largest error any sample meets reaches it.
    worst = max(
        abs(g711.decode_sample(g711.encode_sample(sample)) - sample)
        for sample in range(-32768, 32768, 7)
    )
    assert 500 < worst <= g711.max_round_trip_error(32767) == 513
    assert g711.max_round_trip_error(0) == 9
