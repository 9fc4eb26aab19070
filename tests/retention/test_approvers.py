"""Only the approvers answer a purge approval: real Airflow (``dags test`` + ``api-server``), every role.

The approval task asks with ``assigned_users`` = the approvers (SimpleAuthManager: user id = name); mmgov's
api-server guard refuses everyone else (403) and audits the attempt; the task re-checks the answer when
it resumes. Users: one of each SimpleAuthManager role plus ``dpo`` (an OP) (tests/support/airflow_api.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mmgov import audit
from mmgov_dev.devenv import AirflowEnv, run_airflow
from tests.retention.builders import deleted_posts
from tests.retention.dag_runs import (
    BASE_SETTINGS,
    HITL,
    purge_waiting_for_approval,
    return_value,
    task_states,
    world,
)
from tests.support.airflow_api import USERS, auth_environ

pytestmark = pytest.mark.usefixtures("export_root")


@pytest.mark.airflow
@pytest.mark.parametrize(
    ("approvers", "approver"), [([], "admin"), (["dpo"], "dpo")], ids=["default-admins", "named-approver"]
)
def test_only_approvers_may_answer(mm_dsn, conn, airflow_env, approvers, approver):
    expired, _ = world(mm_dsn)
    mmgov = {"RetentionApproval": "always", "RetentionApprovers": approvers}
    env = airflow_env(mm_dsn, {**BASE_SETTINGS, "Mmgov": mmgov})
    # the worker sees the same users
    with purge_waiting_for_approval(env, {**env.environ(), **auth_environ(env)}) as waiting:
        server, detail, run_id = waiting.server, waiting.detail, waiting.run_id
        # Airflow's own respondent restriction, resolved when the task asked
        assert detail["assigned_users"] == [{"id": approver, "name": approver}]
        assert f"**Who may answer:** {approver} (`Mmgov.RetentionApprovers`)" in detail["body"]
        others = sorted(set(USERS) - {approver})
        for user in others:
            for option in ("Approve", "Reject"):
                status, body = waiting.answer(option, user)
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

        status, body = waiting.answer("Approve", approver)
        assert status == 200, body
        waiting.finish()
    assert task_states(env, "retention_purge")["soft_delete"] == "success"
    assert deleted_posts(conn) == expired
    summary = return_value(env, "retention_purge", "report")
    assert (summary["status"], summary["approved_by"]) == ("completed", approver)
    assert audit.history(conn, event_prefix="retention.purge_approved")[0]["actor"] == approver


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
    expired, _ = world(mm_dsn)
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
    with purge_waiting_for_approval(env) as waiting:
        assert [waiting.server.request("GET", "/mmgov/api/v4/me", user=u)[1]["admin"] for u in FAB_ROLES] == [
            True,
            False,
            False,
            False,
        ]
        detail = waiting.detail
        assert detail["assigned_users"] == []  # FAB's user ids are not visible to the task
        assert "**Who may answer:** the Airflow admins" in detail["body"]
        for user in ("viewer", "user", "op"):
            status, body = waiting.answer("Approve", user)
            assert status == 403, (user, body)
            assert body["detail"].startswith(f"RETENTION_APPROVER_REQUIRED: Airflow user '{user}' may not")
        refused = audit.history(conn, event_prefix="retention.approval_refused")
        assert sorted(r["actor"] for r in refused) == ["op", "user", "viewer"]
        assert deleted_posts(conn) == set()
        status, body = waiting.answer("Approve", "admin")
        assert status == 200, body
        waiting.finish()
    assert deleted_posts(conn) == expired
    assert return_value(env, "retention_purge", "report")["approved_by"] == "admin"
