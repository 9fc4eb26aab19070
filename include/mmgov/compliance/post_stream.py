"""The window's post rows, streamed by a twin connection that reads the export's snapshot.

A server-side cursor makes PostgreSQL compute a batch only when it is fetched, so the database and
Python take turns, and each fetch holds a whole batch's result in libpq's memory. A query streamed
in libpq's chunked-rows mode (libpq 17+; row by row before that) lets the server compute the next
rows while Python builds tuples from the last ones, as ``COPY`` does, with one chunk in memory.

The stream holds its connection for the whole window, and the export still needs to query (files,
authors, channels, membership), so the stream runs on a twin connection
(:mod:`mmgov.twin_connection`) that imports the export's snapshot: rows, counts, files and
membership still come from one snapshot. Without a twin (it could not be opened, or the server
cannot export snapshots), the rows come from a server-side cursor on the export's own connection:
the output is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

import psycopg

from mmgov.twin_connection import export_snapshot, import_snapshot

CHUNK_ROWS = 1000  # rows per network chunk of the stream


class PostRows:
    """The query's rows, a batch at a time, with a look at whether any is left."""

    def __init__(self, fetch: Callable[[int], list[tuple]], size: int):
        self._fetch = fetch
        self._size = size
        self._head: tuple | None = None  # a row read by at_end(), not handed out yet

    def next_batch(self) -> list[tuple]:
        """The next ``size`` rows (fewer, or none, at the end)."""
        head, self._head = self._head, None
        if head is None:
            return self._fetch(self._size)
        rows = self._fetch(self._size - 1)
        rows.insert(0, head)
        return rows

    def at_end(self) -> bool:
        """Whether no row is left (reads one row ahead, which the next batch then starts with)."""
        if self._head is None:
            row = self._fetch(1)
            if not row:
                return True
            self._head = row[0]
        return False


@contextmanager
def post_stream(
    conn: psycopg.Connection,
    twin: psycopg.Connection | None,
    query: str,
    params: dict[str, Any],
    size: int,
    cursor_name: str,
) -> Iterator[PostRows]:
    """Yield the query's rows (:class:`PostRows`, ``size`` rows per batch).

    ``conn``: the export's connection, at the top level of its snapshot transaction; ``twin``: an
    idle autocommit connection to the same database, or None. Rows are read in binary format: a
    ``bytea`` column arrives as ``bytes``, unescaped.
    """
    if twin is None:
        with conn.cursor(name=cursor_name) as cur:
            cur.execute(query, params, binary=True)
            yield PostRows(cur.fetchmany, size)
        return
    with import_snapshot(twin, export_snapshot(conn)):
        rows = twin.cursor().stream(query, params, binary=True, size=CHUNK_ROWS)
        try:
            yield PostRows(lambda n: list(islice(rows, n)), size)
        finally:
            rows.close()  # an unfinished stream is cancelled: the twin is idle again at once
