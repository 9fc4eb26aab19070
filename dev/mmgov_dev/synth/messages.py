"""Message texts: a deterministic pool drawn once, pre-escaped for COPY.

Drawing each message from the pool is an index lookup, which keeps the post stream fast; the
pool mixes plain sentences with unicode, emoji, newlines, tabs, CRLF, backslashes, quotes and
commas, so that every exporter's escaping is exercised.
"""

from __future__ import annotations

import random

from mmgov_dev.synth.copy_loader import esc
from mmgov_dev.synth.vocabulary import CONTROL_MESSAGES, EMOJI_CHARS, UNICODE_SNIPPETS, WORDS

POOL_SIZE = 4096


def _sentence(rng: random.Random, lo: int = 4, hi: int = 22) -> str:
    words = rng.choices(WORDS, k=rng.randint(lo, hi))
    if len(words) > 6 and rng.random() < 0.4:
        words[rng.randrange(2, len(words) - 2)] += ","
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice((".", ".", ".", "!", "?"))


def _message(rng: random.Random, usernames: list[str]) -> str:
    r = rng.random()
    if r < 0.62:
        return _sentence(rng)
    if r < 0.68:
        return f"{_sentence(rng)} {rng.choice(EMOJI_CHARS)}{rng.choice(EMOJI_CHARS)}"
    if r < 0.73:
        return f"{rng.choice(UNICODE_SNIPPETS)} {_sentence(rng, 2, 8)}"
    if r < 0.78:
        return "\n".join(_sentence(rng, 2, 10) for _ in range(rng.randint(2, 4)))
    if r < 0.82:
        return f'She said "{_sentence(rng, 2, 6)}", and he replied: "ok, fine".'
    if r < 0.84:
        return f"```\nfor item in queue:\n\tprocess(item)  # {_sentence(rng, 2, 5)}\n```"
    if r < 0.855:
        return f"The file is at C:\\Users\\shared\\{rng.choice(WORDS)}.txt and \\\\server\\share, ok?"
    if r < 0.87:
        return f"{_sentence(rng, 2, 6)}\r\n{_sentence(rng, 2, 6)}"
    if r < 0.90:
        return f"@{rng.choice(usernames)} {_sentence(rng, 3, 12)}"
    if r < 0.92:
        return f"See https://docs.example.com/{rng.choice(WORDS)}?a=1&b=2 for details; {_sentence(rng, 2, 6)}"
    if r < 0.935:
        return " ".join(_sentence(rng, 10, 30) for _ in range(rng.randint(15, 40)))
    if r < 0.95:
        return f"> {_sentence(rng, 3, 8)}\n\n**Agreed**, _let's_ do it. `{rng.choice(WORDS)}()` | a | b |"
    if r < 0.96:
        return f'\'single quotes\', "double", `back`, <xml attr="1"> & ampersand, {rng.choice(WORDS)}'
    return f"{_sentence(rng, 3, 10)} {rng.choice(UNICODE_SNIPPETS)}"


class MessagePool:
    """Pre-escaped message texts, picked by index."""

    __slots__ = ("_next_control", "_rng", "controls", "texts")

    def __init__(self, rng: random.Random, usernames: list[str], size: int = POOL_SIZE) -> None:
        self._rng = rng
        self.texts: list[str] = [esc(_message(rng, usernames)) for _ in range(size)]
        self.controls: list[str] = [esc(m) for m in CONTROL_MESSAGES]
        self._next_control = 0

    def pick(self) -> str:
        """A random pre-escaped message."""
        return self.texts[self._rng.getrandbits(12) % len(self.texts)]

    def control(self) -> str:
        """The next pre-escaped message containing control characters (in turn, so all appear)."""
        text = self.controls[self._next_control % len(self.controls)]
        self._next_control += 1
        return text
