"""Retention attestations: signed per run (dry, completed, rejected), appended on restore, monthly rollup."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import psycopg
import pytest

import mmgov.retention  # noqa: F401 - registers retention.sql
from mmgov import audit
from mmgov.custody.attestation import attest_reported_run, write_rollup
from mmgov.custody.signing import load_signer
from mmgov.custody.store import LocalStore
from mmgov.custody.verify import main as verify_main
from mmgov.retention.approval import REJECT
from mmgov.retention.legal_hold import create_hold
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from mmgov.retention.report import report_purge
from mmgov.retention.restore import restore_run
from mmgov.state import ensure_mmgov_schema
from tests.retention.builders import NOW, Workspace, settings


@pytest.fixture
def conn(mm_conn: psycopg.Connection) -> psycopg.Connection:
    ensure_mmgov_schema(mm_conn)
    return mm_conn


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "filestore"


def _settings(root: Path, approval: str = "never"):
    return settings(
        FileSettings={"Directory": str(root)},
        DataRetentionSettings={
            "EnableMessageDeletion": True,
            "MessageRetentionDays": 100,
            "BatchSize": 2,
            "TimeBetweenBatchesMilliseconds": 0,
            "PreservePinnedPosts": True,
        },
        Mmgov={"RetentionApproval": approval},
    )


@pytest.fixture
def world(conn):
    ws = Workspace(conn)
    team = ws.team("eng")
    a, b = ws.channel(team, name="alpha"), ws.channel(team, name="beta")
    held_user = ws.user("held")
    deleted_a = {ws.post(a, 200) for _ in range(3)}
    deleted_b = {ws.post(b, 300) for _ in range(2)}
    pinned = ws.post(a, 200, pinned=True)
    held = ws.post(b, 200, user_id=held_user)
    ws.post(a, 5)  # young
    create_hold(conn, name="case", scope="user", target_id=held_user, actor="legal")
    return {"a": a, "b": b, "deleted_a": deleted_a, "deleted_b": deleted_b, "pinned": pinned, "held": held}


def _run(conn, s, *, dry_run: bool = False, hitl=None) -> str:
    summary = preview_purge(conn, s, now_ms=NOW, dry_run=dry_run)
    run_id = summary["run_id"]
    if not dry_run and hitl is None:
        soft_delete(conn, s, run_id, sleep=lambda _: None)
    report_purge(conn, run_id, hitl_result=hitl)
    return run_id


def _by_channel(doc: dict) -> dict[str, dict]:
    return {c["channel_id"]: c for c in doc["attestation"]["channels"]}


def test_completed_run_attestation_counts_per_channel_and_verifies(conn, world, root, signing_key, capsys):
    s = _settings(root)
    run_id = _run(conn, s)
    ref = attest_reported_run(conn, s, run_id)
    path = Path(ref["manifest"])
    assert path.parent.parent.parent == root / "export" / "retention-attestations"
    assert path.name == f"{run_id}.v1.json"
    doc = json.loads(path.read_text())
    att = doc["attestation"]
    assert doc["kind"] == "retention_attestation"
    assert att["status"] == "completed"
    assert att["approval"]["decision"] == "unattended"
    assert att["policy_snapshot"]["global"]["message_retention_hours"] == 100 * 24
    t = att["totals"]
    assert (t["eligible_messages"], t["planned_messages"], t["deleted_messages"]) == (7, 5, 5)
    assert (t["spared_held"], t["spared_pinned"], t["spared_not_exported"]) == (1, 1, 0)
    ch = _by_channel(doc)
    assert (ch[world["a"]]["deleted_messages"], ch[world["a"]]["spared_pinned"]) == (3, 1)
    assert (ch[world["b"]]["deleted_messages"], ch[world["b"]]["spared_held"]) == (2, 1)
    assert ch[world["a"]]["post_cutoff_ms"] == NOW - 100 * 86_400_000
    assert att["by_policy"][0]["deleted_messages"] == 5
    rows = list(csv.DictReader(io.StringIO((path.parent / f"{run_id}.v1.csv").read_text())))
    assert {r["channel_id"]: int(r["deleted_messages"]) for r in rows} == {world["a"]: 3, world["b"]: 2}
    assert verify_main([str(path), "--public-key", str(signing_key.public_key)]) == 0
    (path.parent / f"{run_id}.v1.csv").write_text("run_id\nforged\n")
    assert verify_main([str(path), "--public-key", str(signing_key.public_key)]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"{run_id}.v1.csv: size ")
    # Stored too, append-only, and announced on the retention asset's audit trail.
    row = conn.execute(
        "SELECT body, sha256, key_id FROM mmgov.retention_attestations WHERE run_id = %s", (run_id,)
    ).fetchone()
    assert bytes(row[0]) == path.read_bytes()
    assert row[2] == signing_key.signer.key_id
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("UPDATE mmgov.retention_attestations SET location = 'x'")
    event = audit.history(conn, event_prefix="retention.attestation_written")[0]["payload"]
    assert event["manifest_sha256"] == row[1] == ref["manifest_sha256"]
    # A second report of the same run keeps version 1.
    assert attest_reported_run(conn, s, run_id)["manifest_sha256"] == ref["manifest_sha256"]


def test_restore_appends_a_version(conn, world, root, signing_key, capsys):
    s = _settings(root)
    run_id = _run(conn, s)
    v1 = attest_reported_run(conn, s, run_id)
    v1_bytes = Path(v1["manifest"]).read_bytes()
    result = restore_run(conn, s, run_id, channel_id=world["b"], actor="ann")
    v2 = result["attestation"]
    assert v2["version"] == 2
    doc = json.loads(Path(v2["manifest"]).read_text())
    att = doc["attestation"]
    assert att["previous_sha256"] == v1["manifest_sha256"]
    assert att["restorations"] == [
        {
            "at": att["restorations"][0]["at"],
            "actor": "ann",
            "channel_id": world["b"],
            "messages_restored": 2,
            "files_restored": 0,
            "skipped_changed": 0,
        }
    ]
    ch = _by_channel(doc)
    assert (ch[world["b"]]["restored_messages"], ch[world["a"]]["restored_messages"]) == (2, 0)
    assert att["totals"]["restored_messages"] == 2
    assert att["totals"]["deleted_messages"] == 5  # what was deleted stays attested
    assert Path(v1["manifest"]).read_bytes() == v1_bytes  # version 1 is never rewritten
    assert verify_main([v2["manifest"], "--public-key", str(signing_key.public_key)]) == 0
    result = restore_run(conn, s, run_id, actor="ann")
    doc3 = json.loads(Path(result["attestation"]["manifest"]).read_text())
    assert doc3["attestation"]["totals"]["restored_messages"] == 5
    assert [r["channel_id"] for r in doc3["attestation"]["restorations"]] == [world["b"], None]
    assert audit.history(conn, event_prefix="retention.restored")[0]["payload"]["attestation"]["version"] == 3


def test_dry_run_and_rejected_runs_are_attested(conn, world, root, signing_key):
    s = _settings(root)
    dry = _run(conn, s, dry_run=True)
    doc = json.loads(Path(attest_reported_run(conn, s, dry)["manifest"]).read_text())
    assert doc["attestation"]["status"] == "dry_run"
    assert doc["attestation"]["totals"]["planned_messages"] == 5
    assert doc["attestation"]["totals"]["deleted_messages"] == 0
    s2 = _settings(root, approval="always")
    rejected = _run(conn, s2, hitl={"chosen_options": [REJECT], "responded_by_user": {"name": "boss"}})
    doc = json.loads(Path(attest_reported_run(conn, s2, rejected)["manifest"]).read_text())
    assert doc["attestation"]["status"] == "rejected"
    assert doc["attestation"]["approval"]["by"] == "boss"
    assert doc["attestation"]["totals"]["deleted_messages"] == 0


def test_unsigned_without_the_connection(conn, world, root, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_MMGOV_SIGNING", raising=False)
    s = _settings(root)
    run_id = _run(conn, s, dry_run=True)
    ref = attest_reported_run(conn, s, run_id)
    assert ref["signed"] is False
    assert not Path(ref["manifest"] + ".sig").exists()


def test_monthly_rollup(conn, world, root, signing_key, capsys):
    s = _settings(root)
    first = _run(conn, s, dry_run=True)
    second = _run(conn, s)
    for run_id in (first, second):
        attest_reported_run(conn, s, run_id)
    restore_run(conn, s, second, actor="ann")
    created = conn.execute(
        "SELECT to_char(to_timestamp(min(created_at) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM')"
        " FROM mmgov.purge_runs"
    ).fetchone()[0]
    store = LocalStore(root / "export")
    out = write_rollup(conn, created, store, load_signer())
    assert out["runs"] == 2
    doc = json.loads(Path(out["manifest"]).read_text())
    runs = {r["run_id"]: r for r in doc["rollup"]["runs"]}
    assert runs[second]["version"] == 2  # the latest version of each run
    assert runs[second]["totals"]["restored_messages"] == 5
    assert doc["rollup"]["totals"]["deleted_messages"] == 5
    assert {f["name"] for f in doc["files"]} == {
        f"{first}.v1.json",
        f"{second}.v2.json",
        f"rollup-{created}.csv",
    }
    assert verify_main([out["manifest"], "--public-key", str(signing_key.public_key)]) == 0
    # An attestation the rollup vouches for, altered afterwards, is caught through the rollup.
    v1 = Path(out["manifest"]).parent / f"{first}.v1.json"
    v1.write_bytes(v1.read_bytes().replace(b'"dry_run"', b'"DRY_RUN"', 1))
    assert verify_main([out["manifest"], "--public-key", str(signing_key.public_key)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{first}.v1.json: SHA-256 differs from the manifest (altered)"
    ]
    with pytest.raises(Exception, match="month must be YYYY-MM"):
        write_rollup(conn, "2026-13", store, None)
