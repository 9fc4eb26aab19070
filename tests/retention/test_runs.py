"""Purge runs as `purge runs` / `purge show` and the REST API list them."""

from __future__ import annotations

from mmgov.retention.approval import apply_approval, record_rejection
from mmgov.retention.preview import preview_purge
from mmgov.retention.runs import get_run, list_runs, shown
from tests.retention.builders import NOW, settings


def test_purge_runs_name_who_rejected(conn, ws):
    """`purge runs` / `purge show` (and the REST API) show rejected_by for a rejected run, approved_by otherwise."""
    chan = ws.channel(ws.team())
    ws.post(chan, 400)
    s = settings(
        DataRetentionSettings={"EnableMessageDeletion": True, "MessageRetentionDays": 100},
        Mmgov={"RetentionApproval": "always"},
    )
    rejected = preview_purge(conn, s, dag_run_id="manual__1", now_ms=NOW)["run_id"]
    record_rejection(
        conn, rejected, {"chosen_options": ["Reject"], "responded_by_user": {"id": "d", "name": "dpo"}}
    )
    approved = preview_purge(conn, s, dag_run_id="manual__2", now_ms=NOW)["run_id"]
    apply_approval(
        conn, approved, {"chosen_options": ["Approve"], "responded_by_user": {"id": "a", "name": "admin"}}
    )
    runs = {r["id"]: r for r in list_runs(conn)}
    assert runs[rejected]["rejected_by"] == "dpo"
    assert runs[rejected]["rejected_at"] > 0
    assert "approved_by" not in runs[rejected]
    assert runs[approved]["approved_by"] == "admin"
    assert "rejected_by" not in runs[approved]
    one = shown(get_run(conn, rejected))
    assert (one["status"], one["rejected_by"], "plan_doc" in one) == ("rejected", "dpo", False)
