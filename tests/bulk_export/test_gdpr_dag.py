"""``airflow dags test gdpr_export -c '{...}'`` for real: the DAG, its tasks, events, job row, output."""

from __future__ import annotations

import json

import psycopg
import pytest

from mmgov import audit
from mmgov.bulk_export.export_check import validate_export
from mmgov_dev.devenv import AirflowCommandError

pytestmark = pytest.mark.airflow


def _settings(store):
    return {"FileSettings": {"DriverName": "local", "Directory": str(store)}}


def test_dags_test_exports_the_workspace(demo_db, airflow_env, tmp_path):
    dsn, store, summary = demo_db
    env = airflow_env(dsn, _settings(store))
    out = tmp_path / "gdpr"
    env.dags_test("gdpr_export", {"output_path": str(out), "create_archive": True, "users": []})
    archives = list(out.glob("gdpr-export-*.zip"))
    assert len(archives) == 1
    # The archive and its manifest (mmgov.custody), nothing else.
    assert sorted(p.name for p in out.iterdir()) == [archives[0].name, archives[0].name + ".manifest.json"]
    report = validate_export(archives[0])
    assert report.ok, report.errors[:5]
    with psycopg.connect(dsn) as conn:
        events = list(reversed(audit.history(conn, event_prefix="export.")))
        job = conn.execute("SELECT job_id, status, progress FROM mmgov.gdpr_export_jobs").fetchall()
    assert events[0]["event"] == "export.started"
    assert events[-1]["event"] == "export.completed_with_warnings"
    run_id = events[0]["payload"]["job_id"]
    assert run_id.startswith("manual__")
    assert {e["payload"]["job_id"] for e in events} == {run_id}
    assert job[0][0] == run_id
    assert job[0][1] == "completed"
    assert job[0][2]["posts_exported"] + job[0][2]["direct_posts_exported"] <= summary.counts["posts"]


def test_dags_test_per_person_as_a_folder(demo_db, airflow_env, tmp_path):
    dsn, store, summary = demo_db
    with psycopg.connect(dsn) as conn:
        username = conn.execute(
            "SELECT username FROM users WHERE id = %s", (summary.handles["admin_user_id"],)
        ).fetchone()[0]
    env = airflow_env(dsn, _settings(store))
    out = tmp_path / "gdpr"
    env.dags_test("gdpr_export", {"output_path": str(out), "create_archive": False, "users": [username]})
    folder = next(p for p in out.glob("gdpr-export-*") if p.is_dir())
    lines = [json.loads(line) for line in (folder / "import.jsonl").read_text().splitlines()]
    assert [line["user"]["username"] for line in lines if line["type"] == "user"] == [username]
    assert validate_export(folder).ok


def test_a_failed_run_records_export_failed_and_leaves_nothing(demo_db, airflow_env, tmp_path):
    dsn, store, _summary = demo_db
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    env = airflow_env(dsn, _settings(store))
    with pytest.raises(AirflowCommandError) as info:
        env.dags_test("gdpr_export", {"output_path": str(blocker / "gdpr")})
    assert (
        "EXPORT_OUTPUT_PATH_UNAVAILABLE" in str(info.value)
        or "not a folder" in str(info.value)
        or "cannot be created" in str(info.value)
    )
    with psycopg.connect(dsn) as conn:
        events = [e["event"] for e in audit.history(conn, event_prefix="export.")]
        status = conn.execute("SELECT status FROM mmgov.gdpr_export_jobs").fetchall()
    assert events == ["export.failed"]
    assert status == [("failed",)]


def test_dags_test_reads_the_s3_file_store_through_the_connection(
    edge_workspace, airflow_env, s3_endpoint, s3_bucket, tmp_path
):
    client = s3_endpoint.client()
    for path in edge_workspace.store.rglob("*"):
        if path.is_file():
            client.put_object(
                Bucket=s3_bucket, Key=f"mm/{path.relative_to(edge_workspace.store)}", Body=path.read_bytes()
            )
    settings = {
        "FileSettings": {
            "DriverName": "amazons3",
            "AmazonS3Bucket": s3_bucket,
            "AmazonS3PathPrefix": "mm",
            "AmazonS3SSL": False,
        }
    }
    env = airflow_env(
        edge_workspace.dsn, settings, connections={"mattermost_s3": s3_endpoint.airflow_conn_json()}
    )
    out = tmp_path / "gdpr"
    env.dags_test("gdpr_export", {"output_path": str(out), "create_archive": False})
    folder = next(p for p in out.glob("gdpr-export-*") if p.is_dir())
    notes = folder / "data/20260101/teams/alpha/channels/town/users/alice/f1/notes.txt"
    assert notes.read_bytes() == b"release notes"
    warnings = (folder / "warnings.txt").read_text()
    assert warnings.count("not found in the S3 file store") == 3
