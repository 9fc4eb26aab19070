"""Job state (pending -> running -> completed | failed), progress, events and permission checks."""

from __future__ import annotations

import re

import psycopg
import pytest

from mmgov import audit
from mmgov.bulk_export.errors import ExportParamError
from mmgov.bulk_export.export_job import record_failed
from mmgov.bulk_export.export_options import ExportOptions
from mmgov.bulk_export.job_state import get_job
from mmgov.bulk_export.tasks import on_export_failure
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


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "output_path is required"),
        ({"output_path": "relative/dir"}, "output_path must be an absolute folder path"),
        ({"output_path": "/x", "create_archive": "yes"}, "create_archive must be true or false, got 'yes'"),
        ({"output_path": "/x", "users": "alice, bob"}, None),
        ({"output_path": "/x", "users": [1]}, "users must contain usernames or e-mail addresses"),
        ({"output_path": "/x", "users": {"a": 1}}, "users must be a list"),
        ({"output_path": "/x", "users": [f"u{i}" for i in range(101)]}, "at most 100 people"),
    ],
    ids=["no-path", "relative", "not-bool", "comma-string", "not-strings", "not-list", "too-many"],
)
def test_trigger_form_values_are_checked(params, message):
    if message is None:
        assert ExportOptions.from_params(params).users == ("alice", "bob")
        return
    with pytest.raises(ExportParamError, match=re.escape(message)):
        ExportOptions.from_params(params)


def test_failure_callback_records_export_failed_once(mm_dsn, monkeypatch):
    import mmgov.db

    monkeypatch.setattr(mmgov.db, "hook_connection", lambda: psycopg.connect(mm_dsn))

    class TI:
        task_id = "write"

    on_export_failure({"run_id": "run-k", "exception": RuntimeError("worker killed"), "ti": TI()})
    on_export_failure({"run_id": "run-k", "exception": RuntimeError("again")})
    events = [(e, p) for e, _, p in _events(mm_dsn)]
    assert [e for e, _ in events] == ["export.failed"]
    assert events[0][1]["error_reason"] == "write: RuntimeError: worker killed"
    with psycopg.connect(mm_dsn) as conn:
        assert get_job(conn, "run-k")["status"] == "failed"
        assert record_failed(conn, "run-k", "x") is False
    on_export_failure({})  # no run id: nothing to record, never raises


def test_progress_is_written_while_the_posts_stream(edge_workspace, tmp_path, monkeypatch):
    import mmgov.bulk_export.posts as posts
    import mmgov.bulk_export.progress as progress

    seen = []
    monkeypatch.setattr(posts, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(posts, "LINES_PER_WRITE", 1)
    monkeypatch.setattr(progress, "PROGRESS_ROW_EVERY_S", 0.0)
    real = progress.job_state.update_progress

    def spy(conn, job_id, progress):
        seen.append(dict(progress))
        real(conn, job_id, progress)

    monkeypatch.setattr(progress.job_state, "update_progress", spy)
    export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, job_id="live")
    during = [p["posts_exported"] for p in seen]
    assert during == sorted(during)
    assert len(set(during)) > 3  # several values while the posts streamed, not just the end
