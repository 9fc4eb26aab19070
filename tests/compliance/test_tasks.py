"""mmgov.compliance.tasks: the compliance DAG's task edges that decide on their own: the alert on the
previous window's uncaptured growth and the failure callback's audit row.

The DAG running every task under Airflow is tests/compliance/test_dag.py; run_export end to end is
tests/compliance/test_completeness.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mmgov import audit
from mmgov.compliance.tasks import UncapturedGrowthError, on_task_failure, task_check_previous_window
from mmgov.db import airflow_conn_json
from mmgov.state import ensure_mmgov_schema

PREVIOUS = {
    "run_key": "r1",
    "window": {"start_ms": 0, "end_ms": 100},
    "posts_at_export": 4,
    "posts_now": 6,
    "growth": 2,
    "uncaptured": 0,
}


def test_no_previous_window_or_nothing_uncaptured_passes():
    assert task_check_previous_window({"status": "success"}) is None
    assert task_check_previous_window({"previous_window": PREVIOUS}) == PREVIOUS  # grown, but exported


def test_uncaptured_growth_fails_without_retry_saying_what_to_do():
    with pytest.raises(
        UncapturedGrowthError, match=r"^2 post versions appeared in the previous window"
    ) as err:
        task_check_previous_window({"previous_window": {**PREVIOUS, "uncaptured": 2}})
    assert "posts at its export 4, now 6" in str(err.value)
    assert "Mmgov.LateArrivalLookbackHours" in str(err.value)
    assert err.value.retryable is False


def test_a_failed_task_is_audited(mm_conn, mm_dsn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_DB", airflow_conn_json(mm_dsn))
    ti = SimpleNamespace(run_id="manual__1", task_id="deliver", try_number=2)
    on_task_failure({"ti": ti, "exception": OSError("disk full")})
    ensure_mmgov_schema(mm_conn)
    (row,) = audit.history(mm_conn, event_prefix="compliance_export.failed")
    assert {k: row["payload"][k] for k in ("run_id", "task_id", "try_number", "error")} == {
        "run_id": "manual__1",
        "task_id": "deliver",
        "try_number": 2,
        "error": "OSError: disk full",
    }


def test_the_failure_callback_never_raises_when_the_audit_cannot_be_written(monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_DB", airflow_conn_json("postgresql://x@127.0.0.1:1/none"))
    on_task_failure({"task_instance": SimpleNamespace(run_id="r", task_id="t", try_number=1)})
    assert "could not record compliance_export.failed" in caplog.text
