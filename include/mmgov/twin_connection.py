"""A second connection to the Mattermost database that reads the export's own snapshot.

Both exports stream their posts on a *twin* connection so that PostgreSQL renders them while the
export's connection does the rest. Safety rule: the twin reads the SAME snapshot as the export's
transaction (``pg_export_snapshot()`` there, ``SET TRANSACTION SNAPSHOT`` here, both ``REPEATABLE
READ READ ONLY``), so the export still comes from one database state; it only reads. When the twin
cannot be opened (connection limit, a pooler) or the server cannot export snapshots, the caller
reads on its one connection instead: the output is the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


def can_export_snapshot(conn: psycopg.Connection, *, purpose: str = "export") -> bool:
    """Whether the server lets ``conn`` export a snapshot (tried in a throwaway transaction: a
    refusal would abort the export's own). Call it outside a transaction."""
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute("SELECT pg_export_snapshot()")
    except psycopg.Error as exc:
        log.warning("%s: cannot export a snapshot (%s); reading on one connection", purpose, exc)
        return False
    return True


def export_snapshot(conn: psycopg.Connection) -> str:
    """The id of the snapshot of ``conn``'s transaction, for another connection (valid until the
    transaction ends; call it at the transaction's top level, not in a savepoint)."""
    row = conn.execute("SELECT pg_export_snapshot()").fetchone()
    assert row is not None
    return str(row[0])


def open_twin(conn: psycopg.Connection, *, purpose: str = "export") -> psycopg.Connection | None:
    """A new connection with ``conn``'s parameters (autocommit), or ``None`` if it cannot be opened."""
    extra = {"password": conn.info.password} if conn.info.password else {}
    try:
        return psycopg.connect(conn.info.dsn, autocommit=True, **extra)
    except psycopg.Error as exc:
        log.warning("%s: cannot open a second connection (%s); reading on one connection", purpose, exc)
        return None


@contextmanager
def import_snapshot(
    twin: psycopg.Connection, snapshot_id: str, settings: sql.Composable | None = None
) -> Iterator[None]:
    """A ``REPEATABLE READ READ ONLY`` transaction on ``twin`` that sees ``snapshot_id``; ``settings``:
    a statement setting the export's per-transaction configuration, if any."""
    with twin.transaction():
        twin.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        twin.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id)))
        if settings is not None:
            twin.execute(settings)
        yield
