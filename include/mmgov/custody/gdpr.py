"""The GDPR export's manifest: ``<export>.manifest.json`` (+ ``.sig``) beside the archive or folder.

Written right after the export got its final name, so its presence means the export is complete
(a failed export leaves neither). It lists the archive (or, for a folder, every file in it) with
its size and SHA-256, every entry of the archive with its own (``archive_entries``: ``import.jsonl``,
each file under ``data/`` and ``exported_emoji/``, ``warnings.txt``), the lines of ``import.jsonl``
per type, the progress counters, the warnings, the job and its options. All hashes are computed while
the export is written, plus one read of the finished archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmgov.custody import manifest
from mmgov.custody.manifest import ManifestRef
from mmgov.custody.signing import Signer, load_signer
from mmgov.custody.store import LocalStore

SIDECAR_SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class ExportCustody:
    """How an export is signed and encrypted (loaded once per run, before any work)."""

    signer: Signer | None = None
    recipients: tuple[str, ...] = field(default=())

    @classmethod
    def load(cls, recipients: tuple[str, ...] = ()) -> ExportCustody:
        return cls(load_signer(), tuple(recipients))


def write_gdpr_manifest(
    sink: Any,
    final: Path,
    *,
    line_counts: dict[str, int],
    progress: dict[str, int],
    warnings: int,
    job: dict[str, Any],
    custody: ExportCustody,
) -> ManifestRef:
    """Write ``<final>.manifest.json`` for a committed export (``sink``: its :class:`ExportSink`)."""
    entries = [
        {"name": name, "size": size, "sha256": digest}
        for name, (size, digest) in sorted(sink.file_hashes.items())
    ]
    if final.is_dir():
        files = [{**e, "name": f"{final.name}/{e['name']}"} for e in entries]
        owns, archive_entries = final.name, None
    else:
        files = [
            {
                "name": final.name,
                "size": final.stat().st_size,
                "sha256": sink.archive_sha256,
                "encrypted": bool(custody.recipients),
            }
        ]
        owns, archive_entries = None, entries
    body = {
        "owns": owns,
        "export": {
            "name": final.name,
            "layout": "folder" if final.is_dir() else "archive",
            "job": job,
            "line_counts": dict(sorted(line_counts.items())),
            "progress": progress,
            "warnings": warnings,
        },
        "archive_entries": archive_entries,
    }
    doc = manifest.new_document(
        "gdpr_export", body, files=files, signer=custody.signer, recipients=custody.recipients
    )
    return manifest.write(LocalStore(final.parent), "", doc, custody.signer, name=final.name + SIDECAR_SUFFIX)
