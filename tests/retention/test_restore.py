"""Restore brings back exactly what a run deleted (posts and files), per run or channel, within the grace."""

from __future__ import annotations

import json

import pytest

from mmgov import audit
from mmgov.retention.errors import RestoreWindowClosed, RunNotFound
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from mmgov.retention.restore import restore_run
from tests.retention.builders import DAY, NOW, deleted_posts, settings, snapshot

S = settings(
    DataRetentionSettings={
        "EnableMessageDeletion": True,
        "MessageRetentionDays": 100,
        "BatchSize": 2,
        "TimeBetweenBatchesMilliseconds": 0,
        "EnableFileDeletion": True,
        "FileRetentionDays": 50,
    },
    Mmgov={"RetentionApproval": "never", "PurgeGraceDays": 30},
)


def purge(conn) -> str:
    summary = preview_purge(conn, S, now_ms=NOW)
    soft_delete(conn, S, summary["run_id"], sleep=lambda _: None)
    return summary["run_id"]


@pytest.fixture
def world(ws):
    team = ws.team()
    a, b = ws.channel(team), ws.channel(team)
    posts = {ws.post(a, 200, props={"k": "v"}) for _ in range(3)} | {ws.post(b, 300) for _ in range(2)}
    young = ws.post(a, 5)
    files = {ws.file(p, 200) for p in list(posts)[:2]} | {ws.file(young, 60)}
    by_user = ws.post(a, 300, deleted_by_user=True)
    return {"a": a, "b": b, "posts": posts, "young": young, "files": files, "by_user": by_user}


def _strip_updateat(rows: dict[str, tuple]) -> dict[str, tuple]:
    return {k: (v[0], *v[2:]) for k, v in rows.items()}


def test_round_trip_restores_exactly(conn, world):
    before_posts, before_files = snapshot(conn), snapshot(conn, "fileinfo")
    run_id = purge(conn)
    assert deleted_posts(conn) == world["posts"]
    result = restore_run(conn, S, run_id, actor="ann")
    assert (result["messages_restored"], result["files_restored"], result["skipped_changed"]) == (5, 3, 0)
    after_posts, after_files = snapshot(conn), snapshot(conn, "fileinfo")
    # Everything as before except a fresh updateat on what came back (clients and exports see it again).
    assert _strip_updateat(after_posts) == _strip_updateat(before_posts)
    assert _strip_updateat(after_files) == {k: (v[0], *v[2:]) for k, v in before_files.items()}
    changed = {k for k in after_posts if after_posts[k] != before_posts[k]}
    assert changed == world["posts"]
    assert all(
        json.loads(after_posts[p][3]) == {"k": "v"} for p in world["posts"] if json.loads(before_posts[p][3])
    )
    assert conn.execute("SELECT count(*) FROM mmgov.purge_log").fetchone()[0] == 0
    event = audit.history(conn, event_prefix="retention.restored")[0]
    assert (event["actor"], event["payload"]["messages_restored"]) == ("ann", 5)
    # restoring twice restores nothing; purging again deletes the same set
    assert restore_run(conn, S, run_id, actor="ann")["messages_restored"] == 0
    purge(conn)
    assert deleted_posts(conn) == world["posts"]


def test_restore_one_channel(conn, world, ws):
    run_id = purge(conn)
    result = restore_run(conn, S, run_id, channel_id=world["b"], actor="ann")
    in_b = {p for p in world["posts"] if ws.posts[p]["channel"] == world["b"]}
    assert result["messages_restored"] == 2
    assert deleted_posts(conn) == world["posts"] - in_b
    restore_run(conn, S, run_id, actor="ann")
    assert deleted_posts(conn) == set()


def test_restore_leaves_rows_changed_since(conn, world):
    run_id = purge(conn)
    changed = next(iter(world["posts"]))
    conn.execute("UPDATE posts SET deleteat = deleteat + 5 WHERE id = %s", (changed,))
    result = restore_run(conn, S, run_id, actor="ann")
    assert result["messages_restored"] == 4
    assert result["skipped_changed"] == 1
    assert conn.execute("SELECT deleteat > 0 FROM posts WHERE id = %s", (changed,)).fetchone()[0]


def test_restore_window_closed(conn, world):
    run_id = purge(conn)
    conn.execute("UPDATE mmgov.purge_log SET deleted_at = deleted_at - %s", (31 * DAY,))
    with pytest.raises(RestoreWindowClosed, match="PurgeGraceDays") as info:
        restore_run(conn, S, run_id, actor="ann")
    assert info.value.status == 409
    assert len(deleted_posts(conn)) == 5


def test_unknown_run(conn):
    with pytest.raises(RunNotFound):
        restore_run(conn, S, "x" * 26, actor="ann")


def _plan_nodes(plan: dict) -> list[dict]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _plan_nodes(child))]


@pytest.mark.parametrize("kind", ["post", "file"])
def test_restore_batch_has_the_purges_pinned_index_plan(conn, world, kind):
    """Each restore batch walks the (createat, id) queue and reaches the table by its primary key only:
    no sequential scan, no hash or merge join, whatever the estimates (as the purge's batches)."""
    from psycopg import sql

    from mmgov.retention import restore
    from mmgov.retention.purge import _BATCH_SETTINGS

    run_id = purge(conn)
    params = {
        "run_id": run_id,
        "kind": kind,
        "channel_id": None,
        "limit": 3000,
        "after_at": -1,
        "after_id": "",
    }
    table = sql.SQL("posts" if kind == "post" else "fileinfo")
    conn.execute(restore._MAKE_QUEUE)
    conn.execute(restore._FILL_QUEUE.format(table=table), params)
    with conn.transaction():
        conn.execute(_BATCH_SETTINGS)
        (plan,) = conn.execute(
            sql.SQL("EXPLAIN (FORMAT JSON) {}").format(restore._RESTORES[kind]), params
        ).fetchone()[0]
    nodes = _plan_nodes(plan["Plan"])
    kinds = {n["Node Type"] for n in nodes}
    assert not kinds & {"Seq Scan", "Hash Join", "Merge Join", "Hash"}, kinds
    probes = {n["Relation Name"]: n for n in nodes if n["Node Type"] == "Index Scan"}
    table = probes["posts" if kind == "post" else "fileinfo"]
    # one probe per queued id: the primary key, or Mattermost's (createat, id) index, as the purge does
    assert table["Index Name"] in {"posts_pkey", "idx_posts_create_at_id", "fileinfo_pkey"}
    assert "(id)::text = " in table.get("Index Cond", "")
    assert table["Parent Relationship"] == "Inner"
    assert probes["purge_log"]["Index Name"] == "purge_log_pkey"
    assert "mmgov_restore_queue_pkey" in {n.get("Index Name") for n in nodes}  # the keyset walk
