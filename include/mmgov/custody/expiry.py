"""Expiry of delivered exports after ``Mmgov.ExportRetentionDays`` (0, the default: keep forever).

Safety rule: an export is removed only when (1) its manifest says it was delivered more than
``ExportRetentionDays`` ago, (2) no active legal hold covers content it may hold, and (3) it passes
``verify`` (signature with the keys of ``mmgov_signing``, every file's size and hash) right before
removal. An export that fails verify is kept and the task fails with the list (the failure alert
goes out); one under a hold is kept and listed. Removal deletes the manifest first (so a half-removed
export never looks complete), then its signature, then its files; each removal is audited
(``compliance_export.expired`` / ``export.expired``) with the manifest's location and SHA-256.
Nothing can undo a removal: keep a copy elsewhere if the law asks for longer.

Which exports: compliance export run folders with a ``manifest.json`` under the export root (folder
or S3), and GDPR exports of completed ``gdpr_export`` jobs (the archive or folder and the manifest
beside it). Legal holds: a compliance export is held when a post in a held user, channel or team
existed during its window (``createat`` before its end, ``updateat`` at or after its start: an
exported version may have been edited since); a whole-workspace GDPR export is held by any active
hold, a per-person one by a hold on one of its people or any channel or team hold.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import mmgov.bulk_export.job_state  # noqa: F401 - registers gdpr_export.sql (the jobs table)
from mmgov import audit
from mmgov.custody import manifest as mf
from mmgov.custody.attestation import export_root
from mmgov.custody.gdpr import SIDECAR_SUFFIX
from mmgov.custody.signing import SIGNATURE_SUFFIX
from mmgov.custody.store import ArtifactStore, LocalStore, S3Store, join
from mmgov.custody.verify import Options, verify_location, verify_manifest_at
from mmgov.errors import MmgovError
from mmgov.retention.legal_hold import held_predicate

log = logging.getLogger(__name__)
DAY_MS = 86_400_000
COMPLIANCE_PREFIX = "compliance-export-"


class ExpiryRefused(MmgovError):
    """Expired exports whose manifest fails verify were kept: a person must look at them."""

    code = "MMGOV_EXPORT_EXPIRY_REFUSED"
    status = 409


def _ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


_HELD_WINDOW = sql.SQL(
    "SELECT EXISTS (SELECT 1 FROM posts p LEFT JOIN channels c ON c.id = p.channelid"
    " WHERE p.createat < %(end)s AND p.updateat >= %(start)s AND {held})"
).format(held=held_predicate("p.userid", "p.channelid", "coalesce(c.teamid, '')", "p.createat"))


def window_is_held(conn: psycopg.Connection, start_ms: int, end_ms: int, now_ms: int) -> bool:
    """True when an active hold covers a post that existed during ``[start_ms, end_ms)``."""
    if conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM mmgov.legal_holds WHERE released_at IS NULL OR released_at > %s)",
        (now_ms,),
    ).fetchone()[0]:
        return False
    return bool(
        conn.execute(_HELD_WINDOW, {"start": start_ms, "end": end_ms, "holds_as_of": now_ms}).fetchone()[0]
    )


def gdpr_is_held(conn: psycopg.Connection, people: list[str], now_ms: int) -> bool:
    """A GDPR export is held by any active hold (whole workspace), or by a hold on one of its people or
    on any channel or team (per person: their threads and channels are in it)."""
    holds = conn.execute(
        "SELECT scope, target_id FROM mmgov.legal_holds WHERE released_at IS NULL OR released_at > %s",
        (now_ms,),
    ).fetchall()
    if not holds:
        return False
    if not people or any(scope != "user" for scope, _ in holds):
        return True
    ids = {
        r[0]
        for r in conn.execute(
            "SELECT id FROM users WHERE username = ANY(%(p)s) OR lower(email) = ANY(%(lp)s)",
            {"p": people, "lp": [p.lower() for p in people]},
        )
    }
    return any(target in ids for _, target in holds) or len(ids) < len(set(people))


def _remove(store: ArtifactStore, folder: str, name: str, doc: dict[str, Any]) -> None:
    """Manifest first (nothing half-removed looks complete), then its signature, then its files."""
    store.delete(join(folder, name))
    store.delete(join(folder, name + SIGNATURE_SUFFIX))
    for f in doc.get("files") or []:
        store.delete(join(folder, f["name"]))


def expire_exports(
    conn: psycopg.Connection,
    settings: Any,
    *,
    store: ArtifactStore | None = None,
    public_keys: dict[str, Any] | None = None,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """Remove what has expired (see the module docstring); returns what was removed, held, refused."""
    days = settings.Mmgov.ExportRetentionDays
    summary: dict[str, Any] = {
        "retention_days": days,
        "removed": [],
        "held": [],
        "refused": [],
        "no_manifest": [],
    }
    if not days:
        return {**summary, "status": "disabled (Mmgov.ExportRetentionDays is 0: exports are kept forever)"}
    if public_keys is None:
        from mmgov.custody.signing import trusted_public_keys

        public_keys = trusted_public_keys()
    # With a signing key, a manifest must carry a valid signature by it (or an earlier key) to go.
    options = Options(dict(public_keys), allow_unsigned=not public_keys)
    now_ms = now_ms if now_ms is not None else int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    cutoff = now_ms - days * DAY_MS
    _expire_compliance(conn, store or export_root(settings), options, cutoff, now_ms, summary)
    _expire_gdpr(conn, options, cutoff, now_ms, summary)
    summary["status"] = "refused" if summary["refused"] else "ok"
    log.info(
        "export expiry (%d days): %d removed, %d held, %d refused, %d without manifest",
        days,
        len(summary["removed"]),
        len(summary["held"]),
        len(summary["refused"]),
        len(summary["no_manifest"]),
    )
    return summary


def _run_folders(store: ArtifactStore) -> dict[str, set[str]]:
    folders: dict[str, set[str]] = {}
    for name in store.list(""):
        head, _, rest = name.partition("/")
        if head.startswith(COMPLIANCE_PREFIX) and rest:
            folders.setdefault(head, set()).add(rest)
    return folders


def _sub(store: ArtifactStore, folder: str) -> ArtifactStore:
    if isinstance(store, S3Store):
        return S3Store(store.bucket, join(store.prefix, folder), store.client)
    assert isinstance(store, LocalStore)
    return LocalStore(store.root / folder)


def _expire_compliance(
    conn: psycopg.Connection,
    store: ArtifactStore,
    options: Options,
    cutoff: int,
    now_ms: int,
    out: dict[str, Any],
) -> None:
    for folder, names in sorted(_run_folders(store).items()):
        location = store.describe(folder)
        if mf.MANIFEST_NAME not in names:
            out["no_manifest"].append(location)
            continue
        sub = _sub(store, folder)
        try:
            doc = mf.parse(sub.read_bytes(mf.MANIFEST_NAME) or b"")
            delivered = _ms(doc["run"]["delivered_at"])
            window = doc["export"]["window"]
        except (ValueError, KeyError, TypeError) as exc:
            out["refused"].append({"location": location, "problems": [f"manifest.json: unreadable ({exc})"]})
            continue
        if delivered >= cutoff:
            continue
        if window_is_held(conn, int(window["start_ms"]), int(window["end_ms"]), now_ms):
            out["held"].append(location)
            continue
        report = verify_manifest_at(sub, "", mf.MANIFEST_NAME, options)
        if not report.ok:
            out["refused"].append({"location": location, "problems": report.problems})
            continue
        _remove(sub, "", mf.MANIFEST_NAME, doc)
        if isinstance(sub, LocalStore):
            sub.remove_empty_dirs("")
        entry = {
            "location": location,
            "manifest_sha256": report.manifest_sha256,
            "window": window,
            "files": len(doc.get("files") or []),
            "delivered_at": doc["run"]["delivered_at"],
        }
        audit.record(conn, "compliance_export.expired", entry)
        out["removed"].append(entry)


def _expire_gdpr(
    conn: psycopg.Connection, options: Options, cutoff: int, now_ms: int, out: dict[str, Any]
) -> None:
    rows = conn.execute(
        "SELECT job_id, output_path, params FROM mmgov.gdpr_export_jobs WHERE status = 'completed'"
        " AND output_path IS NOT NULL AND finished_at < to_timestamp(%s / 1000.0) ORDER BY finished_at",
        (cutoff,),
    ).fetchall()
    for job_id, output_path, params in rows:
        path = Path(output_path)
        if not (path.is_absolute() and path.name.startswith("gdpr-export-") and ".." not in path.parts):
            # Only what gdpr_export writes is ever removed, whatever the row says.
            out["refused"].append({"location": output_path, "problems": ["not a gdpr_export output path"]})
            continue
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        if not path.exists() and not sidecar.exists():
            continue  # removed already (by an earlier expiry or by hand)
        if not sidecar.exists():
            out["no_manifest"].append(str(path))
            continue
        if gdpr_is_held(conn, list((params or {}).get("users") or []), now_ms):
            out["held"].append(str(path))
            continue
        report = verify_location(str(path), options)
        if not report.ok:
            out["refused"].append({"location": str(path), "problems": report.problems})
            continue
        store = LocalStore(path.parent)
        store.delete(sidecar.name)
        store.delete(sidecar.name + SIGNATURE_SUFFIX)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        entry = {
            "job_id": job_id,
            "location": str(path),
            "manifest": str(sidecar),
            "manifest_sha256": report.manifest_sha256,
        }
        audit.record(conn, "export.expired", entry)
        out["removed"].append(entry)


def raise_if_refused(summary: dict[str, Any]) -> None:
    if summary["refused"]:
        lines = "; ".join(
            f"{r['location']}: {' | '.join(r['problems'][:3])}" for r in summary["refused"][:10]
        )
        raise ExpiryRefused(
            f"{len(summary['refused'])} expired export(s) kept because their manifest fails verify "
            f"(a person must check them): {lines}"
        )
