"""Entry points of the retention DAGs' tasks: settings from the variable, the ``mattermost_db`` connection.

Each DAG task calls exactly one of these; each opens its own autocommit connection (the domain
functions manage their own short transactions).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from mmgov.db import hook_connection
from mmgov.settings import load_settings


@contextmanager
def mattermost_connection() -> Iterator[psycopg.Connection]:
    """An autocommit connection to ``mattermost_db`` (through PostgresHook)."""
    conn = hook_connection()
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def preview(*, dag_run_id: str, dry_run: bool) -> dict[str, Any]:
    """Task ``preview`` of ``retention_purge``."""
    from mmgov.retention.preview import preview_purge

    with mattermost_connection() as conn:
        return preview_purge(conn, load_settings(), dag_run_id=dag_run_id, dry_run=dry_run)


def soft_delete(run_id: str, hitl_result: dict[str, Any] | None) -> dict[str, Any]:
    """Task ``soft_delete`` of ``retention_purge``."""
    from mmgov.retention.purge import soft_delete as run_soft_delete

    with mattermost_connection() as conn:
        return run_soft_delete(conn, load_settings(), run_id, hitl_result=hitl_result)


def report(run_id: str, hitl_result: dict[str, Any] | None) -> dict[str, Any]:
    """Task ``report`` of ``retention_purge``."""
    from mmgov.custody.attestation import attest_reported_run
    from mmgov.retention.report import report_purge
    from mmgov.state import ensure_mmgov_schema

    with mattermost_connection() as conn:
        ensure_mmgov_schema(conn)  # custody.sql (registered by the attestation import) on a fresh database
        summary = report_purge(conn, run_id, hitl_result=hitl_result)
        # mmgov.custody; a bad mmgov_signing key (SigningKeyError) fails the task at its edge, without retry
        summary["attestation"] = attest_reported_run(conn, load_settings(), run_id)
        return summary


def removal_preview(*, dag_run_id: str) -> dict[str, Any]:
    """Task ``preview`` of ``retention_physical_removal``."""
    from mmgov.retention.physical_removal import preview_removal

    with mattermost_connection() as conn:
        return preview_removal(conn, load_settings(), dag_run_id=dag_run_id)


def removal(run_id: str, hitl_result: dict[str, Any] | None) -> dict[str, Any]:
    """Task ``remove`` of ``retention_physical_removal``."""
    from mmgov.file_store import file_store_from_settings
    from mmgov.retention.physical_removal import remove_expired

    settings = load_settings()
    with mattermost_connection() as conn:
        return remove_expired(
            conn, settings, run_id, file_store_from_settings(settings.FileSettings), hitl_result=hitl_result
        )


def removal_report(run_id: str, hitl_result: dict[str, Any] | None) -> dict[str, Any]:
    """Task ``report`` of ``retention_physical_removal``."""
    from mmgov.retention.physical_removal import report_removal

    with mattermost_connection() as conn:
        return report_removal(conn, run_id, hitl_result=hitl_result)
