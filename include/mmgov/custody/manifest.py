"""Manifests: what an artifact set holds, written last and signed, so presence means complete.

A manifest is one JSON document (``manifest.json`` in a run folder, ``<archive>.manifest.json``
beside a GDPR archive, the attestation itself for retention) with:

* ``mmgov_manifest`` (format version), ``kind``, ``created_at``, ``mmgov_version``;
* ``signing``: the algorithm and key id of the detached signature ``<manifest>.sig`` (raw Ed25519
  over the manifest file's exact bytes), or nulls when unsigned;
* ``encryption``: the age recipients the files were encrypted to, or null;
* ``files``: every file the manifest vouches for, relative to the manifest's folder, with its
  ``size`` and ``sha256`` (of the bytes stored, i.e. the ciphertext when encrypted) and what the
  kind adds (counts, ranges);
* the kind's own body (window, settings, counts, run ...).

Writing order: the signature, then the manifest (atomically). A reader that finds the manifest finds
its signature; a failed run writes neither, and a re-run deletes the old pair before it publishes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import mmgov
from mmgov.custody.signing import SIGNATURE_SUFFIX, SIGNING_CONN_ID, Signer
from mmgov.custody.store import ArtifactStore, join

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
KINDS = ("compliance_export", "gdpr_export", "retention_attestation", "retention_attestation_rollup")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_document(
    kind: str,
    body: dict[str, Any],
    *,
    files: list[dict[str, Any]],
    signer: Signer | None,
    recipients: tuple[str, ...] | list[str] = (),
) -> dict[str, Any]:
    """The manifest document (not yet rendered)."""
    if kind not in KINDS:
        raise ValueError(f"manifest kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return {
        "mmgov_manifest": FORMAT_VERSION,
        "kind": kind,
        "created_at": utc_now(),
        "mmgov_version": mmgov.__version__,
        "signing": {
            "algorithm": "ed25519" if signer else None,
            "key_id": signer.key_id if signer else None,
            "note": None if signer else f"unsigned: no Airflow connection {SIGNING_CONN_ID}",
        },
        "encryption": {"scheme": "age", "recipients": list(recipients)} if recipients else None,
        "files": sorted(files, key=lambda f: f["name"]),
        **body,
    }


def render(doc: dict[str, Any]) -> bytes:
    """Stable bytes: sorted keys, two-space indent, UTF-8, a final newline."""
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode()


def parse(data: bytes) -> dict[str, Any]:
    doc = json.loads(data.decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("mmgov_manifest") != FORMAT_VERSION:
        raise ValueError('not an mmgov manifest (no "mmgov_manifest": 1)')
    return doc


@dataclass(frozen=True)
class ManifestRef:
    """Where a written manifest is and what it is: for the run summary, asset events and run notes."""

    location: str
    sha256: str
    signed: bool
    key_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "manifest": self.location,
            "manifest_sha256": self.sha256,
            "signed": self.signed,
            "signing_key_id": self.key_id,
        }


def write(
    store: ArtifactStore,
    folder: str,
    doc: dict[str, Any],
    signer: Signer | None,
    *,
    name: str = MANIFEST_NAME,
) -> ManifestRef:
    """Write ``<folder>/<name>`` (and its signature first); returns its location and digest."""
    data = render(doc)
    path = join(folder, name)
    if signer is not None:
        store.put_atomic(path + SIGNATURE_SUFFIX, signer.sign(data))
    else:
        store.delete(path + SIGNATURE_SUFFIX)
    store.put_atomic(path, data)
    return ManifestRef(
        store.describe(path),
        hashlib.sha256(data).hexdigest(),
        signer is not None,
        signer.key_id if signer else None,
    )


def withdraw(store: ArtifactStore, folder: str, *, name: str = MANIFEST_NAME) -> None:
    """Remove a manifest and its signature (before its artifacts are replaced: the old manifest must
    never describe a half-replaced set). The manifest goes first, so a crash leaves no stale pair."""
    path = join(folder, name)
    store.delete(path)
    store.delete(path + SIGNATURE_SUFFIX)


def note_text(ref: dict[str, Any] | None) -> str:
    """One Markdown line for a run note: where the manifest is, its digest, signed or not."""
    if not ref:
        return "Manifest: none written."
    signed = (
        f"signed (Ed25519, key `{ref['signing_key_id'][:16]}…`)"
        if ref.get("signed")
        else f"**unsigned** (no `{SIGNING_CONN_ID}` connection)"
    )
    return f"Manifest: `{ref['manifest']}` (SHA-256 `{ref['manifest_sha256']}`), {signed}."
