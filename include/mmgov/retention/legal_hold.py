"""Legal holds: content retention must keep, whatever the policies say.

Safety rule: held content is never soft- or hard-deleted. A hold covers the posts (and their
files) of a user, a channel or a team, optionally only those created in ``[start_ms, end_ms)``.
Releasing a hold does not delete anything by itself; the next purge run previews what becomes
deletable. A hold released after a run's preview still protects that run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg import sql

from mmgov import audit
from mmgov.ids import is_id, new_id
from mmgov.retention.errors import HoldAlreadyReleased, HoldNotFound, InvalidHold

SCOPES = {"user": "users", "channel": "channels", "team": "teams"}
NAME_MAX = 128
_COLUMNS = (
    "id",
    "name",
    "scope",
    "target_id",
    "start_ms",
    "end_ms",
    "reason",
    "created_at",
    "created_by",
    "released_at",
    "released_by",
)


@dataclass(frozen=True)
class LegalHold:
    id: str
    name: str
    scope: str
    target_id: str
    start_ms: int | None
    end_ms: int | None
    reason: str
    created_at: int
    created_by: str
    released_at: int | None = None
    released_by: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "active": self.active}


def _now_ms(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint").fetchone()[0])


def _check_ms(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidHold(f"{name} must be epoch milliseconds (a whole number >= 0) or null, got {value!r}")
    return value


def create_hold(
    conn: psycopg.Connection,
    *,
    name: Any,
    scope: Any,
    target_id: Any,
    start_ms: Any = None,
    end_ms: Any = None,
    reason: Any = "",
    actor: str,
) -> LegalHold:
    """Place a hold; emits ``legal_hold.created``. The target must exist."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX:
        raise InvalidHold(
            f"name is required: a non-empty string of at most {NAME_MAX} characters, got {name!r}"
        )
    if scope not in SCOPES:
        raise InvalidHold(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if not is_id(target_id):
        raise InvalidHold(f"target_id must be a {scope} id (26 characters of a-z and 0-9), got {target_id!r}")
    start, end = _check_ms("start_ms", start_ms), _check_ms("end_ms", end_ms)
    if start is not None and end is not None and start >= end:
        raise InvalidHold(f"start_ms ({start}) must be before end_ms ({end})")
    if not isinstance(reason, str):
        raise InvalidHold(f"reason must be a string, got {reason!r}")
    with conn.transaction():
        exists = conn.execute(
            sql.SQL("SELECT 1 FROM {} WHERE id = %s").format(sql.Identifier(SCOPES[scope])), (target_id,)
        ).fetchone()
        if exists is None:
            raise InvalidHold(f"target_id {target_id} is not an existing {scope}")
        hold = LegalHold(
            id=new_id(),
            name=name.strip(),
            scope=scope,
            target_id=target_id,
            start_ms=start,
            end_ms=end,
            reason=reason,
            created_at=_now_ms(conn),
            created_by=actor,
        )
        conn.execute(
            "INSERT INTO mmgov.legal_holds (id, name, scope, target_id, start_ms, end_ms, reason, created_at,"
            " created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                hold.id,
                hold.name,
                hold.scope,
                hold.target_id,
                hold.start_ms,
                hold.end_ms,
                hold.reason,
                hold.created_at,
                hold.created_by,
            ),
        )
        audit.record(
            conn, "legal_hold.created", {"hold_id": hold.id, "actor_id": actor, "after": asdict(hold)}, actor
        )
    return hold


def get_hold(conn: psycopg.Connection, hold_id: str) -> LegalHold:
    row = conn.execute(
        sql.SQL("SELECT {} FROM mmgov.legal_holds WHERE id = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, _COLUMNS))
        ),
        (hold_id,),
    ).fetchone()
    if row is None:
        raise HoldNotFound(f"Legal hold not found: {hold_id!r}")
    return LegalHold(*row)


def list_holds(conn: psycopg.Connection, *, include_released: bool = False) -> list[LegalHold]:
    query = sql.SQL("SELECT {} FROM mmgov.legal_holds {} ORDER BY created_at, id").format(
        sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)),
        sql.SQL("") if include_released else sql.SQL("WHERE released_at IS NULL"),
    )
    return [LegalHold(*r) for r in conn.execute(query)]


def release_hold(conn: psycopg.Connection, hold_id: str, *, actor: str) -> LegalHold:
    """Release a hold (kept for the record); emits ``legal_hold.released``."""
    with conn.transaction():
        row = conn.execute(
            "SELECT released_at FROM mmgov.legal_holds WHERE id = %s FOR UPDATE", (hold_id,)
        ).fetchone()
        if row is None:
            raise HoldNotFound(f"Legal hold not found: {hold_id!r}")
        if row[0] is not None:
            raise HoldAlreadyReleased(f"Legal hold {hold_id} was already released at {row[0]}")
        conn.execute(
            "UPDATE mmgov.legal_holds SET released_at = %s, released_by = %s WHERE id = %s",
            (_now_ms(conn), actor, hold_id),
        )
        hold = get_hold(conn, hold_id)
        audit.record(
            conn, "legal_hold.released", {"hold_id": hold_id, "actor_id": actor, "after": asdict(hold)}, actor
        )
    return hold


def held_predicate(
    user: str, channel: str, team: str, createat: str, *, as_of: str = "holds_as_of"
) -> sql.Composable:
    """SQL that is true when a row is under a hold active at ``%(as_of)s`` (epoch ms) or later.

    The arguments are SQL expressions of the statement the predicate goes into (internal column
    names, never user input); ``as_of`` names the statement's parameter.
    """
    return sql.SQL(
        "EXISTS (SELECT 1 FROM mmgov.legal_holds h"
        " WHERE (h.released_at IS NULL OR h.released_at > {as_of})"
        " AND ((h.scope = 'user' AND h.target_id = {user})"
        " OR (h.scope = 'channel' AND h.target_id = {channel})"
        " OR (h.scope = 'team' AND h.target_id = {team}))"
        " AND (h.start_ms IS NULL OR {createat} >= h.start_ms)"
        " AND (h.end_ms IS NULL OR {createat} < h.end_ms))"
    ).format(
        as_of=sql.Placeholder(as_of),
        user=sql.SQL(user),
        channel=sql.SQL(channel),
        team=sql.SQL(team),
        createat=sql.SQL(createat),
    )
