"""Mattermost-style identifiers: 26 characters of [a-z0-9]."""

from __future__ import annotations

import os
import random

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 26


def new_id(rng: random.Random | None = None) -> str:
    """Return a fresh 26-character id (deterministic when an ``rng`` is given)."""
    bits = rng.getrandbits(135) if rng is not None else int.from_bytes(os.urandom(17), "big")
    chars = []
    for _ in range(ID_LENGTH):
        bits, rem = divmod(bits, 36)
        chars.append(ALPHABET[rem])
    return "".join(chars)


def is_id(value: object) -> bool:
    """True when ``value`` looks like a Mattermost id."""
    return isinstance(value, str) and len(value) == ID_LENGTH and all(c in ALPHABET for c in value)
