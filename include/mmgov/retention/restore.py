"""Undo a purge run (or one channel of it) within the grace period.

Safety rule: restore only brings back rows that the run's purge log says retention soft-deleted
and that are still exactly as retention left them (same ``deleteat``, and for posts the run's
marker in ``props``); anything changed since (removed, or deleted again by someone else) is left
alone and dropped from the log. To undo a restore, preview and run a new purge.

Restored posts get ``deleteat = 0``, a fresh ``updateat`` (so clients and the compliance export see
them again) and lose the retention marker; their files and the run's expired files come back too.

Speed: restore batches have the purge's pinned plan shape (see ``_RESTORE_BATCH``), so undoing a
purge takes about as long as the purge did (``make bench-purge`` reports both rates).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import sql

from mmgov import audit
from mmgov.ids import is_id
from mmgov.retention.effective_policy import DAY_MS
from mmgov.retention.errors import RestoreWindowClosed, RetentionError
from mmgov.retention.purge import _BATCH_SETTINGS
from mmgov.retention.restore_note import restore_note
from mmgov.retention.runs import db_now_ms, resolve_run
from mmgov.settings import Settings

log = logging.getLogger(__name__)
DEFAULT_BATCH = 3000

# The purge's plan shape (mmgov.retention.purge._BATCH_SETTINGS): the run's rows are first queued in
# (createat, id) order, the order the purge deleted them in (and of Mattermost's
# idx_posts_create_at_id); then each batch is a keyset walk of at most BatchSize queued ids joined to
# the table by primary key (nested loops over index probes, never a hash of a whole table), checked
# against the log by its primary key and updated, in one short transaction. The run's posts are
# queued from Mattermost's idx_posts_delete_at (the range of the run's deletion times, the run's
# marker): a range read in the order the purge wrote them, where joining the log to posts would probe
# posts once per row in random id order. Files (no marker) are queued from the log.
_QUEUE = "pg_temp.mmgov_restore_queue"
_MAKE_QUEUE = (
    "CREATE TEMP TABLE mmgov_restore_queue (createat bigint NOT NULL, id varchar(26) NOT NULL,"
    " PRIMARY KEY (createat, id))"
)
_FILL_POST_QUEUE = """
    INSERT INTO pg_temp.mmgov_restore_queue (createat, id)
    SELECT createat, id FROM posts
    WHERE deleteat >= %(lo)s AND deleteat <= %(hi)s AND props->>'mmgov_purge_run' = %(run_id)s::text
      AND (%(channel_id)s::text IS NULL OR channelid = %(channel_id)s::text)
    ORDER BY createat, id
"""
_FILL_QUEUE = sql.SQL(
    """
    INSERT INTO pg_temp.mmgov_restore_queue (createat, id)
    SELECT COALESCE(t.createat, -1), l.id FROM mmgov.purge_log l LEFT JOIN {table} t ON t.id = l.id
    WHERE l.run_id = %(run_id)s AND l.kind = %(kind)s
      AND (%(channel_id)s::text IS NULL OR l.channelid = %(channel_id)s::text)
    """
)

_RESTORE_BATCH = sql.SQL(
    """
    WITH batch AS (
        SELECT createat, id FROM pg_temp.mmgov_restore_queue
        WHERE (createat, id) > (%(after_at)s::bigint, %(after_id)s::text)
        ORDER BY createat, id LIMIT %(limit)s
    ), last AS (
        SELECT createat, id FROM batch ORDER BY createat DESC, id DESC LIMIT 1
    ), target AS (
        -- per queued id, in the queue's order, one probe of the table by its primary key (a LATERAL
        -- subquery kept apart by OFFSET 0: never a join order the estimates could turn), if the row is
        -- logged by the run and still exactly as retention left it (the log's deleted_at: one probe of
        -- the log's primary key)
        SELECT x.tid FROM batch b
        CROSS JOIN LATERAL (
            SELECT t.ctid AS tid FROM {table} t
            WHERE t.id = b.id AND {still_ours}
              AND COALESCE((SELECT l.deleted_at = t.deleteat FROM mmgov.purge_log l
                            WHERE l.run_id = %(run_id)s AND l.kind = %(kind)s AND l.id = b.id), false)
            OFFSET 0
        ) x
    ), back AS (
        -- by ctid, as the purge; a row changed since the batch's snapshot is skipped (dropped from the
        -- log like any row changed since the purge)
        UPDATE {table} t SET deleteat = 0, updateat = {now}{props}
        WHERE t.ctid = ANY(ARRAY(SELECT tid FROM target))
        RETURNING t.id
    ), unlogged AS (
        -- the log rows by primary key (= ANY: probes, whatever the estimates of a freshly written log);
        -- deleting them locks them against physical removal until the batch commits
        DELETE FROM mmgov.purge_log l
        WHERE l.run_id = %(run_id)s AND l.kind = %(kind)s AND l.id = ANY(ARRAY(SELECT id FROM batch))
        RETURNING 1
    )
    SELECT (SELECT createat FROM last), (SELECT id FROM last), (SELECT count(*) FROM batch),
           (SELECT count(*) FROM back), (SELECT count(*) FROM unlogged)
    """
)
_NOW = sql.SQL("(extract(epoch FROM transaction_timestamp()) * 1000)::bigint")
_RESTORES = {
    "post": _RESTORE_BATCH.format(
        table=sql.SQL("posts"),
        now=_NOW,
        still_ours=sql.SQL("t.props->>'mmgov_purge_run' = %(run_id)s::text"),
        props=sql.SQL(", props = t.props - 'deleteBy' - 'mmgov_purge_run'"),
    ),
    "file": _RESTORE_BATCH.format(
        table=sql.SQL("fileinfo"),
        now=_NOW,
        still_ours=sql.SQL("true"),
        props=sql.SQL(""),
    ),
}

_FORGET_CHANGED = """
DELETE FROM mmgov.purge_log WHERE run_id = %(run_id)s AND kind = %(kind)s
  AND (%(channel_id)s::text IS NULL OR channelid = %(channel_id)s::text)
"""

# Edit-history rows were never changed by retention: restoring their post only forgets them.
_FORGET_HISTORY = """
WITH batch AS (
    SELECT id FROM mmgov.purge_log
    WHERE run_id = %(run_id)s AND kind = 'post_history' AND id > %(after_id)s
      AND (%(channel_id)s::text IS NULL OR channelid = %(channel_id)s::text)
    ORDER BY id LIMIT %(limit)s
    FOR UPDATE
), unlogged AS (
    DELETE FROM mmgov.purge_log l USING batch b
    WHERE l.run_id = %(run_id)s AND l.kind = 'post_history' AND l.id = b.id
)
SELECT NULL, (SELECT max(id) FROM batch), (SELECT count(*) FROM batch), 0, 0
"""


def _restore_kind(
    conn: psycopg.Connection, run_id: str, kind: str, channel_id: str | None, batch_size: int
) -> tuple[int, int]:
    """Restore (or, for edit history, forget) the run's logged rows of ``kind``; ``(logged, restored)``.

    A log row whose row changed since, or no longer exists, is dropped from the log (nothing to restore).
    Needs an autocommit connection (the queue is a temporary table kept across the batches).
    """
    params = {"run_id": run_id, "kind": kind, "channel_id": channel_id, "limit": batch_size}
    if kind in _RESTORES:
        table = sql.SQL("posts" if kind == "post" else "fileinfo")
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.SQL(_QUEUE)))
        conn.execute(_MAKE_QUEUE)
        if kind == "post":
            lo, hi = conn.execute(
                "SELECT min(deleted_at), max(deleted_at) FROM mmgov.purge_log WHERE run_id = %(run_id)s"
                " AND kind = 'post' AND (%(channel_id)s::text IS NULL OR channelid = %(channel_id)s::text)",
                params,
            ).fetchone()
            with conn.transaction():
                conn.execute(_BATCH_SETTINGS)
                conn.execute(_FILL_POST_QUEUE, {**params, "lo": lo, "hi": hi})
        else:
            conn.execute(_FILL_QUEUE.format(table=table), params)
        conn.execute("ANALYZE " + _QUEUE)
        query: Any = _RESTORES[kind]
    else:
        query = _FORGET_HISTORY
    logged = restored = 0
    cursor: tuple[int, str] = (-(2**63), "")
    try:
        while True:
            with conn.transaction():
                conn.execute(_BATCH_SETTINGS)
                last_at, last_id, scanned, back, unlogged = conn.execute(
                    query, {**params, "after_at": cursor[0], "after_id": cursor[1]}
                ).fetchone()
            logged += scanned if kind not in _RESTORES else unlogged
            restored += back
            if scanned < batch_size:
                break
            cursor = (last_at, last_id)
        if kind == "post":  # logged posts not queued: changed since (no longer as retention left them)
            with conn.transaction():
                logged += conn.execute(_FORGET_CHANGED, params).rowcount
        return logged, restored
    finally:
        if kind in _RESTORES:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.SQL(_QUEUE)))


def restore_run(
    conn: psycopg.Connection,
    settings: Settings,
    run_id: str,
    *,
    channel_id: str | None = None,
    actor: str,
    batch_size: int = DEFAULT_BATCH,
) -> dict[str, Any]:
    """Restore what purge run ``run_id`` soft-deleted (only in ``channel_id`` when given); audited.

    Raises :class:`RestoreWindowClosed` when the run's deletions are older than ``PurgeGraceDays``.
    Running it twice restores nothing the second time.
    """
    run = resolve_run(conn, run_id)  # mmgov's run id or the Airflow run id
    run_id = run["id"]
    if run["kind"] != "purge":
        raise RetentionError(f"run {run_id} is a {run['kind']} run; only purge runs can be restored")
    if channel_id is not None and not is_id(channel_id):
        raise RetentionError(
            f"channel_id must be a channel id (26 characters of a-z and 0-9), got {channel_id!r}"
        )
    grace_days = settings.Mmgov.PurgeGraceDays
    oldest = conn.execute(
        "SELECT min(deleted_at) FROM mmgov.purge_log WHERE run_id = %s"
        " AND (%s::text IS NULL OR channelid = %s::text)",
        (run_id, channel_id, channel_id),
    ).fetchone()[0]
    now = db_now_ms(conn)
    if oldest is not None and now - oldest > grace_days * DAY_MS:
        raise RestoreWindowClosed(
            f"run {run_id} soft-deleted this content more than Mmgov.PurgeGraceDays ({grace_days}) days ago; "
            "it can no longer be restored"
        )
    from mmgov.custody.attestation import restore_hook

    attest = restore_hook(conn, settings, run_id)  # the run's attestation gets a new version (mmgov.custody)
    counts = {
        kind: _restore_kind(conn, run_id, kind, channel_id, batch_size)
        for kind in ("post", "file", "post_history")
    }
    result = {
        "run_id": run_id,
        "channel_id": channel_id,
        "messages_restored": counts["post"][1],
        "files_restored": counts["file"][1],
        "skipped_changed": (counts["post"][0] - counts["post"][1]) + (counts["file"][0] - counts["file"][1]),
    }
    with conn.transaction():
        conn.execute(
            "UPDATE mmgov.purge_runs SET messages_restored = messages_restored + %s,"
            " files_restored = files_restored + %s WHERE id = %s",
            (result["messages_restored"], result["files_restored"], run_id),
        )
    result["note"] = restore_note(conn, run, result)
    result["attestation"] = attest(result, actor)
    with conn.transaction():
        audit.record(conn, "retention.restored", {**result, "actor_id": actor}, actor)
    log.info("retention restore: %s", result)
    return result
