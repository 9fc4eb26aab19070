"""Ed25519 signatures of manifests and attestations, with the key of the ``mmgov_signing`` connection.

The connection's password holds the private key as PEM (PKCS#8, ``openssl genpkey -algorithm ed25519``).
The key id is the SHA-256 of the public key's DER SubjectPublicKeyInfo, in hex: an auditor computes it
with ``openssl pkey -pubin -in public.pem -outform DER | sha256sum``. Signatures are detached, raw
64 bytes over the signed file's exact bytes, so ``openssl pkeyutl -verify -rawin`` checks them too.
Without the connection nothing is signed and the run says so (never a silent downgrade).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mmgov.errors import SettingsError

log = logging.getLogger(__name__)
SIGNING_CONN_ID = "mmgov_signing"
SIGNATURE_SUFFIX = ".sig"


class SigningKeyError(SettingsError):
    """The ``mmgov_signing`` connection holds no usable Ed25519 private key (no retry can fix it)."""

    code = "MMGOV_SIGNING_KEY_INVALID"
    retryable = False  # the task edge fails the task at once


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the public key's DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class Signer:
    """A private key and its id; :meth:`sign` gives the detached signature of some bytes."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    @classmethod
    def from_pem(cls, pem: str | bytes, *, where: str = f"Airflow connection {SIGNING_CONN_ID}") -> Signer:
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data.strip() + b"\n", password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(
                f"{where}: the password must be an unencrypted Ed25519 private key in PEM "
                f"(openssl genpkey -algorithm ed25519); it could not be read ({type(exc).__name__})"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{where}: the key is {type(key).__name__}, not an Ed25519 private key")
        return cls(key)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()


def load_signer(conn_id: str = SIGNING_CONN_ID) -> Signer | None:
    """The signer of the ``mmgov_signing`` connection, or None when the connection does not exist.

    A connection that exists but holds no valid key raises :class:`SigningKeyError` (a typo in the
    key must not quietly turn signing off).
    """
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - AirflowNotFoundException and friends: no connection
        log.warning("no %s connection (%s): manifests are written unsigned", conn_id, type(exc).__name__)
        return None
    if not conn.password:
        raise SigningKeyError(f"Airflow connection {conn_id} has no password: put the PEM private key there")
    return Signer.from_pem(conn.password, where=f"Airflow connection {conn_id}")


def load_public_keys(paths: list[Path]) -> dict[str, Ed25519PublicKey]:
    """Public keys (PEM files; one file may hold several) by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        keys.update(parse_public_keys(Path(path).read_bytes(), where=str(path)))
    return keys


def parse_public_keys(text: bytes, *, where: str) -> dict[str, Ed25519PublicKey]:
    """Every PEM Ed25519 public key in ``text``, by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    blocks = [b for b in text.split(b"-----END PUBLIC KEY-----") if b"-----BEGIN" in b]
    if not blocks:
        raise SigningKeyError(f"{where}: no PEM public key (-----BEGIN PUBLIC KEY-----) found")
    for block in blocks:
        pem = block.strip() + b"\n-----END PUBLIC KEY-----\n"
        try:
            key = serialization.load_pem_public_key(pem)
        except ValueError as exc:
            raise SigningKeyError(f"{where}: not a PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"{where}: the key is {type(key).__name__}, not Ed25519")
        keys[key_id(key)] = key
    return keys


def trusted_public_keys(conn_id: str = SIGNING_CONN_ID) -> dict[str, Ed25519PublicKey]:
    """The keys mmgov itself trusts (expiry checks manifests with them): the current key's public half
    and, after a rotation, the earlier public keys listed in the connection's extra
    ``previous_public_keys`` (PEM strings). Empty without the connection."""
    signer = load_signer(conn_id)
    if signer is None:
        return {}
    from airflow.sdk import BaseHook

    keys = {signer.key_id: signer.public_key}
    previous = BaseHook.get_connection(conn_id).extra_dejson.get("previous_public_keys") or []
    if isinstance(previous, str):
        previous = [previous]
    for pem in previous:
        keys.update(parse_public_keys(str(pem).encode(), where=f"{conn_id} extra previous_public_keys"))
    return keys


def check_signature(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
