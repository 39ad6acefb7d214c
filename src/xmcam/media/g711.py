"""G.711 A-law, both ways, without I/O: the codec of the camera's speaker (docs/protocol.md §19).

Theory of operation. A-law (ITU-T G.711) maps a 13-bit linear sample to 8 bits: a sign, a
3-bit segment (the position of the highest set bit) and a 4-bit mantissa, the whole byte
XORed with 0x55 so that a line at rest toggles bits. A 16-bit sample keeps its top 13 bits.
Decoding puts each code back at the middle of its quantisation step, so the error of a
round trip is at most half a step: 8 in 16-bit units in the first two segments, 2**(segment +
3) above (`max_round_trip_error`). Both directions are 65,536- and 256-entry tables built
once at import (3 ms); `array` turns 16-bit samples into table indexes and back (about 20 µs for a
40 ms packet).

The code 0xD5 decodes to +8, the closest A-law has to silence: what pads a last packet.
"""

from __future__ import annotations

import array
import itertools
import sys
from typing import Final

__all__ = [
    "ALAW_SILENCE",
    "alaw_to_pcm",
    "decode_sample",
    "encode_sample",
    "max_round_trip_error",
    "pcm_to_alaw",
]

ALAW_SILENCE: Final = 0xD5
"""The A-law code of (near) silence: sign positive, segment 0, mantissa 0."""

_SEGMENT_ENDS: Final = (0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF, 0x3FFF, 0x7FFF)


def encode_sample(sample: int) -> int:
    """One signed 16-bit sample (clamped to -32768..32767) as its A-law code."""
    sample = max(-32768, min(32767, sample))
    if sample >= 0:
        sign = 0x80
    else:
        sign = 0x00
        sample = -sample - 1  # the negative side is one step longer: -32768 fits
    magnitude = sample >> 3  # 13-bit A-law works on the top 13 bits
    segment = 0
    while segment < 7 and magnitude > (_SEGMENT_ENDS[segment] >> 3):
        segment += 1
    mantissa = (magnitude >> max(segment, 1)) & 0x0F  # segments 0 and 1 share a step
    return (sign | (segment << 4) | mantissa) ^ 0x55


def decode_sample(code: int) -> int:
    """One A-law code (0..255) as a signed 16-bit sample, the middle of its step."""
    code ^= 0x55
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    # The middle of the step: +8 in segment 0; above, the implied leading bit (0x100) too.
    value = (mantissa << 4) + 8 if segment == 0 else ((mantissa << 4) + 0x108) << (segment - 1)
    return value if code & 0x80 else -value


def max_round_trip_error(sample: int) -> int:
    """The largest |decode(encode(x)) - x| G.711 allows for a sample of this size: half the
    quantisation step of its segment (8 in the first two, doubling with each above)."""
    magnitude = abs(max(-32768, min(32767, sample)))
    segment = 0
    while segment < 7 and magnitude > _SEGMENT_ENDS[segment]:
        segment += 1
    step = 16 if segment == 0 else 16 << (segment - 1)
    return step // 2 + 1  # +1: the negative side is offset by one (-x - 1)


def _encode_table() -> bytes:
    """The code of every 16-bit sample, indexed by the sample as an unsigned number (two's
    complement), so that a buffer of signed samples read as unsigned indexes it directly.

    Built from its runs rather than sample by sample (3 ms instead of 45 at every import of
    the CLI): the eight samples of a 13-bit magnitude share a code, neighbouring magnitudes
    mostly do too, and a negative sample -x - 1 has x's code without the sign bit, so the
    second half is the first reversed, 0x80 flipped."""
    by_magnitude = bytes(encode_sample(magnitude << 3) for magnitude in range(4096))
    positive = b"".join(
        bytes((code,)) * (8 * sum(1 for _ in run)) for code, run in itertools.groupby(by_magnitude)
    )
    return positive + positive[::-1].translate(_SIGN_FLIPPED)


_SIGN_FLIPPED: Final = bytes(code ^ 0x80 for code in range(256))
_ENCODE: Final = _encode_table()
_DECODE: Final = array.array("h", (decode_sample(code) for code in range(256)))


def pcm_to_alaw(pcm: bytes | bytearray | memoryview) -> bytes:
    """16-bit signed little-endian mono PCM to A-law, one byte per sample. Raises ValueError
    for an odd number of bytes (half a sample)."""
    if len(pcm) % 2:
        raise ValueError(f"16-bit PCM has an even number of bytes, not {len(pcm)}")
    samples = array.array("H")
    samples.frombytes(pcm)
    if sys.byteorder != "little":  # pragma: no cover - the wire is little-endian
        samples.byteswap()
    table = _ENCODE
    return bytes(map(table.__getitem__, samples))


def alaw_to_pcm(alaw: bytes | bytearray | memoryview) -> bytes:
    """A-law to 16-bit signed little-endian PCM."""
    samples = array.array("h", map(_DECODE.__getitem__, bytes(alaw)))
    if sys.byteorder != "little":  # pragma: no cover - the wire is little-endian
        samples.byteswap()
    return samples.tobytes()
