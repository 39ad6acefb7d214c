"""Which bridge watches which camera: `--shard K/N`, sans I/O.

N bridges share one inventory without talking to each other: each watches the cameras whose
name hashes into its shard, and a camera's shard depends on its name and N alone. The hash
is a SHA-256 prefix of the name's UTF-8 bytes, the same on every machine and every run
(Python's `hash()` of a string is salted per process, so it would not do).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

__all__ = ["MAX_SHARDS", "Shard", "parse_shard", "shard_of"]

MAX_SHARDS: Final = 1024
_SHARD: Final = re.compile(r"([0-9]{1,4})/([0-9]{1,4})")


def shard_of(name: str, count: int) -> int:
    """The shard (0 to `count` - 1) the camera named `name` belongs to."""
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"the shard count is 1 to {MAX_SHARDS}, not {count}")
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` of `count` (0-based, as a StatefulSet's pod ordinal)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise ValueError(f"the shard count is 1 to {MAX_SHARDS}, not {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count}: K is 0 to {self.count - 1}")

    def owns(self, name: str) -> bool:
        """Whether the camera named `name` is this shard's."""
        return shard_of(name, self.count) == self.index

    @property
    def label(self) -> str:
        """`K/N`, as given."""
        return f"{self.index}/{self.count}"

    @property
    def topic_level(self) -> str:
        """The bridge's own topic level: `shard-K-of-N`."""
        return f"shard-{self.index}-of-{self.count}"


def parse_shard(text: str) -> Shard:
    """`K/N` (0 <= K < N <= 1024), or ValueError."""
    match = _SHARD.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"a shard is K/N, 0 <= K < N <= {MAX_SHARDS} (such as 0/3), not {text!r}")
    return Shard(int(match.group(1)), int(match.group(2)))
