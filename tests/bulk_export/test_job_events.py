"""Job events and the job row of whole runs, with and without warnings."""

from __future__ import annotations

import psycopg

from mmgov import audit
from mmgov.bulk_export.job_state import get_job
from tests.bulk_export.workspace import export_once

ENTITIES = ["teams", "channels", "users", "bots", "posts", "emoji", "direct_channels", "direct_posts"]


def _events(dsn):
    with psycopg.connect(dsn) as conn:
        return [
            (r["event"], r["actor"], r["payload"])
            for r in reversed(audit.history(conn, event_prefix="export."))
        ]


def test_events_and_job_row_of_a_run_with_warnings(edge_workspace, tmp_path):
    export = export_once(
        edge_workspace.dsn,
        tmp_path / "out",
        edge_workspace.store,
        job_id="manual__1",
        actor="admin",
        include_roles_and_schemes=True,
    )
    events = _events(edge_workspace.dsn)
    names = [e for e, _, _ in events]
    assert names[0] == "export.started"
    assert names[-1] == "export.completed_with_warnings"
    progress = [p for e, _, p in events if e == "export.progress"]
    assert [p["entity_type"] for p in progress] == ["team_schemes", "channel_schemes", "roles", *ENTITIES]
    assert {p["job_id"] for p in progress} == {"manual__1"}
    assert progress[ENTITIES.index("users") + 3]["records_written"] == 10
    started = events[0]
    assert started[1] == "admin"
    assert {"job_id", "actor_id", "include_attachments", "include_archived", "timestamp"} <= set(started[2])
    assert started[2]["actor_id"] == "admin"
    assert started[2]["include_archived"] is True
    done = events[-1][2]
    assert done == {
        "job_id": "manual__1",
        "warning_count": 6,
        "output_path": str(export.path),
        "file_size_bytes": export.summary["file_size_bytes"],
        "timestamp": done["timestamp"],
        "custody": export.summary["custody"],  # the manifest beside the export (mmgov.custody)
    }
    with psycopg.connect(edge_workspace.dsn) as conn:
        job = get_job(conn, "manual__1")
    assert job["status"] == "completed"
    assert job["actor"] == "admin"
    assert job["output_path"] == str(export.path)
    assert job["progress"]["posts_exported"] == 12
    assert job["progress"]["num_warnings"] == 6
    assert job["started_at"] <= job["finished_at"]


def test_a_clean_run_emits_export_completed(mm_dsn, tmp_path, file_store):
    from tests.bulk_export.workspace import Builder

    with psycopg.connect(mm_dsn, autocommit=True) as conn:
        b = Builder(conn, file_store)
        b.team("alpha")
        b.user("alice")
        channel = b.channel("alpha", "town-square", members=("alice",))
        b.post("p", channel, "alice", "hello", at=1)
    export = export_once(mm_dsn, tmp_path / "out", file_store, job_id="clean")
    assert export.summary["status"] == "completed"
    assert export.summary["num_warnings"] == 0
    assert "warnings.txt" not in export.members
    names = [e for e, _, _ in _events(mm_dsn)]
    assert names[-1] == "export.completed"
    assert "export.completed_with_warnings" not in names
