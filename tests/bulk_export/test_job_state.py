"""The job row's life: pending -> running -> completed | failed, progress merged while running."""

from __future__ import annotations

import psycopg
import pytest

from mmgov.bulk_export import job_state
from mmgov.state import ensure_mmgov_schema


@pytest.fixture
def conn(mm_dsn):
    with psycopg.connect(mm_dsn) as conn:
        ensure_mmgov_schema(conn)
        yield conn


def test_a_job_goes_pending_running_completed_and_progress_merges(conn):
    job_state.create_job(conn, "j1", "alice", {"output_path": "/x"})
    job = job_state.get_job(conn, "j1")
    assert (job["status"], job["actor"], job["params"], job["started_at"]) == (
        "pending",
        "alice",
        {"output_path": "/x"},
        None,
    )
    job_state.mark_running(conn, "j1")
    job_state.update_progress(conn, "j1", {"users": 2})
    job_state.update_progress(conn, "j1", {"posts": 5})
    job_state.finish_job(conn, "j1", "completed", output_path="/x/out.zip", progress={"posts": 7})
    job = job_state.get_job(conn, "j1")
    assert job["status"] == "completed"
    assert job["progress"] == {"users": 2, "posts": 7}
    assert job["output_path"] == "/x/out.zip"
    assert job["started_at"] is not None
    assert job["finished_at"] >= job["started_at"]


def test_a_rerun_resets_the_row_and_running_creates_a_missing_one(conn):
    job_state.create_job(conn, "j2", "alice", {})
    job_state.finish_job(conn, "j2", "failed", error="boom", progress={"users": 1})
    job_state.create_job(conn, "j2", "bob", {"users": ["c"]})
    job = job_state.get_job(conn, "j2")
    assert (job["status"], job["actor"], job["error"], job["progress"], job["finished_at"]) == (
        "pending",
        "bob",
        None,
        {},
        None,
    )
    job_state.mark_running(conn, "no-start-row")
    assert job_state.get_job(conn, "no-start-row")["status"] == "running"
    assert job_state.get_job(conn, "never") is None


def test_only_terminal_statuses_finish_a_job(conn):
    job_state.create_job(conn, "j3", "alice", {})
    with pytest.raises(ValueError, match="completed or failed"):
        job_state.finish_job(conn, "j3", "running")
    assert job_state.get_job(conn, "j3")["status"] == "pending"
