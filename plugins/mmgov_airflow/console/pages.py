"""The Governance console's pages: HTML rendered here from the same domain calls as the REST API.

Admin-only like the API (:mod:`mmgov_airflow.api.auth`); a visitor who is not signed in or not an
admin gets a refusal page. Forms post back to the page (no JavaScript needed; the pickers use the
API's ``/search`` endpoints); a POST from another origin is refused. Errors are shown next to the
field they name, with the seeds' error codes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from mmgov import governance, names
from mmgov.errors import MmgovError
from mmgov.retention.errors import InvalidChannel, InvalidHold, InvalidPolicy, InvalidTeam
from mmgov.retention.preview_text import decision_view, when
from mmgov.settings import Settings
from mmgov_airflow.api.auth import Admin, NotAdmin, NotAuthenticated, authenticated_user, is_admin
from mmgov_airflow.api.deps import DbDep, SettingsDep

HERE = Path(__file__).parent
NAV = [
    ("policies", "Retention policies"),
    ("holds", "Legal holds"),
    ("effective", "Effective policy"),
    ("runs", "Purge runs"),
    ("exports", "Compliance exports"),
    ("gdpr", "GDPR exports"),
    ("audit", "Audit trail"),
]
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
router = APIRouter(prefix="/console", include_in_schema=False)


class Refused(Exception):
    """Render the refusal page (not signed in, not an admin, or a cross-origin form post)."""

    def __init__(self, status: int, headline: str, detail: str, *, login: bool = False):
        super().__init__(headline)
        self.status, self.headline, self.detail, self.login = status, headline, detail, login


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    html = _env.get_template(template).render(root=root, **{"nav": NAV, **values})
    return HTMLResponse(html, status_code=status)


def refusal(request: Request, exc: Refused) -> HTMLResponse:
    login = f"/auth/login?next={quote(str(request.url))}" if exc.login else None
    return render(
        request,
        "refused.html",
        exc.status,
        title="Governance",
        here="",
        nav=[] if exc.status in (401, 403) else NAV,  # no links for who may not follow them
        headline=exc.headline,
        detail=exc.detail,
        login=login,
    )


async def console_admin(request: Request) -> Admin:
    """The signed-in Airflow admin (Airflow's session cookie), or a refusal page."""
    from airflow.api_fastapi.app import get_auth_manager

    try:
        user = await authenticated_user(request, None)
    except NotAuthenticated as exc:
        raise Refused(401, "Sign in to Airflow first.", str(exc), login=True) from exc
    if not is_admin(user, get_auth_manager()):
        raise Refused(
            403,
            "The Governance console is for Airflow admins only.",
            str(
                NotAdmin(f"Airflow user {user.get_name()!r} is not an admin; ask an Airflow admin for access")
            ),
        )
    if request.method == "POST":
        _same_origin(request)
    return Admin(name=user.get_name(), user=user)


def _same_origin(request: Request) -> None:
    """Refuse a form posted from another site (the session cookie would otherwise act for it)."""
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Refused(
            403, "Form refused.", f"the form was posted from {origin or 'an unknown page'}, not this site"
        )


ConsoleAdmin = Annotated[Admin, Depends(console_admin)]


async def form_data(request: Request) -> dict[str, str]:
    """The posted form's fields (``application/x-www-form-urlencoded``), one value each."""
    raw = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1].strip() for k, v in parse_qs(raw, keep_blank_values=True).items()}


FormDep = Annotated[dict[str, str], Depends(form_data)]


def _tz(settings: Settings) -> str:
    return settings.Mmgov.Timezone


def _at(value: dt.datetime | None, tz: str) -> str:
    return "-" if value is None else value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def _date_ms(value: str, tz: str) -> int | None:
    if not value:
        return None
    day = dt.date.fromisoformat(value)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def _refs(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _redirect_with_message(request: Request, page: str, message: str) -> RedirectResponse:
    """Back to a list page after a change (POST -> 303 -> GET), the outcome shown at its top."""
    return RedirectResponse(f"{request.url_for(page)}?{urlencode({'message': message})}", status_code=303)


@router.get("/static/console.css")
def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "console.css", media_type="text/css")


@router.get("/")
def home(request: Request, admin: ConsoleAdmin) -> Response:
    return RedirectResponse(request.url_for("policies_page"), status_code=303)


# --- retention policies ---------------------------------------------------------------------------

POLICY_FIELDS = {
    "RETENTION_INVALID_DURATION": "days",
    "RETENTION_INVALID_TEAM": "teams",
    "RETENTION_INVALID_CHANNEL": "channels",
    "RETENTION_INVALID_POLICY": "name",
}


def _keeps(days: int | None) -> str:
    return "forever" if days is None else f"{days} days"


def _global_rule(settings: Settings) -> str:
    drs = settings.DataRetentionSettings
    if not drs.EnableMessageDeletion:
        return "messages kept forever (message deletion off)"
    return f"messages kept {drs.message_retention_hours / 24:g} days"


@router.get("/policies", name="policies_page")
def policies_page(
    request: Request, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep, page: int = Query(0, ge=0)
) -> HTMLResponse:
    from mmgov.retention import retention_policy as rp

    items, total = rp.list_policies(conn, page=page, per_page=governance.PER_PAGE)
    teams = names.team_labels(conn, [t for p in items for t in p.team_ids])
    channels = names.channel_labels(conn, [c for p in items for c in p.channel_ids])
    changed = governance.policy_changes(conn, [p.id for p in items])
    rows = [
        {
            "id": p.id,
            "display_name": p.display_name,
            "keeps": _keeps(p.post_duration_days),
            "teams": [teams.get(t, t) for t in p.team_ids],
            "channels": [channels.get(c, c) for c in p.channel_ids],
            "effective_from": "next purge after " + _at(changed[p.id], _tz(settings))
            if p.id in changed
            else "-",
        }
        for p in items
    ]
    return render(
        request,
        "policies.html",
        title="Retention policies",
        here="policies",
        policies=rows,
        total=total,
        page=page,
        more=(page + 1) * governance.PER_PAGE < total,
        global_rule=_global_rule(settings),
        message=request.query_params.get("message"),
    )


def _policy_form(
    request: Request, title: str, submit: str, form: dict, errors: dict, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "policy_form.html",
        status,
        title=title,
        here="policies",
        form=form,
        errors=errors,
        submit=submit,
    )


def _policy_changes(conn: psycopg.Connection, form: dict[str, str]) -> dict[str, Any]:
    """Form fields -> policy fields (names resolved); raises the seed's errors."""
    days: int | None = None
    if not form.get("forever"):
        try:
            days = int(form.get("days", ""))
        except ValueError:
            from mmgov.retention.errors import InvalidDuration

            raise InvalidDuration(
                f"keep (days) must be a whole number of days, or tick keep forever; got {form.get('days')!r}"
            ) from None
    return {
        "display_name": form.get("name", ""),
        "post_duration_days": days,
        "team_ids": names.team_ids(conn, _refs(form.get("teams", "")), InvalidTeam),
        "channel_ids": names.channel_ids(conn, _refs(form.get("channels", "")), InvalidChannel),
    }


def _field_of(exc: MmgovError) -> str:
    if exc.code == "RETENTION_SCOPE_CONFLICT":
        return (
            "channels"
            if str(exc).startswith("A team or channel can be in only one retention policy: channel")
            else "teams"
        )
    return POLICY_FIELDS.get(exc.code, "form")


@router.get("/policies/new")
def new_policy(request: Request, admin: ConsoleAdmin) -> HTMLResponse:
    form = {"name": "", "days": "", "forever": "", "teams": "", "channels": ""}
    return _policy_form(request, "New retention policy", "Create policy", form, {})


@router.post("/policies/new")
def create_policy(request: Request, admin: ConsoleAdmin, conn: DbDep, form: FormDep) -> Response:
    from mmgov.retention import retention_policy as rp

    try:
        policy = rp.create_policy(conn, **_policy_changes(conn, form), actor=admin.actor)
    except MmgovError as exc:
        errors = {_field_of(exc): f"{exc.code}: {exc}"}
        return _policy_form(request, "New retention policy", "Create policy", form, errors, status=400)
    message = f"Policy {policy.display_name!r} created."
    return _redirect_with_message(request, "policies_page", message)


@router.get("/policies/{policy_id}/edit")
def edit_policy(request: Request, policy_id: str, admin: ConsoleAdmin, conn: DbDep) -> HTMLResponse:
    from mmgov.retention import retention_policy as rp

    p = rp.get_policy(conn, policy_id)
    paths = names.channel_paths(conn, p.channel_ids)
    teams = dict(conn.execute("SELECT id, name FROM teams WHERE id = ANY(%s)", (p.team_ids,)).fetchall())
    form = {
        "name": p.display_name,
        "days": "" if p.post_duration_days is None else str(p.post_duration_days),
        "forever": "yes" if p.post_duration_days is None else "",
        "teams": ", ".join(teams.get(t, t) for t in p.team_ids),
        "channels": ", ".join(paths.get(c, c) for c in p.channel_ids),
    }
    return _policy_form(request, f"Edit policy {p.display_name}", "Save", form, {})


@router.post("/policies/{policy_id}/edit")
def save_policy(
    request: Request, policy_id: str, admin: ConsoleAdmin, conn: DbDep, form: FormDep
) -> Response:
    from mmgov.retention import retention_policy as rp

    try:
        policy = rp.patch_policy(conn, policy_id, _policy_changes(conn, form), actor=admin.actor)
    except MmgovError as exc:
        errors = {_field_of(exc): f"{exc.code}: {exc}"}
        return _policy_form(request, "Edit policy", "Save", form, errors, status=400)
    message = f"Policy {policy.display_name!r} saved."
    return _redirect_with_message(request, "policies_page", message)


@router.get("/policies/{policy_id}/delete")
def confirm_delete_policy(request: Request, policy_id: str, admin: ConsoleAdmin, conn: DbDep) -> HTMLResponse:
    from mmgov.retention import retention_policy as rp

    policy = rp.get_policy(conn, policy_id)
    return render(
        request,
        "confirm.html",
        title=f"Delete policy {policy.display_name}?",
        here="policies",
        question=f"Delete the retention policy \u201c{policy.display_name}\u201d ({_keeps(policy.post_duration_days)})?",
        consequence="Its teams and channels fall back to the next rule (team policy, then the global setting) "
        "from the next purge on.",
        action=f"{request.url_for('policies_page')}/{policy_id}/delete",
        button="Delete policy",
        cancel=request.url_for("policies_page"),
    )


@router.post("/policies/{policy_id}/delete")
def delete_policy(
    request: Request, policy_id: str, admin: ConsoleAdmin, conn: DbDep, form: FormDep
) -> Response:
    from mmgov.retention import retention_policy as rp

    if form.get("confirm") != "yes":
        raise InvalidPolicy("deleting a policy needs confirm=yes")
    deleted = rp.delete_policy(conn, policy_id, actor=admin.actor)
    message = f"Policy {deleted.display_name!r} deleted."
    return _redirect_with_message(request, "policies_page", message)


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
    tz = _tz(settings)
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
    tz = _tz(settings)
    try:
        resolve = {"user": names.user_ids, "channel": names.channel_ids, "team": names.team_ids}.get(
            form["scope"]
        )
        if resolve is None:
            raise InvalidHold(f"scope must be one of user, channel, team; got {form['scope']!r}")
        if not form["target"]:
            raise InvalidHold(f"target is required: the {form['scope']} to hold")
        try:
            start, end = _date_ms(form["start"], tz), _date_ms(form["end"], tz)
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
    return _redirect_with_message(request, "holds_page", message)


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
    return _redirect_with_message(request, "holds_page", message)


# --- effective policy -----------------------------------------------------------------------------


@router.get("/effective")
def effective_page(
    request: Request, admin: ConsoleAdmin, conn: DbDep, settings: SettingsDep, channel: str = ""
) -> HTMLResponse:
    from mmgov.retention import retention_policy as rp
    from mmgov.retention.effective_policy import effective_policy
    from mmgov.retention.runs import db_now_ms

    result, errors = None, {}
    if channel:
        try:
            cid = names.channel_ids(conn, [channel], InvalidChannel)[0]
            found = effective_policy(conn, settings, cid)
        except MmgovError as exc:
            errors["channel"] = f"{exc.code}: {exc}"
            found = None
        if found is not None:
            if found.policy_id:
                policy = rp.get_policy(conn, found.policy_id)
                rule = f"policy \u201c{policy.display_name}\u201d, assigned to the {found.source}"
            elif found.source == "global":
                rule = "the global setting (DataRetentionSettings): no policy covers this channel or its team"
            else:
                rule = "no rule: message deletion is off and no policy covers this channel"
            cutoff = found.post_cutoff_ms(db_now_ms(conn))
            result = {
                "label": names.channel_labels(conn, [cid]).get(cid, cid),
                "rule": rule,
                "keeps": "forever"
                if found.post_retention_hours is None
                else f"{found.post_retention_hours / 24:g} days",
                "cutoff": "never deleted" if cutoff is None else when(cutoff, _tz(settings)),
            }
    return render(
        request,
        "effective.html",
        400 if errors else 200,
        title="Effective policy",
        here="effective",
        channel=channel,
        result=result,
        errors=errors,
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
    tz = _tz(settings)
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

    tz = _tz(settings)
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
        "at": _at(row["at"], tz),
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
    rows = [_export_row(r, _tz(settings)) for r in result.rows]
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
        rows.append(_export_row(row, _tz(settings), verified))
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
    tz = _tz(settings)
    result = governance.gdpr_jobs_page(conn, page=page)
    jobs = []
    for j in result.rows:
        progress = j["progress"] or {}
        size = j["file_size_bytes"]
        jobs.append(
            {
                **j,
                "created": _at(j["created_at"], tz),
                "finished": _at(j["finished_at"], tz),
                "progress": [(k, v) for k, v in sorted(progress.items()) if not isinstance(v, dict | list)],
                "size": f"{size:,} bytes" if isinstance(size, int) else "",
            }
        )
    return render(
        request, "gdpr.html", title="GDPR exports", here="gdpr", jobs=jobs, page=page, more=result.more
    )


# --- audit trail ----------------------------------------------------------------------------------

_HIDDEN = {"before", "after", "timestamp"}


def _readable(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)[:300]
    return str(value)


@router.get("/audit")
def audit_page(
    request: Request,
    admin: ConsoleAdmin,
    conn: DbDep,
    settings: SettingsDep,
    event: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
    before: int | None = Query(None, ge=1),
) -> HTMLResponse:
    tz = _tz(settings)
    errors: dict[str, str] = {}
    try:
        since_ms, until_ms = _date_ms(since, tz), _date_ms(until, tz)
    except ValueError as exc:
        errors["dates"] = f"dates must be YYYY-MM-DD: {exc}"
        since_ms = until_ms = None
    flt = governance.AuditFilter(
        event=event.strip(),
        actor=actor.strip(),
        since=None if since_ms is None else dt.datetime.fromtimestamp(since_ms / 1000, dt.UTC),
        until=None if until_ms is None else dt.datetime.fromtimestamp(until_ms / 1000 + 86_400, dt.UTC),
    )
    rows, next_before = governance.audit_page(conn, flt, before_id=before)
    shown = [
        {
            "at": _at(r["at"], tz),
            "event": r["event"],
            "actor": r["actor"],
            "changes": [(f, _readable(b), _readable(a)) for f, b, a in governance.changes(r["payload"])],
            "fields": [(k, _readable(v)) for k, v in sorted(r["payload"].items()) if k not in _HIDDEN],
        }
        for r in rows
    ]
    query = {"event": event, "actor": actor, "since": since, "until": until, "before": next_before}
    return render(
        request,
        "audit.html",
        400 if errors else 200,
        title="Audit trail",
        here="audit",
        rows=shown,
        flt=flt,
        since=since,
        until=until,
        tz=tz,
        errors=errors,
        next_before=next_before,
        next_link=f"?{urlencode({k: v for k, v in query.items() if v})}",
    )
