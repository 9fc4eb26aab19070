"""The exports' snapshot of the Mattermost database, and a second connection that reads it too.

:func:`snapshot` is the one ``REPEATABLE READ`` transaction an export reads from (both exports: the
compliance export and the GDPR export). Both exports stream their posts on a *twin* connection so that PostgreSQL renders them while the
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
def snapshot(
    conn: psycopg.Connection, *, read_only: bool = True, settings: sql.Composable | None = None
) -> Iterator[psycopg.Connection]:
    """One ``REPEATABLE READ`` transaction on ``conn``: every query in it sees the same database state.

    ``read_only``: false only when the run records its ledger in the same transaction (the
    compliance export's ledger runs). ``settings``: a statement setting the export's per-transaction
    configuration (the GDPR export's JIT, ``work_mem`` and parallel workers), as on its twin
    (:func:`import_snapshot`). A transaction left open on ``conn`` is rolled back first.
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    with conn.transaction():
        mode = ", READ ONLY" if read_only else ""
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ" + mode)
        if settings is not None:
            conn.execute(settings)
        yield conn


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
