"""Contracts between the DAGs, checked end to end with real `airflow dags test` runs.

The retention export guard trusts what the compliance export records: a real export run must move
the guard's watermark to exactly that run's window end.
"""

from __future__ import annotations

import psycopg
import pytest

from mmgov.retention.export_guard import export_guard
from mmgov.settings import Settings

pytestmark = pytest.mark.airflow


def test_compliance_export_run_sets_the_retention_export_guard(demo_db, airflow_env):
    dsn, store, summary = demo_db
    raw = {
        "FileSettings": {"DriverName": "local", "Directory": str(store)},
        "MessageExportSettings": {"EnableExport": True, "ExportFormat": "csv"},
    }
    settings = Settings.parse(raw)
    with psycopg.connect(dsn) as conn:
        assert export_guard(conn, settings).state == "blocked"
    start, end = summary.start_ms, summary.end_ms
    airflow_env(dsn, raw).dags_test(
        "compliance_export", {"export_from": start, "export_to": end, "export_format": "csv"}
    )
    with psycopg.connect(dsn) as conn:
        guard = export_guard(conn, settings)
    assert (guard.state, guard.watermark_ms) == ("on", end)
    assert list((store / "export").glob(f"compliance-export-*-{start}-{end}/batch001-*.zip"))
