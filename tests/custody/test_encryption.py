"""mmgov.custody.encryption: export files sealed to age recipients (``Mmgov.ExportRecipients``).

The whole export encrypted and verified end to end is tests/custody/test_compliance_s3_and_encryption.py;
here the recipients' check and the file round trip on their own.
"""

from __future__ import annotations

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mmgov.custody.encryption import check_recipients, decrypt_file, encrypt_file
from mmgov.errors import SettingsError
from mmgov.settings import Settings


def test_bad_recipient_is_a_settings_error():
    with pytest.raises(SettingsError, match=r"Mmgov.ExportRecipients: 'age1nope' is not an age recipient"):
        Settings.parse({"Mmgov": {"ExportRecipients": ["age1nope"]}})
    with pytest.raises(SettingsError, match="must be a list of age public keys"):
        Settings.parse({"Mmgov": {"ExportRecipients": "age1abc"}})
    with pytest.raises(SettingsError, match=r"Mmgov.ExportRetentionDays must be >= 0"):
        Settings.parse({"Mmgov": {"ExportRetentionDays": -1}})


def _ssh_key() -> tuple[str, bytes]:
    """An ed25519 SSH key pair: (public key line, OpenSSH private key)."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return public.decode(), private


def test_recipients_are_age_or_ssh_public_keys_stripped():
    age = str(pyrage.x25519.Identity.generate().to_public())
    ssh, _ = _ssh_key()
    key = "Mmgov.ExportRecipients"
    assert check_recipients(key, [f" {age}\n", ssh]) == (age, ssh)
    with pytest.raises(SettingsError, match=r"'AGE-SECRET-KEY-1X' is not an age recipient"):
        check_recipients(key, ["AGE-SECRET-KEY-1X"])  # a private key pasted by mistake
    with pytest.raises(SettingsError, match="must be a list"):
        check_recipients(key, [age, " "])


def test_every_recipient_can_decrypt_and_nobody_else(tmp_path):
    plain = tmp_path / "batch001.zip"
    plain.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4000)  # bigger than one age chunk (64 KiB)
    first, second = pyrage.x25519.Identity.generate(), pyrage.x25519.Identity.generate()
    sealed = tmp_path / "batch001.zip.age"
    encrypt_file(plain, sealed, [str(first.to_public()), str(second.to_public())])
    assert sealed.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert plain.read_bytes() not in sealed.read_bytes()
    for identity in (first, second):
        out = tmp_path / f"out-{identity.to_public()}"
        decrypt_file(sealed, out, f"  {identity}\n")
        assert out.read_bytes() == plain.read_bytes()
    with pytest.raises(pyrage.DecryptError):
        decrypt_file(sealed, tmp_path / "nope", str(pyrage.x25519.Identity.generate()))


def test_an_ssh_recipient_decrypts_with_its_private_key(tmp_path):
    public, private = _ssh_key()
    plain = tmp_path / "posts.zip"
    plain.write_bytes(b"zip bytes")
    sealed = tmp_path / "posts.zip.age"
    encrypt_file(plain, sealed, [public])
    assert pyrage.decrypt(sealed.read_bytes(), [pyrage.ssh.Identity.from_buffer(private)]) == b"zip bytes"


def test_ciphertexts_differ_between_runs_of_the_same_file(tmp_path):
    """A fresh file key each time: a re-run's ciphertext differs though the zip is identical."""
    plain = tmp_path / "batch.zip"
    plain.write_bytes(b"same zip")
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    encrypt_file(plain, tmp_path / "a.age", [recipient])
    encrypt_file(plain, tmp_path / "b.age", [recipient])
    assert (tmp_path / "a.age").read_bytes() != (tmp_path / "b.age").read_bytes()
