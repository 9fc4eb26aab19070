"""Only the approvers answer a purge approval: real Airflow (``dags test`` + ``api-server``), every role.

The approval task asks with ``assigned_users`` = the approvers (SimpleAuthManager: user id = name); mmgov's
api-server guard refuses everyone else (403) and audits the attempt; the task re-checks the answer when
it resumes. Users: one of each SimpleAuthManager role plus ``dpo`` (an OP) (tests/support/airflow_api.py).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from mmgov import audit
from mmgov_dev.devenv import AIRFLOW_BIN, AirflowEnv, run_airflow
from tests.retention.builders import deleted_posts
from tests.retention.test_dags import BASE_SETTINGS, _return_value, _states, _world
from tests.support.airflow_api import USERS, auth_environ, start_api_server

HITL = "/api/v2/dags/retention_purge/dagRuns/{run_id}/taskInstances/approval/-1/hitlDetails"


@pytest.fixture(autouse=True)
def _export_root(tmp_path, monkeypatch):
    monkeypatch.setitem(BASE_SETTINGS, "FileSettings", {"Directory": str(tmp_path / "filestore")})


def _waiting_detail(server, run: subprocess.Popen, log_path) -> dict:
    deadline = time.monotonic() + 240
    while True:
        assert run.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, "the approval task never asked"
        status, body = server.request(
            "GET", "/api/v2/dags/retention_purge/dagRuns/~/hitlDetails", user="admin"
        )
        waiting = [d for d in (body or {}).get("hitl_details", []) if not d.get("response_received")]
        if status == 200 and waiting:
            return waiting[0]
        time.sleep(1)


@pytest.mark.airflow
@pytest.mark.parametrize(
    ("approvers", "approver"), [([], "admin"), (["dpo"], "dpo")], ids=["default-admins", "named-approver"]
)
def test_only_approvers_may_answer(mm_dsn, conn, airflow_env, approvers, approver):
    expired, _ = _world(mm_dsn)
    mmgov = {"RetentionApproval": "always", "RetentionApprovers": approvers}
    env = airflow_env(mm_dsn, {**BASE_SETTINGS, "Mmgov": mmgov})
    server = start_api_server(env)
    log_path = env.home / "dags-test.log"
    try:
        with log_path.open("w") as log:
            run = subprocess.Popen(
                [str(AIRFLOW_BIN), "dags", "test", "retention_purge", "-c", '{"dry_run": false}'],
                env={**env.environ(), **auth_environ(env)},  # the worker sees the same users
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        detail = _waiting_detail(server, run, log_path)
        run_id = detail["task_instance"]["dag_run_id"]
        # Airflow's own respondent restriction, resolved when the task asked
        assert detail["assigned_users"] == [{"id": approver, "name": approver}]
        assert f"**Who may answer:** {approver} (`Mmgov.RetentionApprovers`)" in detail["body"]
        others = sorted(set(USERS) - {approver})
        for user in others:
            for option in ("Approve", "Reject"):
                status, body = server.request(
                    "PATCH",
                    HITL.format(run_id=run_id),
                    {"chosen_options": [option], "params_input": {}},
                    user=user,
                )
                assert status == 403, (user, body)
                assert body["detail"].startswith(
                    f"RETENTION_APPROVER_REQUIRED: Airflow user '{user}' may not answer the approval of "
                    f"retention_purge run {run_id}"
                ), body
        refused = audit.history(conn, event_prefix="retention.approval_refused")
        assert sorted(r["actor"] for r in refused) == sorted(others * 2)
        assert {r["payload"]["refused_by"] for r in refused} == {"api-server"}
        assert {r["payload"]["dag_run_id"] for r in refused} == {run_id}
        assert deleted_posts(conn) == set()  # nothing happened: the task still waits
        status, body = server.request("GET", HITL.format(run_id=run_id), user="admin")
        assert (status, body["response_received"]) == (200, False)

        status, body = server.request(
            "PATCH",
            HITL.format(run_id=run_id),
            {"chosen_options": ["Approve"], "params_input": {}},
            user=approver,
        )
        assert status == 200, body
        assert run.wait(timeout=240) == 0, log_path.read_text()[-3000:]
    finally:
        if run.poll() is None:
            run.kill()
        server.stop()
    assert _states(env, "retention_purge")["soft_delete"] == "success"
    assert deleted_posts(conn) == expired
    summary = _return_value(env, "retention_purge", "report")
    assert (summary["status"], summary["approved_by"]) == ("completed", approver)
    assert audit.history(conn, event_prefix="retention.purge_approved")[0]["actor"] == approver


@pytest.mark.parametrize("manager", ["simple", "fab"])
def test_the_task_refuses_an_answer_from_a_non_approver(mm_dsn, conn, monkeypatch, manager):
    """Whatever let the answer through (another auth manager, the all-admins mode), the task audits and fails."""
    from airflow.sdk.exceptions import AirflowFailException
    from mmgov_airflow.approval import RecordedApprovalOperator

    from mmgov.db import airflow_conn_json
    from mmgov.state import ensure_mmgov_schema

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


def test_purge_runs_name_who_rejected(conn, ws):
    """`purge runs` / `purge show` (and the REST API) show rejected_by for a rejected run, approved_by otherwise."""
    from mmgov.retention.approval import apply_approval, record_rejection
    from mmgov.retention.preview import preview_purge
    from mmgov.retention.runs import get_run, list_runs, shown
    from tests.retention.builders import NOW, settings

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


FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
FAB_ROLES = {"admin": "Admin", "op": "Op", "user": "User", "viewer": "Viewer"}


@dataclass
class FabAirflowEnv(AirflowEnv):
    """An AirflowEnv whose every process (dags test, api-server) uses FAB's auth manager."""

    def environ(self) -> dict[str, str]:
        return {**super().environ(), "AIRFLOW__CORE__AUTH_MANAGER": FAB}


@pytest.mark.airflow
def test_fab_roles_only_admins_may_answer(mm_dsn, conn, tmp_path, airflow_metadata_template):
    """FAB: tasks cannot see roles, so mmgov's api-server guard refuses Viewer, User and Op; Admin approves."""
    expired, _ = _world(mm_dsn)
    env = FabAirflowEnv(
        home=tmp_path / "airflow",
        mattermost_dsn=mm_dsn,
        settings={**BASE_SETTINGS, "Mmgov": {"RetentionApproval": "always"}},
    )
    env.migrate(template=airflow_metadata_template)
    run_airflow(["fab-db", "migrate"], env)
    for user, role in FAB_ROLES.items():
        names = ["--email", f"{user}@example.com", "--firstname", user, "--lastname", "Test"]
        run_airflow(
            ["users", "create", "--username", user, "--password", USERS[user][1], "--role", role, *names], env
        )
    server = start_api_server(env)
    log_path = env.home / "dags-test.log"
    try:
        assert [server.request("GET", "/mmgov/api/v4/me", user=u)[1]["admin"] for u in FAB_ROLES] == [
            True,
            False,
            False,
            False,
        ]
        with log_path.open("w") as log:
            run = subprocess.Popen(
                [str(AIRFLOW_BIN), "dags", "test", "retention_purge", "-c", '{"dry_run": false}'],
                env=env.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        detail = _waiting_detail(server, run, log_path)
        run_id = detail["task_instance"]["dag_run_id"]
        assert detail["assigned_users"] == []  # FAB's user ids are not visible to the task
        assert "**Who may answer:** the Airflow admins" in detail["body"]
        for user in ("viewer", "user", "op"):
            status, body = server.request(
                "PATCH",
                HITL.format(run_id=run_id),
                {"chosen_options": ["Approve"], "params_input": {}},
                user=user,
            )
            assert status == 403, (user, body)
            assert body["detail"].startswith(f"RETENTION_APPROVER_REQUIRED: Airflow user '{user}' may not")
        refused = audit.history(conn, event_prefix="retention.approval_refused")
        assert sorted(r["actor"] for r in refused) == ["op", "user", "viewer"]
        assert deleted_posts(conn) == set()
        status, body = server.request(
            "PATCH",
            HITL.format(run_id=run_id),
            {"chosen_options": ["Approve"], "params_input": {}},
            user="admin",
        )
        assert status == 200, body
        assert run.wait(timeout=240) == 0, log_path.read_text()[-3000:]
    finally:
        if run.poll() is None:
            run.kill()
        server.stop()
    assert deleted_posts(conn) == expired
    assert _return_value(env, "retention_purge", "report")["approved_by"] == "admin"
