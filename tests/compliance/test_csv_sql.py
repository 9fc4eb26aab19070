"""The CSV accelerator's quoting rule: QUOTE_PATTERN_SQL (what PostgreSQL runs) decides as Python's
quote test, Go's encoding/csv Writer.fieldNeedsQuotes. The accelerator's whole output is checked
against the Python rendering in test_accelerator.py."""

from __future__ import annotations


def test_fast_quote_test_equals_the_shared_pattern():
    """_needs_quotes (Python's hot path) decides exactly as QUOTE_PATTERN_SQL (what PostgreSQL runs)."""
    import random

    from mmgov.compliance.csv_format import _NEEDS_QUOTES, _needs_quotes

    alphabet = list(
        ',"\r\n\t\x0b\x0c \x85\xa0\u1680\u2000\u2005\u200a\u200b\u2028\u2029\u202f\u205f\u3000\\.ax\x1c'
    )
    rng = random.Random(7)
    samples = ["", "\\.", "\\.\n", "\\.x"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(20000)
    ]
    for text in samples:
        assert _needs_quotes(text) == (_NEEDS_QUOTES.search(text) is not None), repr(text)
