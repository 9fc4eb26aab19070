"""The GDPR export's manifest beside the archive or folder; verify; encryption to age recipients."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter
from pathlib import Path

import psycopg
import pyrage
import pytest

from mmgov.bulk_export.errors import ExportOutputPathUnavailable
from mmgov.custody.encryption import decrypt_file
from mmgov.custody.verify import main as verify_main
from mmgov.custody.zip_checks import check_archive
from mmgov.settings import Settings
from tests.bulk_export.workspace import export_once


def verify(capsys, *args: str) -> tuple[int, list[str]]:
    code = verify_main(list(args))
    return code, [line for line in capsys.readouterr().out.splitlines() if line]


def sidecar(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".manifest.json").read_text())


def test_archive_manifest_hashes_archive_entries_and_counts_lines(demo_db, signing_key, tmp_path, capsys):
    dsn, store, _ = demo_db
    export = export_once(dsn, tmp_path / "out", store)
    archive = export.path
    doc = sidecar(archive)
    assert doc["kind"] == "gdpr_export"
    assert doc["signing"]["key_id"] == signing_key.signer.key_id
    assert doc["files"] == [
        {
            "name": archive.name,
            "size": archive.stat().st_size,
            "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
            "encrypted": False,
        }
    ]
    entries = {e["name"]: e for e in doc["archive_entries"]}
    assert set(entries) == set(export.members)
    assert any(n.startswith("data/") for n in entries)
    for name, data in export.members.items():
        assert entries[name]["sha256"] == hashlib.sha256(data).hexdigest(), name
    assert doc["export"]["line_counts"] == dict(Counter(line["type"] for line in export.lines))
    assert doc["export"]["warnings"] == len(export.warnings)
    assert export.summary["custody"]["manifest"] == str(archive) + ".manifest.json"
    assert verify(capsys, str(archive), "--public-key", str(signing_key.public_key)) == (0, [])
    # The completion event carries the manifest's location and digest (asset event extra).
    with psycopg.connect(dsn) as conn:
        payload = conn.execute(
            "SELECT payload FROM mmgov.audit_log WHERE event LIKE 'export.completed%' ORDER BY id DESC LIMIT 1"
        ).fetchone()[0]
    assert payload["custody"]["manifest_sha256"] == export.summary["custody"]["manifest_sha256"]


def test_archive_tampering_is_detected(demo_db, signing_key, tmp_path, capsys):
    dsn, store, _ = demo_db
    archive = export_once(dsn, tmp_path / "out", store).path
    data = bytearray(archive.read_bytes())
    data[len(data) // 3] ^= 0xFF
    archive.write_bytes(bytes(data))
    code, lines = verify(capsys, str(archive), "--public-key", str(signing_key.public_key))
    assert (code, lines) == (1, [f"{archive.name}: SHA-256 differs from the manifest (altered)"])


def test_archive_rebuilt_with_an_entry_changed_is_caught_inside(demo_db, signing_key, tmp_path):
    """Even with a manifest whose archive hash was updated, the entries' hashes and line counts catch it."""
    dsn, store, _ = demo_db
    archive = export_once(dsn, tmp_path / "out", store).path
    doc = sidecar(archive)
    with zipfile.ZipFile(archive) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    lines = members["import.jsonl"].split(b"\n")
    members["import.jsonl"] = b"\n".join(lines[:1] + lines[2:])  # one line less
    rebuilt = tmp_path / "rebuilt.zip"
    with zipfile.ZipFile(rebuilt, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    removed = json.loads(lines[1])["type"]
    want = doc["export"]["line_counts"][removed]
    assert check_archive(rebuilt, doc, archive.name) == [
        "entry import.jsonl: size or SHA-256 differs from the manifest",
        f"import.jsonl: {want - 1} {removed!r} lines, the manifest says {want}",
    ]


def test_folder_manifest_lists_every_file_and_catches_tampering(demo_db, signing_key, tmp_path, capsys):
    dsn, store, _ = demo_db
    export = export_once(dsn, tmp_path / "out", store, create_archive=False)
    folder = export.path
    doc = sidecar(folder)
    assert doc["owns"] == folder.name
    assert sorted(f["name"] for f in doc["files"]) == sorted(f"{folder.name}/{n}" for n in export.members)
    key = str(signing_key.public_key)
    assert verify(capsys, str(folder), "--public-key", key) == (0, [])
    attachment = next(p for p in sorted((folder / "data").rglob("*")) if p.is_file())
    attachment.write_bytes(attachment.read_bytes() + b"!")
    (folder / "data" / "planted.txt").write_text("x")
    rel = attachment.relative_to(folder.parent).as_posix()
    size = attachment.stat().st_size
    code, lines = verify(capsys, str(folder), "--public-key", key)
    assert code == 1
    assert lines == [
        f"{rel}: size {size} bytes, the manifest says {size - 1} (truncated or altered)",
        f"{folder.name}/data/planted.txt: extra file, not listed in {folder.name}.manifest.json",
    ]


def test_folder_jsonl_line_counts_are_checked(demo_db, signing_key, tmp_path, capsys):
    dsn, store, _ = demo_db
    folder = export_once(dsn, tmp_path / "out", store, create_archive=False).path
    doc = sidecar(folder)
    (folder / "import.jsonl").write_bytes((folder / "import.jsonl").read_bytes() + b'{"type":"post"}\n')
    entry = next(f for f in doc["files"] if f["name"].endswith("/import.jsonl"))
    data = (folder / "import.jsonl").read_bytes()
    entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    from mmgov.custody import manifest
    from mmgov.custody.store import LocalStore

    manifest.write(
        LocalStore(folder.parent), "", doc, signing_key.signer, name=folder.name + ".manifest.json"
    )
    posts = doc["export"]["line_counts"]["post"]
    assert verify(capsys, str(folder), "--public-key", str(signing_key.public_key)) == (
        1,
        [f"{folder.name}/import.jsonl: {posts + 1} 'post' lines, the manifest says {posts}"],
    )


def test_encrypted_archive_round_trip(demo_db, signing_key, tmp_path, capsys):
    dsn, store, _ = demo_db
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    settings = Settings.parse({"Mmgov": {"ExportRecipients": [recipient]}})
    from mmgov.bulk_export.export_job import ExportCustody
    from tests.bulk_export import workspace

    original = workspace.run_export

    def run_encrypted(*args, **kwargs):
        return original(*args, **kwargs, custody=ExportCustody.load(settings.Mmgov.ExportRecipients))

    mp = pytest.MonkeyPatch()
    mp.setattr(workspace, "run_export", run_encrypted)
    mp.setattr(workspace, "read_export", lambda path: {})
    try:
        export = export_once(dsn, tmp_path / "out", store, settings=settings)
    finally:
        mp.undo()
    sealed = export.path
    assert sealed.name.endswith(".zip.age")
    assert not list((tmp_path / "out").glob("*.zip"))  # the plain archive never got a name
    assert sealed.read_bytes().startswith(b"age-encryption.org/v1")
    doc = sidecar(sealed)
    assert doc["encryption"] == {"scheme": "age", "recipients": [recipient]}
    assert doc["files"][0]["encrypted"] is True
    assert doc["files"][0]["sha256"] == hashlib.sha256(sealed.read_bytes()).hexdigest()
    # verify needs no private key: the ciphertext is what the manifest hashes.
    assert verify(capsys, str(sealed), "--public-key", str(signing_key.public_key)) == (0, [])
    plain = tmp_path / "decrypted.zip"
    decrypt_file(sealed, plain, str(identity))
    assert check_archive(plain, doc, sealed.name) == []
    with zipfile.ZipFile(plain) as zf:
        assert "import.jsonl" in zf.namelist()


def test_encryption_refuses_a_folder_export_before_any_work(demo_db, tmp_path):
    dsn, store, _ = demo_db
    key = str(pyrage.x25519.Identity.generate().to_public())
    settings = Settings.parse({"Mmgov": {"ExportRecipients": [key]}})
    with pytest.raises(ExportOutputPathUnavailable, match="create_archive must be true"):
        export_once(dsn, tmp_path / "out", store, settings=settings, create_archive=False)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
