"""Mattermost 11.7's real PostgreSQL schema, built from its catalog facts (demo, test and benchmark databases).

The facts are ``sql/mattermost-schema.json``: a verbatim copy of the catalog of a database built by
Mattermost's own migrations (every table, column, constraint, index, storage option, enum type and
materialized view of the ``public`` schema). mmgov's DAGs never create or alter these tables; only
the demo, the tests and the benchmarks do, through this module. :func:`read_catalog` reads a live
database back in the same shape, so a test can compare the two.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

SCHEMA_FILE = "mattermost-schema.json"
_CONSTRAINT_KINDS = {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check", "x": "exclusion"}
_CREATE_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX ")


@cache
def schema_facts() -> dict[str, Any]:
    """The schema facts (parsed JSON) shipped with mmgov."""
    text = resources.files("mmgov").joinpath("sql", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _existing(conn: psycopg.Connection, query: str) -> set[str]:
    return {row[0] for row in conn.execute(query)}


def create_mattermost_tables(conn: psycopg.Connection) -> None:
    """Create the enum types, tables (columns, storage options) and constraints that are missing.

    Secondary indexes and materialized views come later (:func:`create_mattermost_indexes`), so a
    bulk load can fill the tables first. Existing types and tables are left as they are.
    """
    facts = schema_facts()
    types = _existing(conn, "SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace")
    for name, labels in facts["enums"].items():
        if name not in types:
            values = sql.SQL(", ").join(sql.Literal(v) for v in labels)
            conn.execute(
                sql.SQL("CREATE TYPE {} AS ENUM ({})").format(sql.Identifier("public", name), values)
            )
    tables = _existing(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    created = [name for name in facts["tables"] if name not in tables]
    for name in created:
        conn.execute(_create_table(name, facts["tables"][name]))
    constraints = [(name, c) for name in created for c in facts["tables"][name]["constraints"]]
    constraints.sort(key=lambda item: item[1]["kind"] == "foreign key")  # keys first, then references
    for name, constraint in constraints:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier("public", name),
                sql.Identifier(constraint["name"]),
                sql.SQL(constraint["definition"]),
            )
        )


def _create_table(name: str, table: dict[str, Any]) -> sql.Composed:
    columns = []
    for column in table["columns"]:
        parts = [sql.Identifier(column["name"]), sql.SQL(column["type"])]
        if column["default"] is not None:
            parts.append(sql.SQL("DEFAULT " + column["default"]))
        if not column["nullable"]:
            parts.append(sql.SQL("NOT NULL"))
        columns.append(sql.SQL(" ").join(parts))
    statement = sql.SQL("CREATE TABLE {} ({})").format(
        sql.Identifier("public", name), sql.SQL(", ").join(columns)
    )
    if table.get("storage_options"):
        statement += sql.SQL(" WITH ({})").format(sql.SQL(", ").join(map(sql.SQL, table["storage_options"])))
    return statement


def _if_not_exists(definition: str) -> sql.SQL:
    return sql.SQL(_CREATE_INDEX.sub(lambda m: f"CREATE {m.group(1) or ''}INDEX IF NOT EXISTS ", definition))


def create_mattermost_indexes(conn: psycopg.Connection) -> None:
    """Create every secondary index (GIN included) and the materialized views with their indexes.

    Run after a bulk load: building indexes once over loaded rows is fastest, and the views are
    filled from the rows present (as Mattermost's refresh job would).
    """
    facts = schema_facts()
    for table in facts["tables"].values():
        for index in table["indexes"]:
            if "constraint" not in index:  # constraint indexes come with their constraint
                conn.execute(_if_not_exists(index["definition"]))
    for name, view in facts["materialized_views"].items():
        conn.execute(
            sql.SQL("CREATE MATERIALIZED VIEW IF NOT EXISTS {} AS {}").format(
                sql.Identifier("public", name), sql.SQL(view["definition"].rstrip().rstrip(";"))
            )
        )
        for index in view["indexes"]:
            conn.execute(_if_not_exists(index["definition"]))


def create_mattermost_schema(conn: psycopg.Connection) -> None:
    """Create the whole schema: tables, constraints, indexes, materialized views."""
    create_mattermost_tables(conn)
    create_mattermost_indexes(conn)


def read_catalog(conn: psycopg.Connection) -> dict[str, Any]:
    """The ``public`` schema of a live database, in the shape of the facts (``enums``, ``tables``,
    ``materialized_views``); constraints and indexes in name order."""
    enums: dict[str, list[str]] = {}
    for name, label in conn.execute(
        "SELECT t.typname, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
        " WHERE t.typnamespace = 'public'::regnamespace ORDER BY t.typname, e.enumsortorder"
    ):
        enums.setdefault(name, []).append(label)
    tables: dict[str, dict[str, Any]] = {}
    for oid, name, options in conn.execute(
        "SELECT c.oid, c.relname, c.reloptions FROM pg_class c"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    ).fetchall():
        table: dict[str, Any] = {
            "columns": _columns(conn, oid),
            "constraints": _constraints(conn, oid),
            "indexes": _indexes(conn, oid),
        }
        if options:
            table["storage_options"] = list(options)
        tables[name] = table
    views = {
        name: {"definition": definition.lstrip(), "indexes": _indexes(conn, oid)}
        for oid, name, definition in conn.execute(
            "SELECT c.oid, c.relname, pg_get_viewdef(c.oid) FROM pg_class c"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'm' ORDER BY c.relname"
        ).fetchall()
    }
    return {"enums": enums, "tables": tables, "materialized_views": views}


def _columns(conn: psycopg.Connection, oid: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (oid,),
    )
    return [{"name": n, "type": t, "nullable": nullable, "default": d} for n, t, nullable, d in rows]


def _constraints(conn: psycopg.Connection, oid: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s AND contype <> 'n' ORDER BY conname",
        (oid,),
    )
    return [{"name": n, "kind": _CONSTRAINT_KINDS.get(k, k), "definition": d} for n, k, d in rows]


def _indexes(conn: psycopg.Connection, oid: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid), con.conname FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid"
        " LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid"
        " WHERE x.indrelid = %s ORDER BY i.relname",
        (oid,),
    )
    out = []
    for name, definition, constraint in rows:
        index = {"name": name, "definition": definition}
        if constraint is not None:
            index["constraint"] = constraint
        out.append(index)
    return out


def schema_differences(conn: psycopg.Connection) -> list[str]:
    """How the tables and indexes of ``conn``'s database differ from the facts (empty: the real
    schema). A cheap check for reusing a benchmark database; the tests compare the whole catalog."""
    facts = schema_facts()
    tables = _existing(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    indexes = _existing(conn, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    want_indexes = {i["name"] for t in facts["tables"].values() for i in t["indexes"]}
    want_indexes |= {i["name"] for v in facts["materialized_views"].values() for i in v["indexes"]}
    out = [f"missing table {t}" for t in sorted(set(facts["tables"]) - tables)]
    out += [f"extra table {t}" for t in sorted(tables - set(facts["tables"]))]
    out += [f"missing index {i}" for i in sorted(want_indexes - indexes)]
    out += [f"extra index {i}" for i in sorted(indexes - want_indexes)]
    return out
