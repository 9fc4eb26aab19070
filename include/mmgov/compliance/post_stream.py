"""The window's post rows, streamed by a second connection that reads the export's snapshot.

A server-side cursor makes PostgreSQL compute a batch only when it is fetched, so the database and
Python take turns, and each fetch holds a whole batch's result in libpq's memory. A query streamed
in libpq's chunked-rows mode (libpq 17+; row by row before that) lets the server compute the next
rows while Python builds tuples from the last ones, as ``COPY`` does, with one chunk in memory.

The stream holds its connection for the whole window, and the export still needs to query (files,
authors, channels, membership), so the stream gets a connection of its own: the same server and
credentials (the export connection's own parameters), importing the export's snapshot
(``pg_export_snapshot`` / ``SET TRANSACTION SNAPSHOT``). Rows, counts, files and membership
therefore still come from one snapshot. When no second connection can be opened (connection
limit, a pooler that refuses it), the rows come from a server-side cursor on the export's own
connection, with a warning: the output is the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

CHUNK_ROWS = 1000  # rows per network chunk of the stream


def connection_options(conn: psycopg.Connection) -> dict[str, str]:
    """The libpq parameters ``conn`` was opened with (password included: never log them)."""
    return {o.keyword.decode(): o.val.decode() for o in conn.pgconn.info if o.val}


def sibling_connection(conn: psycopg.Connection) -> psycopg.Connection:
    """A new READ ONLY connection to ``conn``'s database that sees ``conn``'s snapshot.

    ``conn`` must be in a REPEATABLE READ transaction. Raises :class:`psycopg.Error` when the
    connection cannot be opened or the snapshot imported; ``conn``'s transaction is unaffected then.
    """
    sibling = psycopg.connect(**connection_options(conn))
    try:
        snapshot_id = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        sibling.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        sibling.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id)))
    except BaseException:
        sibling.close()
        raise
    return sibling


@contextmanager
def post_stream(
    conn: psycopg.Connection, query: str, params: dict[str, Any], size: int, cursor_name: str
) -> Iterator[Callable[[], list[tuple]]]:
    """Yield a function returning the query's next ``size`` rows (fewer, or none, at the end).

    ``conn`` is the export's connection, in its snapshot transaction. Rows are read in binary
    format: a ``bytea`` column arrives as ``bytes``, unescaped.
    """
    try:
        sibling = sibling_connection(conn)
    except psycopg.OperationalError as exc:
        log.warning("compliance export: no second connection (%s); posts are read through a cursor", exc)
        with conn.cursor(name=cursor_name) as cur:
            cur.execute(query, params, binary=True)
            yield lambda: cur.fetchmany(size)
        return
    with sibling:
        rows = sibling.cursor().stream(query, params, binary=True, size=CHUNK_ROWS)
        try:
            yield lambda: list(islice(rows, size))
        finally:
            rows.close()  # an unfinished stream is cancelled, so the connection closes at once
