"""Run notes and fail-fast errors with real ``airflow dags test`` runs (``mmgov_airflow.outcomes``)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from mmgov_dev.devenv import AirflowCommandError
from tests.support.webhook import WebhookServer

pytestmark = pytest.mark.airflow

JAN1 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
WINDOW = {"export_from": "2025-12-22T00:00:00Z", "export_to": JAN1}


def task_states(env, dag_id: str) -> dict[str, tuple[str, int]]:
    """task_id -> (state, try_number) of the DAG's only run."""
    with sqlite3.connect(env.home / "airflow.db") as conn:
        rows = conn.execute(
            "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ?", (dag_id,)
        ).fetchall()
    return {task_id: (state, tries) for task_id, state, tries in rows}


def test_compliance_run_note_counts_messages_files_missing_and_manifest(demo_db, airflow_env):
    dsn, store, _ = demo_db
    settings = {
        "FileSettings": {"DriverName": "local", "Directory": str(store)},
        "MessageExportSettings": {"EnableExport": True, "ExportFormat": "csv"},
    }
    with WebhookServer() as hook:
        env = airflow_env(dsn, settings, connections={"mmgov_alert_webhook": hook.airflow_conn_json()})
        env.dags_test("compliance_export", WINDOW)
    (note,) = env.run_notes("compliance_export").values()
    folder = store / "export" / "compliance-export-2026-01-01-00h00m-1766361600000-1767225600000"
    assert note.startswith(
        f"633 messages, 23 files -> {folder}, 1 warning, 1 file MISSING from the file store."
    )
    assert f"Manifest: `{folder}/manifest.json`" in note
    assert "**unsigned** (no `mmgov_signing` connection)" in note
    assert "\n" not in note
    # The missing file is a warning, as in Mattermost, but it alerts (the run stays green).
    (alert,) = [c.body["text"] for c in hook.calls]
    assert alert.startswith("mmgov warning: compliance_export run manual__")
    assert alert.endswith(note)


def test_missing_files_fail_when_set_to_fail(demo_db, airflow_env):
    dsn, store, _ = demo_db
    settings = {"FileSettings": {"Directory": str(store)}, "Mmgov": {"MissingFiles": "fail"}}
    env = airflow_env(dsn, settings)
    with pytest.raises(AirflowCommandError):
        env.dags_test("compliance_export", WINDOW)
    assert task_states(env, "compliance_export")["reconcile"] == ("failed", 1)
    assert task_states(env, "compliance_export")["deliver"][0] == "upstream_failed"
    (note,) = env.run_notes("compliance_export").values()
    assert note.startswith(
        "FAILED in reconcile: EXPORT_FILES_MISSING: 1 file(s) referenced by the exported posts are missing"
    )
    assert not list((store / "export").glob("compliance-export-*"))  # nothing published


@pytest.mark.parametrize("dag_id", ["compliance_export", "gdpr_export"])
def test_a_file_store_root_that_does_not_exist_fails_at_once_and_creates_nothing(
    dag_id, mm_dsn, airflow_env, tmp_path
):
    missing = tmp_path / "no-such-store"
    out = tmp_path / "gdpr-out"
    env = airflow_env(mm_dsn, {"FileSettings": {"Directory": str(missing)}})
    conf = WINDOW if dag_id == "compliance_export" else {"output_path": str(out)}
    with pytest.raises(AirflowCommandError):
        env.dags_test(dag_id, conf)
    first = "resolve_window" if dag_id == "compliance_export" else "start"
    assert task_states(env, dag_id)[first] == ("failed", 1)
    (note,) = env.run_notes(dag_id).values()
    assert note.startswith(
        f"FAILED in {first}: FILE_STORE_UNAVAILABLE: FileSettings.Directory '{missing}' does not exist"
    )
    assert not missing.exists()
    assert not out.exists()


def test_unwritable_destination_fails_at_once_with_the_code_first(demo_db, airflow_env, tmp_path):
    dsn, store, _ = demo_db
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = {
        "FileSettings": {"DriverName": "local", "Directory": str(store)},
        "Mmgov": {"ExportDestination": str(blocker / "exports")},
    }
    env = airflow_env(dsn, settings)
    started = time.monotonic()
    with pytest.raises(AirflowCommandError) as failed:
        env.dags_test("compliance_export", WINDOW)
    assert time.monotonic() - started < 120  # no retry delay (1 min, then backoff)
    assert task_states(env, "compliance_export")["extract_format_package"] == ("failed", 1)
    (note,) = env.run_notes("compliance_export").values()
    assert note.startswith(
        f"FAILED in extract_format_package: EXPORT_OUTPUT_PATH_UNAVAILABLE: export destination {blocker}/exports"
        " is not writable"
    )
    output = failed.value.result.stdout + failed.value.result.stderr
    assert "EXPORT_OUTPUT_PATH_UNAVAILABLE: export destination" in output
    assert "The above exception was the direct cause" not in output
