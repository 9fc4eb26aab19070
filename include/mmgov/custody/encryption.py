"""Encryption at rest of export files to age recipients (``Mmgov.ExportRecipients``), with pyrage.

Every export file is written as ``<name>.age`` (age v1, X25519 or SSH recipients): only holders of a
recipient's identity read it. The manifest hashes the ciphertext and lists the recipients, so
``verify`` checks an encrypted export without any private key. Decrypt with the ``age`` or ``rage``
command (``age -d -i key.txt batch001-....zip.age > batch001-....zip``) or
:func:`decrypt_file`. age output is randomised (a fresh file key each time): re-runs of a window give
different ciphertexts of identical zips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmgov.errors import SettingsError

AGE_SUFFIX = ".age"


def _parse_recipient(text: str) -> Any:
    import pyrage

    if text.startswith("age1"):
        return pyrage.x25519.Recipient.from_str(text)
    if text.startswith(("ssh-ed25519 ", "ssh-rsa ")):
        return pyrage.ssh.Recipient.from_str(text)
    raise ValueError("not an age1... or ssh-ed25519/ssh-rsa public key")


def check_recipients(key: str, value: Any) -> tuple[str, ...]:
    """``Mmgov.ExportRecipients``: a list of age public keys (``age1...``) or SSH public keys."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SettingsError(f"{key} must be a list of age public keys (age1...), got {value!r}")
    out = []
    for text in value:
        try:
            _parse_recipient(text.strip())
        except Exception as exc:  # noqa: BLE001 - pyrage.RecipientError and ValueError: both a bad key
            raise SettingsError(
                f"{key}: {text.strip()[:80]!r} is not an age recipient (age1... or ssh-ed25519 ...): {exc}"
            ) from None
        out.append(text.strip())
    return tuple(out)


def encrypt_file(source: Path, target: Path, recipients: tuple[str, ...] | list[str]) -> None:
    """Stream ``source`` into ``target`` encrypted to every recipient (memory stays flat)."""
    import pyrage

    parsed = [_parse_recipient(r) for r in recipients]
    with open(source, "rb") as src, open(target, "wb") as dst:
        pyrage.encrypt_io(src, dst, parsed)


def decrypt_file(source: Path, target: Path, identity: str) -> None:
    """Decrypt with an age identity (``AGE-SECRET-KEY-1...``): tests, and auditors without the CLI."""
    import pyrage

    ident = pyrage.x25519.Identity.from_str(identity.strip())
    with open(source, "rb") as src, open(target, "wb") as dst:
        pyrage.decrypt_io(src, dst, [ident])
