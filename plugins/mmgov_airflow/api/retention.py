"""Retention endpoints, shaped like Mattermost's ``/api/v4/data_retention/policies``, plus holds, runs, restore.

Mounted at ``/mmgov/api/v4/data_retention``. Policies: GET list (``page``, ``per_page``) -> ``{policies,
total_count}``, GET one, POST (201), PATCH, DELETE, and the ``/teams`` and ``/channels``
sub-resources (GET; POST/DELETE with a JSON array of ids). Legal holds: ``/legal_holds``. Runs:
``/purge_runs`` (list, one, ``POST /purge_runs/preview`` = dry run, ``POST /purge_runs/{id}/restore``).
Every write is audited with the caller's Airflow user name.

Names are accepted wherever ids are (ids still work): teams by name, channels by ``team/channel``,
users by username or e-mail; runs by mmgov's run id or the Airflow run id. ``/search/{teams,channels,
users}?term=`` feed the console's pickers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from mmgov import names
from mmgov.retention import legal_hold as lh
from mmgov.retention import retention_policy as rp
from mmgov.retention.errors import InvalidChannel, InvalidHold, InvalidTeam, RetentionError
from mmgov_airflow.api.auth import AdminDep, RestorerDep
from mmgov_airflow.api.deps import BodyDep, DbDep, SettingsDep

router = APIRouter(prefix="/api/v4/data_retention", tags=["retention"])


def _ids_body(conn: Any, body: Any, what: str) -> list[str]:
    if isinstance(body, dict) and f"{what}_ids" in body:
        body = body[f"{what}_ids"]
    error = InvalidChannel if what == "channel" else InvalidTeam
    if not isinstance(body, list) or not all(isinstance(i, str) for i in body):
        raise error(f"the request body must be a JSON array of {what} ids or names, got {body!r}")
    return _resolve(conn, what, body)


def _resolve(conn: Any, what: str, refs: list[str]) -> list[str]:
    """Ids (or names: teams by name, channels by ``team/channel``) -> ids; unknown ones are a 400."""
    if what == "team":
        return names.team_ids(conn, refs, InvalidTeam)
    return names.channel_ids(conn, refs, InvalidChannel)


def _resolve_scopes(conn: Any, fields: dict[str, Any]) -> dict[str, Any]:
    for what in ("team", "channel"):
        refs = fields.get(f"{what}_ids")
        if isinstance(refs, list) and all(isinstance(r, str) for r in refs):
            fields[f"{what}_ids"] = _resolve(conn, what, refs)
    return fields


# --- policies -------------------------------------------------------------------------------------


@router.get("/policies")
def list_policies(
    admin: AdminDep,
    conn: DbDep,
    page: int = Query(0, ge=0),
    per_page: int = Query(60, ge=1, le=rp.MAX_PER_PAGE),
) -> dict[str, Any]:
    items, total = rp.list_policies(conn, page=page, per_page=per_page)
    return {"policies": [p.to_dict() for p in items], "total_count": total}


@router.get("/policies/{policy_id}")
def get_policy(policy_id: str, admin: AdminDep, conn: DbDep) -> dict[str, Any]:
    return rp.get_policy(conn, policy_id).to_dict()


@router.post("/policies", status_code=201)
def create_policy(admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    fields = _resolve_scopes(conn, rp.policy_fields(body, partial=False))
    return rp.create_policy(conn, **fields, actor=admin.actor).to_dict()


@router.patch("/policies/{policy_id}")
def patch_policy(policy_id: str, admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    fields = _resolve_scopes(conn, rp.policy_fields(body, partial=True))
    return rp.patch_policy(conn, policy_id, fields, actor=admin.actor).to_dict()


@router.delete("/policies/{policy_id}")
def delete_policy(policy_id: str, admin: AdminDep, conn: DbDep) -> dict[str, Any]:
    deleted = rp.delete_policy(conn, policy_id, actor=admin.actor)
    return {"status": "OK", "deleted": deleted.to_dict()}


@router.get("/policies/{policy_id}/teams")
def policy_teams(policy_id: str, admin: AdminDep, conn: DbDep) -> dict[str, Any]:
    return {"team_ids": rp.get_policy(conn, policy_id).team_ids}


@router.post("/policies/{policy_id}/teams")
def add_teams(policy_id: str, admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    return rp.add_scopes(conn, policy_id, team_ids=_ids_body(conn, body, "team"), actor=admin.actor).to_dict()


@router.delete("/policies/{policy_id}/teams")
def remove_teams(policy_id: str, admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    return rp.remove_scopes(
        conn, policy_id, team_ids=_ids_body(conn, body, "team"), actor=admin.actor
    ).to_dict()


@router.get("/policies/{policy_id}/channels")
def policy_channels(policy_id: str, admin: AdminDep, conn: DbDep) -> dict[str, Any]:
    return {"channel_ids": rp.get_policy(conn, policy_id).channel_ids}


@router.post("/policies/{policy_id}/channels")
def add_channels(policy_id: str, admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    return rp.add_scopes(
        conn, policy_id, channel_ids=_ids_body(conn, body, "channel"), actor=admin.actor
    ).to_dict()


@router.delete("/policies/{policy_id}/channels")
def remove_channels(policy_id: str, admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    return rp.remove_scopes(
        conn, policy_id, channel_ids=_ids_body(conn, body, "channel"), actor=admin.actor
    ).to_dict()


@router.get("/channels/{channel:path}/effective_policy")
def channel_effective_policy(
    channel: str, admin: AdminDep, conn: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    """The retention that applies to a channel (its id or ``team/channel``) and the rule that decided it."""
    from mmgov.retention.effective_policy import effective_policy

    channel_id = names.channel_ids(conn, [channel], InvalidChannel)[0]
    found = effective_policy(conn, settings, channel_id)
    if found is None:
        raise InvalidChannel(f"channel {channel} does not exist", status=404)
    return found.to_dict()


@router.get("/search/{kind}")
def search(
    kind: str, admin: AdminDep, conn: DbDep, term: str = "", limit: int = Query(20, ge=1, le=100)
) -> dict[str, Any]:
    """Pickers: teams, channels (``team/chan`` narrows the team) or users whose name starts with ``term``."""
    finders = {"teams": names.search_teams, "channels": names.search_channels, "users": names.search_users}
    if kind not in finders:
        raise RetentionError(f"search kind must be one of {', '.join(finders)}, got {kind!r}", status=404)
    return {kind: finders[kind](conn, term, limit=limit)}


# --- legal holds ----------------------------------------------------------------------------------


@router.get("/legal_holds")
def list_holds(admin: AdminDep, conn: DbDep, include_released: bool = False) -> dict[str, Any]:
    holds = lh.list_holds(conn, include_released=include_released)
    return {"legal_holds": [h.to_dict() for h in holds], "total_count": len(holds)}


@router.post("/legal_holds", status_code=201)
def create_hold(admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    allowed = {"name", "scope", "target_id", "target", "start_ms", "end_ms", "reason"}
    if not isinstance(body, dict):
        raise InvalidHold(f"the request body must be a JSON object with fields {', '.join(sorted(allowed))}")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidHold(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return lh.create_hold(
        conn,
        name=body.get("name"),
        scope=body.get("scope"),
        target_id=_hold_target(conn, body),
        start_ms=body.get("start_ms"),
        end_ms=body.get("end_ms"),
        reason=body.get("reason", ""),
        actor=admin.actor,
    ).to_dict()


def _hold_target(conn: Any, body: dict[str, Any]) -> Any:
    """``target_id`` or ``target``: a user id/username/e-mail, a team id/name or a channel id/``team/channel``."""
    if "target" in body and "target_id" in body:
        raise InvalidHold("give target (a name or id) or target_id, not both")
    ref, scope = body.get("target", body.get("target_id")), body.get("scope")
    resolve = {"user": names.user_ids, "team": names.team_ids, "channel": names.channel_ids}.get(scope)
    if resolve is None or not isinstance(ref, str) or not ref.strip():
        return ref  # create_hold names what is wrong
    return resolve(conn, [ref], InvalidHold)[0]


@router.get("/legal_holds/{hold_id}")
def get_hold(hold_id: str, admin: AdminDep, conn: DbDep) -> dict[str, Any]:
    return lh.get_hold(conn, hold_id).to_dict()


@router.post("/legal_holds/{hold_id}/release")
def release_hold(hold_id: str, admin: AdminDep, conn: DbDep) -> dict[str, Any]:
    return lh.release_hold(conn, hold_id, actor=admin.actor).to_dict()


# --- purge runs -----------------------------------------------------------------------------------


@router.get("/purge_runs")
def list_runs(
    admin: AdminDep,
    conn: DbDep,
    kind: str = Query("purge", pattern="^(purge|removal)$"),
    limit: int = Query(20, ge=1, le=200),
) -> dict[str, Any]:
    from mmgov.retention.runs import list_runs as runs

    return {"purge_runs": runs(conn, kind=kind, limit=limit)}


@router.post("/purge_runs/preview")
def preview(admin: AdminDep, conn: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """A dry run: what a purge would delete now, per policy, team and channel; nothing is deleted."""
    from mmgov.retention.preview import preview_purge

    return preview_purge(conn, settings, dry_run=True)


@router.get("/purge_runs/{run_id}")
def get_run(run_id: str, admin: AdminDep, conn: DbDep) -> dict[str, Any]:
    from mmgov.retention.runs import resolve_run, shown

    return shown(resolve_run(conn, run_id))


@router.post("/purge_runs/{run_id}/restore")
def restore(
    run_id: str, admin: RestorerDep, conn: DbDep, settings: SettingsDep, body: BodyDep
) -> dict[str, Any]:
    """Restore what the run (mmgov's or the Airflow run id) soft-deleted, or one channel of it
    (``{"channel_id": "<id or team/channel>"}``), within the grace period; ``note`` says what happened."""
    from mmgov.retention.restore import restore_run

    body = body or {}
    if not isinstance(body, dict) or set(body) - {"channel_id"}:
        raise RetentionError(
            'the request body must be empty or {"channel_id": "<channel id or team/channel>"}'
        )
    channel = body.get("channel_id")
    if isinstance(channel, str):
        channel = names.channel_ids(conn, [channel], InvalidChannel)[0]
    return restore_run(conn, settings, run_id, channel_id=channel, actor=admin.actor)
