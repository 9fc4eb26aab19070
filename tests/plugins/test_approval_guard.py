"""Which requests mmgov's approval guard looks at (the decision itself: tests/retention/test_approvers.py)."""

from __future__ import annotations

import asyncio

import pytest
from mmgov_airflow.approval_guard import APPROVAL_TASKS, HITL_ANSWER, ApprovalGuard

RUN = "manual__2026-01-02T03:04:05.123456+00:00"


@pytest.mark.parametrize(
    ("path", "dag_task"),
    [
        (
            f"/api/v2/dags/retention_purge/dagRuns/{RUN}/taskInstances/approval/-1/hitlDetails",
            ("retention_purge", "approval"),
        ),
        (
            f"/api/v2/dags/retention_physical_removal/dagRuns/{RUN}/taskInstances/approval/hitlDetails",
            ("retention_physical_removal", "approval"),
        ),
        (
            f"/airflow/api/v2/dags/retention_purge/dagRuns/{RUN}/taskInstances/approval/-1/hitlDetails/",
            ("retention_purge", "approval"),
        ),
        (f"/api/v2/dags/other/dagRuns/{RUN}/taskInstances/approval/-1/hitlDetails", ("other", "approval")),
    ],
    ids=["purge", "removal-no-map-index", "under-a-prefix", "another-dag"],
)
def test_hitl_answers_are_recognised(path, dag_task):
    match = HITL_ANSWER.search(path)
    assert (match["dag_id"], match["task_id"]) == dag_task
    assert match["run_id"] == RUN
    assert (dag_task in APPROVAL_TASKS) is (dag_task[0] != "other")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v2/dags/retention_purge/dagRuns/{RUN}/taskInstances/approval/-1/hitlDetails"),
        ("PATCH", f"/api/v2/dags/other/dagRuns/{RUN}/taskInstances/approval/-1/hitlDetails"),
        ("PATCH", f"/api/v2/dags/retention_purge/dagRuns/{RUN}/taskInstances/preview/-1"),
    ],
    ids=["reading", "another-dag", "not-a-hitl-answer"],
)
def test_other_requests_pass_untouched(method, path):
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["path"])

    asyncio.run(
        ApprovalGuard(app)({"type": "http", "method": method, "path": path, "headers": []}, None, None)
    )
    assert seen == [path]
