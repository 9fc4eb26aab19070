"""The compliance export's manifest: written last, signed, complete; verify catches every tampering."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg
import pytest

from mmgov.compliance.delivery import LocalDestination
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.extract import count_window
from mmgov.compliance.post_reader import WINDOW_PREDICATE
from mmgov.compliance.tasks import export_window_to_destination
from mmgov.custody.signing import SigningKeyError
from mmgov.custody.verify import main as verify_main
from tests.custody.conftest import WINDOW, demo_settings, make_key


def verify(capsys, *args: str) -> tuple[int, list[str]]:
    code = verify_main(list(args))
    return code, [line for line in capsys.readouterr().out.splitlines() if line]


def test_manifest_lists_every_batch_with_counts_and_run_facts(export_demo, signing_key, demo_db):
    folder = export_demo(run_id="scheduled__2026-01-01")
    doc = json.loads((folder / "manifest.json").read_text())
    zips = sorted(p.name for p in folder.glob("batch*.zip"))
    assert len(zips) == 3
    assert sorted(f["name"] for f in doc["files"]) == zips
    for f in doc["files"]:
        data = (folder / f["name"]).read_bytes()
        assert f["size"] == len(data)
        assert f["sha256"] == hashlib.sha256(data).hexdigest()
    batches = doc["batches"]
    assert [b["number"] for b in batches] == [1, 2, 3]
    with psycopg.connect(demo_db[0]) as conn:
        total = count_window(conn, WINDOW).posts
    assert sum(b["posts"] for b in batches) == doc["reconciliation"]["db_posts"] == total
    assert doc["reconciliation"]["db_files"] == doc["reconciliation"]["exported_files"]
    # The cursor range: first and last (updateat, id) per batch, in order, tiling the window.
    with psycopg.connect(demo_db[0]) as conn:
        ordered = f"SELECT p.updateat, p.id FROM posts p WHERE {WINDOW_PREDICATE} ORDER BY p.updateat"
        window = {"start": WINDOW.start_ms, "end": WINDOW.end_ms}
        first = conn.execute(ordered + ', p.id COLLATE "C" LIMIT 1', window).fetchone()
        last = conn.execute(ordered + ' DESC, p.id COLLATE "C" DESC LIMIT 1', window).fetchone()
    assert batches[0]["first"] == list(first)
    assert batches[-1]["last"] == list(last)
    assert batches[0]["last"] <= batches[1]["first"]
    assert all(b["window"] == WINDOW.as_dict() for b in batches)
    assert doc["export"]["format"] == "csv"
    assert doc["settings"]["MessageExportSettings"]["BatchSize"] == 1000
    assert doc["settings"]["Mmgov"]["CsvMembershipRows"] == "window"
    assert doc["mattermost"]["systems_version"] == "11.7.0"  # the synthetic workspace's systems row
    assert doc["run"]["airflow_run_id"] == "scheduled__2026-01-01"
    assert doc["signing"] == {"algorithm": "ed25519", "key_id": signing_key.signer.key_id, "note": None}
    assert doc["encryption"] is None
    assert (folder / "manifest.json.sig").stat().st_size == 64


def test_verify_accepts_an_intact_export_and_a_single_batch(export_demo, signing_key, capsys):
    folder = export_demo()
    assert verify(capsys, str(folder), "--public-key", str(signing_key.public_key)) == (0, [])
    one = sorted(folder.glob("batch*.zip"))[1]
    assert verify(capsys, str(one), "--public-key", str(signing_key.public_key)) == (0, [])


def test_python_dash_m_mmgov_verify(export_demo, signing_key):
    folder = export_demo()
    ok = subprocess.run(
        [sys.executable, "-m", "mmgov", "verify", str(folder), "--public-key", str(signing_key.public_key)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK " in ok.stderr
    (folder / "stray.txt").write_text("x")
    bad = subprocess.run(
        [sys.executable, "-m", "mmgov", "verify", str(folder), "--public-key", str(signing_key.public_key)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stdout.strip() == "stray.txt: extra file, not listed in manifest.json"


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("flip", "{z}: SHA-256 differs from the manifest (altered)"),
        ("truncate", "{z}: size {n} bytes, the manifest says {size} (truncated or altered)"),
        ("delete", "{z}: missing"),
        ("add", "extra.zip: extra file, not listed in manifest.json"),
        (
            "edit",
            "manifest.json.sig: signature does not match manifest.json (the manifest was altered, or the signature)",
        ),
        ("wrong_key", "manifest.json.sig: signed by key {kid}, not by any key given ({other})"),
        ("drop_sig", "manifest.json.sig: missing: manifest.json says it is signed by key {kid}"),
        ("drop_manifest", "manifest.json: missing: the export is incomplete, or not an mmgov export"),
    ],
)
def test_verify_detects_tampering(export_demo, signing_key, tmp_path, capsys, tamper, expected):
    folder = export_demo()
    target = sorted(folder.glob("batch*.zip"))[1]
    size = target.stat().st_size
    key = signing_key.public_key
    other = make_key(tmp_path, "other")
    if tamper == "flip":
        _flip_byte(target, size // 2)
    elif tamper == "truncate":
        target.write_bytes(target.read_bytes()[: size - 100])
    elif tamper == "delete":
        target.unlink()
    elif tamper == "add":
        shutil.copy(sorted(folder.glob("batch*.zip"))[0], folder / "extra.zip")
    elif tamper == "edit":
        doc = json.loads((folder / "manifest.json").read_text())
        doc["batches"][1]["posts"] -= 1
        (folder / "manifest.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    elif tamper == "wrong_key":
        key = other.public_key
    elif tamper == "drop_sig":
        (folder / "manifest.json.sig").unlink()
    elif tamper == "drop_manifest":
        (folder / "manifest.json").unlink()
    code, lines = verify(capsys, str(folder), "--public-key", str(key))
    assert code == 1
    assert lines == [
        expected.format(
            z=target.name, n=size - 100, size=size, kid=signing_key.signer.key_id, other=other.signer.key_id
        )
    ]


def test_verify_counts_inside_each_zip(export_demo, signing_key, capsys):
    """A zip re-made with one row less, and a manifest re-signed to match its hash: the counts catch it."""
    folder = export_demo()
    target = sorted(folder.glob("batch*.zip"))[0]
    with zipfile.ZipFile(target) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    lines = entries["posts.csv"].split(b"\n")
    entries["posts.csv"] = b"\n".join(lines[:2] + lines[3:])
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    doc = json.loads((folder / "manifest.json").read_text())
    entry = next(f for f in doc["files"] if f["name"] == target.name)
    entry["size"] = target.stat().st_size
    entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
    from mmgov.custody import manifest
    from mmgov.custody.store import LocalStore

    manifest.write(LocalStore(folder), "", doc, signing_key.signer)
    b = doc["batches"][0]
    want = b["entries"] + b["uploads"] + b["file_deletions"] + b["members"]
    code, out = verify(capsys, str(folder), "--public-key", str(signing_key.public_key))
    assert (code, out) == (
        1,
        [f"{target.name}: {want - 1} posts.csv rows in the zip, the manifest's counts give {want}"],
    )


@pytest.mark.parametrize(("fmt", "what"), [("actiance", "<Message> elements"), ("globalrelay-zip", "emails")])
def test_format_counts_match_for_every_format(export_demo, signing_key, capsys, fmt, what):
    folder = export_demo(fmt)
    assert verify(capsys, str(folder), "--public-key", str(signing_key.public_key)) == (0, [])


def test_unsigned_without_the_connection(export_demo, monkeypatch, capsys):
    monkeypatch.delenv("AIRFLOW_CONN_MMGOV_SIGNING", raising=False)
    folder = export_demo()
    doc = json.loads((folder / "manifest.json").read_text())
    assert doc["signing"]["key_id"] is None
    assert "unsigned" in doc["signing"]["note"]
    assert not (folder / "manifest.json.sig").exists()
    code, lines = verify(capsys, str(folder))
    assert code == 1
    assert lines[0].startswith("manifest.json: unsigned")
    assert verify(capsys, str(folder), "--allow-unsigned") == (0, [])


def test_signed_manifest_needs_a_public_key_or_no_signature(export_demo, signing_key, capsys):
    folder = export_demo()
    assert verify(capsys, str(folder)) == (
        1,
        ["manifest.json.sig: not checked: give the signer's public key with --public-key FILE"],
    )
    assert verify(capsys, str(folder), "--no-signature") == (0, [])


def test_a_bad_key_in_the_connection_fails_before_publishing(demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MMGOV_SIGNING", json.dumps({"conn_type": "generic", "password": "nope"}))
    dsn, store, _ = demo_db
    with psycopg.connect(dsn, autocommit=True) as conn, pytest.raises(SigningKeyError, match="mmgov_signing"):
        export_window_to_destination(
            conn, WINDOW, demo_settings(store), destination=LocalDestination(tmp_path / "out")
        )
    assert not (tmp_path / "out" / WINDOW.folder_name).exists()


def test_a_failed_rerun_leaves_no_manifest(export_demo, signing_key, monkeypatch, capsys):
    """A re-run of the window that dies while publishing: the old manifest is gone, no new one appears."""
    folder = export_demo()
    assert (folder / "manifest.json").exists()

    def broken_publish(self, folder_name, key, staged):
        raise OSError("disk full")

    monkeypatch.setattr(LocalDestination, "publish", broken_publish)
    with pytest.raises(OSError, match="disk full"):
        export_demo(run_id="t2")
    assert not (folder / "manifest.json").exists()
    assert not (folder / "manifest.json.sig").exists()
    code, lines = verify(capsys, str(folder), "--public-key", str(signing_key.public_key))
    assert (code, lines) == (1, ["manifest.json: missing: the export is incomplete, or not an mmgov export"])


def test_rerun_with_fewer_batches_rewrites_the_manifest(demo_db, signing_key, tmp_path, capsys):
    dsn, store, _ = demo_db
    with psycopg.connect(dsn, autocommit=True) as conn:
        export_window_to_destination(
            conn, WINDOW, demo_settings(store), destination=LocalDestination(tmp_path / "out")
        )
        settings = demo_settings(store)
        summary = export_window_to_destination(
            conn, WINDOW, settings, destination=LocalDestination(tmp_path / "out"), batch_size=5000
        )
    folder = tmp_path / "out" / WINDOW.folder_name
    assert len(summary["removed_stale"]) == 3
    doc = json.loads((folder / "manifest.json").read_text())
    assert [f["name"] for f in doc["files"]] == summary["batches"]
    assert verify(capsys, str(folder), "--public-key", str(signing_key.public_key)) == (0, [])


def test_empty_window_still_has_a_manifest(demo_db, signing_key, tmp_path, capsys):
    dsn, store, _ = demo_db
    window = ExportWindow(1, 2)
    with psycopg.connect(dsn, autocommit=True) as conn:
        export_window_to_destination(
            conn, window, demo_settings(store), destination=LocalDestination(tmp_path / "out")
        )
    folder = tmp_path / "out" / window.folder_name
    doc = json.loads((folder / "manifest.json").read_text())
    assert doc["batches"][0]["posts"] == 0
    assert doc["batches"][0]["first"] is None
    assert verify(capsys, str(folder), "--public-key", str(signing_key.public_key)) == (0, [])
