"""mmgov.retention.tasks: the retention DAGs' task bodies on a worker's ``mattermost_db`` connection and
settings variable (environment), against a real Mattermost database.

The DAGs running these tasks under Airflow are tests/retention/test_dags.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest

from mmgov.db import airflow_conn_json
from mmgov.retention import tasks
from mmgov.retention.errors import RetentionError
from tests.retention.builders import Workspace, deleted_posts

SETTINGS = {
    "DataRetentionSettings": {
        "EnableMessageDeletion": True,
        "MessageRetentionDays": 100,
        "TimeBetweenBatchesMilliseconds": 0,
    },
    "Mmgov": {"RetentionApproval": "never"},
}


@pytest.fixture
def worker(
    conn: psycopg.Connection, mm_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    """The worker's connection and variable (file store in tmp); a workspace aged from the real now
    (the tasks evaluate expiry at the time they run)."""
    settings = {**SETTINGS, "FileSettings": {"DriverName": "local", "Directory": str(tmp_path / "filestore")}}
    monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_DB", airflow_conn_json(mm_dsn))
    monkeypatch.setenv("AIRFLOW_VAR_MATTERMOST_SETTINGS", json.dumps(settings))
    return Workspace(conn, now=int(time.time() * 1000))


def test_the_worker_connection_is_autocommit_and_closed_after(worker):
    with tasks.mattermost_connection() as conn:
        assert conn.autocommit
        assert conn.execute("SELECT current_database()").fetchone()[0] == worker.conn.info.dbname
    assert conn.closed


def test_preview_soft_delete_and_report(worker):
    chan = worker.channel(worker.team())
    old, recent = worker.post(chan, 200), worker.post(chan, 1)
    summary = tasks.preview(dag_run_id="manual__t", dry_run=False)
    assert deleted_posts(worker.conn) == set()  # a preview deletes nothing
    result = tasks.soft_delete(summary["run_id"], None)
    assert (result["run_id"], result["messages_deleted"]) == (summary["run_id"], 1)
    assert deleted_posts(worker.conn) == {old}
    assert recent not in deleted_posts(worker.conn)
    report = tasks.report(summary["run_id"], None)
    assert (report["status"], report["messages_deleted"]) == ("completed", 1)
    assert report["attestation"]


def test_a_dry_run_preview_deletes_nothing(worker):
    chan = worker.channel(worker.team())
    worker.post(chan, 200)
    summary = tasks.preview(dag_run_id="manual__dry", dry_run=True)
    with pytest.raises(RetentionError, match="is a dry run: it deletes nothing"):
        tasks.soft_delete(summary["run_id"], None)
    assert deleted_posts(worker.conn) == set()
