"""Physical removal after the grace period: rows, their children and file objects (local and S3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmgov import audit
from mmgov.file_store import LocalFileStore, RemovalResult, S3FileStore
from mmgov.retention.errors import ApprovalMissing, RetentionError
from mmgov.retention.legal_hold import create_hold
from mmgov.retention.physical_removal import preview_removal, remove_expired, report_removal
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from mmgov.retention.runs import db_now_ms
from tests.retention.builders import DAY, NOW, settings

GRACE = 30


def make_settings(mode: str = "never", **files):
    return settings(
        DataRetentionSettings={
            "EnableMessageDeletion": True,
            "MessageRetentionDays": 100,
            "BatchSize": 2,
            "TimeBetweenBatchesMilliseconds": 0,
        },
        Mmgov={"RetentionApproval": mode, "PurgeGraceDays": GRACE},
        FileSettings=files,
    )


def purge(conn, s):
    summary = preview_purge(conn, s, now_ms=NOW)
    soft_delete(conn, s, summary["run_id"], sleep=lambda _: None)


def remove(conn, s, store, *, days_later: int = GRACE + 1, hitl=None):
    summary = preview_removal(conn, s, now_ms=db_now_ms(conn) + days_later * DAY)
    return summary, remove_expired(conn, s, summary["run_id"], store, hitl_result=hitl, sleep=lambda _: None)


def put(root: Path, rel: str, data: bytes = b"x") -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)


def ids(conn, table: str) -> set[str]:
    column = {
        "posts": "id",
        "fileinfo": "id",
        "reactions": "postid",
        "threads": "postid",
        "threadmemberships": "postid",
    }[table]
    return {r[0] for r in conn.execute(f"SELECT {column} FROM {table}")}


@pytest.fixture
def world(ws, file_store):
    team = ws.team()
    chan = ws.channel(team)
    old_root = ws.post(chan, 200)
    old_reply = ws.post(chan, 150, root_id=old_root)
    history = ws.edit_history(old_reply)
    young = ws.post(chan, 5)
    by_user = ws.post(chan, 300, deleted_by_user=True)
    for p in (old_root, young):
        ws.reaction(p)
        ws.flag(p)
        ws.thread(p)
    f_old = ws.file(old_root, 200)
    f_young = ws.file(young, 5)
    for f in (f_old, f_young):
        put(file_store, ws.files[f]["path"])
    return {
        "chan": chan,
        "old": {old_root, old_reply},
        "history": history,
        "young": young,
        "by_user": by_user,
        "f_old": f_old,
        "f_young": f_young,
        "team": team,
    }


def test_removes_rows_children_and_objects(conn, ws, world, file_store):
    s = make_settings(DriverName="local", Directory=str(file_store))
    purge(conn, s)
    summary, result = remove(conn, s, LocalFileStore(file_store))
    assert (summary["messages_to_remove"], summary["files_to_remove"], summary["history_rows_to_remove"]) == (
        2,
        1,
        1,
    )
    assert (result["messages_removed"], result["history_rows_removed"], result["files_removed"]) == (2, 1, 1)
    assert ids(conn, "posts") == {world["young"], world["by_user"]}
    assert (
        ids(conn, "reactions") == ids(conn, "threads") == ids(conn, "threadmemberships") == {world["young"]}
    )
    flagged = {r[0] for r in conn.execute("SELECT name FROM preferences WHERE category = 'flagged_post'")}
    assert flagged == {world["young"]}
    assert ids(conn, "fileinfo") == {world["f_young"]}
    assert not (file_store / ws.files[world["f_old"]]["path"]).exists()
    assert (file_store / ws.files[world["f_young"]]["path"]).exists()
    assert not (file_store / ws.files[world["f_old"]]["path"]).parent.exists()  # empty folders pruned
    assert conn.execute("SELECT count(*) FROM mmgov.purge_log").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM mmgov.purge_file_objects").fetchone()[0] == 0
    report = report_removal(conn, summary["run_id"])
    assert report["messages_removed"] == 2
    assert audit.history(conn, event_prefix="retention.removal_completed")[0]["payload"]["files_removed"] == 1


def test_nothing_within_the_grace_period(conn, world, file_store):
    s = make_settings()
    purge(conn, s)
    before = ids(conn, "posts")
    _, result = remove(conn, s, LocalFileStore(file_store), days_later=GRACE - 1)
    assert result["messages_removed"] == 0
    assert ids(conn, "posts") == before


def test_held_content_stays(conn, world, file_store):
    s = make_settings()
    purge(conn, s)
    create_hold(conn, name="case", scope="channel", target_id=world["chan"], actor="a")
    summary, result = remove(conn, s, LocalFileStore(file_store))
    assert summary["held"] == {"messages": 2, "files": 1}
    assert result["messages_removed"] == result["files_removed"] == 0
    assert world["old"] <= ids(conn, "posts")
    assert world["f_old"] in ids(conn, "fileinfo")
    assert conn.execute("SELECT count(*) FROM mmgov.purge_log").fetchone()[0] == 4  # kept for later


def test_rows_restored_or_changed_since_are_not_removed(conn, world, file_store):
    s = make_settings()
    purge(conn, s)
    changed = sorted(world["old"])[0]
    conn.execute("UPDATE posts SET deleteat = 0 WHERE id = %s", (changed,))  # brought back by other means
    remove(conn, s, LocalFileStore(file_store))
    assert changed in ids(conn, "posts")


def test_needs_approval_like_the_purge(conn, world, file_store):
    s = make_settings("always")
    purge_s = make_settings("never")
    purge(conn, purge_s)
    before = ids(conn, "posts")
    summary = preview_removal(conn, s, now_ms=db_now_ms(conn) + 31 * DAY)
    assert summary["approval"]["needs_approval"]
    with pytest.raises(ApprovalMissing):
        remove_expired(conn, s, summary["run_id"], LocalFileStore(file_store))
    rejected = {"chosen_options": ["Reject"], "responded_by_user": {"id": "z", "name": "zoe"}}
    report = report_removal(conn, summary["run_id"], hitl_result=rejected)
    assert report["status"] == "rejected"
    assert report["alert"]
    assert ids(conn, "posts") == before


class TestPaths:
    def test_escaping_path_in_the_database_is_refused(self, conn, ws, file_store, tmp_path):
        chan = ws.channel(ws.team())
        victim = tmp_path / "victim.txt"
        victim.write_text("must survive")
        evil = ws.file(ws.post(chan, 200), 200, path="../victim.txt")
        s = make_settings()
        purge(conn, s)
        _, result = remove(conn, s, LocalFileStore(file_store))
        assert result["refused_paths"] == ["../victim.txt"]
        assert victim.read_text() == "must survive"
        assert evil not in ids(conn, "fileinfo")


def test_failed_object_removal_stays_queued_and_is_retried(conn, ws, world, file_store):
    class Flaky:
        def __init__(self, fail: bool):
            self.fail = fail

        def remove(self, paths):
            paths = list(paths)
            if self.fail:
                return RemovalResult(failed={p: "503 SlowDown" for p in paths})
            return LocalFileStore(file_store).remove(paths)

    s = make_settings()
    purge(conn, s)
    with pytest.raises(RetentionError, match="could not be removed"):
        remove(conn, s, Flaky(True))
    assert world["f_old"] not in ids(conn, "fileinfo")
    assert conn.execute("SELECT count(*) FROM mmgov.purge_file_objects").fetchone()[0] == 1
    assert (file_store / ws.files[world["f_old"]]["path"]).exists()
    _, result = remove(conn, s, Flaky(False))
    assert result["objects_removed"] == 1
    assert not (file_store / ws.files[world["f_old"]]["path"]).exists()
    assert conn.execute("SELECT count(*) FROM mmgov.purge_file_objects").fetchone()[0] == 0


def test_s3_store(conn, ws, s3_conn, s3_bucket):
    client = s3_conn.client()
    chan = ws.channel(ws.team())
    old, young = ws.post(chan, 200), ws.post(chan, 5)
    f_old, f_young = ws.file(old, 200), ws.file(young, 5)
    for f in (f_old, f_young):
        client.put_object(Bucket=s3_bucket, Key=f"mm/{ws.files[f]['path']}", Body=b"data")
    client.put_object(Bucket=s3_bucket, Key="elsewhere.txt", Body=b"keep")
    s = make_settings(DriverName="amazons3", AmazonS3Bucket=s3_bucket, AmazonS3PathPrefix="mm")
    purge(conn, s)
    _, result = remove(conn, s, S3FileStore(bucket=s3_bucket, prefix="mm"))
    assert result["objects_removed"] == 1
    assert result["files_removed"] == 1
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])}
    assert keys == {f"mm/{ws.files[f_young]['path']}", "elsewhere.txt"}


def test_s3_store_endpoint_from_file_settings_only(conn, ws, s3_endpoint, minio_file_settings, s3_bucket):
    """A MinIO-backed Mattermost: the connection holds only credentials, FileSettings the endpoint."""
    from mmgov.file_store import file_store_from_settings

    client = s3_endpoint.client()
    chan = ws.channel(ws.team())
    old = ws.post(chan, 200)
    f_old = ws.file(old, 200)
    client.put_object(Bucket=s3_bucket, Key=f"mm/{ws.files[f_old]['path']}", Body=b"data")
    s = make_settings(AmazonS3Bucket=s3_bucket, AmazonS3PathPrefix="mm", **minio_file_settings)
    store = file_store_from_settings(s.FileSettings)
    assert (store.endpoint, store.ssl) == (minio_file_settings["AmazonS3Endpoint"], False)
    purge(conn, s)
    _, result = remove(conn, s, store)
    assert (result["objects_removed"], result["files_removed"]) == (1, 1)
    assert client.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0
