"""Fast, deterministic Mattermost-style ids for bulk generation.

Mattermost's ``NewId`` is a random 128-bit value in z-base-32 (26 characters of ``[a-z0-9]``). The
generator draws random bytes in large blocks from the caller's ``random.Random`` and maps each byte
to one of the 32 letters (256 is a multiple of 32, so the mapping is unbiased): about ten times
faster than :func:`mmgov.ids.new_id` and just as deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

ZBASE32 = b"ybndrfg8ejkmcpqxot1uwisza345h769"
_BYTE_TO_CHAR = bytes(ZBASE32[i % 32] for i in range(256))
ID_LENGTH = 26
BATCH = 2048


def _id_blocks(rng: random.Random, batch: int) -> Iterator[str]:
    step = ID_LENGTH
    while True:
        block = rng.randbytes(step * batch).translate(_BYTE_TO_CHAR).decode("ascii")
        for i in range(0, step * batch, step):
            yield block[i : i + step]


def id_source(rng: random.Random, batch: int = BATCH) -> Callable[[], str]:
    """Return a zero-argument function giving a fresh 26-character id on each call."""
    return _id_blocks(rng, batch).__next__
