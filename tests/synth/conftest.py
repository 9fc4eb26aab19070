"""Fixtures of the synthetic-workspace tests: fresh databases on a real PostgreSQL server.

The server is the suite's ``pg_server`` (embedded, or ``MMGOV_DATABASE_URL``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from mmgov_dev.embedded_postgres import create_database, drop_database
from mmgov_dev.synth import SynthConfig, SynthSummary, generate

END_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
# Override to check the invariants at scale or on other seeds (e.g. MMGOV_SYNTH_TEST_POSTS=200000).
SMALL_POSTS = int(os.environ.get("MMGOV_SYNTH_TEST_POSTS", "3000"))
SMALL_SEED = int(os.environ.get("MMGOV_SYNTH_TEST_SEED", "11"))


def _server(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("pg_server")


@contextmanager
def fresh_database(server: str) -> Iterator[tuple[str, psycopg.Connection]]:
    """A new, empty database (unique name), dropped afterwards: ``(dsn, autocommit connection)``."""
    name = f"synth_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    dsn = create_database(server, name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            yield dsn, conn
    finally:
        drop_database(server, name)


@pytest.fixture
def synth_db(request: pytest.FixtureRequest) -> Iterator[tuple[str, psycopg.Connection]]:
    """A fresh empty database for one test: ``(dsn, autocommit connection)``."""
    with fresh_database(_server(request)) as pair:
        yield pair


@pytest.fixture(scope="session")
def synth_server(request: pytest.FixtureRequest) -> str:
    """URI of the server the synth tests use."""
    return _server(request)


@dataclass
class Generated:
    """A generated workspace shared by the read-only invariant tests."""

    dsn: str
    conn: psycopg.Connection
    config: SynthConfig
    summary: SynthSummary
    file_root: Path

    def scalar(self, query: str, params: tuple | dict | None = None):
        row = self.conn.execute(query, params).fetchone()
        assert row is not None
        return row[0]

    def rows(self, query: str, params: tuple | dict | None = None) -> list[tuple]:
        return self.conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def generated(synth_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """A 3000-post workspace with its file store (generated once per test module; do not modify)."""
    root = tmp_path_factory.mktemp("synth-files")
    config = SynthConfig(posts=SMALL_POSTS, seed=SMALL_SEED, days=60, end_ms=END_MS, file_root=root)
    with fresh_database(synth_server) as (dsn, conn):
        summary = generate(conn, config)
        yield Generated(dsn, conn, config, summary, root)
