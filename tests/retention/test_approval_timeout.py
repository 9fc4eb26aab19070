"""No answer to a purge approval: a real scheduler times the approval out; nothing is deleted; alerts go out.

Airflow 3.3 enforces a Human-in-the-loop ``response_timeout`` in the scheduler's sweep, so this runs
``airflow standalone`` (as ``make airflow`` does: scheduler, triggerer, LocalExecutor) rather than
``airflow dags test``, which has no scheduler and would wait for ever.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.retention.builders import Workspace, deleted_posts
from tests.support.local_airflow import running_airflow
from tests.support.webhook import WebhookServer

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(900)]
TIMEOUT_HOURS = 0.002  # 7.2 s


def test_unanswered_approval_times_out_deletes_nothing_and_alerts(db_factory, mm_template, tmp_path):
    mattermost = db_factory.create("mmtimeout", template=mm_template)
    with psycopg.connect(mattermost, autocommit=True) as conn:
        ws = Workspace(conn, now=int(time.time() * 1000))
        chan = ws.channel(ws.team("eng"))
        expired = {ws.post(chan, 40) for _ in range(3)}
    settings = {
        "DataRetentionSettings": {"EnableMessageDeletion": True, "MessageRetentionDays": 30},
        "Mmgov": {"RetentionApproval": "always", "RetentionApprovalTimeoutHours": TIMEOUT_HOURS},
    }
    with WebhookServer() as hook:
        with running_airflow(
            db_factory,
            tmp_path,
            name="timeout",
            mattermost_dsn=mattermost,
            settings=settings,
            dags=["retention_purge"],
            extra_env={"AIRFLOW_CONN_MMGOV_ALERT_WEBHOOK": hook.airflow_conn_json()},
        ) as local:
            local.api("PATCH", "/dags/retention_purge", {"is_paused": False})
            local.api(
                "POST", "/dags/retention_purge/dagRuns", {"logical_date": None, "conf": {"dry_run": False}}
            )
            # The scheduler may also start the latest scheduled run: every run must end the same way.
            deadline = time.monotonic() + 600
            runs: list[dict] = []
            while time.monotonic() < deadline:
                runs = local.api("GET", "/dags/retention_purge/dagRuns")["dag_runs"]
                if runs and all(r["state"] in ("success", "failed") for r in runs):
                    break
                time.sleep(3)
            tis = local.api("GET", "/dags/retention_purge/dagRuns/~/taskInstances?limit=100")[
                "task_instances"
            ]
        texts = [call.body.get("text", "") for call in hook.calls]
    assert runs, "no retention_purge run"
    assert {r["state"] for r in runs} == {"failed"}, runs
    states = {(t["dag_run_id"], t["task_id"]): t["state"] for t in tis}
    for run in runs:
        assert states[(run["dag_run_id"], "approval")] == "failed", states
        assert states[(run["dag_run_id"], "soft_delete")] == "upstream_failed", states
    with psycopg.connect(mattermost) as conn:
        assert deleted_posts(conn) == set()
        live = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM posts WHERE deleteat = 0 AND id = ANY(%s)", (list(expired),)
            )
        }
    assert live == expired  # expired, yet kept: nobody approved
    assert any(t.startswith("mmgov: task failed: retention_purge.approval") for t in texts), texts
