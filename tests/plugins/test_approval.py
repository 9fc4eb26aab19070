"""The approval task re-checks who answered when it resumes (the api-server guard: tests/plugins/test_approval_guard.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from mmgov import audit


@pytest.mark.parametrize("manager", ["simple", "fab"])
def test_the_task_refuses_an_answer_from_a_non_approver(mm_dsn, mm_conn, monkeypatch, manager):
    """Whatever let the answer through (another auth manager, the all-admins mode), the task audits and fails."""
    from airflow.sdk.exceptions import AirflowFailException
    from mmgov_airflow.approval import RecordedApprovalOperator

    from mmgov.db import airflow_conn_json
    from mmgov.state import ensure_mmgov_schema

    conn = mm_conn
    ensure_mmgov_schema(conn)
    monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_DB", airflow_conn_json(mm_dsn))
    monkeypatch.setenv(
        "AIRFLOW_VAR_MATTERMOST_SETTINGS", json.dumps({"Mmgov": {"RetentionApprovers": ["dpo"]}})
    )
    monkeypatch.setenv(
        "AIRFLOW__CORE__AUTH_MANAGER",
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        if manager == "simple"
        else "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
    )
    op = RecordedApprovalOperator(task_id="approval", subject="s", body="b")
    context = {"dag_run": SimpleNamespace(dag_id="retention_purge", run_id="manual__1")}
    answer = {"chosen_options": ["Approve"], "responded_by_user": {"id": "7", "name": "op"}}
    with pytest.raises(AirflowFailException, match=r"RETENTION_APPROVER_REQUIRED: Airflow user 'op' may not"):
        op._check_responder(context, answer)
    row = audit.history(conn, event_prefix="retention.approval_refused")[0]
    assert (row["actor"], row["payload"]["refused_by"], row["payload"]["approvers"]) == (
        "op",
        "task",
        ["dpo"],
    )
    op._check_responder(context, {**answer, "responded_by_user": {"id": "8", "name": "dpo"}})  # an approver
    assert len(audit.history(conn, event_prefix="retention.approval_refused")) == 1
