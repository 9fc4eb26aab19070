"""Retention endpoints, shaped like Mattermost's ``/api/v4/data_retention/policies``, plus holds, runs, restore.

Mounted at ``/mmgov/api/v4/data_retention``. Policies: GET list (``page``, ``per_page``) -> ``{policies,
total_count}``, GET one, POST (201), PATCH, DELETE, and the ``/teams`` and ``/channels``
sub-resources (GET; POST/DELETE with a JSON array of ids). Legal holds: ``/legal_holds``. Runs:
``/purge_runs`` (list, one, ``POST /purge_runs/preview`` = dry run, ``POST /purge_runs/{id}/restore``).
Every write is audited with the caller's Airflow user name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from mmgov.retention import legal_hold as lh
from mmgov.retention import retention_policy as rp
from mmgov.retention.errors import InvalidChannel, InvalidHold, InvalidTeam, RetentionError
from mmgov_airflow.api.auth import AdminDep, RestorerDep
from mmgov_airflow.api.deps import BodyDep, DbDep, SettingsDep

router = APIRouter(prefix="/api/v4/data_retention", tags=["retention"])


def _ids_body(body: Any, what: str) -> list[str]:
    if isinstance(body, dict) and f"{what}_ids" in body:
        body = body[f"{what}_ids"]
    if not isinstance(body, list) or not all(isinstance(i, str) for i in body):
        error = InvalidChannel if what == "channel" else InvalidTeam
        raise error(f"the request body must be a JSON array of {what} ids, got {body!r}")
    return body


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
    fields = rp.policy_fields(body, partial=False)
    return rp.create_policy(conn, **fields, actor=admin.actor).to_dict()


@router.patch("/policies/{policy_id}")
def patch_policy(policy_id: str, admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    fields = rp.policy_fields(body, partial=True)
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
    return rp.add_scopes(conn, policy_id, team_ids=_ids_body(body, "team"), actor=admin.actor).to_dict()


@router.delete("/policies/{policy_id}/teams")
def remove_teams(policy_id: str, admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    return rp.remove_scopes(conn, policy_id, team_ids=_ids_body(body, "team"), actor=admin.actor).to_dict()


@router.get("/policies/{policy_id}/channels")
def policy_channels(policy_id: str, admin: AdminDep, conn: DbDep) -> dict[str, Any]:
    return {"channel_ids": rp.get_policy(conn, policy_id).channel_ids}


@router.post("/policies/{policy_id}/channels")
def add_channels(policy_id: str, admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    return rp.add_scopes(conn, policy_id, channel_ids=_ids_body(body, "channel"), actor=admin.actor).to_dict()


@router.delete("/policies/{policy_id}/channels")
def remove_channels(policy_id: str, admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    return rp.remove_scopes(
        conn, policy_id, channel_ids=_ids_body(body, "channel"), actor=admin.actor
    ).to_dict()


@router.get("/channels/{channel_id}/effective_policy")
def channel_effective_policy(
    channel_id: str, admin: AdminDep, conn: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    from mmgov.retention.effective_policy import effective_policy

    found = effective_policy(conn, settings, channel_id)
    if found is None:
        raise InvalidChannel(f"channel {channel_id} does not exist", status=404)
    return found.to_dict()


# --- legal holds ----------------------------------------------------------------------------------


@router.get("/legal_holds")
def list_holds(admin: AdminDep, conn: DbDep, include_released: bool = False) -> dict[str, Any]:
    holds = lh.list_holds(conn, include_released=include_released)
    return {"legal_holds": [h.to_dict() for h in holds], "total_count": len(holds)}


@router.post("/legal_holds", status_code=201)
def create_hold(admin: AdminDep, conn: DbDep, body: BodyDep) -> dict[str, Any]:
    allowed = {"name", "scope", "target_id", "start_ms", "end_ms", "reason"}
    if not isinstance(body, dict):
        raise InvalidHold(f"the request body must be a JSON object with fields {', '.join(sorted(allowed))}")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidHold(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return lh.create_hold(
        conn,
        name=body.get("name"),
        scope=body.get("scope"),
        target_id=body.get("target_id"),
        start_ms=body.get("start_ms"),
        end_ms=body.get("end_ms"),
        reason=body.get("reason", ""),
        actor=admin.actor,
    ).to_dict()


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
    from mmgov.retention.runs import get_run as one_run
    from mmgov.retention.runs import shown

    return shown(one_run(conn, run_id))


@router.post("/purge_runs/{run_id}/restore")
def restore(
    run_id: str, admin: RestorerDep, conn: DbDep, settings: SettingsDep, body: BodyDep
) -> dict[str, Any]:
    """Restore what the run soft-deleted (``{"channel_id": ...}`` for one channel) within the grace period."""
    from mmgov.retention.restore import restore_run

    body = body or {}
    if not isinstance(body, dict) or set(body) - {"channel_id"}:
        raise RetentionError('the request body must be empty or {"channel_id": "<channel id>"}')
    return restore_run(conn, settings, run_id, channel_id=body.get("channel_id"), actor=admin.actor)
