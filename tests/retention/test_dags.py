"""The retention DAGs for real: ``airflow dags test``, and a person's answer through Airflow's HITL API."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from mmgov_airflow.assets import RETENTION

from mmgov import audit
from mmgov_dev.devenv import AIRFLOW_BIN, PROJECT_ROOT
from tests.retention.builders import deleted_posts
from tests.retention.dag_runs import (
    BASE_SETTINGS,
    purge_waiting_for_approval,
    return_value,
    task_states,
    world,
)

pytestmark = pytest.mark.usefixtures("export_root")


@pytest.mark.airflow
def test_unattended_run_deletes_and_reports(mm_dsn, conn, airflow_env):
    expired, spared = world(mm_dsn)
    env = airflow_env(mm_dsn, {**BASE_SETTINGS, "Mmgov": {"RetentionApproval": "never"}})
    result = env.dags_test("retention_purge", {"dry_run": False})
    assert deleted_posts(conn) == expired
    assert task_states(env, "retention_purge") == {
        "preview": "success",
        "decide": "success",
        "approval": "skipped",
        "soft_delete": "success",
        "report": "success",
    }
    summary = return_value(env, "retention_purge", "report")
    assert (summary["status"], summary["messages_deleted"], summary["approval"]) == (
        "completed",
        5,
        "unattended",
    )
    assert "retention_purge summary: run=" in result.stdout + result.stderr
    payload = audit.history(conn, event_prefix="retention.deletion_completed")[0]["payload"]
    assert payload["messages_deleted"] == 5
    assert payload["files_deleted"] == 0
    assert payload["duration_ms"] >= 0
    assert spared.isdisjoint(deleted_posts(conn))


@pytest.mark.airflow
def test_dry_run_deletes_nothing(mm_dsn, conn, airflow_env):
    world(mm_dsn)
    env = airflow_env(mm_dsn, {**BASE_SETTINGS, "Mmgov": {"RetentionApproval": "always"}})
    env.dags_test("retention_purge", {"dry_run": True})
    assert deleted_posts(conn) == set()
    assert task_states(env, "retention_purge") == {
        "preview": "success",
        "decide": "success",
        "approval": "skipped",
        "soft_delete": "skipped",
        "report": "success",
    }
    summary = return_value(env, "retention_purge", "report")
    assert (summary["status"], summary["messages_to_delete"], summary["messages_deleted"]) == (
        "dry_run",
        5,
        0,
    )
    # The dry run's signed-or-not attestation (mmgov.custody) is in the export root and mmgov's schema.
    attestation = summary["attestation"]
    assert attestation["version"] == 1
    assert Path(attestation["manifest"]).is_file()
    doc = json.loads(Path(attestation["manifest"]).read_text())
    assert doc["attestation"]["status"] == "dry_run"
    assert doc["attestation"]["totals"]["planned_messages"] == 5
    assert doc["attestation"]["totals"]["deleted_messages"] == 0
    assert conn.execute("SELECT count(*) FROM mmgov.retention_attestations").fetchone()[0] == 1


@pytest.mark.airflow
@pytest.mark.parametrize("answer", ["Reject", "Approve"])
def test_a_person_answers_in_airflow(mm_dsn, conn, airflow_env, answer):
    """RetentionApproval=always: the run waits in the approval task until a person answers via Airflow's API."""
    expired, _ = world(mm_dsn)
    env = airflow_env(mm_dsn, {**BASE_SETTINGS, "Mmgov": {"RetentionApproval": "always"}})
    with purge_waiting_for_approval(env) as waiting:
        detail = waiting.detail
        assert "Will soft-delete **5 messages**" in detail["body"]
        assert "approve deleting 5 messages" in detail["subject"]
        assert deleted_posts(conn) == set()  # nothing happens while waiting
        run_id, log_path = waiting.run_id, waiting.log_path
        status, body = waiting.answer(answer, "admin")
        assert status == 200, body
        waiting.finish()
    states = task_states(env, "retention_purge")
    summary = return_value(env, "retention_purge", "report")
    if answer == "Reject":
        assert deleted_posts(conn) == set()
        assert states["soft_delete"] == "skipped"
        assert states["report"] == "skipped"  # never green: the run note says who rejected
        assert env.run_notes("retention_purge") == {
            run_id: "REJECTED by admin: nothing deleted. (planned: 5 messages, 0 files)"
        }
        runs = subprocess.run(
            [str(AIRFLOW_BIN.with_name("python")), "-m", "mmgov.retention", "--dsn", mm_dsn, "purge", "runs"],
            env=env.environ(),
            capture_output=True,
            text=True,
            check=True,
        )
        (listed,) = json.loads(runs.stdout)
        assert (listed["rejected_by"], listed.get("approved_by"), listed["status"]) == (
            "admin",
            None,
            "rejected",
        )
        assert (summary["status"], summary.get("rejected_by"), summary["alert"]) == (
            "rejected",
            "admin",
            True,
        ), summary
        assert audit.history(conn, event_prefix="retention.purge_rejected")[0]["actor"] == "admin"
        assert "was rejected by admin; nothing was deleted" in log_path.read_text()
    else:
        assert deleted_posts(conn) == expired
        assert (summary["status"], summary["approval"], summary["approved_by"]) == (
            "completed",
            "person",
            "admin",
        )


@pytest.mark.airflow
def test_physical_removal_dag(mm_dsn, conn, airflow_env, file_store):
    expired, _ = world(mm_dsn)
    settings = {
        **BASE_SETTINGS,
        "Mmgov": {"RetentionApproval": "never", "PurgeGraceDays": 0},
        "FileSettings": {"DriverName": "local", "Directory": str(file_store)},
    }
    env = airflow_env(mm_dsn, settings)
    env.dags_test("retention_purge", {"dry_run": False})
    assert deleted_posts(conn) == expired
    time.sleep(0.01)
    env.dags_test("retention_physical_removal")
    remaining = {r[0] for r in conn.execute("SELECT id FROM posts")}
    assert remaining.isdisjoint(expired)
    assert len(remaining) == 3
    summary = return_value(env, "retention_physical_removal", "report")
    assert (summary["status"], summary["messages_removed"]) == ("completed", 5)


def test_wiring(monkeypatch):
    """The approval sits between the branch and the delete; skipping it never skips the delete."""
    monkeypatch.setenv(
        "AIRFLOW_VAR_MATTERMOST_SETTINGS",
        json.dumps(
            {
                "DataRetentionSettings": {"DeletionJobStartTime": "03:15"},
                "Mmgov": {"Timezone": "Europe/Berlin"},
            }
        ),
    )
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "retention_purge.py"))
    assert bag.import_errors == {}
    dag = bag.dags["retention_purge"]
    tasks = dag.task_dict
    assert tasks["decide"].downstream_task_ids == {"approval", "soft_delete", "report"}
    assert tasks["approval"].downstream_task_ids == {"soft_delete"}
    assert tasks["soft_delete"].downstream_task_ids == {"report"}
    assert tasks["soft_delete"].trigger_rule == "none_failed_min_one_success"
    assert tasks["report"].trigger_rule == "none_failed_min_one_success"
    assert tasks["approval"].retries == 0
    assert not tasks["approval"].fail_on_reject
    assert [o.name for o in tasks["report"].outlets] == [RETENTION.name]
    assert dag.timetable.summary == "15 3 * * *"
    assert str(dag.timetable._timezone) in ("Europe/Berlin", "Timezone('Europe/Berlin')")
    assert dag.params["dry_run"] is False


def test_dags_folder_has_both_retention_dags():
    assert {p.name for p in (PROJECT_ROOT / "dags").glob("retention_*.py")} == {
        "retention_purge.py",
        "retention_physical_removal.py",
    }
    assert Path(PROJECT_ROOT / "plugins" / "mmgov_plugin.py").exists()
