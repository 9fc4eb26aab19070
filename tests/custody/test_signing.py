"""Ed25519 signing keys: key ids as openssl computes them, signatures openssl verifies, the connection's errors."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from mmgov.custody.signing import SigningKeyError, load_public_keys, load_signer

OPENSSL = shutil.which("openssl")


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


def test_a_bad_key_fails_a_task_without_retry(monkeypatch):
    from mmgov.outcome import error_line, is_deterministic

    monkeypatch.setenv(
        "AIRFLOW_CONN_MMGOV_SIGNING", json.dumps({"conn_type": "generic", "password": "garbage"})
    )
    with pytest.raises(SigningKeyError) as err:
        load_signer()
    assert error_line(err.value).startswith("MMGOV_SIGNING_KEY_INVALID: Airflow connection mmgov_signing")
    assert is_deterministic(err.value)  # the task edge fails the task: no retry
