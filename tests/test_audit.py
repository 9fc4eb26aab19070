"""The audit trail: append-only rows in mmgov's own schema; events mapped to assets."""

from __future__ import annotations

import psycopg
import pytest

from mmgov import audit, events
from mmgov.state import ensure_mmgov_schema


def test_record_appends_with_actor_and_payload(mm_conn):
    first = audit.record(
        mm_conn, "retention.policy_created", {"policy_id": "p1", "post_duration_days": 30}, "alice"
    )
    second = audit.record(mm_conn, "retention.policy_deleted", {"policy_id": "p1"}, "bob")
    assert second > first
    rows = audit.history(mm_conn, event_prefix="retention.")
    assert [(r["event"], r["actor"]) for r in rows] == [
        ("retention.policy_deleted", "bob"),
        ("retention.policy_created", "alice"),
    ]
    assert rows[1]["payload"]["post_duration_days"] == 30
    assert isinstance(rows[1]["payload"]["timestamp"], int)


def test_record_commits_even_inside_a_non_autocommit_connection(mm_dsn):
    with psycopg.connect(mm_dsn) as conn:
        audit.record(conn, "export.started", {"job_id": "j"}, "system")
        conn.rollback()
    with psycopg.connect(mm_dsn) as conn:
        assert audit.history(conn, event_prefix="export.")[0]["payload"]["job_id"] == "j"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE mmgov.audit_log SET actor = 'mallory'",
        "DELETE FROM mmgov.audit_log",
        "TRUNCATE mmgov.audit_log",
    ],
    ids=["update", "delete", "truncate"],
)
def test_audit_log_is_append_only(mm_conn, statement):
    audit.record(mm_conn, "export.started", {}, "system")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        mm_conn.execute(statement)
    assert len(audit.history(mm_conn)) == 1


def test_schema_creation_is_idempotent(mm_conn):
    ensure_mmgov_schema(mm_conn)
    ensure_mmgov_schema(mm_conn)
    audit.record(mm_conn, "export.started", {}, "system")
    assert len(audit.history(mm_conn)) == 1


@pytest.mark.parametrize(
    ("event", "asset"),
    [
        ("compliance_export.completed", events.COMPLIANCE_EXPORT),
        ("retention.deletion_completed", events.RETENTION),
        ("legal_hold.created", events.RETENTION),
        ("export.completed_with_warnings", events.GDPR_EXPORT),
        ("something.else", None),
    ],
)
def test_event_to_asset(event, asset):
    assert events.asset_for_event(event) == asset


def test_record_outside_a_task_does_not_need_airflow(mm_conn):
    """Called from a CLI or the REST API there is no task context: the audit row is the record."""
    audit.record(mm_conn, "retention.policy_updated", {"changed_fields": ["display_name"]}, "cli:root")
    assert audit.history(mm_conn)[0]["actor"] == "cli:root"
