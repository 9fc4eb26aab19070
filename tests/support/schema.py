"""Compare a database's catalog with Mattermost's schema facts."""

from __future__ import annotations

import copy
from typing import Any

import psycopg


def comparable(schema: dict[str, Any]) -> dict[str, Any]:
    """Enums, tables and materialized views, constraints and indexes in name order (their order in
    the catalog is not a fact)."""
    out = copy.deepcopy({k: schema[k] for k in ("enums", "tables", "materialized_views")})
    for relation in [*out["tables"].values(), *out["materialized_views"].values()]:
        for key in ("constraints", "indexes"):
            if key in relation:
                relation[key] = sorted(relation[key], key=lambda item: item["name"])
    return out


def rendered_here(conn: psycopg.Connection, schema: dict[str, Any]) -> dict[str, Any]:
    """The facts with each materialized view's definition as this server renders it.

    ``pg_get_viewdef`` output depends on the PostgreSQL version (the facts come from 15; 16+ drop the
    table qualifiers of a one-table query), so the facts' SQL is parsed here, as a temporary view in a
    rolled-back transaction, and read back the way ``read_catalog`` reads the created database."""
    out = copy.deepcopy(schema)
    with conn.transaction(force_rollback=True):
        for name, view in out["materialized_views"].items():
            probe = f"mmgov_probe_{name}"
            conn.execute(f'CREATE TEMP VIEW "{probe}" AS {view["definition"].rstrip().rstrip(";")}')
            (rendered,) = conn.execute("SELECT pg_get_viewdef(%s::regclass)", (probe,)).fetchone()
            view["definition"] = rendered.lstrip()
    return out
