"""Preview of a purge run: what would be deleted, per policy, team and channel, and what is spared.

Read-only for Mattermost's tables. It fixes the run's plan (the effective policy of every channel
evaluated at one instant, ``now_ms``), the ids that may be deleted (``mmgov.purge_candidates``),
and the counts (``mmgov.purge_channels``), in one REPEATABLE READ transaction so the numbers are
consistent. The delete step deletes only previewed candidates, re-checking each one.

Spared posts are counted under the first reason that applies: legal hold, then pinned (with
``PreservePinnedPosts``), then not yet covered by the compliance export.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from mmgov import audit
from mmgov.ids import new_id
from mmgov.retention import approval
from mmgov.retention.effective_policy import (
    PLAN_SQL,
    file_cutoff_ms,
    fingerprints,
    plan_params,
    unknown_channel_types,
)
from mmgov.retention.export_guard import export_guard
from mmgov.retention.legal_hold import held_predicate
from mmgov.retention.preview_text import readable_facts
from mmgov.retention.runs import db_now_ms, find_run, update_run
from mmgov.settings import Settings
from mmgov.state import ensure_mmgov_schema

log = logging.getLogger(__name__)
TOP_CHANNELS = 50  # channels listed in the summary (all of them are in mmgov.purge_channels)
STALE_CANDIDATES_MS = 7 * 86_400_000  # a run not approved within a week must be previewed again

_CLASSIFY_POSTS = sql.SQL(
    """
    CREATE TEMP TABLE mmgov_purge_posts ON COMMIT DROP AS
    SELECT p.id, p.createat, p.channelid,
           CASE WHEN {held} THEN 'h'
                WHEN %(preserve_pinned)s AND coalesce(p.ispinned, false) THEN 'p'
                WHEN %(watermark)s::bigint IS NOT NULL AND p.updateat >= %(watermark)s::bigint THEN 'u'
                ELSE 'd' END AS verdict
    FROM mmgov.purge_channels pc
    JOIN posts p ON p.channelid = pc.channelid AND p.deleteat = 0 AND p.createat < pc.post_cutoff_ms
    WHERE pc.run_id = %(run_id)s AND pc.post_cutoff_ms IS NOT NULL
    """
).format(held=held_predicate("p.userid", "p.channelid", "pc.teamid", "p.createat"))

_CLASSIFY_FILES = sql.SQL(
    """
    CREATE TEMP TABLE mmgov_purge_files ON COMMIT DROP AS
    SELECT f.id, f.createat, coalesce(p.channelid, f.channelid, '') AS channelid,
           CASE WHEN coalesce(pc.keep_forever, false) THEN 'k'
                WHEN {held} THEN 'h'
                WHEN %(preserve_pinned)s AND coalesce(p.ispinned, false) AND p.deleteat = 0 THEN 'p'
                WHEN %(watermark)s::bigint IS NOT NULL AND p.id IS NOT NULL
                     AND p.updateat >= %(watermark)s::bigint THEN 'u'
                ELSE 'd' END AS verdict
    FROM fileinfo f
    LEFT JOIN posts p ON p.id = f.postid
    LEFT JOIN mmgov.purge_channels pc ON pc.run_id = %(run_id)s AND pc.channelid = coalesce(p.channelid, f.channelid)
    WHERE f.deleteat = 0 AND f.createat < %(file_cutoff)s
      AND NOT EXISTS (SELECT 1 FROM mmgov_purge_posts d WHERE d.id = f.postid AND d.verdict = 'd')
    """
).format(
    held=held_predicate(
        "coalesce(p.userid, f.creatorid)",
        "coalesce(p.channelid, f.channelid)",
        "coalesce(pc.teamid, '')",
        "coalesce(p.createat, f.createat)",
    )
)


def preview_purge(
    conn: psycopg.Connection,
    settings: Settings,
    *,
    dag_run_id: str | None = None,
    dry_run: bool = False,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """Plan and count a purge run; returns its summary (also stored on the run)."""
    ensure_mmgov_schema(conn)
    if dag_run_id is not None:
        existing = find_run(conn, "purge", dag_run_id)
        if existing is not None:
            if existing["status"] not in ("previewed", "dry_run"):
                return existing["summary"]  # a retried preview after the delete began: keep its plan
            run_id = existing["id"]
        else:
            run_id = new_id()
    else:
        run_id = new_id()
    drs = settings.DataRetentionSettings
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('mmgov.retention.preview'))")
        created = db_now_ms(conn)
        now = created if now_ms is None else now_ms
        fingerprint, plan_hash, plan_doc = fingerprints(conn, settings)
        guard = export_guard(conn, settings)
        file_cutoff = file_cutoff_ms(settings, now)
        # Candidates of this run (re-preview) and of runs that will never delete (finished, stale).
        conn.execute(
            "DELETE FROM mmgov.purge_candidates c WHERE c.run_id = %s OR NOT EXISTS (SELECT 1 FROM mmgov.purge_runs r"
            " WHERE r.id = c.run_id AND r.status IN ('previewed', 'running') AND r.created_at > %s)",
            (run_id, created - STALE_CANDIDATES_MS),
        )
        conn.execute("DELETE FROM mmgov.purge_runs WHERE id = %s", (run_id,))
        conn.execute(
            "INSERT INTO mmgov.purge_runs (id, kind, dag_run_id, status, dry_run, created_at, now_ms, file_cutoff_ms,"
            " fingerprint, plan_hash, plan_doc, export_watermark_ms, export_guard, approval_mode)"
            " VALUES (%s, 'purge', %s, 'previewed', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                run_id,
                dag_run_id,
                dry_run,
                created,
                now,
                file_cutoff,
                fingerprint,
                plan_hash,
                Jsonb(plan_doc),
                guard.sql_watermark,
                guard.state,
                settings.Mmgov.RetentionApproval,
            ),
        )
        conn.execute(PLAN_SQL, plan_params(settings, run_id, now))
        params = {
            "run_id": run_id,
            "preserve_pinned": drs.PreservePinnedPosts,
            "watermark": guard.sql_watermark,
            "holds_as_of": created,  # holds active at the preview (or placed later) protect the run
            "file_cutoff": file_cutoff,
        }
        totals = _classify(conn, params, with_files=file_cutoff is not None)
        posts_planned, files_planned = totals["messages_to_delete"], totals["files_to_delete"]
        decision = approval.decide(
            conn,
            kind="purge",
            mode=settings.Mmgov.RetentionApproval,
            fingerprint=fingerprint,
            total=posts_planned + files_planned,
            anomaly_factor=settings.Mmgov.RetentionAnomalyFactor,
            run_id=run_id,
        )
        summary = _summary(conn, run_id, now, dry_run, totals, guard, decision, fingerprint, settings)
        unknown_types = unknown_channel_types(conn, run_id)
        if unknown_types:  # governed by their team (or like DMs without one): see effective_policy
            summary["unknown_channel_types"] = unknown_types
            log.warning(
                "retention preview %s: channel types unknown to this mmgov version: %s", run_id, unknown_types
            )
        summary.update(
            readable_facts(conn, summary, settings, file_cutoff=file_cutoff, dag_run_id=dag_run_id)
        )
        summary["markdown"] = render_markdown(summary)
        update_run(
            conn,
            run_id,
            status="dry_run" if dry_run else "previewed",
            posts_planned=posts_planned,
            files_planned=files_planned,
            needs_approval=decision.needs_approval,
            approval_reasons=decision.reasons,
            summary=summary,
        )
        if dry_run:  # a dry run deletes nothing: no candidates to keep
            conn.execute("DELETE FROM mmgov.purge_candidates WHERE run_id = %s", (run_id,))
        else:  # the batches' plans depend on it: the table was (nearly) empty at the last analyze
            conn.execute("ANALYZE mmgov.purge_candidates")
            conn.execute("ANALYZE mmgov.purge_channels")
    audit.record(
        conn,
        "retention.purge_previewed",
        {
            "run_id": run_id,
            "dry_run": dry_run,
            "messages_to_delete": posts_planned,
            "files_to_delete": files_planned,
            "spared": summary["spared"],
            "needs_approval": decision.needs_approval,
            "reasons": decision.reasons,
        },
    )
    log.info("retention preview %s: %s", run_id, summary_line(summary))
    return summary


def _classify(conn: psycopg.Connection, params: dict[str, Any], *, with_files: bool) -> dict[str, Any]:
    """Sort expired rows into delete/spared, store the candidates and the per-channel counts."""
    conn.execute(_CLASSIFY_POSTS, params)
    conn.execute(
        "INSERT INTO mmgov.purge_candidates (run_id, kind, createat, id)"
        " SELECT %s, 'p', createat, id FROM mmgov_purge_posts WHERE verdict = 'd'",
        (params["run_id"],),
    )
    conn.execute(
        """
        UPDATE mmgov.purge_channels pc SET posts_to_delete = x.d, spared_held = x.h, spared_pinned = x.p,
               spared_unexported = x.u
        FROM (SELECT channelid, count(*) FILTER (WHERE verdict = 'd') AS d, count(*) FILTER (WHERE verdict = 'h') AS h,
                     count(*) FILTER (WHERE verdict = 'p') AS p, count(*) FILTER (WHERE verdict = 'u') AS u
              FROM mmgov_purge_posts GROUP BY channelid) x
        WHERE pc.run_id = %s AND pc.channelid = x.channelid
        """,
        (params["run_id"],),
    )
    # Files attached to the posts to delete go with them.
    conn.execute(
        """
        UPDATE mmgov.purge_channels pc SET files_to_delete = x.n
        FROM (SELECT d.channelid, count(*) AS n FROM mmgov_purge_posts d
              JOIN fileinfo f ON f.postid = d.id AND f.deleteat = 0 WHERE d.verdict = 'd' GROUP BY d.channelid) x
        WHERE pc.run_id = %s AND pc.channelid = x.channelid
        """,
        (params["run_id"],),
    )
    post_counts = conn.execute(
        "SELECT count(*) FILTER (WHERE verdict = 'd'), count(*) FILTER (WHERE verdict = 'h'),"
        " count(*) FILTER (WHERE verdict = 'p'), count(*) FILTER (WHERE verdict = 'u') FROM mmgov_purge_posts"
    ).fetchone()
    attached = conn.execute(
        "SELECT count(*) FROM mmgov_purge_posts d JOIN fileinfo f ON f.postid = d.id AND f.deleteat = 0"
        " WHERE d.verdict = 'd'"
    ).fetchone()[0]
    file_counts = (0, 0, 0, 0, 0)
    if with_files:
        conn.execute(_CLASSIFY_FILES, params)
        conn.execute(
            "INSERT INTO mmgov.purge_candidates (run_id, kind, createat, id)"
            " SELECT %s, 'f', createat, id FROM mmgov_purge_files WHERE verdict = 'd'",
            (params["run_id"],),
        )
        conn.execute(
            """
            UPDATE mmgov.purge_channels pc SET files_to_delete = pc.files_to_delete + x.d, files_spared = x.s
            FROM (SELECT channelid, count(*) FILTER (WHERE verdict = 'd') AS d,
                         count(*) FILTER (WHERE verdict <> 'd') AS s
                  FROM mmgov_purge_files GROUP BY channelid) x
            WHERE pc.run_id = %s AND pc.channelid = x.channelid
            """,
            (params["run_id"],),
        )
        file_counts = conn.execute(
            "SELECT count(*) FILTER (WHERE verdict = 'd'), count(*) FILTER (WHERE verdict = 'k'),"
            " count(*) FILTER (WHERE verdict = 'h'), count(*) FILTER (WHERE verdict = 'p'),"
            " count(*) FILTER (WHERE verdict = 'u') FROM mmgov_purge_files"
        ).fetchone()
    return {
        "messages_to_delete": int(post_counts[0]),
        "files_to_delete": int(attached + file_counts[0]),
        "files_by_file_retention": int(file_counts[0]),
        "spared": {
            "messages_held": int(post_counts[1]),
            "messages_pinned": int(post_counts[2]),
            "messages_not_exported": int(post_counts[3]),
            "files_keep_forever": int(file_counts[1]),
            "files_held": int(file_counts[2]),
            "files_pinned": int(file_counts[3]),
            "files_not_exported": int(file_counts[4]),
        },
    }


def _summary(
    conn: psycopg.Connection,
    run_id: str,
    now: int,
    dry_run: bool,
    totals: dict[str, Any],
    guard: Any,
    decision: approval.Decision,
    fingerprint: str,
    settings: Settings,
) -> dict[str, Any]:
    by_policy = [
        {
            "policy_id": pid,
            "display_name": name,
            "source": source,
            "post_cutoff_ms": cutoff,
            "keep_forever": forever,
            "channels": int(n),
            "messages": int(m),
            "files": int(f),
        }
        for pid, name, source, cutoff, forever, n, m, f in conn.execute(
            """
            SELECT pc.policy_id, rp.displayname, pc.source, min(pc.post_cutoff_ms), bool_or(pc.keep_forever),
                   count(*), sum(pc.posts_to_delete), sum(pc.files_to_delete)
            FROM mmgov.purge_channels pc LEFT JOIN retentionpolicies rp ON rp.id = pc.policy_id
            WHERE pc.run_id = %s AND pc.source <> 'none'
            GROUP BY pc.policy_id, rp.displayname, pc.source ORDER BY sum(pc.posts_to_delete) DESC, pc.policy_id
            """,
            (run_id,),
        )
    ]
    by_team = [
        {
            "team_id": tid,
            "team_name": name or ("(direct and group messages)" if not tid else ""),
            "messages": int(m),
            "files": int(f),
        }
        for tid, name, m, f in conn.execute(
            """
            SELECT pc.teamid, t.name, sum(pc.posts_to_delete), sum(pc.files_to_delete)
            FROM mmgov.purge_channels pc LEFT JOIN teams t ON t.id = pc.teamid
            WHERE pc.run_id = %s GROUP BY pc.teamid, t.name
            HAVING sum(pc.posts_to_delete) + sum(pc.files_to_delete) > 0 ORDER BY 3 DESC, 1
            """,
            (run_id,),
        )
    ]
    channels = [
        {
            "channel_id": cid,
            "name": name,
            "type": ctype,
            "team_id": tid,
            "source": source,
            "policy_id": pid,
            "messages": int(m),
            "files": int(f),
            "spared_held": int(h),
            "spared_pinned": int(p),
            "spared_not_exported": int(u),
        }
        for cid, name, ctype, tid, source, pid, m, f, h, p, u in conn.execute(
            """
            SELECT pc.channelid, c.name, pc.channel_type, pc.teamid, pc.source, pc.policy_id, pc.posts_to_delete,
                   pc.files_to_delete, pc.spared_held, pc.spared_pinned, pc.spared_unexported
            FROM mmgov.purge_channels pc LEFT JOIN channels c ON c.id = pc.channelid
            WHERE pc.run_id = %s AND pc.posts_to_delete + pc.files_to_delete + pc.spared_held + pc.spared_pinned
                  + pc.spared_unexported > 0
            ORDER BY pc.posts_to_delete DESC, pc.files_to_delete DESC, pc.channelid LIMIT %s
            """,
            (run_id, TOP_CHANNELS),
        )
    ]
    summary = {
        "run_id": run_id,
        "kind": "purge",
        "dry_run": dry_run,
        "now_ms": now,
        **totals,
        "by_policy": by_policy,
        "by_team": by_team,
        "channels": channels,
        "export_guard": {"state": guard.state, "watermark_ms": guard.watermark_ms, "note": guard.describe()},
        "approval": {
            "mode": settings.Mmgov.RetentionApproval,
            "needs_approval": decision.needs_approval,
            "reasons": decision.reasons,
            "auto_label": decision.auto_label,
        },
        "fingerprint": fingerprint,
    }
    return summary


def render_markdown(summary: dict[str, Any]) -> str:
    """The preview as Markdown (the approval task's body): see :mod:`mmgov.retention.preview_text`."""
    from mmgov.retention.preview_text import markdown

    return markdown(summary)


def summary_line(summary: dict[str, Any]) -> str:
    """One log line for a preview or a run summary."""
    sp = summary.get("spared", {})
    return (
        f"run={summary['run_id']} dry_run={summary.get('dry_run')} messages_to_delete={summary['messages_to_delete']} "
        f"files_to_delete={summary['files_to_delete']} spared_held={sp.get('messages_held', 0)} "
        f"spared_pinned={sp.get('messages_pinned', 0)} spared_not_exported={sp.get('messages_not_exported', 0)} "
        f"export_guard={summary['export_guard']['state']} needs_approval={summary['approval']['needs_approval']}"
    )
