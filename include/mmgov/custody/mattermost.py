"""Mattermost's version, for manifests (kept apart: the export's staging process imports only this)."""

from __future__ import annotations

from typing import Any

import psycopg


def mattermost_schema(conn: psycopg.Connection) -> dict[str, Any]:
    """Mattermost's version from its ``systems`` table and the last applied migration, when present."""
    out: dict[str, Any] = {"systems_version": None, "last_migration": None}
    if conn.execute("SELECT to_regclass('public.systems')").fetchone()[0] is not None:
        row = conn.execute("SELECT value FROM systems WHERE name = 'Version'").fetchone()
        out["systems_version"] = row[0] if row else None
    if conn.execute("SELECT to_regclass('public.db_migrations')").fetchone()[0] is not None:
        row = conn.execute("SELECT max(version) FROM db_migrations").fetchone()
        out["last_migration"] = int(row[0]) if row and row[0] is not None else None
    return out
