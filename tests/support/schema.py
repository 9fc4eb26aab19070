"""Compare a database's catalog with Mattermost's schema facts."""

from __future__ import annotations

import copy
from typing import Any

import psycopg
from psycopg import sql


def comparable(schema: dict[str, Any], conn: psycopg.Connection | None = None) -> dict[str, Any]:
    """Enums, tables and materialized views, constraints and indexes in name order (their order in
    the catalog is not a fact). With ``conn``, view definitions as that server prints them: the facts
    were read from PostgreSQL 15, and 16+ print a one-table view's columns without the table name."""
    out = copy.deepcopy({k: schema[k] for k in ("enums", "tables", "materialized_views")})
    for relation in [*out["tables"].values(), *out["materialized_views"].values()]:
        for key in ("constraints", "indexes"):
            if key in relation:
                relation[key] = sorted(relation[key], key=lambda item: item["name"])
    if conn is not None:
        for name, view in out["materialized_views"].items():
            view["definition"] = _deparsed(conn, name, view["definition"])
    return out


def _deparsed(conn: psycopg.Connection, name: str, definition: str) -> str:
    """``definition`` as this server prints it (through a temporary view, rolled back)."""
    temp = f"mmgov_deparse_{name}"
    with conn.transaction(force_rollback=True):
        conn.execute(
            sql.SQL("CREATE TEMP VIEW {} AS {}").format(sql.Identifier(temp), sql.SQL(definition.rstrip(";")))
        )
        return conn.execute("SELECT pg_get_viewdef(%s::regclass)", (temp,)).fetchone()[0].lstrip()
