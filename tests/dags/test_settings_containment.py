"""A bad value in ``mattermost_settings`` never removes a DAG; it fails the first task of the DAGs that read it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mmgov_dev.devenv import AirflowCommandError
from tests.dags.test_dag_integrity import _PROBE, DAGS, EXPECTED, PROJECT
from tests.dags.test_run_notes import task_states
from tests.support.webhook import WebhookServer
from tests.test_settings_check import BAD


def test_every_dag_parses_with_bad_values_in_every_section(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://nobody@127.0.0.1:1/none",
            "AIRFLOW_VAR_MATTERMOST_SETTINGS": json.dumps(BAD),
            "PYTHONPATH": f"{PROJECT / 'include'}:{PROJECT / 'plugins'}",
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(DAGS)], env=env, capture_output=True, text=True, timeout=300
    )
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("RESULT"))
    report = json.loads(line[len("RESULT") :])
    assert report["errors"] == {}
    assert set(report["dags"]) == EXPECTED


@pytest.mark.airflow
def test_bad_retention_approval_leaves_compliance_running_and_fails_purge_first_task(
    mm_dsn, file_store, airflow_env
):
    settings = {
        "FileSettings": {"DriverName": "local", "Directory": str(file_store)},
        "Mmgov": {"RetentionApproval": "sometimes"},
    }
    with WebhookServer() as hook:
        env = airflow_env(mm_dsn, settings, connections={"mmgov_alert_webhook": hook.airflow_conn_json()})
        env.dags_test("compliance_export", {"export_from": 0, "export_to": 1_767_225_600_000})
        (compliance_note,) = env.run_notes("compliance_export").values()
        assert compliance_note.startswith("0 messages, 0 files -> ")
        with pytest.raises(AirflowCommandError):
            env.dags_test("retention_purge", {"dry_run": True})
    expected = "MMGOV_INVALID_SETTING: Mmgov.RetentionApproval must be one of always, on_change, never; got 'sometimes'"
    assert task_states(env, "retention_purge")["preview"] == ("failed", 1)  # no retries
    assert env.run_notes("retention_purge") == {
        next(iter(env.run_notes("retention_purge"))): f"FAILED in preview: {expected}"
    }
    (alert,) = [c.body["text"] for c in hook.calls]
    assert "retention_purge.preview" in alert
    assert expected in alert
