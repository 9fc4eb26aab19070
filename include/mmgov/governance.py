"""Read models of the Governance console: paginated lists of holds, runs, exports, GDPR jobs, audit rows.

Every list is one bounded query (``LIMIT``; keyset on ``id`` for the audit trail, which grows without
bound; ``OFFSET`` only on mmgov's small tables) using indexes mmgov's own DDL or Mattermost's
schema already has, so each page stays fast on a large workspace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

PER_PAGE = 20
EXPORT_EVENTS = ("compliance_export.completed", "compliance_export.failed")


@dataclass(frozen=True)
class Page:
    """One page of rows; ``more`` when a next page exists (one extra row was read to know)."""

    rows: list[dict[str, Any]]
    page: int
    more: bool

    @classmethod
    def of(cls, rows: list[dict[str, Any]], page: int, per_page: int) -> Page:
        return cls(rows[:per_page], page, len(rows) > per_page)


def _rows(conn: psycopg.Connection, query: str, params: tuple | dict) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


# --- legal holds ----------------------------------------------------------------------------------

_COVERAGE = {
    "user": (
        "SELECT count(*) AS posts, count(DISTINCT channelid) AS channels FROM posts"
        " WHERE userid = %(t)s AND deleteat = 0 AND createat >= %(s)s AND createat < %(e)s"
    ),
    "channel": (
        "SELECT count(*) AS posts, 1 AS channels FROM posts"
        " WHERE channelid = %(t)s AND deleteat = 0 AND createat >= %(s)s AND createat < %(e)s"
    ),
    "team": (
        "SELECT (SELECT count(*) FROM channels c JOIN posts p ON p.channelid = c.id AND p.deleteat = 0"
        "        AND p.createat >= %(s)s AND p.createat < %(e)s WHERE c.teamid = %(t)s) AS posts,"
        " (SELECT count(*) FROM channels WHERE teamid = %(t)s) AS channels"
    ),
}


def holds_page(
    conn: psycopg.Connection, *, page: int = 0, per_page: int = PER_PAGE, include_released: bool = True
) -> Page:
    """Holds, active first then newest, each with what it covers now (live posts and channels)."""
    rows = _rows(
        conn,
        "SELECT * FROM mmgov.legal_holds WHERE %s OR released_at IS NULL"
        " ORDER BY released_at IS NOT NULL, created_at DESC, id LIMIT %s OFFSET %s",
        (include_released, per_page + 1, page * per_page),
    )
    result = Page.of(rows, page, per_page)
    for hold in result.rows:
        params = {"t": hold["target_id"], "s": hold["start_ms"] or 0, "e": hold["end_ms"] or 2**62}
        hold["covers"] = _rows(conn, _COVERAGE[hold["scope"]], params)[0]
    return result


# --- purge runs -----------------------------------------------------------------------------------


def runs_page(
    conn: psycopg.Connection, *, kind: str = "purge", page: int = 0, per_page: int = PER_PAGE
) -> Page:
    """Runs of ``kind``, newest first, without their large plan documents (index ``purge_runs_kind_created``)."""
    rows = _rows(
        conn,
        "SELECT id, kind, dag_run_id, status, dry_run, created_at, approval, approved_by, approved_at,"
        " needs_approval, posts_planned, files_planned, messages_deleted, files_deleted, messages_restored,"
        " files_restored, finished_at FROM mmgov.purge_runs WHERE kind = %s"
        " ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
        (kind, per_page + 1, page * per_page),
    )
    return Page.of(rows, page, per_page)


def restorable_channels(conn: psycopg.Connection, run_id: str) -> list[str]:
    """Channels a run deleted something in (from its per-channel plan, not the large purge log)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT channelid FROM mmgov.purge_channels WHERE run_id = %s AND posts_to_delete + files_to_delete > 0"
            " ORDER BY posts_to_delete DESC, channelid LIMIT 500",
            (run_id,),
        )
    ]


# --- exports --------------------------------------------------------------------------------------


def compliance_exports_page(conn: psycopg.Connection, *, page: int = 0, per_page: int = PER_PAGE) -> Page:
    """Compliance export runs (completed or failed), newest first, from the audit trail."""
    rows = _rows(
        conn,
        "SELECT id, at, event, payload FROM mmgov.audit_log WHERE event = ANY(%s)"
        " ORDER BY at DESC, id DESC LIMIT %s OFFSET %s",
        (list(EXPORT_EVENTS), per_page + 1, page * per_page),
    )
    return Page.of(rows, page, per_page)


def gdpr_jobs_page(conn: psycopg.Connection, *, page: int = 0, per_page: int = PER_PAGE) -> Page:
    """GDPR export jobs, newest first (index ``gdpr_export_jobs_created_at``)."""
    rows = _rows(
        conn,
        "SELECT job_id, status, actor, params, progress, output_path, error, created_at, started_at, finished_at"
        " FROM mmgov.gdpr_export_jobs ORDER BY created_at DESC, job_id LIMIT %s OFFSET %s",
        (per_page + 1, page * per_page),
    )
    result = Page.of(rows, page, per_page)
    sizes = dict(
        conn.execute(
            "SELECT payload->>'job_id', (payload->>'file_size_bytes')::bigint FROM mmgov.audit_log"
            " WHERE event IN ('export.completed', 'export.completed_with_warnings')"
            " AND payload->>'job_id' = ANY(%s)",
            ([r["job_id"] for r in result.rows],),
        ).fetchall()
    )
    for row in result.rows:  # the archive's size is recorded with the job's completion event
        row["file_size_bytes"] = sizes.get(row["job_id"])
    return result


# --- audit trail ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """``event`` is a prefix (``retention.``), ``actor`` a substring; ``since``/``until`` bound ``at``."""

    event: str = ""
    actor: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def audit_page(
    conn: psycopg.Connection, flt: AuditFilter, *, before_id: int | None = None, per_page: int = PER_PAGE
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest audit rows matching ``flt`` with ``id < before_id``; and the ``before_id`` of the next page."""
    like = flt.actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = _rows(
        conn,
        "SELECT id, at, event, actor, payload FROM mmgov.audit_log"
        " WHERE (%(before)s::bigint IS NULL OR id < %(before)s) AND starts_with(event, %(event)s)"
        " AND (%(actor)s = '' OR actor ILIKE '%%' || %(actor)s || '%%')"
        " AND (%(since)s::timestamptz IS NULL OR at >= %(since)s) AND (%(until)s::timestamptz IS NULL OR at < %(until)s)"
        " ORDER BY id DESC LIMIT %(limit)s",
        {
            "before": before_id,
            "event": flt.event,
            "actor": like,
            "since": flt.since,
            "until": flt.until,
            "limit": per_page + 1,
        },
    )
    more = len(rows) > per_page
    rows = rows[:per_page]
    return rows, (rows[-1]["id"] if more and rows else None)


def changes(payload: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(field, before, after)`` of an audit payload that records a change (``before``/``after``)."""
    before, after = payload.get("before"), payload.get("after")
    if not isinstance(before, dict) and not isinstance(after, dict):
        return []
    before, after = before or {}, after or {}
    return [
        (k, before.get(k), after.get(k))
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    ]


def policy_changes(conn: psycopg.Connection, policy_ids: list[str]) -> dict[str, dt.datetime]:
    """When each policy was last created or changed (the audit trail): it takes effect at the next purge."""
    rows = conn.execute(
        "SELECT payload->>'policy_id', max(at) FROM mmgov.audit_log"
        " WHERE event IN ('retention.policy_created', 'retention.policy_updated')"
        " AND payload->>'policy_id' = ANY(%s) GROUP BY 1",
        (policy_ids,),
    )
    return dict(rows.fetchall())
