"""Expiry of delivered exports: after ExportRetentionDays, never under a legal hold, never unverified."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest

import mmgov.retention  # noqa: F401 - registers retention.sql (legal holds)
from mmgov import audit
from mmgov.compliance.tasks import export_window_to_destination
from mmgov.custody import manifest
from mmgov.custody.expiry import ExpiryRefused, expire_exports, raise_if_refused
from mmgov.custody.store import LocalStore
from mmgov.retention.legal_hold import create_hold, release_hold
from mmgov.settings import Settings
from tests.bulk_export.workspace import export_once
from tests.custody.conftest import WINDOW, demo_settings

DAY = 86_400_000
LATER = int(dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)  # long after every delivery


def _expire(dsn: str, settings: Settings, store: LocalStore | None = None, now_ms: int = LATER, **kw) -> dict:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return expire_exports(conn, settings, store=store, now_ms=now_ms, **kw)


def _settings(store: Path, days: int) -> Settings:
    return demo_settings(store, ExportRetentionDays=days)


def _root(store: Path) -> LocalStore:
    return LocalStore(store / "export")


def _export(demo_db) -> Path:
    dsn, store, _ = demo_db
    with psycopg.connect(dsn, autocommit=True) as conn:
        export_window_to_destination(conn, WINDOW, demo_settings(store), export_format="csv")
    return store / "export" / WINDOW.folder_name


def test_keep_forever_by_default(demo_db, signing_key):
    dsn, store, _ = demo_db
    folder = _export(demo_db)
    summary = _expire(dsn, demo_settings(store))
    assert summary["status"].startswith("disabled")
    assert (folder / "manifest.json").exists()


def test_expired_export_is_removed_and_audited(demo_db, signing_key):
    dsn, store, _ = demo_db
    folder = _export(demo_db)
    settings = _settings(store, 30)
    # Not yet expired: delivered now, 30 days kept.
    assert _expire(dsn, settings, now_ms=LATER - 10_000 * DAY)["removed"] == []
    assert folder.exists()
    summary = _expire(dsn, settings)
    assert summary["status"] == "ok"
    (removed,) = summary["removed"]
    assert removed["location"] == str(folder)
    assert not folder.exists()
    with psycopg.connect(dsn) as conn:
        event = audit.history(conn, event_prefix="compliance_export.expired")[0]["payload"]
    assert event["manifest_sha256"] == removed["manifest_sha256"]
    assert event["window"] == WINDOW.as_dict()


def test_held_export_is_kept_until_the_hold_is_released(demo_db, signing_key):
    dsn, store, _ = demo_db
    folder = _export(demo_db)
    with psycopg.connect(dsn, autocommit=True) as conn:
        (author,) = conn.execute("SELECT userid FROM posts ORDER BY createat LIMIT 1").fetchone()
        hold = create_hold(conn, name="case 7", scope="user", target_id=author, actor="legal")
    summary = _expire(dsn, _settings(store, 1))
    assert summary["held"] == [str(folder)]
    assert summary["removed"] == []
    assert (folder / "manifest.json").exists()
    with psycopg.connect(dsn, autocommit=True) as conn:
        release_hold(conn, hold.id, actor="legal")
    assert len(_expire(dsn, _settings(store, 1))["removed"]) == 1


def test_hold_on_an_unrelated_channel_does_not_keep_it(demo_db, signing_key):
    dsn, store, _ = demo_db
    _export(demo_db)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO channels (id, createat, updateat, deleteat, teamid, type, displayname, name)"
            " VALUES ('emptychannel00000000000000', 0, 0, 0, '', 'O', 'empty', 'empty')"
        )
        create_hold(
            conn, name="other", scope="channel", target_id="emptychannel00000000000000", actor="legal"
        )
    assert len(_expire(dsn, _settings(store, 1))["removed"]) == 1


def test_tampered_export_is_kept_and_the_task_fails(demo_db, signing_key):
    dsn, store, _ = demo_db
    folder = _export(demo_db)
    batch = sorted(folder.glob("batch*.zip"))[0]
    data = bytearray(batch.read_bytes())
    data[10] ^= 1
    batch.write_bytes(bytes(data))
    summary = _expire(dsn, _settings(store, 1))
    assert summary["status"] == "refused"
    assert summary["refused"] == [
        {"location": str(folder), "problems": [f"{batch.name}: SHA-256 differs from the manifest (altered)"]}
    ]
    assert batch.exists()
    assert (folder / "manifest.json").exists()
    with pytest.raises(ExpiryRefused, match=batch.name):
        raise_if_refused(summary)


def test_signed_by_an_unknown_key_is_refused(demo_db, signing_key, tmp_path):
    from tests.custody.conftest import make_key

    dsn, store, _ = demo_db
    _export(demo_db)
    other = make_key(tmp_path, "other")
    summary = _expire(dsn, _settings(store, 1), public_keys={other.signer.key_id: other.signer.public_key})
    assert summary["removed"] == []
    assert "not by any key given" in summary["refused"][0]["problems"][0]


def test_s3_export_expires(demo_db, signing_key, s3_endpoint, s3_bucket, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_S3", s3_endpoint.airflow_conn_json())
    dsn, store, _ = demo_db
    raw = {
        "FileSettings": {"DriverName": "local", "Directory": str(store)},
        "MessageExportSettings": {"BatchSize": 1000},
        "Mmgov": {"ExportDestination": f"s3://{s3_bucket}/arch", "ExportRetentionDays": 7},
    }
    settings = Settings.parse(raw)
    with psycopg.connect(dsn, autocommit=True) as conn:
        export_window_to_destination(conn, WINDOW, settings, export_format="csv")
    client = s3_endpoint.client()
    assert (
        len(client.list_objects_v2(Bucket=s3_bucket, Prefix="arch/")["Contents"]) == 5
    )  # 3 zips + manifest + sig
    summary = _expire(dsn, settings)
    assert summary["removed"][0]["location"] == f"s3://{s3_bucket}/arch/{WINDOW.folder_name}"
    assert not client.list_objects_v2(Bucket=s3_bucket, Prefix="arch/").get("Contents")


def test_gdpr_archive_expires_unless_held(demo_db, signing_key, tmp_path):
    dsn, store, _ = demo_db
    export = export_once(dsn, tmp_path / "gdpr", store)
    sidecar = export.path.with_name(export.path.name + ".manifest.json")
    with psycopg.connect(dsn, autocommit=True) as conn:
        (user,) = conn.execute("SELECT id FROM users ORDER BY username LIMIT 1").fetchone()
        hold = create_hold(conn, name="h", scope="user", target_id=user, actor="legal")
    settings = _settings(store, 1)
    summary = _expire(dsn, settings, store=_root(store))
    assert summary["held"] == [str(export.path)]  # a whole-workspace export holds everyone's content
    with psycopg.connect(dsn, autocommit=True) as conn:
        release_hold(conn, hold.id, actor="legal")
    summary = _expire(dsn, settings, store=_root(store))
    assert [r["location"] for r in summary["removed"]] == [str(export.path)]
    assert not export.path.exists()
    assert not sidecar.exists()
    with psycopg.connect(dsn) as conn:
        event = audit.history(conn, event_prefix="export.expired")[0]["payload"]
    assert event["manifest_sha256"] == export.summary["custody"]["manifest_sha256"]
    # Once removed it is not looked at again.
    assert _expire(dsn, settings, store=_root(store))["removed"] == []


def test_gdpr_folder_without_manifest_is_reported_not_removed(demo_db, signing_key, tmp_path):
    dsn, store, _ = demo_db
    export = export_once(dsn, tmp_path / "gdpr", store, create_archive=False)
    export.path.with_name(export.path.name + ".manifest.json").unlink()
    summary = _expire(dsn, _settings(store, 1), store=_root(store))
    assert summary["no_manifest"] == [str(export.path)]
    assert export.path.is_dir()


@pytest.mark.airflow
def test_custody_dag_expires_and_writes_rollups(demo_db, signing_key, airflow_env):
    dsn, store, _ = demo_db
    folder = _export(demo_db)
    # Delivered three days ago (re-signed with the same key: the manifest stays valid).
    doc = json.loads((folder / "manifest.json").read_text())
    doc["run"]["delivered_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    manifest.write(LocalStore(folder), "", doc, signing_key.signer)
    raw = {
        "FileSettings": {"DriverName": "local", "Directory": str(store)},
        "Mmgov": {"ExportRetentionDays": 2},
    }
    env = airflow_env(dsn, raw, connections={"mmgov_signing": signing_key.conn_json})
    env.dags_test("custody")
    assert not folder.exists()
    rollups = sorted((store / "export" / "retention-attestations").rglob("rollup-*.json"))
    assert len(rollups) == 2
    assert json.loads(rollups[-1].read_text())["signing"]["key_id"] == signing_key.signer.key_id


def test_a_job_row_pointing_elsewhere_is_refused(demo_db, signing_key, tmp_path):
    dsn, store, _ = demo_db
    victim = tmp_path / "important.txt"
    victim.write_text("keep me")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO mmgov.gdpr_export_jobs (job_id, status, actor, output_path, finished_at)"
            " VALUES ('forged', 'completed', 'x', %s, now() - interval '30 days')",
            (str(victim),),
        )
    summary = _expire(dsn, _settings(store, 1), store=_root(store))
    assert summary["refused"] == [{"location": str(victim), "problems": ["not a gdpr_export output path"]}]
    assert victim.read_text() == "keep me"
