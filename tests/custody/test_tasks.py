"""mmgov.custody.tasks: the ``custody`` DAG's task bodies, on the Airflow connections and variable a
worker has (environment), against a real Mattermost database and a local export root.

What expiry and the rollups decide is tests/custody/test_expiry.py and test_attestation.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from mmgov.custody.tasks import _months, task_expire, task_rollup
from mmgov.db import airflow_conn_json


@pytest.fixture
def worker_env(mm_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``worker_env(**mmgov)``: the ``mattermost_db`` connection and the settings variable (file store in tmp)."""

    def setup(**mmgov: object) -> Path:
        store = tmp_path / "filestore"
        settings = {"FileSettings": {"DriverName": "local", "Directory": str(store)}, "Mmgov": mmgov}
        monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_DB", airflow_conn_json(mm_dsn))
        monkeypatch.setenv("AIRFLOW_VAR_MATTERMOST_SETTINGS", json.dumps(settings))
        return store

    return setup


@pytest.mark.parametrize(
    ("now", "months"),
    [
        (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), ["2025-12", "2026-01"]),  # across the year
        (dt.datetime(2026, 3, 31, 23, 59, tzinfo=dt.UTC), ["2026-02", "2026-03"]),
    ],
)
def test_rollups_cover_the_previous_and_the_current_month(now, months):
    assert _months(now) == months


def test_task_rollup_writes_both_months_signed(worker_env, signing_key):
    store = worker_env()
    out = task_rollup(dt.datetime(2026, 1, 10, tzinfo=dt.UTC))
    assert [(r["month"], r["runs"]) for r in out] == [("2025-12", 0), ("2026-01", 0)]
    written = sorted(p.name for p in store.rglob("rollup-*"))
    assert written == [
        f"rollup-{m}.{ext}" for m in ("2025-12", "2026-01") for ext in ("csv", "json", "json.sig")
    ]


def test_task_expire_summarises_and_is_disabled_without_a_retention(worker_env):
    worker_env(ExportRetentionDays=0)
    assert task_expire()["status"].startswith("disabled")
    worker_env(ExportRetentionDays=30)
    summary = task_expire()
    assert summary["status"] == "ok"
    assert summary["refused"] == []
