"""Console pages of purge runs: the list, one run's decision and report, restore."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import psycopg
from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from mmgov import governance, names
from mmgov.errors import MmgovError
from mmgov.retention.preview_text import decision_view, when
from mmgov.settings import Settings
from mmgov_airflow.api.deps import DbDep, SettingsDep
from mmgov_airflow.console.base import (
    ConsoleAdmin,
    FormDep,
    render,
    router,
    timezone_of,
)

# --- purge runs -----------------------------------------------------------------------------------


def _approval_text(run: dict[str, Any], tz: str) -> str:
    who = run.get("rejected_by") or run.get("approved_by")  # list_runs names a rejecter rejected_by
    if who:
        verb = "rejected" if run.get("approval") == "rejected" else "approved"
        return f"{verb} by {who} at {when(run.get('rejected_at') or run.get('approved_at'), tz)}"
    if run.get("approval"):
        return str(run["approval"])
    if run.get("needs_approval") and run["status"] == "previewed":
        return "waiting for a person"
    return "not needed" if run.get("needs_approval") is False else "-"


@router.get("/runs", name="runs_page")
def runs_page(
    request: Request, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep, page: int = Query(0, ge=0)
) -> HTMLResponse:
    tz = timezone_of(settings)
    result = governance.runs_page(conn, page=page)
    rows = [
        {**r, "created": when(r["created_at"], tz), "approval_text": _approval_text(r, tz)}
        for r in result.rows
    ]
    return render(
        request, "runs.html", title="Purge runs", here="runs", runs=rows, page=page, more=result.more
    )


def _run_page(
    request: Request,
    conn: psycopg.Connection,
    settings: Settings,
    run_ref: str,
    *,
    errors: dict | None = None,
    restore_result: dict | None = None,
    status: int = 200,
    message: str | None = None,
) -> HTMLResponse:
    from mmgov.retention.runs import resolve_run

    tz = timezone_of(settings)
    run = resolve_run(conn, run_ref)
    summary = run.get("summary") or {}
    view = decision_view(summary) if summary.get("run_id") else None
    approval_link = None
    if run["status"] == "previewed" and run.get("needs_approval") and run.get("dag_run_id"):
        approval_link = (
            f"/dags/retention_purge/runs/{quote(run['dag_run_id'], safe='')}/tasks/approval/required_actions"
        )
    channels = governance.restorable_channels(conn, run["id"])
    labels = names.channel_labels(conn, channels)
    return render(
        request,
        "run.html",
        status,
        title=f"Purge run {run['id']}",
        here="runs",
        run=run,
        view=view,
        approval_text=_approval_text(run, tz),
        approval_link=approval_link,
        channels=[(c, labels.get(c, c)) for c in channels],
        errors=errors or {},
        restore_result=restore_result,
        message=message,
    )


@router.get("/runs/{run_id}")
def run_page(
    request: Request, run_id: str, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep
) -> HTMLResponse:
    return _run_page(request, conn, settings, run_id)


@router.post("/runs/{run_id}/restore")
def restore(
    request: Request, run_id: str, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep, form: FormDep
) -> HTMLResponse:
    from mmgov.retention.restore import restore_run

    if form.get("confirm") != "yes":
        errors = {"confirm": "Tick \u201cI confirm\u201d to restore."}
        return _run_page(request, conn, settings, run_id, errors=errors, status=400)
    try:
        result = restore_run(
            conn, settings, run_id, channel_id=form.get("channel") or None, actor=admin.actor
        )
    except MmgovError as exc:
        return _run_page(request, conn, settings, run_id, errors={"form": f"{exc.code}: {exc}"}, status=400)
    return _run_page(
        request, conn, settings, run_id, restore_result=result, message=f"Restore: {result['note']}"
    )
