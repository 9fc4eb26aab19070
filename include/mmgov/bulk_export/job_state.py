"""The GDPR export job row (``mmgov.gdpr_export_jobs``): status and per-entity progress while running.

Status follows the seed: ``pending`` (run validated, nothing written) -> ``running`` -> ``completed``
or ``failed``. Each write commits at once on its own connection, so progress is visible to anyone
(SQL, the REST API) while the export's long read transaction is still open.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from mmgov.state import register_ddl

register_ddl("gdpr_export.sql")


def create_job(conn: psycopg.Connection, job_id: str, actor: str, params: dict[str, Any]) -> None:
    """Create the job row as ``pending`` (a re-run of the same run id resets it)."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO mmgov.gdpr_export_jobs (job_id, status, actor, params) VALUES (%s, 'pending', %s, %s)"
            " ON CONFLICT (job_id) DO UPDATE SET status = 'pending', actor = EXCLUDED.actor,"
            " params = EXCLUDED.params, progress = '{}'::jsonb, output_path = NULL, error = NULL,"
            " started_at = NULL, finished_at = NULL, updated_at = clock_timestamp()",
            (job_id, actor, json.dumps(params)),
        )


def mark_running(conn: psycopg.Connection, job_id: str) -> None:
    """``pending`` -> ``running`` (creates a minimal row if the start task's row is missing)."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO mmgov.gdpr_export_jobs (job_id, status, actor, started_at)"
            " VALUES (%s, 'running', 'system', clock_timestamp())"
            " ON CONFLICT (job_id) DO UPDATE SET status = 'running', started_at = clock_timestamp(),"
            " error = NULL, finished_at = NULL, updated_at = clock_timestamp()",
            (job_id,),
        )


def update_progress(conn: psycopg.Connection, job_id: str, progress: dict[str, int]) -> None:
    """Store the current counters (merged into what is there)."""
    with conn.transaction():
        conn.execute(
            "UPDATE mmgov.gdpr_export_jobs SET progress = progress || %s::jsonb, updated_at = clock_timestamp()"
            " WHERE job_id = %s",
            (json.dumps(progress), job_id),
        )


def finish_job(
    conn: psycopg.Connection,
    job_id: str,
    status: str,
    *,
    output_path: str | None = None,
    error: str | None = None,
    progress: dict[str, int] | None = None,
) -> None:
    """Set a terminal status (``completed`` or ``failed``)."""
    if status not in ("completed", "failed"):
        raise ValueError(f"status must be completed or failed, got {status!r}")
    with conn.transaction():
        conn.execute(
            "UPDATE mmgov.gdpr_export_jobs SET status = %s, output_path = COALESCE(%s, output_path),"
            " error = %s, progress = progress || %s::jsonb, finished_at = clock_timestamp(),"
            " updated_at = clock_timestamp() WHERE job_id = %s",
            (status, output_path, error, json.dumps(progress or {}), job_id),
        )


def get_job(conn: psycopg.Connection, job_id: str) -> dict[str, Any] | None:
    """The job row as a dict, or ``None``."""
    row = conn.execute(
        "SELECT job_id, status, actor, params, progress, output_path, error, created_at, started_at,"
        " updated_at, finished_at FROM mmgov.gdpr_export_jobs WHERE job_id = %s",
        (job_id,),
    ).fetchone()
    if row is None:
        return None
    names = (
        "job_id",
        "status",
        "actor",
        "params",
        "progress",
        "output_path",
        "error",
        "created_at",
        "started_at",
        "updated_at",
        "finished_at",
    )
    return dict(zip(names, row, strict=True))
