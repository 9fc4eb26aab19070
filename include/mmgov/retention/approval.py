"""Who must sign off a run before anything is deleted (``Mmgov.RetentionApproval``).

``always``: a person approves every run that deletes something. ``on_change`` (default): a person
approves the first run, any run whose fingerprint (policies, retention/export settings, legal
holds) differs from the last approved run's, and any run whose count is far above the usual
(``RetentionAnomalyFactor`` x the median of the recent completed runs). ``never``: unattended
(recorded in the audit trail). A run with nothing to delete needs nobody. A rejection or a
missing approval deletes nothing: :func:`apply_approval` refuses before the first batch.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import psycopg

from mmgov import audit
from mmgov.retention.errors import ApprovalMissing, NotAnApprover
from mmgov.retention.runs import db_now_ms, get_run, update_run

APPROVE = "Approve"  # the standard provider's ApprovalOperator options
REJECT = "Reject"
RECENT_RUNS = 10
# Approval labels stored on the run: who or what let it proceed.
BY_PERSON = "person"
UNCHANGED = "unchanged"
UNATTENDED = "unattended"
NOTHING = "nothing_to_delete"
REJECTED = "rejected"


@dataclass(frozen=True)
class Decision:
    needs_approval: bool
    reasons: list[str] = field(default_factory=list)
    auto_label: str | None = None  # the approval label when no person is needed


def decide(
    conn: psycopg.Connection,
    *,
    kind: str,
    mode: str,
    fingerprint: str,
    total: int,
    anomaly_factor: float,
    run_id: str,
) -> Decision:
    """Whether run ``run_id`` (``total`` items to delete) needs a person, and why."""
    if total == 0:
        return Decision(False, ["nothing to delete"], NOTHING)
    if mode == "never":
        return Decision(False, ["Mmgov.RetentionApproval is never: runs unattended"], UNATTENDED)
    if mode == "always":
        return Decision(True, ["Mmgov.RetentionApproval is always"])
    reasons: list[str] = []
    last = conn.execute(
        "SELECT fingerprint FROM mmgov.purge_runs WHERE kind = %s AND id <> %s AND status = 'completed'"
        " AND approval IN (%s, %s) ORDER BY created_at DESC, id DESC LIMIT 1",
        (kind, run_id, BY_PERSON, UNCHANGED),
    ).fetchone()
    if last is None:
        reasons.append("first run: no run was approved before")
    elif last[0] != fingerprint:
        reasons.append(
            "policies, retention/export settings or legal holds changed since the last approved run"
        )
    recent = [
        int(r[0])
        for r in conn.execute(
            "SELECT posts_planned + files_planned FROM mmgov.purge_runs WHERE kind = %s AND id <> %s"
            " AND status = 'completed' AND NOT dry_run ORDER BY created_at DESC, id DESC LIMIT %s",
            (kind, run_id, RECENT_RUNS),
        )
    ]
    if recent:
        median = statistics.median(recent)
        if total > anomaly_factor * max(median, 1):
            reasons.append(
                f"{total} items is more than {anomaly_factor:g} x the median ({median:g}) of the last "
                f"{len(recent)} completed runs"
            )
    if reasons:
        return Decision(True, reasons)
    return Decision(False, ["nothing changed since the last approved run and the count is usual"], UNCHANGED)


def next_task(
    summary: dict[str, Any],
    *,
    dry_run: bool,
    approval_task: str = "approval",
    delete_task: str = "soft_delete",
    report_task: str = "report",
) -> str:
    """The branch after the preview: report only (dry run), ask a person, or delete."""
    if dry_run:
        return report_task
    return approval_task if summary["approval"]["needs_approval"] else delete_task


def chosen_option(hitl_result: dict[str, Any] | None) -> str | None:
    """The option a person chose in the ApprovalOperator (its XCom), if any."""
    if not hitl_result:
        return None
    options = hitl_result.get("chosen_options") or []
    return options[0] if options else None


def responder(hitl_result: dict[str, Any] | None) -> str | None:
    user = (hitl_result or {}).get("responded_by_user") or {}
    return user.get("name") or user.get("id")


def apply_approval(
    conn: psycopg.Connection, run_id: str, hitl_result: dict[str, Any] | None
) -> dict[str, Any]:
    """Record who let run ``run_id`` proceed, or raise :class:`ApprovalMissing` (nothing is deleted).

    Idempotent: a retried delete task finds the approval already recorded.
    """
    run = get_run(conn, run_id)
    if run["approval"] in (BY_PERSON, UNCHANGED, UNATTENDED, NOTHING):
        return run
    if run["approval"] == REJECTED:
        raise ApprovalMissing(f"run {run_id} was rejected by {run['approved_by']}: nothing is deleted")
    if run["needs_approval"]:
        choice = chosen_option(hitl_result)
        if choice != APPROVE:
            raise ApprovalMissing(
                f"run {run_id} needs a person's approval ({'; '.join(run['approval_reasons'])}); "
                f"got {choice or 'no answer'}: nothing is deleted"
            )
        label, by = BY_PERSON, responder(hitl_result) or "unknown"
    else:
        label = run["summary"].get("approval", {}).get("auto_label") or UNCHANGED
        by = f"auto ({run['approval_mode']})"
    with conn.transaction():
        update_run(conn, run_id, approval=label, approved_by=by, approved_at=db_now_ms(conn))
        audit.record(
            conn,
            "retention.purge_approved" if run["kind"] == "purge" else "retention.removal_approved",
            {
                "run_id": run_id,
                "approval": label,
                "approved_by": by,
                "mode": run["approval_mode"],
                "reasons": run["approval_reasons"],
            },
            by if label == BY_PERSON else audit.SYSTEM_ACTOR,
        )
    return get_run(conn, run_id)


def record_rejection(
    conn: psycopg.Connection, run_id: str, hitl_result: dict[str, Any] | None
) -> dict[str, Any]:
    """Mark the run rejected (nothing was deleted) and audit who rejected it."""
    run = get_run(conn, run_id)
    if run["status"] == REJECTED:
        return run
    by = responder(hitl_result) or "unknown"
    with conn.transaction():
        update_run(
            conn, run_id, status=REJECTED, approval=REJECTED, approved_by=by, approved_at=db_now_ms(conn)
        )
        audit.record(
            conn,
            "retention.purge_rejected" if run["kind"] == "purge" else "retention.removal_rejected",
            {
                "run_id": run_id,
                "rejected_by": by,
                "posts_planned": run["posts_planned"],
                "files_planned": run["files_planned"],
            },
            by,
        )
    return get_run(conn, run_id)


def refuse_response(
    conn: psycopg.Connection,
    *,
    dag_id: str,
    dag_run_id: str,
    user: str,
    approvers: tuple[str, ...] | None,
    chosen: list[str] | None = None,
    where: str,
) -> NotAnApprover:
    """Audit an answer to an approval by someone who may not give it (``retention.approval_refused``).

    ``where`` says who refused it (``api-server`` before it reached the task, ``task`` after). Returns
    the error to raise: nothing is deleted.
    """
    who = ", ".join(approvers) if approvers else "the Airflow admins"
    error = NotAnApprover(
        f"Airflow user {user!r} may not answer the approval of {dag_id} run {dag_run_id}: approvers are "
        f"{who} (Mmgov.RetentionApprovers; empty = the Airflow admins); nothing is deleted"
    )
    audit.record(
        conn,
        "retention.approval_refused",
        {
            "dag_id": dag_id,
            "dag_run_id": dag_run_id,
            "user": user,
            "approvers": list(approvers) if approvers is not None else "admins",
            "chosen_options": chosen,
            "refused_by": where,
            "reason": str(error),
        },
        user,
    )
    return error
