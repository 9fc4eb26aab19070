"""mmgov's own schema: created idempotently in the Mattermost database, never touching Mattermost's tables."""

from __future__ import annotations

import psycopg

from mmgov import state
from mmgov.state import ensure_mmgov_schema, register_ddl


def test_ensure_is_idempotent_and_keeps_rows(db_factory):
    with psycopg.connect(db_factory.create("state"), autocommit=True) as conn:
        ensure_mmgov_schema(conn)
        conn.execute("INSERT INTO mmgov.audit_log (event, actor) VALUES ('test.kept', 'me')")
        ensure_mmgov_schema(conn)  # every task start calls it again
        assert conn.execute("SELECT event FROM mmgov.audit_log").fetchall() == [("test.kept",)]
        outside = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN"
            " ('mmgov', 'pg_catalog', 'information_schema')"
        ).fetchone()[0]
        assert outside == 0  # nothing of mmgov's lands in Mattermost's schema


def test_register_ddl_adds_a_file_once(monkeypatch):
    monkeypatch.setattr(state, "_DDL_FILES", ["mmgov_schema.sql"])
    register_ddl("retention.sql")
    register_ddl("retention.sql")
    assert state._DDL_FILES == ["mmgov_schema.sql", "retention.sql"]
