"""Console pages of retention policies (list, create, edit, delete) and the effective policy of a channel."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from mmgov import governance, names
from mmgov.errors import MmgovError
from mmgov.retention.errors import InvalidChannel, InvalidPolicy, InvalidTeam
from mmgov.retention.preview_text import when
from mmgov.settings import Settings
from mmgov_airflow.api.deps import DbDep, SettingsDep
from mmgov_airflow.console.base import (
    ConsoleAdmin,
    FormDep,
    at_time,
    redirect_with_message,
    refs,
    render,
    router,
    timezone_of,
)

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
            "effective_from": "next purge after " + at_time(changed[p.id], timezone_of(settings))
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
        "team_ids": names.team_ids(conn, refs(form.get("teams", "")), InvalidTeam),
        "channel_ids": names.channel_ids(conn, refs(form.get("channels", "")), InvalidChannel),
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
    return redirect_with_message(request, "policies_page", message)


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
    return redirect_with_message(request, "policies_page", message)


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
    return redirect_with_message(request, "policies_page", message)


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
                "cutoff": "never deleted" if cutoff is None else when(cutoff, timezone_of(settings)),
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
