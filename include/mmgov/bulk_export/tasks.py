"""The task bodies of the ``gdpr_export`` DAG: connections from the ``mattermost_db`` hook, settings
from the variable, then one step of :mod:`mmgov.bulk_export.export_job` each; and the failure callback.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from mmgov import audit
from mmgov.bulk_export.errors import ExportPermissionDenied
from mmgov.bulk_export.export_job import finish_export, record_failed, run_export, start_export
from mmgov.bulk_export.export_options import ExportOptions
from mmgov.custody.gdpr import ExportCustody

log = logging.getLogger(__name__)


def on_export_failure(context: dict[str, Any]) -> None:
    """Task failure callback: ``export.failed`` for the run (unless the task recorded it already).

    Covers failures the task body could not catch (killed worker, timeout, a failing start task).
    """
    try:
        from mmgov.db import hook_connection

        run_id = context.get("run_id") or getattr(context.get("dag_run"), "run_id", None)
        if not run_id:
            return
        exc = context.get("exception")
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else "task failed (no exception: killed?)"
        ti = context.get("ti") or context.get("task_instance")
        reason = f"{getattr(ti, 'task_id', '?')}: {reason}"
        with hook_connection() as conn:
            conn.autocommit = True
            from mmgov.state import ensure_mmgov_schema

            ensure_mmgov_schema(conn)
            record_failed(conn, run_id, reason)
    except Exception:
        log.exception("GDPR export: could not record export.failed")


def start_run(params: dict[str, Any], run_id: str, actor: str | None) -> dict[str, Any]:
    """Task ``start``: who may export (:mod:`mmgov.authz`), then :func:`start_export` on ``mattermost_db``.

    ``actor`` is the run's triggering Airflow user. A refusal is audited (``export.permission_denied``)
    and fails the task at once (an :class:`ExportPermissionDenied` is not retried); nothing is written.
    """
    from mmgov.authz import check_export_permission, task_admins
    from mmgov.db import hook_connection
    from mmgov.file_store import file_store_from_settings
    from mmgov.settings import load_settings
    from mmgov.state import ensure_mmgov_schema

    settings = load_settings()
    with hook_connection() as conn:
        conn.autocommit = True
        ensure_mmgov_schema(conn)
        try:  # first: someone who may not export learns nothing more of the setup
            check_export_permission(actor, settings, task_admins())
        except ExportPermissionDenied as exc:
            refuse_export(conn, run_id, actor, exc)
        # a bad mmgov_signing key fails here, before any work
        ExportCustody.load(settings.Mmgov.ExportRecipients)
        file_store_from_settings(settings.FileSettings).check_root()  # before the output folder is created
        return start_export(conn, run_id, params, actor=actor, settings=settings)


def refuse_export(
    conn: psycopg.Connection, run_id: str, actor: str | None, exc: ExportPermissionDenied
) -> None:
    """Audit a refused export (actor: the triggering user) and re-raise: the task edge fails it without retry."""
    audit.record(
        conn,
        "export.permission_denied",
        {"job_id": run_id, "actor_id": actor, "error_reason": str(exc)},
        actor or audit.SYSTEM_ACTOR,
    )
    log.error("%s: %s", exc.code, exc)
    raise exc


def write_run(job: dict[str, Any]) -> dict[str, Any]:
    """Task ``write``: :func:`run_export` with the file store of ``FileSettings``."""
    from mmgov.db import hook_connection
    from mmgov.file_store import file_store_from_settings
    from mmgov.settings import load_settings

    settings = load_settings()
    options = ExportOptions.from_params(job["options"])
    store = file_store_from_settings(settings.FileSettings)
    custody = ExportCustody.load(settings.Mmgov.ExportRecipients)
    with hook_connection() as conn, hook_connection() as state_conn:
        conn.autocommit = True
        state_conn.autocommit = True
        return run_export(
            conn,
            state_conn,
            job["job_id"],
            options,
            store,
            custody=custody,
            missing_files=settings.Mmgov.MissingFiles,
        ).to_dict()


def finish_run(result: dict[str, Any]) -> dict[str, Any]:
    """Task ``finish``: :func:`finish_export`; its return value is the run's summary (XCom)."""
    from mmgov.db import hook_connection

    with hook_connection() as conn:
        conn.autocommit = True
        return finish_export(conn, result)
