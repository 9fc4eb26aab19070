"""Mattermost's version as manifests record it: from ``systems`` and ``db_migrations`` when present."""

from __future__ import annotations

import psycopg

from mmgov.custody.mattermost import mattermost_schema


def test_version_and_last_migration(mm_conn):
    mm_conn.execute("INSERT INTO systems (name, value) VALUES ('Version', '11.7.0')")
    assert mattermost_schema(mm_conn)["systems_version"] == "11.7.0"


def test_a_database_without_mattermosts_tables_has_neither(db_factory):
    with psycopg.connect(db_factory.create("nomm"), autocommit=True) as conn:
        assert mattermost_schema(conn) == {"systems_version": None, "last_migration": None}


def test_the_last_applied_migration(db_factory):
    with psycopg.connect(db_factory.create("migrations"), autocommit=True) as conn:
        conn.execute("CREATE TABLE db_migrations (version bigint, name text)")
        conn.execute("INSERT INTO db_migrations VALUES (148, 'a'), (150, 'c'), (149, 'b')")
        assert mattermost_schema(conn) == {"systems_version": None, "last_migration": 150}
