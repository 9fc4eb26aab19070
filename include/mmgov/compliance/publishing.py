"""Deliver a staged run: the format's delivery hook, the atomic publish, stale batches removed, the
signed custody manifest written last, and the run summary (with the previous window recounted).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from mmgov.compliance import ledger
from mmgov.compliance.delivery import Destination
from mmgov.compliance.export_request import ExportRequest
from mmgov.compliance.formats import ComplianceFormat
from mmgov.compliance.reconcile import BatchRecord
from mmgov.compliance.staging import Manifest

log = logging.getLogger(__name__)


EVENT_PREFIX = "compliance_export."


def recount_previous(
    conn: psycopg.Connection, request: ExportRequest, manifest: Manifest
) -> dict[str, Any] | None:
    """The previous run's window counted again (:func:`mmgov.compliance.ledger.recount_previous`); a
    growth the sweep did not capture is logged as an error and audited (the summary carries it; the
    DAG's ``check_previous_window`` alerts)."""
    if manifest.ledger_run is None:
        return None
    found = ledger.recount_previous(conn, manifest.ledger_run, request.window)
    if found and found["uncaptured"]:
        from mmgov.audit import record

        record(
            conn, EVENT_PREFIX + "uncaptured_growth", {"run_key": request.run_key, "previous_window": found}
        )
        log.error(
            "compliance export: %d post versions appeared in the previous window %s after this run's sweep "
            "read it (posts at export %s, now %s); the next run's late batch exports them while that window "
            "is within Mmgov.LateArrivalLookbackHours",
            found["uncaptured"],
            found["window"],
            found["posts_at_export"],
            found["posts_now"],
        )
    return found


def deliver(
    request: ExportRequest,
    manifest: Manifest,
    fmt: ComplianceFormat,
    destination: Destination,
    *,
    run_id: str | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the format's delivery hook, publish atomically, drop stale batches, write the signed
    custody manifest last (:mod:`mmgov.custody.exports`); return the summary (``previous``: the
    recount of the previous window, :func:`recount_previous`)."""
    from mmgov.custody import exports as custody
    from mmgov.custody.signing import load_signer

    folder, key = request.run_folder, request.run_key
    records = manifest.all_batches
    signer = load_signer()  # a bad key fails here, before anything is sent or published
    hook_figures: dict[str, Any] = {}
    if type(fmt).deliver_batch is not ComplianceFormat.deliver_batch:
        for rec in records:
            with destination.local_copy(folder, key, rec.staged.zip_name) as path:
                for name, value in fmt.deliver_batch(
                    path, rec.result, key=f"{folder}/{rec.zip_name}"
                ).items():
                    hook_figures[name] = (
                        hook_figures.get(name, 0) + value if isinstance(value, int) else value
                    )
    removed: list[str] = []
    store = custody.store_of(destination)
    custody.withdraw(store, folder)  # an earlier run's manifest must not describe this run's files
    if fmt.publishes_archive:
        destination.publish(folder, key, [r.staged for r in records])
        removed = destination.remove_stale(folder, {r.staged.zip_name for r in records})
    ref = custody.write_compliance_manifest(
        store, request, manifest, fmt, signer=signer, run_id=run_id or request.run_key
    )
    destination.finish(folder, key)
    summary = summarize(request, records, destination, removed, hook_figures, fmt.publishes_archive)
    summary["custody"] = ref.as_dict()
    summary.update(_completeness(request, manifest, previous))
    if previous and previous["uncaptured"]:
        summary["status"] = "warning"
    return summary


def _completeness(
    request: ExportRequest, manifest: Manifest, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """The summary's settle margin, late batches and the recount of the previous window."""
    out: dict[str, Any] = {"settle_seconds": request.settle_seconds}
    if request.ends_at_settle:
        out["settle_note"] = (
            f"window ends at now minus Mmgov.ExportSettleSeconds ({request.settle_seconds} s): "
            "later posts go to the next run"
        )
    if manifest.ledger_run is not None:
        out["late"] = [
            {
                "span": part.span.span.as_dict(),
                "posts": sum(r.result.posts for r in part.batches),
                "batches": [r.zip_name for r in part.batches],
                "by_window": [w for w in part.by_window if w["late_posts"]],  # the manifest lists all
            }
            for part in manifest.late
        ]
        out["late_posts"] = sum(item["posts"] for item in out["late"])
        out["previous_window"] = previous
    return out


def summarize(
    request: ExportRequest,
    records: list[BatchRecord],
    destination: Destination,
    removed: list[str],
    hook_figures: dict[str, Any],
    published: bool,
) -> dict[str, Any]:
    warnings = [w for r in records for w in r.result.warnings]
    missing = sum(r.result.files_missing for r in records)
    return {
        "status": "warning" if warnings else "success",
        "format": request.export_format,
        "window": request.window.as_dict(),
        "source": request.source,
        "messages": sum(r.result.posts for r in records),
        "message_entries": sum(r.result.messages for r in records),
        "files": sum(r.result.files_copied for r in records),
        "files_missing": missing,
        "files_skipped": sum(r.result.files_skipped for r in records),
        "warnings": len(warnings),
        "warning_lines": warnings[:50],
        "batches": [r.zip_name for r in records],
        "location": destination.describe(request.run_folder) if published else None,
        "removed_stale": removed,
        **({"delivery": hook_figures} if hook_figures else {}),
    }


def completed_payload(run_id: str, request: ExportRequest, summary: dict[str, Any]) -> dict[str, Any]:
    """The audit payload of ``compliance_export.completed``."""
    return {
        "run_id": run_id,
        **summary,
        "warning_lines": summary["warning_lines"][:10],
        # The retention export guard reads these: nothing updated at or after window_end_ms is deleted.
        "window_start_ms": request.window.start_ms,
        "window_end_ms": request.window.end_ms,
    }
