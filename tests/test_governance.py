"""mmgov.governance: the console's paginated read models, on a real mmgov schema.

The console pages that show them are tests/plugins/console/; here the lists' order, filters and paging.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from mmgov import audit
from mmgov.governance import AuditFilter, Page, audit_page, changes, compliance_exports_page, policy_changes
from mmgov.state import ensure_mmgov_schema


@pytest.fixture
def conn(mm_conn: psycopg.Connection) -> psycopg.Connection:
    ensure_mmgov_schema(mm_conn)
    return mm_conn


def test_a_page_reads_one_row_more_to_know_a_next_page_exists():
    rows = [{"id": i} for i in range(3)]
    assert Page.of(rows, 0, 2) == Page([{"id": 0}, {"id": 1}], 0, True)
    assert Page.of(rows, 1, 3) == Page(rows, 1, False)


def test_audit_pages_newest_first_by_keyset(conn):
    ids = [audit.record(conn, "retention.policy_created", {"n": i}, actor="ann") for i in range(5)]
    first, before = audit_page(conn, AuditFilter(), per_page=2)
    assert [r["id"] for r in first] == [ids[4], ids[3]]
    second, before = audit_page(conn, AuditFilter(), before_id=before, per_page=2)
    assert [r["id"] for r in second] == [ids[2], ids[1]]
    last, before = audit_page(conn, AuditFilter(), before_id=before, per_page=2)
    assert ([r["id"] for r in last], before) == ([ids[0]], None)


def test_audit_filters_event_prefix_actor_substring_and_time(conn):
    audit.record(conn, "retention.hold_created", actor="script:nightly")
    audit.record(conn, "retention.policy_created", actor="ann_admin")
    audit.record(conn, "export.completed", actor="bonza")  # "nza" would match "n_a" were "_" a wildcard
    kept = audit.record(conn, "retention.policy_updated", actor="Ann_Admin")

    def events(flt: AuditFilter) -> list[str]:
        return [r["event"] for r in audit_page(conn, flt)[0]]

    assert events(AuditFilter(event="retention.policy")) == [
        "retention.policy_updated",
        "retention.policy_created",
    ]
    # The actor is a case-insensitive substring; "_" and "%" are literal, not LIKE's wildcards.
    assert events(AuditFilter(actor="N_A")) == ["retention.policy_updated", "retention.policy_created"]
    assert events(AuditFilter(actor="%")) == []
    at = conn.execute("SELECT at FROM mmgov.audit_log WHERE id = %s", (kept,)).fetchone()[0]
    assert events(AuditFilter(since=at)) == ["retention.policy_updated"]
    assert "retention.policy_updated" not in events(AuditFilter(until=at))
    assert events(AuditFilter(since=at + dt.timedelta(seconds=1))) == []


def test_compliance_exports_are_the_completed_and_failed_runs(conn):
    audit.record(conn, "compliance_export.completed", {"window_end_ms": 1})
    audit.record(conn, "compliance_export.started", {"window_end_ms": 2})
    audit.record(conn, "compliance_export.failed", {"window_end_ms": 3})
    page = compliance_exports_page(conn, per_page=1)
    assert ([r["event"] for r in page.rows], page.more) == (["compliance_export.failed"], True)
    page = compliance_exports_page(conn, page=1, per_page=1)
    assert ([r["event"] for r in page.rows], page.more) == (["compliance_export.completed"], False)


def test_changes_lists_the_fields_that_differ():
    assert changes({"before": {"days": 30, "name": "a"}, "after": {"days": 60, "name": "a", "new": 1}}) == [
        ("days", 30, 60),
        ("new", None, 1),
    ]
    assert changes({"after": {"days": 60}}) == [("days", None, 60)]  # a creation
    assert changes({"policy_id": "p"}) == []  # not a change record


def test_policy_changes_is_the_last_creation_or_update_of_each_policy(conn):
    audit.record(conn, "retention.policy_created", {"policy_id": "p1"})
    last = audit.record(conn, "retention.policy_updated", {"policy_id": "p1"})
    audit.record(conn, "retention.policy_deleted", {"policy_id": "p1"})
    audit.record(conn, "retention.policy_created", {"policy_id": "p2"})
    at = conn.execute("SELECT at FROM mmgov.audit_log WHERE id = %s", (last,)).fetchone()[0]
    assert policy_changes(conn, ["p1", "p3"]) == {"p1": at}
