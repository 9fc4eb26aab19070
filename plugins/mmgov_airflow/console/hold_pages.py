"""Console pages of legal holds: list, create, release."""

from __future__ import annotations

import psycopg
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from mmgov import governance, names
from mmgov.errors import MmgovError
from mmgov.retention.errors import InvalidHold
from mmgov.retention.preview_text import when
from mmgov.settings import Settings
from mmgov_airflow.api.deps import DbDep, SettingsDep
from mmgov_airflow.console.base import (
    ConsoleAdmin,
    FormDep,
    date_ms,
    redirect_with_message,
    render,
    router,
    timezone_of,
)

# --- legal holds ----------------------------------------------------------------------------------

EMPTY_HOLD = {"name": "", "scope": "user", "target": "", "start": "", "end": "", "reason": ""}


def _hold_field(exc: MmgovError) -> str:
    """The form field a legal hold error names (its message starts with the field)."""
    first = str(exc).split(" ", 1)[0].rstrip(":")
    fields = {"name": "name", "scope": "scope", "target_id": "target", "target": "target", "no": "target"}
    return "dates" if first in ("start_ms", "end_ms", "start_ms/end_ms") else fields.get(first, "form")


def _holds(
    request: Request,
    conn: psycopg.Connection,
    settings: Settings,
    page: int,
    form: dict,
    errors: dict,
    status: int = 200,
    message: str | None = None,
) -> HTMLResponse:
    tz = timezone_of(settings)
    result = governance.holds_page(conn, page=page)
    users = names.user_labels(conn, [h["target_id"] for h in result.rows if h["scope"] == "user"])
    chans = names.channel_labels(conn, [h["target_id"] for h in result.rows if h["scope"] == "channel"])
    teams = names.team_labels(conn, [h["target_id"] for h in result.rows if h["scope"] == "team"])
    labels = {"user": users, "channel": chans, "team": teams}
    rows = [
        {
            **h,
            "target": labels[h["scope"]].get(h["target_id"], h["target_id"]),
            "start": when(h["start_ms"], tz) if h["start_ms"] is not None else "the beginning",
            "end": when(h["end_ms"], tz) if h["end_ms"] is not None else "no end",
            "created": when(h["created_at"], tz),
            "released": ""
            if h["released_at"] is None
            else f"{when(h['released_at'], tz)} by {h['released_by']}",
            "active": h["released_at"] is None,
        }
        for h in result.rows
    ]
    return render(
        request,
        "holds.html",
        status,
        title="Legal holds",
        here="holds",
        holds=rows,
        page=page,
        more=result.more,
        form=form,
        errors=errors,
        tz=tz,
        message=message or request.query_params.get("message"),
    )


@router.get("/holds", name="holds_page")
def holds_page(
    request: Request, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep, page: int = Query(0, ge=0)
) -> HTMLResponse:
    return _holds(request, conn, settings, page, dict(EMPTY_HOLD), {})


@router.post("/holds")
def create_hold(
    request: Request, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep, form: FormDep
) -> Response:
    from mmgov.retention import legal_hold as lh

    form = {**EMPTY_HOLD, **form}
    tz = timezone_of(settings)
    try:
        resolve = {"user": names.user_ids, "channel": names.channel_ids, "team": names.team_ids}.get(
            form["scope"]
        )
        if resolve is None:
            raise InvalidHold(f"scope must be one of user, channel, team; got {form['scope']!r}")
        if not form["target"]:
            raise InvalidHold(f"target is required: the {form['scope']} to hold")
        try:
            start, end = date_ms(form["start"], tz), date_ms(form["end"], tz)
        except ValueError as exc:
            raise InvalidHold(f"start_ms/end_ms: dates must be YYYY-MM-DD ({exc})") from exc
        hold = lh.create_hold(
            conn,
            name=form["name"],
            scope=form["scope"],
            target_id=resolve(conn, [form["target"]], InvalidHold)[0],
            start_ms=start,
            end_ms=end,
            reason=form["reason"],
            actor=admin.actor,
        )
    except MmgovError as exc:
        return _holds(request, conn, settings, 0, form, {_hold_field(exc): f"{exc.code}: {exc}"}, status=400)
    message = f"Legal hold {hold.name!r} placed."
    return redirect_with_message(request, "holds_page", message)


@router.get("/holds/{hold_id}/release")
def confirm_release_hold(request: Request, hold_id: str, admin: ConsoleAdmin, conn: DbDep) -> HTMLResponse:
    from mmgov.retention import legal_hold as lh

    hold = lh.get_hold(conn, hold_id)
    return render(
        request,
        "confirm.html",
        title=f"Release legal hold {hold.name}?",
        here="holds",
        question=f"Release the legal hold \u201c{hold.name}\u201d on the {hold.scope}?",
        consequence="Nothing is deleted now; the next purge run may delete what the hold protected.",
        action=f"{request.url_for('holds_page')}/{hold_id}/release",
        button="Release hold",
        cancel=request.url_for("holds_page"),
    )


@router.post("/holds/{hold_id}/release")
def release_hold(request: Request, hold_id: str, admin: ConsoleAdmin, conn: DbDep, form: FormDep) -> Response:
    from mmgov.retention import legal_hold as lh

    if form.get("confirm") != "yes":
        raise InvalidHold("releasing a hold needs confirm=yes")
    hold = lh.release_hold(conn, hold_id, actor=admin.actor)
    message = f"Legal hold {hold.name!r} released."
    return redirect_with_message(request, "holds_page", message)
