"""Purge and removal runs (``mmgov.purge_runs``): one row per run with its plan, approval and progress."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from mmgov.retention.errors import RunNotFound


def db_now_ms(conn: psycopg.Connection) -> int:
    """The database's clock in epoch milliseconds (the clock Mattermost's rows are compared with)."""
    return int(conn.execute("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint").fetchone()[0])


def get_run(conn: psycopg.Connection, run_id: str) -> dict[str, Any]:
    """The run's row as a dict, or :class:`RunNotFound` (404)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT * FROM mmgov.purge_runs WHERE id = %s", (run_id,)).fetchone()
    if row is None:
        raise RunNotFound(f"Retention run not found: {run_id!r}")
    return row


def find_run(conn: psycopg.Connection, kind: str, dag_run_id: str) -> dict[str, Any] | None:
    """The run created for an Airflow dag run (so a retried task finds its own run)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM mmgov.purge_runs WHERE kind = %s AND dag_run_id = %s", (kind, dag_run_id)
        ).fetchone()


def list_runs(conn: psycopg.Connection, *, kind: str = "purge", limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs of ``kind`` as :func:`shown` (without their large plan documents)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT id, kind, dag_run_id, status, dry_run, created_at, approval, approved_by, approved_at,"
            " posts_planned, files_planned, messages_deleted, files_deleted, messages_restored, files_restored,"
            " started_at, finished_at FROM mmgov.purge_runs WHERE kind = %s"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            (kind, limit),
        ).fetchall()
    return [shown(r) for r in rows]


def shown(run: dict[str, Any]) -> dict[str, Any]:
    """A run as the CLI and the REST API show it: no plan document; a rejection names ``rejected_by``.

    The row keeps the person who answered in ``approved_by``/``approved_at`` either way.
    """
    out = {k: v for k, v in run.items() if k != "plan_doc"}
    if out.get("approval") == "rejected":
        out["rejected_by"], out["rejected_at"] = out.pop("approved_by", None), out.pop("approved_at", None)
    return out


def update_run(conn: psycopg.Connection, run_id: str, **values: Any) -> None:
    """Set columns of a run (names are this module's callers' literals, never user input)."""
    from psycopg import sql

    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values
    )
    params = {k: Jsonb(v) if isinstance(v, dict | list) else v for k, v in values.items()}
    params["_id"] = run_id
    conn.execute(sql.SQL("UPDATE mmgov.purge_runs SET {} WHERE id = %(_id)s").format(assignments), params)


def resolve_run(conn: psycopg.Connection, ref: str, *, kind: str = "purge") -> dict[str, Any]:
    """A run by mmgov's run id or by the Airflow run id of its DAG run (``manual__...``, ``scheduled__...``)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT * FROM mmgov.purge_runs WHERE id = %s OR (kind = %s AND dag_run_id = %s)"
            " ORDER BY (id = %s) DESC LIMIT 1",
            (ref, kind, ref, ref),
        ).fetchone()
    if row is None:
        raise RunNotFound(
            f"Retention run not found: {ref!r} is neither an mmgov run id nor the Airflow run id of a {kind} run"
        )
    return row
