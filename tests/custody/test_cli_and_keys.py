"""``mmgov custody`` commands, key ids as openssl computes them, signatures openssl verifies, run notes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmgov.custody.cli import main as custody_main
from mmgov.custody.manifest import note_text
from mmgov.custody.signing import Signer, SigningKeyError, load_public_keys, load_signer

OPENSSL = shutil.which("openssl")


def _json_out(capsys) -> object:
    return json.loads(capsys.readouterr().out)


def test_keygen_and_key_id(tmp_path, capsys):
    assert custody_main(["keygen", "--out", str(tmp_path / "k")]) == 0
    out = _json_out(capsys)
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    signer = Signer.from_pem((tmp_path / "k.pem").read_text())
    assert out["key_id"] == signer.key_id
    assert custody_main(["key-id", str(tmp_path / "k.pub.pem")]) == 0
    assert _json_out(capsys) == [signer.key_id]
    # One file holding two public keys (after a rotation) gives both.
    other = tmp_path / "other"
    custody_main(["keygen", "--out", str(other)])
    second = _json_out(capsys)["key_id"]
    both = tmp_path / "both.pem"
    both.write_bytes((tmp_path / "k.pub.pem").read_bytes() + Path(f"{other}.pub.pem").read_bytes())
    assert set(load_public_keys([both])) == {signer.key_id, second}


@pytest.mark.skipif(OPENSSL is None, reason="no openssl command")
def test_openssl_computes_the_key_id_and_verifies_a_manifest(export_demo, signing_key):
    folder = export_demo()
    der = subprocess.run(
        [OPENSSL, "pkey", "-pubin", "-in", str(signing_key.public_key), "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    import hashlib

    assert (
        hashlib.sha256(der).hexdigest()
        == json.loads((folder / "manifest.json").read_text())["signing"]["key_id"]
    )
    ok = subprocess.run(
        [
            OPENSSL,
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(signing_key.public_key),
            "-rawin",
            "-in",
            str(folder / "manifest.json"),
            "-sigfile",
            str(folder / "manifest.json.sig"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "Signature Verified Successfully" in ok.stdout
    # And the sha256sum --check recipe of the docs.
    listing = "".join(
        f"{f['sha256']}  {f['name']}\n" for f in json.loads((folder / "manifest.json").read_text())["files"]
    )
    check = subprocess.run(
        ["sha256sum", "--check", "-"], input=listing, cwd=folder, text=True, capture_output=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_signing_connection_errors(monkeypatch, tmp_path):
    monkeypatch.delenv("AIRFLOW_CONN_MMGOV_SIGNING", raising=False)
    assert load_signer() is None
    monkeypatch.setenv("AIRFLOW_CONN_MMGOV_SIGNING", json.dumps({"conn_type": "generic"}))
    with pytest.raises(SigningKeyError, match="has no password"):
        load_signer()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    ec = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_MMGOV_SIGNING", json.dumps({"conn_type": "generic", "password": ec.decode()})
    )
    with pytest.raises(SigningKeyError, match="not an Ed25519 private key"):
        load_signer()
    bad = tmp_path / "bad.pem"
    bad.write_text("nothing here")
    with pytest.raises(SigningKeyError, match="no PEM public key"):
        load_public_keys([bad])


def test_verify_usage_errors(tmp_path, capsys):
    from mmgov.custody.verify import main as verify_main

    bad = tmp_path / "bad.pem"
    bad.write_text("x")
    assert verify_main([str(tmp_path), "--public-key", str(bad)]) == 2
    assert verify_main([str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().out.strip() == f"{tmp_path / 'nope'}: no such file or folder"
    (tmp_path / "manifest.json").write_text("{not json")
    assert verify_main([str(tmp_path)]) == 1
    assert capsys.readouterr().out.startswith("manifest.json: not a readable manifest")


def test_note_text():
    ref = {
        "manifest": "/x/manifest.json",
        "manifest_sha256": "ab" * 32,
        "signed": True,
        "signing_key_id": "cd" * 32,
    }
    assert note_text(ref) == (
        f"Manifest: `/x/manifest.json` (SHA-256 `{'ab' * 32}`), signed (Ed25519, key `{'cd' * 8}…`)."
    )
    assert "**unsigned** (no `mmgov_signing` connection)" in note_text({**ref, "signed": False})
    assert note_text(None) == "Manifest: none written."


def test_rollup_attest_and_expire_commands(mm_dsn, tmp_path, signing_key, capsys):
    settings = json.dumps({"FileSettings": {"Directory": str(tmp_path / "fs")}})
    base = ["--dsn", mm_dsn, "--settings", settings]
    assert custody_main([*base, "rollup", "2026-01"]) == 0
    out = _json_out(capsys)
    assert out["runs"] == 0
    assert out["signed"] is True
    assert Path(out["manifest"]) == tmp_path / "fs/export/retention-attestations/2026/01/rollup-2026-01.json"
    assert custody_main([*base, "expire"]) == 0
    assert _json_out(capsys)["status"].startswith("disabled")
    assert custody_main([*base, "attest", "nosuchrun0000000000000000"]) == 1
    assert "nosuchrun" in capsys.readouterr().err
    assert custody_main([*base, "rollup", "January"]) == 1


def test_python_dash_m_mmgov_custody_help():
    out = subprocess.run(
        [sys.executable, "-m", "mmgov", "custody", "--help"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0
    assert "rollup" in out.stdout


def test_a_bad_key_fails_a_task_without_retry(monkeypatch):
    from mmgov.outcome import error_line, is_deterministic

    monkeypatch.setenv(
        "AIRFLOW_CONN_MMGOV_SIGNING", json.dumps({"conn_type": "generic", "password": "garbage"})
    )
    with pytest.raises(SigningKeyError) as err:
        load_signer()
    assert error_line(err.value).startswith("MMGOV_SIGNING_KEY_INVALID: Airflow connection mmgov_signing")
    assert is_deterministic(err.value)  # the task edge fails the task: no retry
