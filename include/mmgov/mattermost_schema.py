"""Create Mattermost's tables in a demo or test database (never used by the DAGs)."""

from __future__ import annotations

from importlib import resources

import psycopg


def _sql(name: str) -> str:
    return resources.files("mmgov").joinpath("sql", name).read_text(encoding="utf-8")


def create_mattermost_tables(conn: psycopg.Connection) -> None:
    """Create every Mattermost table mmgov knows, without the secondary indexes."""
    conn.execute(_sql("mattermost_schema.sql"))


def create_mattermost_indexes(conn: psycopg.Connection) -> None:
    """Create Mattermost's indexes (after a bulk load is fastest)."""
    conn.execute(_sql("mattermost_indexes.sql"))


def create_mattermost_schema(conn: psycopg.Connection) -> None:
    """Create the tables and their indexes."""
    create_mattermost_tables(conn)
    create_mattermost_indexes(conn)
