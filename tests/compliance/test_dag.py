"""The compliance_export DAG run for real with ``airflow dags test`` against a database."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import psycopg
import pytest

from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.extract import COUNT_FILES, COUNT_POSTS
from mmgov_dev.devenv import AirflowCommandError
from tests.compliance.builders import Workspace, mmid
from tests.support.webhook import WebhookServer

pytestmark = pytest.mark.airflow

DAY = 86_400_000
JAN1 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _summary(output: str) -> dict:
    match = re.search(r"compliance_export summary: (\{.*?\})\s*\[", output)
    assert match, output[-3000:]
    return json.loads(match.group(1))


def _csv_post_ids(folder: Path) -> list[str]:
    ids = []
    for z in sorted(folder.glob("batch*.zip")):
        with zipfile.ZipFile(z) as zf:
            rows = list(csv.reader(io.StringIO(zf.read("posts.csv").decode(), newline="")))
        assert rows[0][0] == "Post Creation Time"
        assert all(len(r) == 20 for r in rows)
        # one id per post row: its message entries share it, attachments too; count each post once
        ids.extend(dict.fromkeys(r[13] for r in rows[1:] if r[13] and r[17] == "message"))
    return ids


def _events(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT event FROM mmgov.audit_log ORDER BY id")]


def test_manual_run_exports_the_params_window(demo_db, airflow_env):
    dsn, store, _summary_synth = demo_db
    settings = {
        "FileSettings": {"DriverName": "local", "Directory": str(store)},
        "MessageExportSettings": {"EnableExport": True, "ExportFormat": "actiance", "BatchSize": 500},
    }
    window = ExportWindow(JAN1 - 10 * DAY, JAN1)
    env = airflow_env(dsn, settings)
    result = env.dags_test(
        "compliance_export",
        {
            "export_from": "2025-12-22T00:00:00Z",
            "export_to": JAN1,
            "export_format": "csv",
        },
    )
    summary = _summary(result.stdout + result.stderr)
    with psycopg.connect(dsn) as conn:
        params = {"start": window.start_ms, "end": window.end_ms}
        db_posts = conn.execute(COUNT_POSTS, params).fetchone()[0]
        db_files = conn.execute(COUNT_FILES, params).fetchone()[0]
    folder = store / "export" / window.folder_name
    assert summary["window"] == window.as_dict()
    assert summary["format"] == "csv"
    assert summary["messages"] == db_posts > 500  # several batches
    assert summary["files"] + summary["files_missing"] == db_files
    assert Path(summary["location"]) == folder
    assert sorted(p.name for p in folder.iterdir()) == [*summary["batches"], "manifest.json"]
    assert summary["custody"]["manifest"] == str(folder / "manifest.json")
    ids = _csv_post_ids(folder)
    assert len(ids) == len(set(ids)) == db_posts
    assert _events(dsn)[-2:] == ["compliance_export.started", "compliance_export.completed"]
    assert not (store / "export" / ".mmgov-staging").exists()


def test_scheduled_run_exports_its_data_interval(mm_dsn, file_store, airflow_env):
    with psycopg.connect(mm_dsn, autocommit=True) as conn:
        ws = Workspace(conn, file_store)
        chan = ws.channel("town", team=ws.team("acme"))
        alice = ws.user("alice")
        ws.history(chan, alice, JAN1 - DAY)
        one_am = JAN1 + 3_600_000  # 2026-01-01T01:00Z: the previous run's end, this run's start
        ws.post("at-start", channel=chan, user=alice, create=one_am)
        ws.post("inside", channel=chan, user=alice, create=one_am + 5 * 3_600_000)
        ws.post("at-end", channel=chan, user=alice, create=one_am + DAY)
        ws.post("before", channel=chan, user=alice, create=one_am - 1)
    settings = {
        "FileSettings": {"Directory": str(file_store)},
        "MessageExportSettings": {"EnableExport": True, "ExportFormat": "csv", "DailyRunTime": "01:00"},
    }
    env = airflow_env(mm_dsn, settings)
    result = env.dags_test("compliance_export", logical_date="2026-01-02T01:00:00+00:00")
    summary = _summary(result.stdout + result.stderr)
    window = ExportWindow(one_am, one_am + DAY)
    assert summary["source"] == "data_interval"
    assert summary["window"] == window.as_dict()
    folder = file_store / "export" / "compliance-export-2026-01-02-01h00m-1767229200000-1767315600000"
    assert folder == file_store / "export" / window.folder_name
    assert sorted(_csv_post_ids(folder)) == sorted([mmid("at-start"), mmid("inside")])


def test_unscheduled_manual_run_continues_from_the_last_export(mm_dsn, file_store, airflow_env):
    """EnableExport off: no schedule; "run now" without parameters exports since the last export."""
    with psycopg.connect(mm_dsn, autocommit=True) as conn:
        ws = Workspace(conn, file_store)
        chan = ws.channel("town", team=ws.team("acme"))
        alice = ws.user("alice")
        ws.history(chan, alice, JAN1 - DAY)
        ws.post("first", channel=chan, user=alice, create=JAN1)
        ws.post("second", channel=chan, user=alice, create=JAN1 + 5 * 3_600_000)
    settings = {
        "FileSettings": {"Directory": str(file_store)},
        "MessageExportSettings": {"EnableExport": False, "ExportFormat": "csv"},
    }
    env = airflow_env(mm_dsn, settings)
    first = _summary(
        (
            r := env.dags_test(
                "compliance_export", {"export_from": JAN1 - DAY, "export_to": JAN1 + 3_600_000}
            )
        ).stdout
        + r.stderr
    )
    assert first["source"] == "params"
    result = env.dags_test("compliance_export", {})
    summary = _summary(result.stdout + result.stderr)
    assert summary["source"] == "since_last_export"
    assert summary["window"]["start_ms"] == first["window"]["end_ms"] == JAN1 + 3_600_000
    folder = Path(summary["location"])
    assert summary["format"] == "csv", summary
    assert _csv_post_ids(folder) == [mmid("second")]


def test_failed_run_alerts_by_mail_and_webhook(mm_dsn, file_store, airflow_env, smtp_server):
    smtp = json.loads(smtp_server.airflow_conn_json())
    smtp["extra"]["to"] = "compliance-officer@example.com"
    with WebhookServer() as hook:
        env = airflow_env(
            mm_dsn,
            {
                "FileSettings": {"Directory": str(file_store)},
                "MessageExportSettings": {"ExportFormat": "csv"},
            },
            connections={
                "mmgov_alert_smtp": json.dumps(smtp),
                "mmgov_alert_webhook": hook.airflow_conn_json(),
            },
        )
        with pytest.raises(AirflowCommandError) as err:
            env.dags_test("compliance_export", {"export_from": JAN1, "export_to": JAN1 - DAY})
        assert "must be before export_to" in str(err.value)
    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == ["compliance-officer@example.com"]
    assert mail.message["Subject"] == "mmgov alert: compliance_export.resolve_window failed"
    (call,) = hook.calls
    assert call.path == "/hooks/hook-key-123"
    assert call.body["text"].startswith("mmgov: task failed: compliance_export.resolve_window")
    assert "COMPLIANCE_EXPORT_INVALID_WINDOW" in call.body["text"]
    assert _events(mm_dsn) == ["compliance_export.failed"]


def test_backfill_creates_one_run_per_daily_window(mm_dsn, airflow_env):
    from mmgov_dev.devenv import run_airflow

    settings = {"MessageExportSettings": {"EnableExport": True, "DailyRunTime": "01:00"}}
    env = airflow_env(mm_dsn, settings)
    run_airflow(["dags", "reserialize"], env)
    result = run_airflow(
        [
            "backfill",
            "create",
            "--dag-id",
            "compliance_export",
            "--from-date",
            "2026-01-01T00:00:00+00:00",
            "--to-date",
            "2026-01-04T00:00:00+00:00",
            "--dry-run",
        ],
        env,
    )
    dates = re.findall(r"\| (2026-01-0\d 01:00:00\+00:00) \|", result.stdout)
    # Each run's data interval ends at its logical date + 1 day: [Jan 1 01:00, Jan 2 01:00), ... tiling time.
    assert dates == ["2026-01-01 01:00:00+00:00", "2026-01-02 01:00:00+00:00", "2026-01-03 01:00:00+00:00"]
