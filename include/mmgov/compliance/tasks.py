"""The compliance export run: the task bodies of the ``compliance_export`` DAG and the in-process runner.

Stages (each a task, each retryable on its own):

1. :func:`task_resolve_window` - run parameters or the data interval -> an
   :class:`~mmgov.compliance.export_request.ExportRequest` (window, format, batch size, destination,
   folder); audit ``compliance_export.started``.
2. :func:`task_extract_format_package` - the window read from one database snapshot in batches
   (extract), rendered by the format into one deterministic zip per batch in staging
   (:mod:`~mmgov.compliance.staging`), with the database's counts of the window taken in the same
   snapshot. Extraction, formatting and packaging are separate modules but are pipelined batch by
   batch in one task: materialising a whole window between tasks would cost a second copy of it, and
   the counts must come from the snapshot the rows came from (a REPEATABLE READ transaction cannot
   span tasks).
3. :func:`task_reconcile` - counts and staged files checked; a mismatch fails the run, nothing delivered.
4. :func:`task_deliver` - format delivery hooks, atomic publish, stale batches removed, staging
   cleared (:mod:`~mmgov.compliance.publishing`); audit ``compliance_export.completed`` (emitted on
   the ``mmgov://compliance-export`` asset); the run summary is returned (XCom) and logged as one line.

:func:`run_export` and :func:`export_window_to_destination` run the same stages in one process
(tests, benchmarks, scripts).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import psycopg

from mmgov.compliance import ledger
from mmgov.compliance.delivery import Destination, destination_from_settings, run_key
from mmgov.compliance.export_request import ExportRequest, resolve_request
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.formats import FileSource, get_format
from mmgov.compliance.publishing import EVENT_PREFIX, completed_payload, deliver, recount_previous
from mmgov.compliance.staging import Manifest, begin_tracking, check_staged, stage_export
from mmgov.errors import MmgovError
from mmgov.file_store import file_store_from_settings
from mmgov.settings import Settings

log = logging.getLogger(__name__)


def export_window_to_destination(
    conn: psycopg.Connection,
    window: ExportWindow,
    settings: Settings,
    *,
    export_format: str = "csv",
    files: FileSource | None = None,
    destination: Destination | None = None,
    batch_size: int | None = None,
    run_id: str = "local",
) -> dict[str, Any]:
    """The whole pipeline in-process (tests, benchmarks, scripts): stage, reconcile, deliver."""
    destination = destination or destination_from_settings(settings)
    request = ExportRequest(
        window=window,
        source="params",
        export_format=export_format,
        batch_size=batch_size or settings.MessageExportSettings.BatchSize,
        destination=destination.describe(),
        run_folder=window.folder_name,
        run_key=run_key(run_id),
    )
    fmt = get_format(export_format, settings)
    manifest = stage_export(
        conn, request, fmt, files or file_store_from_settings(settings.FileSettings), destination
    )
    check_staged(request, manifest, destination)
    return deliver(request, manifest, fmt, destination, run_id=run_id)


def run_export(
    conn: psycopg.Connection,
    settings: Settings,
    params: Mapping[str, Any],
    *,
    run_id: str,
    interval_start: Any = None,
    interval_end: Any = None,
    now_ms: int | None = None,
    files: FileSource | None = None,
    destination: Destination | None = None,
) -> dict[str, Any]:
    """One run as the DAG does it, in-process: resolve the window (settle margin), stage it and the late
    batches (ledger), reconcile, recount the previous window, deliver, mark the run delivered.

    ``conn``: autocommit, with mmgov's schema.
    """
    from mmgov.compliance.last_export import last_export_end_ms

    now = int(time.time() * 1000) if now_ms is None else now_ms
    request = resolve_request(
        params,
        settings,
        interval_start=interval_start,
        interval_end=interval_end,
        run_id=run_id,
        now_ms=now,
        last_export_end_ms=last_export_end_ms(conn),
    )
    destination = destination or destination_from_settings(settings)
    fmt = get_format(request.export_format, settings)
    tracking = begin_tracking(conn, request, settings, now)
    manifest = stage_export(
        conn,
        request,
        fmt,
        files or file_store_from_settings(settings.FileSettings),
        destination,
        tracking=tracking,
    )
    check_staged(request, manifest, destination)
    previous = recount_previous(conn, request, manifest)
    summary = deliver(request, manifest, fmt, destination, run_id=run_id, previous=previous)
    from mmgov.audit import record

    record(conn, EVENT_PREFIX + "completed", completed_payload(run_id, request, summary))
    ledger.mark_delivered(conn, tracking.run, int(time.time() * 1000))
    return summary


def _audit(event: str, payload: dict[str, Any]) -> None:
    from mmgov.audit import record
    from mmgov.db import hook_connection
    from mmgov.state import ensure_mmgov_schema

    with hook_connection() as conn:
        conn.autocommit = True
        ensure_mmgov_schema(conn)
        record(conn, event, payload)


def task_resolve_window(
    params: Mapping[str, Any], *, interval_start: Any, interval_end: Any, run_id: str
) -> dict[str, Any]:
    from mmgov.compliance.last_export import last_export_end_ms
    from mmgov.db import hook_connection
    from mmgov.settings import load_settings
    from mmgov.state import ensure_mmgov_schema

    settings = load_settings()  # a bad value of a key this DAG reads fails here, first
    file_store_from_settings(settings.FileSettings).check_root()  # before anything is created beside it
    with hook_connection() as conn:
        conn.autocommit = True
        ensure_mmgov_schema(conn)
        since = last_export_end_ms(conn)
    request = resolve_request(
        params,
        settings,
        interval_start=interval_start,
        interval_end=interval_end,
        run_id=run_id,
        last_export_end_ms=since,
    )
    _audit(EVENT_PREFIX + "started", {"run_id": run_id, **request.as_dict()})
    log.info(
        "compliance export of %s: window [%d, %d) from %s, format %s, into %s/%s",
        run_id,
        request.window.start_ms,
        request.window.end_ms,
        request.source,
        request.export_format,
        request.destination,
        request.run_folder,
    )
    return request.as_dict()


def task_extract_format_package(request_dict: Mapping[str, Any]) -> dict[str, Any]:
    from mmgov.db import hook_connection
    from mmgov.settings import load_settings
    from mmgov.state import ensure_mmgov_schema

    settings = load_settings()
    request = ExportRequest.from_dict(request_dict)
    fmt = get_format(request.export_format, settings)
    with hook_connection() as conn:
        conn.autocommit = True
        ensure_mmgov_schema(conn)
        tracking = begin_tracking(conn, request, settings, int(time.time() * 1000))
        manifest = stage_export(
            conn,
            request,
            fmt,
            file_store_from_settings(settings.FileSettings),
            destination_from_settings(settings),
            tracking=tracking,
        )
    return manifest.as_dict()


def task_reconcile(request_dict: Mapping[str, Any], manifest_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Reconcile what was staged; then count the previous window again (``previous_window``)."""
    from mmgov.compliance.reconcile import ReconciliationError
    from mmgov.db import hook_connection
    from mmgov.file_store import enforce_missing_files
    from mmgov.settings import load_settings

    settings = load_settings()
    request = ExportRequest.from_dict(request_dict)
    manifest = Manifest.from_dict(manifest_dict)
    missing = sum(b.result.files_missing for b in manifest.batches)
    store = file_store_from_settings(settings.FileSettings).describe()
    enforce_missing_files(settings.Mmgov.MissingFiles, missing, store)  # before anything is delivered
    try:
        report = check_staged(request, manifest, destination_from_settings(settings))
    except ReconciliationError as exc:
        _audit(
            EVENT_PREFIX + "reconciliation_failed",
            {"window": request.window.as_dict(), "error": str(exc)},
        )
        raise
    with hook_connection() as conn:
        conn.autocommit = True
        report["previous_window"] = recount_previous(conn, request, manifest)
    return report


def task_deliver(
    request_dict: Mapping[str, Any],
    manifest_dict: Mapping[str, Any],
    checked: Mapping[str, Any] | None = None,
    *,
    run_id: str,
) -> dict[str, Any]:
    from mmgov.db import hook_connection
    from mmgov.settings import load_settings

    settings = load_settings()
    request = ExportRequest.from_dict(request_dict)
    manifest = Manifest.from_dict(manifest_dict)
    fmt = get_format(request.export_format, settings)
    summary = deliver(
        request,
        manifest,
        fmt,
        destination_from_settings(settings),
        run_id=run_id,
        previous=(checked or {}).get("previous_window"),
    )
    _audit(EVENT_PREFIX + "completed", completed_payload(run_id, request, summary))
    if manifest.ledger_run is not None:
        with hook_connection() as conn:
            conn.autocommit = True
            ledger.mark_delivered(conn, manifest.ledger_run, int(time.time() * 1000))
    log.info("compliance_export summary: %s", json.dumps(summary, sort_keys=True))
    return summary


class UncapturedGrowthError(MmgovError):
    """The previous window grew after this run's late-arrival sweep read it (an alert; this run was delivered)."""

    code = "COMPLIANCE_EXPORT_UNCAPTURED_GROWTH"
    retryable = False  # the task edge fails the task at once: a retry recounts the same growth


def task_check_previous_window(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """Fail (an alert, no retry) when the previous window grew by versions no run exported; the export
    itself is delivered. Returns the recount."""
    previous = summary.get("previous_window")
    if previous and previous.get("uncaptured"):
        raise UncapturedGrowthError(
            f"{previous['uncaptured']} post versions appeared in the "
            f"previous window {previous['window']} after this run's late-arrival sweep read it (posts at its "
            f"export {previous['posts_at_export']}, now {previous['posts_now']}). This run was delivered; the "
            "next run's late batch exports them if the window is still within Mmgov.LateArrivalLookbackHours, "
            "otherwise export that window again."
        )
    return previous


def on_task_failure(context: Mapping[str, Any]) -> None:
    """Failure callback: audit ``compliance_export.failed`` (alerts are sent by the notifiers)."""
    ti = context.get("ti") or context.get("task_instance")
    exc = context.get("exception")
    payload = {
        "run_id": getattr(ti, "run_id", None),
        "task_id": getattr(ti, "task_id", None),
        "try_number": getattr(ti, "try_number", None),
        "error": f"{type(exc).__name__}: {exc}" if exc else None,
    }
    log.error("Failed job compliance_export %s", json.dumps(payload, default=str))
    try:
        _audit(EVENT_PREFIX + "failed", payload)
    except Exception:
        log.exception("could not record compliance_export.failed in the audit log")
