"""The audit trail: append-only rows in mmgov's own schema; events mapped to assets."""

from __future__ import annotations

import psycopg
import pytest

from mmgov import audit
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
    ("event", "asset_name"),
    [
        ("compliance_export.completed", "COMPLIANCE_EXPORT"),
        ("retention.deletion_completed", "RETENTION"),
        ("legal_hold.created", "RETENTION"),
        ("export.completed_with_warnings", "GDPR_EXPORT"),
        ("something.else", None),
    ],
)
def test_event_to_asset(event, asset_name):
    from mmgov_airflow import assets

    assert assets.asset_for_event(event) == (asset_name and getattr(assets, asset_name))


def test_record_outside_a_task_does_not_need_airflow(mm_conn):
    """Called from a CLI or the REST API there is no task context: the audit row is the record."""
    audit.record(mm_conn, "retention.policy_updated", {"changed_fields": ["display_name"]}, "cli:root")
    assert audit.history(mm_conn)[0]["actor"] == "cli:root"


def test_record_inside_a_task_adds_the_event_to_its_outlet_asset_event(mm_conn, monkeypatch):
    """Inside a task that declares the event's asset as an outlet, the event lands in that asset event's extra."""
    from types import SimpleNamespace

    import airflow.sdk
    from mmgov_airflow.assets import GDPR_EXPORT, RETENTION

    retention_event = SimpleNamespace(extra={})
    context = {
        "task": SimpleNamespace(outlets=[GDPR_EXPORT, RETENTION]),
        "outlet_events": {GDPR_EXPORT: SimpleNamespace(extra={}), RETENTION: retention_event},
    }
    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: context)
    audit_id = audit.record(mm_conn, "retention.policy_created", {"policy_id": "p1"}, "alice")
    assert retention_event.extra["last_event"] == "retention.policy_created"
    [entry] = retention_event.extra["events"]
    assert (entry["audit_id"], entry["actor"], entry["payload"]["policy_id"]) == (audit_id, "alice", "p1")
    assert context["outlet_events"][GDPR_EXPORT].extra == {}
    audit.record(mm_conn, "legal_hold.created", {"hold_id": "h1"}, "bob")  # same asset: appended
    assert [e["event"] for e in retention_event.extra["events"]] == [
        "retention.policy_created",
        "legal_hold.created",
    ]
