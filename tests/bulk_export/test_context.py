"""ExportContext: the keyset batches every entity writer reads (teams, channels, users, bots, emoji, DMs)."""

from __future__ import annotations

import pytest

from mmgov.bulk_export.context import ExportContext

# Ids "001".."00n", keyset-paginated as the writers' queries are.
IDS = (
    "SELECT id, %(tag)s FROM (SELECT lpad(g::text, 3, '0') AS id FROM generate_series(1, %(n)s) g) ids"
    " WHERE id > %(after)s ORDER BY id LIMIT %(limit)s"
)


def context(conn, batch_size: int) -> ExportContext:
    # batches() reads only the connection and the batch size
    return ExportContext(conn=conn, writer=None, copier=None, options=None, batch_size=batch_size)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "size", "pages"),
    [(5, 2, [2, 2, 1]), (4, 2, [2, 2, 0]), (0, 2, [0]), (3, 5, [3])],
    ids=["short-last", "empty-last", "none", "one-page"],
)
def test_batches_page_by_the_first_column_until_a_short_batch(mm_conn, n, size, pages):
    batches = list(context(mm_conn, size).batches(IDS, {"tag": "x", "n": n}))
    assert [len(rows) for rows in batches] == pages
    assert [row[0] for rows in batches for row in rows] == [f"{i:03d}" for i in range(1, n + 1)]
    assert {row[1] for rows in batches for row in rows} <= {"x"}  # the caller's parameters are kept


def test_batches_size_overrides_the_context_batch_size(mm_conn):
    assert [len(r) for r in context(mm_conn, 2).batches(IDS, {"tag": "x", "n": 3}, size=3)] == [3, 0]
