"""Who may run ``gdpr_export``: runs triggered through Airflow's REST API by users of every role.

A real ``airflow api-server`` (SimpleAuthManager users of every role plus ``dpo``, an OP listed in
``Mmgov.GdprExportAdmins``) creates the runs, so each carries its ``triggering_user_name`` as Airflow
sets it; ``airflow tasks test gdpr_export start <run>`` then runs the first task of that very run.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess

import psycopg
import pytest

from mmgov import audit
from mmgov_dev.devenv import AIRFLOW_BIN
from tests.support.airflow_api import auth_environ, start_api_server

pytestmark = pytest.mark.airflow


def _task_state(env, run_id: str, task_id: str) -> str:
    with sqlite3.connect(env.home / "airflow.db") as db:
        return db.execute(
            "SELECT state FROM task_instance WHERE dag_id = 'gdpr_export' AND run_id = ? AND task_id = ?",
            (run_id, task_id),
        ).fetchone()[0]


def _start_task(env, run_id: str, conf: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AIRFLOW_BIN), "tasks", "test", "gdpr_export", "start", run_id, "-t", json.dumps(conf)],
        env={**env.environ(), **auth_environ(env)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_only_admins_and_gdpr_export_admins_may_export(mm_dsn, airflow_env, tmp_path, smtp_server):
    smtp = json.loads(smtp_server.airflow_conn_json())
    smtp["extra"]["to"] = "dpo@example.com"
    store = tmp_path / "filestore"
    store.mkdir()
    env = airflow_env(
        mm_dsn,
        {
            "Mmgov": {"GdprExportAdmins": ["dpo"]},
            "FileSettings": {"DriverName": "local", "Directory": str(store)},
        },
        connections={"mmgov_alert_smtp": json.dumps(smtp)},
    )
    subprocess.run(
        [str(AIRFLOW_BIN), "dags", "reserialize"], env=env.environ(), check=True, capture_output=True
    )
    server = start_api_server(env)
    out = tmp_path / "gdpr"
    runs: dict[str, str] = {}
    try:
        for user in ("viewer", "user", "op", "dpo", "admin"):
            status, body = server.request(
                "POST",
                "/api/v2/dags/gdpr_export/dagRuns",
                {"logical_date": None, "conf": {"output_path": str(out / user)}},
                user=user,
            )
            if user == "viewer":  # Airflow itself refuses a viewer the trigger
                assert status == 403, body
                continue
            assert status == 200, body
            assert body["triggering_user_name"] == user
            runs[user] = body["dag_run_id"]
    finally:
        server.stop()

    for user, run_id in runs.items():
        result = _start_task(env, run_id, {"output_path": str(out / user)})
        log = result.stdout + result.stderr
        with psycopg.connect(mm_dsn) as conn:
            denied = [
                e for e in audit.history(conn, event_prefix="export.") if e["payload"].get("job_id") == run_id
            ]
            job = conn.execute(
                "SELECT status FROM mmgov.gdpr_export_jobs WHERE job_id = %s", (run_id,)
            ).fetchone()
        state = _task_state(env, run_id, "start")
        if user in ("user", "op"):
            assert state == "failed", log[-2000:]
            assert (
                f"EXPORT_PERMISSION_DENIED: Only system administrators can run data exports: Airflow user "
                f"{user!r} may not; allowed are the Airflow admins (admin) and Mmgov.GdprExportAdmins (dpo)"
            ) in log
            # newest first: the failure callback's export.failed (alerts went out), the refusal; no start
            assert [e["event"] for e in denied] == ["export.failed", "export.permission_denied"]
            assert denied[1]["actor"] == user
            assert job == ("failed",)
            assert not (out / user).exists()  # nothing written, not even the folder
        else:
            assert (result.returncode, state) == (0, "success"), log[-3000:]
            started = next(e for e in denied if e["event"] == "export.started")
            assert started["actor"] == user
            assert job == ("pending",)
    # one alert per refused run, naming the code
    assert len(smtp_server.messages) == 2
    for mail in smtp_server.messages:
        assert mail.message["Subject"] == "mmgov alert: gdpr_export.start failed"
        body = "".join(
            part.get_payload(decode=True).decode() for part in mail.message.walk() if not part.is_multipart()
        )
        assert "EXPORT_PERMISSION_DENIED" in body
