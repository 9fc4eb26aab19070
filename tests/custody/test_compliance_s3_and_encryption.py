"""The compliance manifest on S3 (moto on loopback) and with age encryption; verify of s3:// URLs."""

from __future__ import annotations

import hashlib
import json
import zipfile

import psycopg
import pyrage

from mmgov.compliance.tasks import export_window_to_destination
from mmgov.custody.encryption import decrypt_file
from mmgov.custody.signing import load_public_keys
from mmgov.custody.verify import Options, verify_location
from mmgov.custody.verify import main as verify_main
from mmgov.custody.zip_checks import check_zip
from mmgov.settings import Settings
from tests.custody.conftest import WINDOW


def test_s3_run_folder_manifest_and_verify_url(demo_db, signing_key, s3_conn, s3_bucket, capsys):
    dsn, store, _ = demo_db
    settings = Settings.parse(
        {
            "FileSettings": {"DriverName": "local", "Directory": str(store)},
            "MessageExportSettings": {"BatchSize": 1000},
            "Mmgov": {"ExportDestination": f"s3://{s3_bucket}/archive"},
        }
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        summary = export_window_to_destination(conn, WINDOW, settings, export_format="csv")
    url = f"s3://{s3_bucket}/archive/{WINDOW.folder_name}"
    assert summary["custody"]["manifest"] == url + "/manifest.json"
    client = s3_conn.client()
    raw = client.get_object(Bucket=s3_bucket, Key=f"archive/{WINDOW.folder_name}/manifest.json")[
        "Body"
    ].read()
    assert hashlib.sha256(raw).hexdigest() == summary["custody"]["manifest_sha256"]
    key = str(signing_key.public_key)
    assert verify_main([url, "--public-key", key]) == 0
    options = Options(load_public_keys([signing_key.public_key]))
    assert verify_location(url, options, s3_client=client).problems == []
    # One batch overwritten on S3 (same size, one byte changed), one object planted.
    batch_key = f"archive/{WINDOW.folder_name}/{summary['batches'][0]}"
    body = bytearray(client.get_object(Bucket=s3_bucket, Key=batch_key)["Body"].read())
    body[100] ^= 0x01
    client.put_object(Bucket=s3_bucket, Key=batch_key, Body=bytes(body))
    client.put_object(Bucket=s3_bucket, Key=f"archive/{WINDOW.folder_name}/notes.txt", Body=b"x")
    assert verify_main([url, "--public-key", key]) == 1
    assert verify_location(url, options, s3_client=client).problems == [
        f"{summary['batches'][0]}: SHA-256 differs from the manifest (altered)",
        "notes.txt: extra file, not listed in manifest.json",
    ]
    # A single batch by URL.
    second = f"{url}/{summary['batches'][1]}"
    report = verify_location(second, Options(), s3_client=client)
    assert report.problems == [
        "manifest.json.sig: not checked: give the signer's public key with --public-key FILE"
    ]


def test_encrypted_batches_round_trip(export_demo, signing_key, tmp_path, capsys):
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    plain_folder = export_demo(dest=tmp_path / "plain")
    folder = export_demo(dest=tmp_path / "sealed", ExportRecipients=[recipient])
    sealed = sorted(folder.glob("batch*.zip.age"))
    assert len(sealed) == 3
    assert not list(folder.glob("*.zip"))
    doc = json.loads((folder / "manifest.json").read_text())
    assert doc["encryption"] == {"scheme": "age", "recipients": [recipient]}
    assert {f["name"] for f in doc["files"]} == {p.name for p in sealed}
    assert all(f["encrypted"] for f in doc["files"])
    for f in doc["files"]:
        assert f["sha256"] == hashlib.sha256((folder / f["name"]).read_bytes()).hexdigest()
    # verify without any private key: ciphertext hashes, signature, no extra or missing file.
    assert verify_main([str(folder), "--public-key", str(signing_key.public_key)]) == 0
    # With the identity, also the counts inside each decrypted zip.
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"# created: now\n{identity}\n")
    assert (
        verify_main([str(folder), "--public-key", str(signing_key.public_key), "--identity", str(key_file)])
        == 0
    )
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(str(pyrage.x25519.Identity.generate()) + "\n")
    capsys.readouterr()
    assert (
        verify_main([str(folder), "--public-key", str(signing_key.public_key), "--identity", str(wrong)]) == 1
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{sealed[0].name}: cannot be decrypted with the --identity given")
    # Decrypted, each batch is byte for byte the zip an unencrypted run writes (zips are deterministic),
    # and its counts match the manifest.
    for path in sealed:
        out = tmp_path / path.name.removesuffix(".age")
        decrypt_file(path, out, str(identity))
        assert out.read_bytes() == (plain_folder / out.name).read_bytes()
        with zipfile.ZipFile(out):
            pass
        doc_for_plain = {**doc, "batches": [{**b, "file": b["zip_name"]} for b in doc["batches"]]}
        assert check_zip(out, doc_for_plain, out.name) == []


def test_rerun_without_encryption_removes_the_encrypted_batches(export_demo, signing_key, tmp_path, capsys):
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    export_demo(dest=tmp_path / "x", ExportRecipients=[recipient])
    folder = export_demo(dest=tmp_path / "x", run_id="t2")
    assert not list(folder.glob("*.age"))
    assert verify_main([str(folder), "--public-key", str(signing_key.public_key)]) == 0
