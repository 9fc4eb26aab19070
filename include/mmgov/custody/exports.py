"""The manifests of the two exports: the compliance export's run folder and the GDPR archive.

Compliance export (written by :func:`mmgov.compliance.publishing.deliver` after the zips are published):
``<run folder>/manifest.json`` lists every batch zip of the folder (name, size, SHA-256, the counts
the format wrote, the first and last ``(updateat, id)``, the entries in the zip), the
reconciliation's database counts, the settings that shape the output, Mattermost's schema version,
mmgov's version, the Airflow run; for Global Relay by SMTP the emails the ledger says were accepted
(Message-ID, SHA-256, SMTP reply) instead of files. Each batch carries the ``window`` it belongs to:
the run's window, or for a late batch (``late: true``, :mod:`mmgov.compliance.ledger`) the span of
earlier windows it was read from, with ``late_windows``: each earlier window and its late posts.

GDPR export: ``<archive>.manifest.json`` beside ``gdpr-export-....zip`` (or ``manifest.json``
inside the export folder): counts per line type of ``import.jsonl``, the warnings, the SHA-256 of
``import.jsonl``, of every file under ``data/`` and ``exported_emoji/``, and of the archive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmgov.custody import manifest
from mmgov.custody.manifest import ManifestRef
from mmgov.custody.signing import Signer
from mmgov.custody.store import ArtifactStore, LocalStore, S3Store, store_of

if TYPE_CHECKING:
    from mmgov.compliance.export_request import ExportRequest
    from mmgov.compliance.formats import ComplianceFormat
    from mmgov.compliance.staging import Manifest as StagedRun

__all__ = ["store_of", "withdraw", "write_compliance_manifest"]


def withdraw(store: ArtifactStore, folder: str) -> None:
    manifest.withdraw(store, folder)


def _export_settings(fmt: ComplianceFormat, request: ExportRequest) -> dict[str, Any]:
    """The settings that shape the output (no secrets: those live in connections)."""
    s = fmt.settings
    gr = s.MessageExportSettings.GlobalRelaySettings
    return {
        "MessageExportSettings": {
            "ExportFormat": request.export_format,
            "BatchSize": request.batch_size,
            "ExportFromTimestamp": s.MessageExportSettings.ExportFromTimestamp,
            "GlobalRelaySettings": {
                "CustomerType": gr.CustomerType,
                "EmailAddress": gr.EmailAddress,
                "CustomSMTPServerName": gr.CustomSMTPServerName,
                "CustomSMTPPort": gr.CustomSMTPPort,
            },
        },
        "Mmgov": {
            "CsvMembershipRows": s.Mmgov.CsvMembershipRows,
            "GlobalRelayIncludeMessageDeletions": s.Mmgov.GlobalRelayIncludeMessageDeletions,
            "GlobalRelayMaxEmailBytes": s.Mmgov.GlobalRelayMaxEmailBytes,
            "ExportRecipients": list(s.Mmgov.ExportRecipients),
            "ExportDestination": s.Mmgov.ExportDestination,
        },
    }


def write_compliance_manifest(
    store: LocalStore | S3Store,
    request: ExportRequest,
    staged: StagedRun,
    fmt: ComplianceFormat,
    *,
    signer: Signer | None,
    run_id: str,
) -> ManifestRef:
    """Write ``<run folder>/manifest.json`` (+ ``.sig``) last; return where it is and its digest."""
    from mmgov.compliance.reconcile import reconcile

    window = request.window.as_dict()
    records = staged.all_batches
    report = reconcile(request.window, staged.db.posts, staged.db.files, staged.batches)
    files: list[dict[str, Any]] = []
    batches = []
    late_of = {id(rec): part for part in staged.late for rec in part.batches}
    for rec in records:
        r = rec.result
        part = late_of.get(id(rec))
        batch = {
            "number": rec.number,
            "zip_name": rec.zip_name,
            "file": rec.staged.zip_name if fmt.publishes_archive else None,
            # the window this batch belongs to (a late batch: the span of earlier windows it was read from)
            "window": part.span.span.as_dict() if part else window,
            **({"late": True, "late_windows": part.by_window} if part else {}),
            "start_ms": rec.start_ms,
            "end_ms": rec.end_ms,
            "first": list(rec.first_post) if rec.first_post else None,
            "last": list(rec.last_post) if rec.last_post else None,
            "posts": r.posts,
            "posts_skipped": r.posts_skipped,
            "entries": r.messages,
            "uploads": r.uploads,
            "file_deletions": r.file_deletions,
            "files": r.files_copied,
            "files_missing": r.files_missing,
            "files_skipped": r.files_skipped,
            "members": r.members,
            "channels": r.channels,
            "warnings": len(r.warnings),
            "format_figures": r.extra,
            "zip_entries": rec.zip_entries,
            "zip_sha256": rec.staged.sha256,
            "zip_size": rec.staged.size,
        }
        batches.append(batch)
        if fmt.publishes_archive:
            files.append(
                {
                    "name": rec.staged.zip_name,
                    "size": rec.staged.size,
                    "sha256": rec.staged.sha256,
                    "batch": rec.number,
                    "encrypted": rec.staged.zip_name != rec.zip_name,
                }
            )
    delivery: dict[str, Any] = {"kind": "s3" if isinstance(store, S3Store) else "folder"}
    if not fmt.publishes_archive:
        delivery = {"kind": "smtp", "emails": _ledger_emails(request, records)}
    body = {
        "owns": "",  # the run folder holds nothing but what this manifest lists
        "export": {
            "format": request.export_format,
            "window": window,
            "source": request.source,
            "run_folder": request.run_folder,
            "destination": request.destination,
        },
        "run": {"airflow_run_id": run_id, "run_key": request.run_key, "delivered_at": manifest.utc_now()},
        "settings": _export_settings(fmt, request),
        "mattermost": staged.mattermost,
        "reconciliation": {k: v for k, v in report.as_dict().items() if k != "problems"},
        "late": [{**p.span.as_dict(), "db": {"posts": p.db.posts, "files": p.db.files}} for p in staged.late],
        "batches": batches,
        "totals": {
            "posts": sum(b["posts"] for b in batches),
            "entries": sum(b["entries"] for b in batches),
            "files": sum(b["files"] for b in batches),
            "members": sum(b["members"] for b in batches),
        },
        "delivery": delivery,
    }
    recipients = fmt.settings.Mmgov.ExportRecipients if fmt.publishes_archive else ()
    doc = manifest.new_document("compliance_export", body, files=files, signer=signer, recipients=recipients)
    return manifest.write(store, request.run_folder, doc, signer)


def _ledger_emails(request: ExportRequest, records: list[Any]) -> list[dict[str, Any]]:
    """Global Relay by SMTP: what the delivery ledger says the server accepted for this run's batches."""
    from mmgov.compliance.globalrelay_ledger import DeliveryLedger

    keys = [f"{request.run_folder}/{rec.zip_name}" for rec in records]
    with DeliveryLedger.open() as ledger:
        return ledger.sent(keys)
