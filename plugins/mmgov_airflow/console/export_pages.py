"""Console pages of compliance and GDPR exports, with verification against the signed manifest."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from mmgov import governance
from mmgov.retention.preview_text import when
from mmgov_airflow.api.deps import DbDep, SettingsDep
from mmgov_airflow.console.base import (
    ConsoleAdmin,
    at_time,
    render,
    router,
    timezone_of,
)

# --- exports --------------------------------------------------------------------------------------


def _export_row(row: dict[str, Any], tz: str, verified: dict | None = None) -> dict[str, Any]:
    p = row["payload"]
    custody = p.get("custody") or {}
    window = "-"
    if p.get("window_start_ms") is not None:
        window = f"{when(p['window_start_ms'], tz)} \u2192 {when(p['window_end_ms'], tz)}"
    delivery = p.get("delivery")
    if row["event"] == "compliance_export.failed":
        manifest = "-"
        status = f"failed: {p.get('error') or p.get('message') or ''}"
    else:
        manifest = (
            f"written, {'signed by key ' + str(custody.get('key_id')) if custody.get('signed') else 'unsigned'}"
            if custody
            else "none (written before chain of custody)"
        )
        status = "delivered" if not delivery else "; ".join(f"{k}: {v}" for k, v in delivery.items())
    return {
        "id": row["id"],
        "at": at_time(row["at"], tz),
        "run_id": p.get("run_id", ""),
        "window": window,
        "format": p.get("format", "-"),
        "messages": f"{p.get('messages', 0):,}",
        "files": f"{p.get('files', 0):,}"
        + (f" ({p['files_missing']} missing)" if p.get("files_missing") else ""),
        "warnings": f"{p.get('warnings', 0)}" + ("".join(f"; {w}" for w in p.get("warning_lines", [])[:3])),
        "location": p.get("location") or custody.get("location") or "-",
        "delivery": status,
        "manifest": manifest,
        "verify": bool(custody.get("location")),
        "verified": verified,
    }


@router.get("/exports", name="exports_page")
def exports_page(
    request: Request, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep, page: int = Query(0, ge=0)
) -> HTMLResponse:
    result = governance.compliance_exports_page(conn, page=page)
    rows = [_export_row(r, timezone_of(settings)) for r in result.rows]
    return render(
        request,
        "exports.html",
        title="Compliance exports",
        here="exports",
        exports=rows,
        page=page,
        more=result.more,
    )


@router.post("/exports/{audit_id}/verify")
def verify_export(
    request: Request, audit_id: int, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep
) -> HTMLResponse:
    """Verify the export's files against its manifest (and signature when the signing key is configured)."""
    result = governance.compliance_exports_page(conn, page=0, per_page=governance.PER_PAGE)
    rows = []
    for row in result.rows:
        verified = _verify(row["payload"]) if row["id"] == audit_id else None
        rows.append(_export_row(row, timezone_of(settings), verified))
    return render(
        request,
        "exports.html",
        title="Compliance exports",
        here="exports",
        exports=rows,
        page=0,
        more=result.more,
    )


def _verify(payload: dict[str, Any]) -> dict[str, Any]:
    from mmgov.custody import verify as cv

    location = (payload.get("custody") or {}).get("location")
    try:
        from mmgov.custody.signing import trusted_public_keys

        keys = trusted_public_keys()
    except Exception:  # noqa: BLE001 - no signing connection: check the files, say the signature was not
        keys = {}
    options = cv.Options(keys, allow_unsigned=True, skip_signature=not keys)
    client = None
    if str(location).startswith("s3://"):
        from mmgov.file_store import s3_client

        client = s3_client("mattermost_s3")
    report = cv.verify_location(str(location), options, s3_client=client)
    if report.ok:
        sig = "signature checked" if keys else "signature not checked (no mmgov_signing key configured)"
        return {"ok": True, "text": f"verified: {report.files_checked} files match the manifest; {sig}"}
    return {"ok": False, "text": "verification FAILED: " + "; ".join(report.problems[:5])}


@router.get("/gdpr")
def gdpr_page(
    request: Request, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep, page: int = Query(0, ge=0)
) -> HTMLResponse:
    tz = timezone_of(settings)
    result = governance.gdpr_jobs_page(conn, page=page)
    jobs = []
    for j in result.rows:
        progress = j["progress"] or {}
        size = j["file_size_bytes"]
        jobs.append(
            {
                **j,
                "created": at_time(j["created_at"], tz),
                "finished": at_time(j["finished_at"], tz),
                "progress": [(k, v) for k, v in sorted(progress.items()) if not isinstance(v, dict | list)],
                "size": f"{size:,} bytes" if isinstance(size, int) else "",
            }
        )
    return render(
        request, "gdpr.html", title="GDPR exports", here="gdpr", jobs=jobs, page=page, more=result.more
    )
