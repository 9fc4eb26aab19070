"""The GDPR DAG's task callables: the failure callback records the failure once."""

from __future__ import annotations

import psycopg

from mmgov import audit
from mmgov.bulk_export.export_job import record_failed
from mmgov.bulk_export.job_state import get_job
from mmgov.bulk_export.tasks import on_export_failure


def test_failure_callback_records_export_failed_once(mm_dsn, monkeypatch):
    import mmgov.db

    monkeypatch.setattr(mmgov.db, "hook_connection", lambda: psycopg.connect(mm_dsn))

    class TI:
        task_id = "write"

    on_export_failure({"run_id": "run-k", "exception": RuntimeError("worker killed"), "ti": TI()})
    on_export_failure({"run_id": "run-k", "exception": RuntimeError("again")})
    with psycopg.connect(mm_dsn) as conn:
        events = [(r["event"], r["payload"]) for r in audit.history(conn, event_prefix="export.")]
        assert [e for e, _ in events] == ["export.failed"]
        assert events[0][1]["error_reason"] == "write: RuntimeError: worker killed"
        assert get_job(conn, "run-k")["status"] == "failed"
        assert record_failed(conn, "run-k", "x") is False
    on_export_failure({})  # no run id: nothing to record, never raises
