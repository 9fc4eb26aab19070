"""Granular retention policies, stored in Mattermost's own tables (seed rules 03, 08, 09).

``retentionpolicies`` (id, displayname, postduration days; -1 = keep forever),
``retentionpoliciesteams`` and ``retentionpolicieschannels`` (a team or channel in at most one policy).
The API speaks the seed's language: ``post_duration_days`` is a positive whole number of days or
``None`` for "keep forever". Every change runs in one transaction with its audit row
(``retention.policy_created`` / ``_updated`` / ``_deleted``, with before/after).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from mmgov import audit
from mmgov.ids import is_id, new_id
from mmgov.retention.errors import (
    InvalidChannel,
    InvalidDuration,
    InvalidPolicy,
    InvalidTeam,
    PolicyNotFound,
    ScopeConflict,
)

KEEP_FOREVER = -1  # Mattermost's postduration for "never delete"
DISPLAY_NAME_MAX = 64
MAX_DURATION_DAYS = 100_000  # about 273 years: keeps now - duration inside bigint milliseconds
MAX_PER_PAGE = 200
PATCHABLE = ("display_name", "post_duration_days", "team_ids", "channel_ids")


@dataclass(frozen=True)
class Policy:
    """A granular retention policy with its assignments (ids sorted)."""

    id: str
    display_name: str
    post_duration_days: int | None
    team_ids: list[str] = field(default_factory=list)
    channel_ids: list[str] = field(default_factory=list)

    @property
    def post_duration(self) -> int:
        """Mattermost's stored value: days, or -1 for keep forever."""
        return KEEP_FOREVER if self.post_duration_days is None else self.post_duration_days

    def to_dict(self) -> dict[str, Any]:
        """The API shape: the seed's fields plus Mattermost's ``post_duration`` and counts."""
        doc = asdict(self)
        doc["post_duration"] = self.post_duration
        doc["team_count"] = len(self.team_ids)
        doc["channel_count"] = len(self.channel_ids)
        return doc


# --- validation ---------------------------------------------------------------------------------


def check_display_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidPolicy(
            f"display_name is required: a non-empty string of at most {DISPLAY_NAME_MAX} characters"
        )
    value = value.strip()
    if len(value) > DISPLAY_NAME_MAX:
        raise InvalidPolicy(f"display_name must be at most {DISPLAY_NAME_MAX} characters, got {len(value)}")
    return value


def check_duration(value: Any) -> int | None:
    """``None`` (keep forever) or a whole number of days in 1..MAX_DURATION_DAYS."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidDuration(
            f"post_duration_days must be a positive whole number of days or null (keep forever), got {value!r}"
        )
    if value <= 0:
        raise InvalidDuration(
            f"post_duration_days must be a positive number of days or null (keep forever); "
            f"{value} is not allowed (zero and negative values are invalid)"
        )
    if value > MAX_DURATION_DAYS:
        raise InvalidDuration(f"post_duration_days must be at most {MAX_DURATION_DAYS}, got {value}")
    return value


def _check_ids(name: str, values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidPolicy(f"{name} must be a list of ids, got {values!r}")
    out = sorted(set(values))
    bad = [v for v in out if not is_id(v)]
    if bad:
        error = InvalidTeam if name == "team_ids" else InvalidChannel
        raise error(f"{name} has malformed ids {bad!r}: ids are 26 characters of a-z and 0-9")
    return out


def _check_exist(conn: psycopg.Connection, table: str, ids: list[str]) -> None:
    if not ids:
        return
    query = (
        "SELECT id FROM teams WHERE id = ANY(%s)"
        if table == "teams"
        else "SELECT id FROM channels WHERE id = ANY(%s)"
    )
    found = {r[0] for r in conn.execute(query, (ids,))}
    missing = [i for i in ids if i not in found]
    if missing:
        if table == "teams":
            raise InvalidTeam(f"One or more specified teams do not exist: {', '.join(missing)}")
        raise InvalidChannel(f"One or more specified channels do not exist: {', '.join(missing)}")


def _check_free(
    conn: psycopg.Connection, policy_id: str, team_ids: list[str], channel_ids: list[str]
) -> None:
    """Refuse a team or channel already in another policy (409) rather than silently moving it."""
    taken = conn.execute(
        "SELECT 'team', teamid, policyid FROM retentionpoliciesteams WHERE teamid = ANY(%s) AND policyid <> %s"
        " UNION ALL "
        "SELECT 'channel', channelid, policyid FROM retentionpolicieschannels"
        " WHERE channelid = ANY(%s) AND policyid <> %s ORDER BY 1, 2",
        (team_ids, policy_id, channel_ids, policy_id),
    ).fetchall()
    if taken:
        what = "; ".join(f"{kind} {obj} is in policy {pol}" for kind, obj, pol in taken)
        raise ScopeConflict(
            f"A team or channel can be in only one retention policy: {what}. Remove it from that policy first."
        )


def policy_fields(body: Any, *, partial: bool) -> dict[str, Any]:
    """The policy fields of an API body (a JSON object), with Mattermost's ``post_duration`` accepted too.

    ``post_duration_days`` (the seed: days, ``null`` = keep forever) or Mattermost's
    ``post_duration`` (days, ``-1`` = keep forever); not both. Unknown keys are refused.
    """
    if not isinstance(body, Mapping):
        raise InvalidPolicy(f"the request body must be a JSON object with fields {', '.join(PATCHABLE)}")
    allowed = {*PATCHABLE, "post_duration", "id"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidPolicy(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed - {'id'}))}"
        )
    out = {k: body[k] for k in PATCHABLE if k in body}
    if "post_duration" in body:
        if "post_duration_days" in body:
            raise InvalidPolicy("give post_duration_days or Mattermost's post_duration, not both")
        value = body["post_duration"]
        out["post_duration_days"] = None if value == KEEP_FOREVER and not isinstance(value, bool) else value
    if not partial:
        if "display_name" not in out:
            raise InvalidPolicy(f"display_name is required (at most {DISPLAY_NAME_MAX} characters)")
        out.setdefault("post_duration_days", None)
    return out


# --- reads --------------------------------------------------------------------------------------


def _from_row(row: tuple, team_ids: list[str], channel_ids: list[str]) -> Policy:
    pid, name, duration = row
    days = int(duration) if duration is not None and duration > 0 else None
    return Policy(
        id=pid, display_name=name or "", post_duration_days=days, team_ids=team_ids, channel_ids=channel_ids
    )


def _load(conn: psycopg.Connection, policy_ids: list[str]) -> dict[str, Policy]:
    rows = conn.execute(
        "SELECT id, displayname, postduration FROM retentionpolicies WHERE id = ANY(%s)", (policy_ids,)
    ).fetchall()
    teams: dict[str, list[str]] = {}
    for pid, tid in conn.execute(
        "SELECT policyid, teamid FROM retentionpoliciesteams WHERE policyid = ANY(%s) ORDER BY teamid",
        (policy_ids,),
    ):
        teams.setdefault(pid, []).append(tid)
    channels: dict[str, list[str]] = {}
    for pid, cid in conn.execute(
        "SELECT policyid, channelid FROM retentionpolicieschannels WHERE policyid = ANY(%s) ORDER BY channelid",
        (policy_ids,),
    ):
        channels.setdefault(pid, []).append(cid)
    return {r[0]: _from_row(r, teams.get(r[0], []), channels.get(r[0], [])) for r in rows}


def get_policy(conn: psycopg.Connection, policy_id: str) -> Policy:
    """The policy, or :class:`PolicyNotFound` (404)."""
    found = _load(conn, [policy_id]).get(policy_id)
    if found is None:
        raise PolicyNotFound(f"Retention policy not found: {policy_id!r}")
    return found


def list_policies(conn: psycopg.Connection, *, page: int = 0, per_page: int = 60) -> tuple[list[Policy], int]:
    """One page of policies ordered by display name then id, and the total count (Mattermost's paging)."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 0:
        raise InvalidPolicy(f"page must be a whole number >= 0, got {page!r}")
    if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidPolicy(f"per_page must be a whole number from 1 to {MAX_PER_PAGE}, got {per_page!r}")
    total = conn.execute("SELECT count(*) FROM retentionpolicies").fetchone()[0]
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM retentionpolicies ORDER BY displayname, id LIMIT %s OFFSET %s",
            (per_page, page * per_page),
        )
    ]
    loaded = _load(conn, ids)
    return [loaded[i] for i in ids], int(total)


# --- writes -------------------------------------------------------------------------------------


def _write_assignments(
    conn: psycopg.Connection, policy_id: str, team_ids: list[str], channel_ids: list[str]
) -> None:
    conn.execute("DELETE FROM retentionpoliciesteams WHERE policyid = %s", (policy_id,))
    conn.execute("DELETE FROM retentionpolicieschannels WHERE policyid = %s", (policy_id,))
    try:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO retentionpoliciesteams (policyid, teamid) VALUES (%s, %s)",
                [(policy_id, t) for t in team_ids],
            )
            cur.executemany(
                "INSERT INTO retentionpolicieschannels (policyid, channelid) VALUES (%s, %s)",
                [(policy_id, c) for c in channel_ids],
            )
    except psycopg.errors.UniqueViolation as exc:  # a concurrent assignment won the race
        raise ScopeConflict(
            f"A team or channel can be in only one retention policy: {exc.diag.message_detail}"
        ) from exc


def create_policy(
    conn: psycopg.Connection,
    *,
    display_name: Any,
    post_duration_days: Any = None,
    team_ids: Any = None,
    channel_ids: Any = None,
    actor: str,
) -> Policy:
    """Create a policy with its assignments; emits ``retention.policy_created``."""
    policy = Policy(
        id=new_id(),
        display_name=check_display_name(display_name),
        post_duration_days=check_duration(post_duration_days),
        team_ids=_check_ids("team_ids", team_ids),
        channel_ids=_check_ids("channel_ids", channel_ids),
    )
    with conn.transaction():
        _check_exist(conn, "teams", policy.team_ids)
        _check_exist(conn, "channels", policy.channel_ids)
        _check_free(conn, policy.id, policy.team_ids, policy.channel_ids)
        conn.execute(
            "INSERT INTO retentionpolicies (id, displayname, postduration) VALUES (%s, %s, %s)",
            (policy.id, policy.display_name, policy.post_duration),
        )
        _write_assignments(conn, policy.id, policy.team_ids, policy.channel_ids)
        audit.record(
            conn,
            "retention.policy_created",
            {
                "policy_id": policy.id,
                "display_name": policy.display_name,
                "post_duration_days": policy.post_duration_days,
                "scope": {"team_ids": policy.team_ids, "channel_ids": policy.channel_ids},
                "actor_id": actor,
                "after": asdict(policy),
            },
            actor,
        )
    return policy


def _lock(conn: psycopg.Connection, policy_id: str) -> Policy:
    row = conn.execute("SELECT id FROM retentionpolicies WHERE id = %s FOR UPDATE", (policy_id,)).fetchone()
    if row is None:
        raise PolicyNotFound(f"Retention policy not found: {policy_id!r}")
    return get_policy(conn, policy_id)


def patch_policy(
    conn: psycopg.Connection, policy_id: str, changes: Mapping[str, Any], *, actor: str
) -> Policy:
    """Change the given fields (``team_ids``/``channel_ids`` replace the sets); emits ``retention.policy_updated``.

    A key absent from ``changes`` is left as is; ``post_duration_days: None`` means keep forever.
    """
    unknown = sorted(set(changes) - set(PATCHABLE))
    if unknown:
        raise InvalidPolicy(
            f"unknown field(s) {', '.join(unknown)}; a patch may change {', '.join(PATCHABLE)}"
        )
    new_values: dict[str, Any] = {}
    if "display_name" in changes:
        new_values["display_name"] = check_display_name(changes["display_name"])
    if "post_duration_days" in changes:
        new_values["post_duration_days"] = check_duration(changes["post_duration_days"])
    for key in ("team_ids", "channel_ids"):
        if key in changes:
            new_values[key] = _check_ids(key, changes[key])
    with conn.transaction():
        before = _lock(conn, policy_id)
        after = Policy(**{**asdict(before), **new_values})
        changed = [k for k in PATCHABLE if getattr(before, k) != getattr(after, k)]
        if not changed:
            return before
        if "team_ids" in changed:
            _check_exist(conn, "teams", after.team_ids)
        if "channel_ids" in changed:
            _check_exist(conn, "channels", after.channel_ids)
        _check_free(conn, policy_id, after.team_ids, after.channel_ids)
        conn.execute(
            "UPDATE retentionpolicies SET displayname = %s, postduration = %s WHERE id = %s",
            (after.display_name, after.post_duration, policy_id),
        )
        if "team_ids" in changed or "channel_ids" in changed:
            _write_assignments(conn, policy_id, after.team_ids, after.channel_ids)
        audit.record(
            conn,
            "retention.policy_updated",
            {
                "policy_id": policy_id,
                "changed_fields": changed,
                "actor_id": actor,
                "before": {k: getattr(before, k) for k in changed},
                "after": {k: getattr(after, k) for k in changed},
            },
            actor,
        )
    return after


def add_scopes(
    conn: psycopg.Connection, policy_id: str, *, team_ids: Any = None, channel_ids: Any = None, actor: str
) -> Policy:
    """Add teams and/or channels to a policy (Mattermost's ``POST .../teams``, ``.../channels``)."""
    current = get_policy(conn, policy_id)
    changes: dict[str, Any] = {}
    if team_ids is not None:
        changes["team_ids"] = sorted(set(current.team_ids) | set(_check_ids("team_ids", team_ids)))
    if channel_ids is not None:
        changes["channel_ids"] = sorted(
            set(current.channel_ids) | set(_check_ids("channel_ids", channel_ids))
        )
    return patch_policy(conn, policy_id, changes, actor=actor)


def remove_scopes(
    conn: psycopg.Connection, policy_id: str, *, team_ids: Any = None, channel_ids: Any = None, actor: str
) -> Policy:
    """Remove teams and/or channels from a policy (they revert to their team policy or the global setting)."""
    current = get_policy(conn, policy_id)
    changes: dict[str, Any] = {}
    if team_ids is not None:
        changes["team_ids"] = sorted(set(current.team_ids) - set(_check_ids("team_ids", team_ids)))
    if channel_ids is not None:
        changes["channel_ids"] = sorted(
            set(current.channel_ids) - set(_check_ids("channel_ids", channel_ids))
        )
    return patch_policy(conn, policy_id, changes, actor=actor)


def delete_policy(conn: psycopg.Connection, policy_id: str, *, actor: str) -> Policy:
    """Delete a policy and all its assignments in one transaction (rule_09); emits ``retention.policy_deleted``."""
    with conn.transaction():
        before = _lock(conn, policy_id)
        conn.execute("DELETE FROM retentionpoliciesteams WHERE policyid = %s", (policy_id,))
        conn.execute("DELETE FROM retentionpolicieschannels WHERE policyid = %s", (policy_id,))
        conn.execute("DELETE FROM retentionpolicies WHERE id = %s", (policy_id,))
        audit.record(
            conn,
            "retention.policy_deleted",
            {"policy_id": policy_id, "actor_id": actor, "before": asdict(before)},
            actor,
        )
    return before
