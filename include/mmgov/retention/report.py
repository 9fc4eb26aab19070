"""The end of a purge run: its summary, the ``retention.deletion_completed`` event, or the rejection."""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from mmgov import audit
from mmgov.retention import approval
from mmgov.retention.purge import totals
from mmgov.retention.runs import get_run

log = logging.getLogger(__name__)


def report_purge(
    conn: psycopg.Connection, run_id: str, *, hitl_result: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Summarise run ``run_id`` and emit its event; ``alert`` is true when a person rejected it.

    Dry run: the preview's counts, nothing deleted. Completed: ``retention.deletion_completed``
    (once, even when the report is retried). Rejected: recorded, nothing deleted.
    """
    run = get_run(conn, run_id)
    preview = {k: v for k, v in run["summary"].items() if k not in ("markdown", "channels")}
    base = {
        "run_id": run_id,
        "dry_run": run["dry_run"],
        "messages_to_delete": int(run["posts_planned"]),
        "files_to_delete": int(run["files_planned"]),
        "spared": preview.get("spared", {}),
        "export_guard": preview.get("export_guard", {}),
        "by_policy": preview.get("by_policy", []),
        "approval": run["approval"],
        "approved_by": run["approved_by"],
        "messages_deleted": 0,
        "files_deleted": 0,
        "alert": False,
    }
    if run["dry_run"]:
        summary = {**base, "status": "dry_run"}
    elif run["status"] == "completed":
        done = totals(run)
        summary = {**base, **done}
        event = {
            "run_id": run_id,
            "messages_deleted": done["messages_deleted"],
            "files_deleted": done["files_deleted"],
            "duration_ms": done["duration_ms"],
            "batches": done["batches"],
            "sleep_ms": done["sleep_ms"],
            "approval": run["approval"],
            "approved_by": run["approved_by"],
        }
        already = conn.execute(
            "SELECT 1 FROM mmgov.audit_log WHERE event = 'retention.deletion_completed' AND payload->>'run_id' = %s",
            (run_id,),
        ).fetchone()
        if already is None:
            audit.record(conn, "retention.deletion_completed", event)
    elif approval.chosen_option(hitl_result) == approval.REJECT or run["status"] == approval.REJECTED:
        run = approval.record_rejection(conn, run_id, hitl_result)
        summary = {
            **base,
            "status": "rejected",
            "approval": run["approval"],
            "rejected_by": run["approved_by"],
            "alert": True,
        }
    else:
        summary = {**base, "status": run["status"]}
    conn.execute("DELETE FROM mmgov.purge_candidates WHERE run_id = %s", (run_id,))
    log.info(
        "retention_purge summary: run=%s status=%s messages_deleted=%s files_deleted=%s messages_planned=%s "
        "files_planned=%s approval=%s",
        run_id,
        summary["status"],
        summary["messages_deleted"],
        summary["files_deleted"],
        summary["messages_to_delete"],
        summary["files_to_delete"],
        summary["approval"],
    )
    return summary
