"""Bulk loading with ``COPY ... FROM STDIN`` in PostgreSQL's text format.

Rows are pre-formatted text lines (tab-separated, ``\\N`` for NULL); free text goes through
:func:`esc`, which applies COPY's escaping rules for backslash, tab, newline and carriage return.
Lines are sent in large chunks through a queued writer, so Python keeps generating while libpq
sends and the server parses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

NULL = "\\N"
CHUNK_LINES = 4096
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def esc(value: str) -> str:
    """Escape ``value`` for a COPY text-format field."""
    return value.translate(_ESCAPES)


def opt(value: str | None) -> str:
    """Escape ``value``, or NULL when it is None."""
    return NULL if value is None else value.translate(_ESCAPES)


def flag(value: bool) -> str:
    """A boolean as COPY text."""
    return "t" if value else "f"


def chunked(lines: Iterable[str], size: int = CHUNK_LINES) -> Iterator[str]:
    """Join ``lines`` (each ending with a newline) into chunks of ``size`` lines."""
    buf: list[str] = []
    for line in lines:
        buf.append(line)
        if len(buf) >= size:
            yield "".join(buf)
            buf.clear()
    if buf:
        yield "".join(buf)


def copy_chunks(conn: psycopg.Connection, table: str, columns: Sequence[str], chunks: Iterable[str]) -> None:
    """COPY pre-formatted text ``chunks`` into ``table`` (``columns`` in line order)."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with conn.cursor() as cur, cur.copy(stmt, writer=QueuedLibpqWriter(cur)) as copy:
        for chunk in chunks:
            copy.write(chunk)


def copy_lines(conn: psycopg.Connection, table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    """COPY text ``lines`` (each ending with a newline) into ``table``."""
    copy_chunks(conn, table, columns, chunked(lines))
