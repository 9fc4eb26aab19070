"""mmgov.compliance.last_export: where the last completed compliance export ended, from the audit trail.

A "since last" manual run starts there (tests/compliance/test_dag.py) and retention deletes nothing
updated at or after it (tests/retention/test_export_guard.py).
"""

from __future__ import annotations

from mmgov import audit
from mmgov.compliance.last_export import COMPLETED_EVENT, last_export_end_ms
from mmgov.state import ensure_mmgov_schema


def test_none_before_any_completed_export(mm_conn):
    ensure_mmgov_schema(mm_conn)
    assert last_export_end_ms(mm_conn) is None
    audit.record(mm_conn, "compliance_export.failed", {"window_end_ms": 9_000})
    assert last_export_end_ms(mm_conn) is None


def test_the_latest_window_end_of_the_completed_exports(mm_conn):
    """The highest end, not the newest row: a backfill of an older window does not move it back."""
    ensure_mmgov_schema(mm_conn)
    audit.record(mm_conn, COMPLETED_EVENT, {"window_end_ms": 5_000})
    audit.record(mm_conn, COMPLETED_EVENT, {"window_end_ms": 8_000})
    audit.record(mm_conn, COMPLETED_EVENT, {"window_end_ms": 2_000})  # a backfill, recorded last
    audit.record(mm_conn, COMPLETED_EVENT, {"rows": 1})  # no window end: ignored
    audit.record(mm_conn, "compliance_export.failed", {"window_end_ms": 99_000})
    assert last_export_end_ms(mm_conn) == 8_000
