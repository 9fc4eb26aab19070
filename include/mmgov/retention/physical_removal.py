"""Physical removal: rows retention soft-deleted longer ago than the grace period are removed for good.

Safety rule: only rows in the purge log (retention's own soft deletes, still exactly as it left
them) older than ``Mmgov.PurgeGraceDays``, never held content, never a row a user deleted. This
cannot be undone: it runs after a person's approval (same ``RetentionApproval`` rules as the purge)
and restore is possible only until then.

Per batch (one transaction): lock the posts, delete the rows hanging off them in every post-keyed
table (``post_rows.POST_KEYED_TABLES``: reactions, flags, threads, priority, acknowledgements,
reminders, read receipts, translations, ...), then the posts and their edit history; or lock the file rows, queue
their objects (path, thumbnail, preview) in an outbox and delete the rows. After the commit the
objects are removed from the store and the outbox entries cleared, so a crash leaves nothing behind:
the next run drains the outbox first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from mmgov import audit
from mmgov.file_store import FileRemover, RemovalResult
from mmgov.ids import new_id
from mmgov.retention import approval
from mmgov.retention.effective_policy import DAY_MS, fingerprints
from mmgov.retention.errors import RetentionError
from mmgov.retention.legal_hold import held_predicate
from mmgov.retention.post_rows import PostKeyedTable, delete_post_rows, existing_post_keyed_tables
from mmgov.retention.runs import db_now_ms, find_run, get_run, update_run
from mmgov.settings import Settings
from mmgov.state import ensure_mmgov_schema

log = logging.getLogger(__name__)

_ELIGIBLE_COUNTS = sql.SQL(
    """
    SELECT l.kind, count(*) FILTER (WHERE NOT {held}), count(*) FILTER (WHERE {held})
    FROM mmgov.purge_log l
    LEFT JOIN posts p ON l.kind <> 'file' AND p.id = l.id
    LEFT JOIN fileinfo f ON l.kind = 'file' AND f.id = l.id
    LEFT JOIN posts fp ON l.kind = 'file' AND fp.id = f.postid
    LEFT JOIN channels c ON c.id = coalesce(p.channelid, fp.channelid, f.channelid)
    WHERE l.run_id = ANY(%(runs)s) AND l.deleted_at < %(cutoff)s
    GROUP BY l.kind
    """
).format(
    held=held_predicate(
        "coalesce(p.userid, fp.userid, f.creatorid)",
        "coalesce(p.channelid, fp.channelid, f.channelid)",
        "coalesce(c.teamid, '')",
        "coalesce(p.createat, fp.createat, f.createat)",
    )
)

# Keyset over one run's log by its primary key (kind, id); held or locked rows stay for a later run.
_LOG_BATCH = """
SELECT run_id, kind, id, deleted_at FROM mmgov.purge_log
WHERE run_id = %(run_id)s AND kind = ANY(%(kinds)s) AND (kind, id) > (%(c_kind)s, %(c_id)s)
  AND deleted_at < %(cutoff)s
ORDER BY kind, id LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""


def eligible_runs(conn: psycopg.Connection, cutoff: int) -> list[str]:
    """Purge runs that started before ``cutoff``: only they can hold rows soft-deleted before it."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM mmgov.purge_runs WHERE kind = 'purge' AND started_at < %s ORDER BY started_at, id",
            (cutoff,),
        )
    ]


_POST_VICTIMS = sql.SQL(
    """
    SELECT p.id, b.kind, p.originalid FROM posts p
    JOIN unnest(%(ids)s::text[], %(kinds)s::text[], %(runs)s::text[], %(at)s::bigint[]) AS b(id, kind, run_id, deleted_at)
      ON p.id = b.id
    LEFT JOIN channels c ON c.id = p.channelid
    WHERE ((b.kind = 'post' AND p.deleteat = b.deleted_at AND p.props->>'mmgov_purge_run' = b.run_id)
           OR (b.kind = 'post_history' AND p.deleteat > 0))
      AND NOT {held}
    FOR UPDATE OF p SKIP LOCKED
    """
).format(held=held_predicate("p.userid", "p.channelid", "coalesce(c.teamid, '')", "p.createat"))

_FILE_VICTIMS = sql.SQL(
    """
    SELECT f.id, f.path, f.thumbnailpath, f.previewpath FROM fileinfo f
    JOIN unnest(%(ids)s::text[], %(at)s::bigint[]) AS b(id, deleted_at) ON f.id = b.id
    LEFT JOIN posts p ON p.id = f.postid
    LEFT JOIN channels c ON c.id = coalesce(p.channelid, f.channelid)
    WHERE f.deleteat = b.deleted_at
      AND NOT {held}
    FOR UPDATE OF f SKIP LOCKED
    """
).format(
    held=held_predicate(
        "coalesce(p.userid, f.creatorid)",
        "coalesce(p.channelid, f.channelid)",
        "coalesce(c.teamid, '')",
        "coalesce(p.createat, f.createat)",
    )
)

# Log rows whose row is no longer retention's (gone, restored elsewhere, changed): forget them.
_FORGET_STALE = """
DELETE FROM mmgov.purge_log l
USING unnest(%(ids)s::text[], %(kinds)s::text[], %(runs)s::text[], %(at)s::bigint[]) AS b(id, kind, run_id, deleted_at)
WHERE l.run_id = b.run_id AND l.kind = b.kind AND l.id = b.id
  AND (b.id = ANY(%(removed)s::text[])
       OR (b.kind = 'post' AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = b.id AND p.deleteat = b.deleted_at
                                           AND p.props->>'mmgov_purge_run' = b.run_id))
       OR (b.kind = 'post_history' AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = b.id AND p.deleteat > 0))
       OR (b.kind = 'file' AND NOT EXISTS (SELECT 1 FROM fileinfo f WHERE f.id = b.id AND f.deleteat = b.deleted_at)))
"""


def preview_removal(
    conn: psycopg.Connection, settings: Settings, *, dag_run_id: str | None = None, now_ms: int | None = None
) -> dict[str, Any]:
    """Count what physical removal would remove now, and decide on approval; creates the run."""
    ensure_mmgov_schema(conn)
    existing = find_run(conn, "removal", dag_run_id) if dag_run_id else None
    if existing is not None and existing["status"] != "previewed":
        return existing["summary"]
    run_id = existing["id"] if existing else new_id()
    with conn.transaction():
        created = db_now_ms(conn)
        now = created if now_ms is None else now_ms
        cutoff = now - settings.Mmgov.PurgeGraceDays * DAY_MS
        fingerprint, plan_hash, plan_doc = fingerprints(conn, settings)
        counts = {k: (0, 0) for k in ("post", "post_history", "file")}
        for kind, eligible, held in conn.execute(
            _ELIGIBLE_COUNTS, {"cutoff": cutoff, "holds_as_of": created, "runs": eligible_runs(conn, cutoff)}
        ):
            counts[kind] = (int(eligible), int(held))
        pending_objects = conn.execute("SELECT count(*) FROM mmgov.purge_file_objects").fetchone()[0]
        total = counts["post"][0] + counts["file"][0]
        decision = approval.decide(
            conn,
            kind="removal",
            mode=settings.Mmgov.RetentionApproval,
            fingerprint=fingerprint,
            total=total,
            anomaly_factor=settings.Mmgov.RetentionAnomalyFactor,
            run_id=run_id,
        )
        summary = {
            "run_id": run_id,
            "kind": "removal",
            "now_ms": now,
            "grace_days": settings.Mmgov.PurgeGraceDays,
            "cutoff_ms": cutoff,
            "messages_to_remove": counts["post"][0],
            "history_rows_to_remove": counts["post_history"][0],
            "files_to_remove": counts["file"][0],
            "held": {"messages": counts["post"][1], "files": counts["file"][1]},
            "pending_objects": int(pending_objects),
            "approval": {
                "mode": settings.Mmgov.RetentionApproval,
                "needs_approval": decision.needs_approval,
                "reasons": decision.reasons,
                "auto_label": decision.auto_label,
            },
            "fingerprint": fingerprint,
        }
        summary["markdown"] = (
            f"**Physical removal run `{run_id}`**\n\nWill remove for good **{summary['messages_to_remove']:,} messages** "
            f"(+{summary['history_rows_to_remove']:,} edit-history rows) and **{summary['files_to_remove']:,} files** "
            f"(rows and objects) soft-deleted by retention more than {summary['grace_days']} days ago. "
            f"Held and spared: {counts['post'][1]:,} messages, {counts['file'][1]:,} files. This cannot be undone.\n\n"
            "Approval: " + "; ".join(decision.reasons)
        )
        conn.execute("DELETE FROM mmgov.purge_runs WHERE id = %s", (run_id,))
        conn.execute(
            "INSERT INTO mmgov.purge_runs (id, kind, dag_run_id, status, created_at, now_ms, file_cutoff_ms,"
            " fingerprint, plan_hash, plan_doc, approval_mode, needs_approval, approval_reasons, summary,"
            " posts_planned, files_planned)"
            " VALUES (%s, 'removal', %s, 'previewed', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                run_id,
                dag_run_id,
                created,
                now,
                cutoff,
                fingerprint,
                plan_hash,
                Jsonb(plan_doc),
                settings.Mmgov.RetentionApproval,
                decision.needs_approval,
                Jsonb(decision.reasons),
                Jsonb(summary),
                counts["post"][0],
                counts["file"][0],
            ),
        )
    log.info(
        "physical removal preview %s: %s messages, %s files eligible",
        run_id,
        total - counts["file"][0],
        counts["file"][0],
    )
    return summary


def remove_expired(
    conn: psycopg.Connection,
    settings: Settings,
    run_id: str,
    store: FileRemover,
    *,
    hitl_result: dict[str, Any] | None = None,
    batch_size: int | None = None,
    pause_ms: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Remove for good what run ``run_id`` previewed as eligible; returns the totals."""
    run = get_run(conn, run_id)
    if run["kind"] != "removal":
        raise RetentionError(f"run {run_id} is a {run['kind']} run, not a removal run")
    if run["status"] == "completed":
        return run["summary"].get("result", {})
    run = approval.apply_approval(conn, run_id, hitl_result)
    drs = settings.DataRetentionSettings
    limit = batch_size or drs.BatchSize
    pause = drs.TimeBetweenBatchesMilliseconds if pause_ms is None else pause_ms
    update_run(conn, run_id, status="running", started_at=run["started_at"] or db_now_ms(conn))
    result = {
        "run_id": run_id,
        "messages_removed": 0,
        "history_rows_removed": 0,
        "files_removed": 0,
        "objects_removed": 0,
        "refused_paths": [],
        "failed_objects": {},
        "batches": 0,
    }
    _drain_outbox(conn, store, result)
    cutoff = run["file_cutoff_ms"]
    runs = eligible_runs(conn, cutoff)
    post_tables = existing_post_keyed_tables(conn)
    for kinds in (["post", "post_history"], ["file"]):
        for purge_run in runs:
            cursor = ("", "")
            while True:
                with conn.transaction():
                    rows = conn.execute(
                        _LOG_BATCH,
                        {
                            "run_id": purge_run,
                            "kinds": kinds,
                            "cutoff": cutoff,
                            "limit": limit,
                            "c_kind": cursor[0],
                            "c_id": cursor[1],
                        },
                    ).fetchall()
                    if rows:
                        cursor = rows[-1][1], rows[-1][2]
                        if kinds[0] == "post":
                            _remove_posts(conn, rows, run["created_at"], post_tables, result)
                        else:
                            _remove_files(conn, rows, run["created_at"], run_id, result)
                result["batches"] += 1
                if kinds == ["file"]:
                    _drain_outbox(conn, store, result)
                if len(rows) < limit:
                    break
                if pause:
                    sleep(pause / 1000)
    with conn.transaction():
        summary = {**run["summary"], "result": result}
        update_run(
            conn,
            run_id,
            status="completed",
            finished_at=db_now_ms(conn),
            summary=summary,
            messages_deleted=result["messages_removed"],
            files_deleted=result["files_removed"],
        )
    if result["failed_objects"]:
        raise RetentionError(
            f"physical removal {run_id}: {len(result['failed_objects'])} file object(s) could not be removed "
            f"and stay queued for the next run: {dict(list(result['failed_objects'].items())[:5])}"
        )
    return result


def _arrays(rows: list[tuple]) -> dict[str, list[Any]]:
    return {
        "runs": [r[0] for r in rows],
        "kinds": [r[1] for r in rows],
        "ids": [r[2] for r in rows],
        "at": [r[3] for r in rows],
    }


def _remove_posts(
    conn: psycopg.Connection,
    rows: list[tuple],
    holds_as_of: int,
    post_tables: tuple[PostKeyedTable, ...],
    result: dict[str, Any],
) -> None:
    arrays = _arrays(rows)
    found = conn.execute(_POST_VICTIMS, {**arrays, "holds_as_of": holds_as_of}).fetchall()
    posts = [pid for pid, kind, _ in found if kind == "post"]
    # An edit-history row goes only with its post: removed now, or already gone.
    parents = sorted({orig for _, kind, orig in found if kind == "post_history"} - set(posts))
    alive = (
        {r[0] for r in conn.execute("SELECT id FROM posts WHERE id = ANY(%s)", (parents,))}
        if parents
        else set()
    )
    history = [pid for pid, kind, orig in found if kind == "post_history" and orig not in alive]
    victims = posts + history
    if victims:
        delete_post_rows(conn, post_tables, victims)
        conn.execute("DELETE FROM posts WHERE id = ANY(%s)", (victims,))
    result["messages_removed"] += len(posts)
    result["history_rows_removed"] += len(history)
    conn.execute(_FORGET_STALE, {**arrays, "removed": victims})


def _remove_files(
    conn: psycopg.Connection, rows: list[tuple], holds_as_of: int, run_id: str, result: dict[str, Any]
) -> None:
    arrays = _arrays(rows)
    victims = conn.execute(
        _FILE_VICTIMS, {"ids": arrays["ids"], "at": arrays["at"], "holds_as_of": holds_as_of}
    ).fetchall()
    ids = [v[0] for v in victims]
    paths = sorted({p for v in victims for p in v[1:] if p})
    if paths:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO mmgov.purge_file_objects (run_id, path, queued_at) VALUES (%s, %s, %s)",
                [(run_id, p, db_now_ms(conn)) for p in paths],
            )
    if ids:
        conn.execute("DELETE FROM fileinfo WHERE id = ANY(%s)", (ids,))
    result["files_removed"] += len(ids)
    conn.execute(_FORGET_STALE, {**arrays, "removed": ids})


def _drain_outbox(conn: psycopg.Connection, store: FileRemover, result: dict[str, Any]) -> None:
    """Remove the queued objects from the store; clear the entries that are done (or refused)."""
    while True:
        pending = conn.execute(
            "SELECT id, path FROM mmgov.purge_file_objects WHERE NOT (path = ANY(%s)) ORDER BY id LIMIT 1000",
            (list(result["failed_objects"]),),
        ).fetchall()
        if not pending:
            return
        outcome: RemovalResult = store.remove([p for _, p in pending])
        done = set(outcome.removed) | set(outcome.refused)
        conn.execute(
            "DELETE FROM mmgov.purge_file_objects WHERE id = ANY(%s)", ([i for i, p in pending if p in done],)
        )
        result["objects_removed"] += len(outcome.removed)
        result["refused_paths"] += outcome.refused
        result["failed_objects"].update(outcome.failed)


def report_removal(
    conn: psycopg.Connection, run_id: str, *, hitl_result: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The removal run's summary; emits ``retention.removal_completed`` (or records the rejection)."""
    run = get_run(conn, run_id)
    if run["status"] == "completed":
        result = run["summary"].get("result", {})
        already = conn.execute(
            "SELECT 1 FROM mmgov.audit_log WHERE event = 'retention.removal_completed' AND payload->>'run_id' = %s",
            (run_id,),
        ).fetchone()
        duration = (run["finished_at"] or 0) - (run["started_at"] or 0)
        payload = {**{k: v for k, v in result.items() if k != "failed_objects"}, "duration_ms": duration}
        if already is None:
            audit.record(conn, "retention.removal_completed", payload)
        return {"status": "completed", **payload}
    if approval.chosen_option(hitl_result) == approval.REJECT:
        run = approval.record_rejection(conn, run_id, hitl_result)
        return {
            "run_id": run_id,
            "status": "rejected",
            "messages_removed": 0,
            "files_removed": 0,
            "alert": True,
            "rejected_by": run["approved_by"],
            "messages_to_delete": run["posts_planned"],
            "files_to_delete": run["files_planned"],
        }
    return {
        "run_id": run_id,
        "status": run["status"],
        "messages_removed": 0,
        "files_removed": 0,
        "eligible": {"messages": run["posts_planned"], "files": run["files_planned"]},
    }
