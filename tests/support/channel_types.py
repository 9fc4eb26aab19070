"""Channel types newer Mattermost releases add (11.8: ``BO``, ``BP``), on an 11.7 schema."""

from __future__ import annotations

import psycopg
from psycopg import sql


def add_channel_type(conn: psycopg.Connection, value: str) -> None:
    """Add ``value`` to the enum ``channel_type`` of ``conn``'s database (an autocommit connection:
    PostgreSQL lets a new enum value be used only once the ``ALTER TYPE`` is committed)."""
    if not conn.autocommit:
        raise ValueError("add_channel_type needs an autocommit connection (the new value must be committed)")
    conn.execute(sql.SQL("ALTER TYPE channel_type ADD VALUE IF NOT EXISTS {}").format(sql.Literal(value)))
