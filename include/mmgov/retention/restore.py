"""Undo a purge run (or one channel of it) within the grace period.

Safety rule: restore only brings back rows that the run's purge log says retention soft-deleted
and that are still exactly as retention left them (same ``deleteat``, and for posts the run's
marker in ``props``); anything changed since (removed, or deleted again by someone else) is left
alone and dropped from the log. To undo a restore, preview and run a new purge.

Restored posts get ``deleteat = 0``, a fresh ``updateat`` (so clients and the compliance export see
them again) and lose the retention marker; their files and the run's expired files come back too.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from mmgov import audit
from mmgov.ids import is_id
from mmgov.retention.effective_policy import DAY_MS
from mmgov.retention.errors import RestoreWindowClosed, RetentionError
from mmgov.retention.restore_note import restore_note
from mmgov.retention.runs import db_now_ms, resolve_run
from mmgov.settings import Settings

log = logging.getLogger(__name__)
DEFAULT_BATCH = 3000

_RESTORE_POSTS = """
WITH batch AS (
    SELECT id, deleted_at FROM mmgov.purge_log
    WHERE run_id = %(run_id)s AND kind = 'post' AND id > %(after)s
      AND (%(channel_id)s::text IS NULL OR channelid = %(channel_id)s::text)
    ORDER BY id LIMIT %(limit)s
    FOR UPDATE
), back AS (
    UPDATE posts p SET deleteat = 0, updateat = (extract(epoch FROM transaction_timestamp()) * 1000)::bigint,
                       props = p.props - 'deleteBy' - 'mmgov_purge_run'
    FROM batch b
    WHERE p.id = b.id AND p.deleteat = b.deleted_at AND p.props->>'mmgov_purge_run' = %(run_id)s::text
    RETURNING p.id
), unlogged AS (
    DELETE FROM mmgov.purge_log l USING batch b
    WHERE l.run_id = %(run_id)s AND l.kind = 'post' AND l.id = b.id
    RETURNING l.id
)
SELECT (SELECT max(id) FROM batch), (SELECT count(*) FROM batch), (SELECT count(*) FROM back)
"""

_RESTORE_FILES = """
WITH batch AS (
    SELECT id, deleted_at FROM mmgov.purge_log
    WHERE run_id = %(run_id)s AND kind = 'file' AND id > %(after)s
      AND (%(channel_id)s::text IS NULL OR channelid = %(channel_id)s::text)
    ORDER BY id LIMIT %(limit)s
    FOR UPDATE
), back AS (
    UPDATE fileinfo f SET deleteat = 0, updateat = (extract(epoch FROM transaction_timestamp()) * 1000)::bigint
    FROM batch b WHERE f.id = b.id AND f.deleteat = b.deleted_at
    RETURNING f.id
), unlogged AS (
    DELETE FROM mmgov.purge_log l USING batch b
    WHERE l.run_id = %(run_id)s AND l.kind = 'file' AND l.id = b.id
    RETURNING l.id
)
SELECT (SELECT max(id) FROM batch), (SELECT count(*) FROM batch), (SELECT count(*) FROM back)
"""

# Edit-history rows were never changed by retention: restoring their post only forgets them.
_FORGET_HISTORY = """
WITH batch AS (
    SELECT id FROM mmgov.purge_log
    WHERE run_id = %(run_id)s AND kind = 'post_history' AND id > %(after)s
      AND (%(channel_id)s::text IS NULL OR channelid = %(channel_id)s::text)
    ORDER BY id LIMIT %(limit)s
    FOR UPDATE
), unlogged AS (
    DELETE FROM mmgov.purge_log l USING batch b
    WHERE l.run_id = %(run_id)s AND l.kind = 'post_history' AND l.id = b.id
)
SELECT (SELECT max(id) FROM batch), (SELECT count(*) FROM batch), 0
"""


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
    counts = {"post": [0, 0], "file": [0, 0], "post_history": [0, 0]}  # [logged, restored]
    for kind, query in (
        ("post", _RESTORE_POSTS),
        ("file", _RESTORE_FILES),
        ("post_history", _FORGET_HISTORY),
    ):
        cursor = ""
        while True:
            with conn.transaction():
                last_id, scanned, restored = conn.execute(
                    query,
                    {"run_id": run_id, "after": cursor, "channel_id": channel_id, "limit": batch_size},
                ).fetchone()
            counts[kind][0] += scanned
            counts[kind][1] += restored
            if scanned < batch_size:
                break
            cursor = last_id
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
