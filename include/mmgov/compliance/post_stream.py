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


@contextmanager
def post_stream(
    conn: psycopg.Connection,
    twin: psycopg.Connection | None,
    query: str,
    params: dict[str, Any],
    size: int,
    cursor_name: str,
) -> Iterator[Callable[[], list[tuple]]]:
    """Yield a function returning the query's next ``size`` rows (fewer, or none, at the end).

    ``conn``: the export's connection, at the top level of its snapshot transaction; ``twin``: an
    idle autocommit connection to the same database, or None. Rows are read in binary format: a
    ``bytea`` column arrives as ``bytes``, unescaped.
    """
    if twin is None:
        with conn.cursor(name=cursor_name) as cur:
            cur.execute(query, params, binary=True)
            yield lambda: cur.fetchmany(size)
        return
    with import_snapshot(twin, export_snapshot(conn)):
        rows = twin.cursor().stream(query, params, binary=True, size=CHUNK_ROWS)
        try:
            yield lambda: list(islice(rows, size))
        finally:
            rows.close()  # an unfinished stream is cancelled: the twin is idle again at once
