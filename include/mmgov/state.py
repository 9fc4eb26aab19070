"""mmgov's own schema (``mmgov``) in the Mattermost database: created idempotently, never Mattermost's."""

from __future__ import annotations

from importlib import resources

import psycopg

SCHEMA = "mmgov"
# Further DDL files registered by domain modules (legal holds, purge runs, export state ...).
_DDL_FILES: list[str] = ["mmgov_schema.sql"]


def register_ddl(filename: str) -> None:
    """Add an ``include/mmgov/sql`` file to what :func:`ensure_mmgov_schema` applies."""
    if filename not in _DDL_FILES:
        _DDL_FILES.append(filename)


def ensure_mmgov_schema(conn: psycopg.Connection) -> None:
    """Create mmgov's schema and tables if missing (safe to call at every task start)."""
    with conn.transaction():
        # One creator at a time: concurrent CREATE ... IF NOT EXISTS can still collide.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('mmgov.ensure_schema'))")
        for name in _DDL_FILES:
            conn.execute(resources.files("mmgov").joinpath("sql", name).read_text(encoding="utf-8"))
