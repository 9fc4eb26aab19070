"""Batched soft delete of what a previewed, approved purge run planned (seed rules 05, 06, 07).

Safety rule: retention only soft-deletes live rows that its approved preview listed, and only
while each is still expired, unheld, unpinned (with ``PreservePinnedPosts``) and covered by the
compliance export; rows a user already deleted are never touched. To undo: ``restore.restore_run``
(within ``Mmgov.PurgeGraceDays``), which uses the purge log written in the same transaction.

A post is soft-deleted as Mattermost deletes it (``deleteat`` = ``updateat`` = now) plus a marker
telling retention from a user: ``props.deleteBy = "mmgov-retention"`` and
``props.mmgov_purge_run = <run id>``; its live files (``fileinfo``) get ``deleteat`` too. Files
expired by the global file setting follow in a second phase. Replies are not cascaded: each post
expires by its own ``createat``, as in Mattermost.

Each batch is one short transaction: take the next ``BatchSize`` candidates by keyset on
``(createat, id)`` (no OFFSET; the order of Mattermost's ``idx_posts_create_at_id`` and of the rows
on disk, so a batch touches few heap and index pages), lock the still-eligible rows
``FOR UPDATE SKIP LOCKED`` (a row a user is editing right now is left for the next run instead of
waiting on it), update them set-based, log them, and move the run's cursor, then commit and pause
``TimeBetweenBatchesMilliseconds``. A retry resumes at the
cursor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from mmgov.retention import ACTOR_RETENTION, approval
from mmgov.retention.effective_policy import fingerprints
from mmgov.retention.errors import PlanChanged, RetentionError
from mmgov.retention.legal_hold import held_predicate
from mmgov.retention.preview import STALE_CANDIDATES_MS
from mmgov.retention.runs import db_now_ms, get_run, update_run
from mmgov.settings import Settings

log = logging.getLogger(__name__)
PHASES = ("posts", "files", "done")
LOCK_TIMEOUT = "10s"
_NOW = "(extract(epoch FROM transaction_timestamp()) * 1000)::bigint"  # one instant per batch
# A batch is a keyset walk of at most BatchSize ids joined by primary keys: nested loops over index
# probes, never a hash of a whole table. The planner's estimates for freshly written tables (the
# candidates, the growing set of deleted posts) can be far off, so the plan shape is pinned for the
# batch's transaction only. A batch's commit does not wait for its WAL flush (synchronous_commit
# off): a crash can lose only the last batches whole, cursor included, and the retry redoes them.
_BATCH_SETTINGS = sql.SQL(
    "SET LOCAL lock_timeout = {}; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;"
    " SET LOCAL enable_seqscan = off; SET LOCAL synchronous_commit = off"
).format(sql.Literal(LOCK_TIMEOUT))

_POSTS_BATCH = sql.SQL(
    """
    WITH cand AS (
        SELECT createat, id FROM mmgov.purge_candidates
        WHERE run_id = %(run_id)s AND kind = 'p' AND (createat, id) > (%(after_at)s::bigint, %(after_id)s::text)
        ORDER BY createat, id LIMIT %(limit)s
    ), last AS (
        SELECT createat, id FROM cand ORDER BY createat DESC, id DESC LIMIT 1
    ), batch AS (
        -- cand -> posts by primary key -> the channel's plan row by primary key
        SELECT p.ctid AS tid FROM cand
        JOIN posts p ON p.id = cand.id AND p.createat = cand.createat
        JOIN mmgov.purge_channels pc ON pc.run_id = %(run_id)s AND pc.channelid = p.channelid
        WHERE p.deleteat = 0
          AND p.createat < pc.post_cutoff_ms
          AND NOT (%(preserve_pinned)s AND coalesce(p.ispinned, false))
          AND (%(watermark)s::bigint IS NULL OR p.updateat < %(watermark)s::bigint)
          AND NOT {held}
        FOR UPDATE OF p SKIP LOCKED
    ), posts_done AS (
        UPDATE posts p SET deleteat = {now}, updateat = {now},
               props = CASE WHEN jsonb_typeof(p.props) = 'object' THEN p.props ELSE '{{}}'::jsonb END
                       || jsonb_build_object('deleteBy', %(delete_by)s::text, 'mmgov_purge_run', %(run_id)s::text)
        -- the rows are locked: their ctids stay valid until commit, so no second index probe
        WHERE p.ctid = ANY(ARRAY(SELECT tid FROM batch))
        RETURNING p.id, p.channelid
    ), files_done AS (
        UPDATE fileinfo f SET deleteat = {now}, updateat = {now}
        FROM posts_done d WHERE f.postid = d.id AND f.deleteat = 0
        RETURNING f.id, d.channelid
    ), history AS (
        -- one idx_posts_original_id probe per post ("<> 0": deleteat is never negative; it keeps the
        -- planner off the deleteat index, whose range grows with every batch)
        -- (OFFSET 0 keeps the subquery per post instead of one walk of the whole index)
        SELECT h.id, d.channelid FROM posts_done d
        CROSS JOIN LATERAL (SELECT id FROM posts WHERE originalid = d.id AND deleteat <> 0 OFFSET 0) h
    ), logged AS (
        INSERT INTO mmgov.purge_log (run_id, kind, id, channelid, deleted_at)
        SELECT %(run_id)s, 'post', id, channelid, {now} FROM posts_done
        UNION ALL SELECT %(run_id)s, 'file', id, channelid, {now} FROM files_done
        UNION ALL SELECT %(run_id)s, 'post_history', id, channelid, {now} FROM history
        RETURNING 1
    )
    SELECT (SELECT createat FROM last), (SELECT id FROM last), (SELECT count(*) FROM cand), (SELECT count(*) FROM posts_done),
           (SELECT count(*) FROM files_done), (SELECT count(*) FROM history), (SELECT count(*) FROM logged)
    """
).format(now=sql.SQL(_NOW), held=held_predicate("p.userid", "p.channelid", "pc.teamid", "p.createat"))

_FILES_BATCH = sql.SQL(
    """
    WITH cand AS (
        SELECT createat, id FROM mmgov.purge_candidates
        WHERE run_id = %(run_id)s AND kind = 'f' AND (createat, id) > (%(after_at)s::bigint, %(after_id)s::text)
        ORDER BY createat, id LIMIT %(limit)s
    ), last AS (
        SELECT createat, id FROM cand ORDER BY createat DESC, id DESC LIMIT 1
    ), batch AS (
        SELECT f.id, coalesce(p.channelid, f.channelid, '') AS channelid
        FROM cand
        JOIN fileinfo f ON f.id = cand.id AND f.createat = cand.createat
        LEFT JOIN posts p ON p.id = f.postid
        LEFT JOIN mmgov.purge_channels pc
               ON pc.run_id = %(run_id)s AND pc.channelid = coalesce(p.channelid, f.channelid)
        WHERE f.deleteat = 0
          AND f.createat < %(file_cutoff)s
          AND NOT coalesce(pc.keep_forever, false)
          AND NOT (%(preserve_pinned)s AND coalesce(p.ispinned, false) AND p.deleteat = 0)
          AND (%(watermark)s::bigint IS NULL OR p.id IS NULL OR p.updateat < %(watermark)s::bigint)
          AND NOT {held}
        FOR UPDATE OF f SKIP LOCKED
    ), files_done AS (
        UPDATE fileinfo f SET deleteat = {now}, updateat = {now}
        FROM batch WHERE f.id = batch.id
        RETURNING f.id, batch.channelid
    ), logged AS (
        INSERT INTO mmgov.purge_log (run_id, kind, id, channelid, deleted_at)
        SELECT %(run_id)s, 'file', id, channelid, {now} FROM files_done
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT createat FROM last), (SELECT id FROM last), (SELECT count(*) FROM cand), 0,
           (SELECT count(*) FROM files_done), 0,
           (SELECT count(*) FROM logged)
    """
).format(
    now=sql.SQL(_NOW),
    held=held_predicate(
        "coalesce(p.userid, f.creatorid)",
        "coalesce(p.channelid, f.channelid)",
        "coalesce(pc.teamid, '')",
        "coalesce(p.createat, f.createat)",
    ),
)


def soft_delete(
    conn: psycopg.Connection,
    settings: Settings,
    run_id: str,
    *,
    hitl_result: dict[str, Any] | None = None,
    batch_size: int | None = None,
    pause_ms: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_batch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Soft-delete run ``run_id``'s candidates in batches; returns the run's totals.

    ``on_batch`` is called inside each batch's transaction before it commits (tests inject a
    failure there). Needs an autocommit connection.
    """
    run = get_run(conn, run_id)
    if run["kind"] != "purge":
        raise RetentionError(f"run {run_id} is a {run['kind']} run, not a purge run")
    if run["dry_run"]:
        raise RetentionError(f"run {run_id} is a dry run: it deletes nothing")
    if run["status"] == "completed":
        return totals(run)
    if db_now_ms(conn) - run["created_at"] > STALE_CANDIDATES_MS:
        raise RetentionError(
            f"run {run_id} was previewed more than a week ago: start a new run to preview again"
        )
    _, plan_hash, _ = fingerprints(conn, settings)
    if plan_hash != run["plan_hash"]:
        raise PlanChanged(
            f"retention policies or settings changed since run {run_id} was previewed; nothing was deleted. "
            "Start a new run to preview and approve the new plan."
        )
    run = approval.apply_approval(conn, run_id, hitl_result)
    drs = settings.DataRetentionSettings
    limit = batch_size or drs.BatchSize
    pause = drs.TimeBetweenBatchesMilliseconds if pause_ms is None else pause_ms
    if run["status"] != "running":
        update_run(conn, run_id, status="running", started_at=run["started_at"] or db_now_ms(conn))
    params = {
        "run_id": run_id,
        "limit": limit,
        "preserve_pinned": drs.PreservePinnedPosts,
        "watermark": run["export_watermark_ms"],
        "holds_as_of": run["created_at"],
        "file_cutoff": run["file_cutoff_ms"],
        "delete_by": ACTOR_RETENTION,
    }
    phase, cursor = run["cursor_phase"], (run["cursor_at"], run["cursor_id"])
    while phase != "done":
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(_BATCH_SETTINGS)
            query = _POSTS_BATCH if phase == "posts" else _FILES_BATCH
            last_at, last_id, scanned, posts, files, history, _logged = conn.execute(
                query, {**params, "after_at": cursor[0], "after_id": cursor[1]}
            ).fetchone()
            if scanned < limit:
                phase, cursor = PHASES[PHASES.index(phase) + 1], (-1, "")
            else:
                cursor = (last_at, last_id)
            slept = pause if phase != "done" else 0
            work_ms = round((time.perf_counter() - started) * 1000)
            conn.execute(
                "UPDATE mmgov.purge_runs SET cursor_phase = %s, cursor_at = %s, cursor_id = %s, batches = batches + 1,"
                " messages_deleted = messages_deleted + %s, files_deleted = files_deleted + %s,"
                " history_rows = history_rows + %s, work_ms = work_ms + %s, sleep_ms = sleep_ms + %s WHERE id = %s",
                (phase, *cursor, posts, files, history, work_ms, slept, run_id),
            )
            batch = {"phase": phase, "cursor": cursor, "scanned": scanned, "messages": posts, "files": files}
            if on_batch is not None:
                on_batch(batch)
        if slept:
            sleep(slept / 1000)
        log.debug("retention batch %s: %s", run_id, batch)
    update_run(conn, run_id, status="completed", finished_at=db_now_ms(conn))
    done = totals(get_run(conn, run_id))
    log.info("retention soft delete %s: %s", run_id, done)
    return done


def totals(run: dict[str, Any]) -> dict[str, Any]:
    """The deletion counters of a run row."""
    duration = (run["finished_at"] - run["started_at"]) if run["finished_at"] and run["started_at"] else None
    return {
        "run_id": run["id"],
        "status": run["status"],
        "messages_deleted": int(run["messages_deleted"]),
        "files_deleted": int(run["files_deleted"]),
        "history_rows": int(run["history_rows"]),
        "batches": int(run["batches"]),
        "work_ms": int(run["work_ms"]),
        "sleep_ms": int(run["sleep_ms"]),
        "duration_ms": duration,
    }
