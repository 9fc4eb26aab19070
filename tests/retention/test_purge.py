"""The batched soft delete: exact id sets for every rule, batch boundaries, failures, resumption."""

from __future__ import annotations

import pytest

from mmgov import audit
from mmgov.retention import ACTOR_RETENTION
from mmgov.retention.errors import ApprovalMissing, PlanChanged, RetentionError
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from mmgov.retention.report import report_purge
from mmgov.retention.runs import get_run
from tests.retention.builders import (
    NOW,
    deleted_files,
    deleted_posts,
    purge_settings,
    run_purge,
    settings,
    snapshot,
)


def test_hierarchy_exact_sets(conn, ws):
    """Channel 10 d beats team 30 d beats global 100 d; keep forever shields; DMs follow global."""
    team, forever_team = ws.team(), ws.team()
    chan_policy, team_chan, global_chan = ws.channel(team), ws.channel(team), ws.channel(ws.team())
    forever_chan, dm = ws.channel(forever_team), ws.channel("", type="D")
    ws.policy("team 30", 30, teams=[team])
    ws.policy("channel 10", 10, channels=[chan_policy])
    ws.policy("legal", None, teams=[forever_team])
    expect = set()
    for channel, limit in (
        (chan_policy, 10),
        (team_chan, 30),
        (global_chan, 100),
        (dm, 100),
        (forever_chan, None),
    ):
        for age in (5, 11, 29, 31, 99, 101, 500):
            pid = ws.post(channel, age)
            if limit is not None and age > limit:
                expect.add(pid)
    result = run_purge(conn, purge_settings())
    assert deleted_posts(conn) == expect
    assert result["messages_deleted"] == len(expect) == result["summary"]["messages_to_delete"]
    by_policy = {
        (p["display_name"], p["source"]): (p["channels"], p["messages"])
        for p in result["summary"]["by_policy"]
    }
    assert by_policy == {
        ("channel 10", "channel"): (1, 6),
        ("team 30", "team"): (1, 4),
        (None, "global"): (2, 4),  # the other team's channel and the DM: 101 and 500 days old
        ("legal", "team"): (1, 0),
    }


def test_exact_boundary_is_strict(conn, ws):
    """Expired when now - createat > duration: exactly 100 days old is kept."""
    chan = ws.channel(ws.team())
    at_limit = ws.post(chan, 100)
    over = ws.post(chan, 100 + 1 / 86_400_000)
    run_purge(conn, purge_settings())
    assert deleted_posts(conn) == {over}
    assert at_limit not in deleted_posts(conn)


def test_marker_timestamps_and_nothing_else_changes(conn, ws):
    chan = ws.channel(ws.team())
    old = ws.post(chan, 200, props={"from_bot": "true"})
    young = ws.post(chan, 2)
    before = snapshot(conn)
    run = run_purge(conn, purge_settings())
    after = snapshot(conn)
    assert after[young] == before[young]
    createat, updateat, deleteat, props, message, pinned = after[old]
    assert deleteat > NOW
    assert updateat == deleteat
    import json

    assert json.loads(props) == {
        "from_bot": "true",
        "deleteBy": ACTOR_RETENTION,
        "mmgov_purge_run": run["run_id"],
    }
    assert (createat, message, pinned) == (before[old][0], before[old][4], before[old][5])


def test_user_deleted_rows_are_never_touched(conn, ws):
    chan = ws.channel(ws.team())
    by_user = ws.post(chan, 300, deleted_by_user=True)
    user_deleted_file = ws.file(None, 300, channel_id=chan, deleted=True)
    old = ws.post(chan, 300)
    before_posts, before_files = snapshot(conn), snapshot(conn, "fileinfo")
    run_purge(conn, purge_settings(EnableFileDeletion=True, FileRetentionDays=1))
    assert deleted_posts(conn) == {old}
    assert snapshot(conn)[by_user] == before_posts[by_user]
    assert snapshot(conn, "fileinfo")[user_deleted_file] == before_files[user_deleted_file]


def test_replies_expire_by_their_own_createat(conn, ws):
    chan = ws.channel(ws.team())
    root = ws.post(chan, 200)
    young_reply = ws.post(chan, 3, root_id=root)
    old_reply = ws.post(chan, 150, root_id=root)
    run_purge(conn, purge_settings())
    assert deleted_posts(conn) == {root, old_reply}
    assert young_reply not in deleted_posts(conn)


class TestPinned:
    def test_preserved_when_setting_on(self, conn, ws):
        chan = ws.channel(ws.team())
        ws.post(chan, 200, pinned=True)
        plain = ws.post(chan, 200)
        result = run_purge(conn, purge_settings(PreservePinnedPosts=True))
        assert deleted_posts(conn) == {plain}
        assert result["summary"]["spared"]["messages_pinned"] == 1

    def test_deleted_when_setting_off(self, conn, ws):
        chan = ws.channel(ws.team())
        pinned, plain = ws.post(chan, 200, pinned=True), ws.post(chan, 200)
        run_purge(conn, purge_settings(PreservePinnedPosts=False))
        assert deleted_posts(conn) == {pinned, plain}

    def test_pinned_between_preview_and_delete_is_spared(self, conn, ws):
        chan = ws.channel(ws.team())
        later_pinned, plain = ws.post(chan, 200), ws.post(chan, 200)
        s = purge_settings(PreservePinnedPosts=True)
        summary = preview_purge(conn, s, now_ms=NOW)
        conn.execute("UPDATE posts SET ispinned = true WHERE id = %s", (later_pinned,))
        soft_delete(conn, s, summary["run_id"], sleep=lambda _: None)
        assert deleted_posts(conn) == {plain}


class TestFiles:
    def test_files_of_purged_posts_and_expired_files(self, conn, ws):
        team, forever = ws.team(), ws.team()
        chan, forever_chan = ws.channel(team), ws.channel(forever)
        ws.policy("legal", None, teams=[forever])
        old_post, young_post = ws.post(chan, 300), ws.post(chan, 5)
        f_old_post = ws.file(old_post, 300)
        f_young_post_old_file = ws.file(young_post, 10)
        f_young = ws.file(young_post, 1)
        f_forever = ws.file(ws.post(forever_chan, 300), 300)
        f_loose = ws.file(None, 20, channel_id=chan)
        s = purge_settings(EnableFileDeletion=True, FileRetentionDays=7)
        result = run_purge(conn, s)
        assert deleted_files(conn) == {f_old_post, f_young_post_old_file, f_loose}
        assert {f_young, f_forever}.isdisjoint(deleted_files(conn))
        assert result["files_deleted"] == 3 == result["summary"]["files_to_delete"]
        assert result["summary"]["spared"]["files_keep_forever"] == 1

    def test_file_deletion_off_only_takes_files_of_purged_posts(self, conn, ws):
        chan = ws.channel(ws.team())
        old_post, young_post = ws.post(chan, 300), ws.post(chan, 5)
        f_old = ws.file(old_post, 300)
        ws.file(young_post, 300)
        run_purge(conn, purge_settings())
        assert deleted_files(conn) == {f_old}

    def test_pinned_posts_keep_their_files(self, conn, ws):
        chan = ws.channel(ws.team())
        pinned = ws.post(chan, 300, pinned=True)
        f = ws.file(pinned, 300)
        run_purge(
            conn, purge_settings(PreservePinnedPosts=True, EnableFileDeletion=True, FileRetentionDays=1)
        )
        assert f not in deleted_files(conn)
        assert deleted_posts(conn) == set()


def test_edit_history_is_logged_for_removal_but_untouched(conn, ws):
    chan = ws.channel(ws.team())
    post = ws.post(chan, 300)
    history = ws.edit_history(post)
    before = snapshot(conn)[history]
    result = run_purge(conn, purge_settings())
    assert snapshot(conn)[history] == before
    logged = set(conn.execute("SELECT kind, id FROM mmgov.purge_log").fetchall())
    assert logged == {("post", post), ("post_history", history)}
    assert result["history_rows"] == 1


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 8, 50], ids=lambda n: f"batch{n}")
def test_batch_boundaries(conn, ws, batch_size):
    chan = ws.channel(ws.team())
    expect = {ws.post(chan, 200) for _ in range(7)}
    for _ in range(4):
        ws.post(chan, 10)
    pauses = []
    s = purge_settings(BatchSize=batch_size, TimeBetweenBatchesMilliseconds=25)
    summary = preview_purge(conn, s, now_ms=NOW)
    result = soft_delete(conn, s, summary["run_id"], sleep=pauses.append)
    assert deleted_posts(conn) == expect
    # full batches + the short one that ends the posts phase + the files phase
    assert result["batches"] == 7 // batch_size + 2
    assert pauses == [0.025] * (result["batches"] - 1)
    assert result["sleep_ms"] == 25 * (result["batches"] - 1)


def test_failure_rolls_back_the_batch_and_a_retry_resumes(conn, ws):
    chan = ws.channel(ws.team())
    expect = {ws.post(chan, 200) for _ in range(10)}
    s = purge_settings(BatchSize=3)
    summary = preview_purge(conn, s, now_ms=NOW)
    calls = []

    def crash_on_third(batch):
        calls.append(batch)
        if len(calls) == 3:
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        soft_delete(conn, s, summary["run_id"], sleep=lambda _: None, on_batch=crash_on_third)
    partial = deleted_posts(conn)
    assert len(partial) == 6
    assert partial < expect
    run = get_run(conn, summary["run_id"])
    assert (run["status"], run["messages_deleted"], run["batches"]) == ("running", 6, 2)
    assert conn.execute("SELECT count(*) FROM mmgov.purge_log").fetchone()[0] == 6
    scanned = []
    result = soft_delete(conn, s, summary["run_id"], sleep=lambda _: None, on_batch=scanned.append)
    assert deleted_posts(conn) == expect
    assert result["messages_deleted"] == 10
    assert scanned[0]["scanned"] == 3  # resumed after the 6 done, not from the start
    assert sum(b["scanned"] for b in scanned) == 4


def test_plan_change_after_preview_deletes_nothing(conn, ws):
    chan = ws.channel(ws.team())
    ws.post(chan, 200)
    s = purge_settings()
    summary = preview_purge(conn, s, now_ms=NOW)
    ws.policy("new", None, channels=[chan])
    with pytest.raises(PlanChanged) as info:
        soft_delete(conn, s, summary["run_id"], sleep=lambda _: None)
    assert info.value.status == 409
    with pytest.raises(PlanChanged):
        soft_delete(conn, purge_settings(MessageRetentionDays=300), summary["run_id"])
    assert deleted_posts(conn) == set()


def test_dry_run_deletes_nothing(conn, ws):
    chan = ws.channel(ws.team())
    for age in (5, 200, 300):
        ws.post(chan, age)
    ws.file(ws.post(chan, 300), 300)
    before_posts, before_files = snapshot(conn), snapshot(conn, "fileinfo")
    s = purge_settings(EnableFileDeletion=True, FileRetentionDays=1)
    summary = preview_purge(conn, s, dry_run=True, now_ms=NOW)
    assert (summary["messages_to_delete"], summary["files_to_delete"]) == (3, 1)
    with pytest.raises(RetentionError, match="dry run"):
        soft_delete(conn, s, summary["run_id"])
    report = report_purge(conn, summary["run_id"])
    assert (report["status"], report["messages_deleted"], report["messages_to_delete"]) == ("dry_run", 0, 3)
    assert snapshot(conn) == before_posts
    assert snapshot(conn, "fileinfo") == before_files
    assert conn.execute("SELECT count(*) FROM mmgov.purge_candidates").fetchone()[0] == 0
    assert audit.history(conn, event_prefix="retention.deletion_completed") == []


class TestApprovalGate:
    def _world(self, ws):
        chan = ws.channel(ws.team())
        return {ws.post(chan, 200) for _ in range(4)}

    def test_rejection_deletes_nothing(self, conn, ws):
        self._world(ws)
        s = settings(
            DataRetentionSettings={"EnableMessageDeletion": True, "MessageRetentionDays": 100},
            Mmgov={"RetentionApproval": "always"},
        )
        before = snapshot(conn)
        summary = preview_purge(conn, s, now_ms=NOW)
        assert summary["approval"]["needs_approval"]
        rejected = {"chosen_options": ["Reject"], "responded_by_user": {"id": "bob", "name": "bob"}}
        with pytest.raises(ApprovalMissing, match="got Reject"):
            soft_delete(conn, s, summary["run_id"], hitl_result=rejected)
        report = report_purge(conn, summary["run_id"], hitl_result=rejected)
        assert (report["status"], report["alert"], report["rejected_by"]) == ("rejected", True, "bob")
        with pytest.raises(ApprovalMissing, match="rejected by bob"):
            soft_delete(conn, s, summary["run_id"], hitl_result={"chosen_options": ["Approve"]})
        assert snapshot(conn) == before
        event = audit.history(conn, event_prefix="retention.purge_rejected")[0]
        assert (event["actor"], event["payload"]["posts_planned"]) == ("bob", 4)

    def test_no_answer_deletes_nothing(self, conn, ws):
        self._world(ws)
        s = settings(
            DataRetentionSettings={"EnableMessageDeletion": True, "MessageRetentionDays": 100},
            Mmgov={"RetentionApproval": "on_change"},
        )
        summary = preview_purge(conn, s, now_ms=NOW)
        with pytest.raises(ApprovalMissing, match="first run"):
            soft_delete(conn, s, summary["run_id"], hitl_result=None)
        assert deleted_posts(conn) == set()

    def test_approval_by_a_person_is_recorded(self, conn, ws):
        expect = self._world(ws)
        s = settings(
            DataRetentionSettings={"EnableMessageDeletion": True, "MessageRetentionDays": 100},
            Mmgov={"RetentionApproval": "always"},
        )
        summary = preview_purge(conn, s, now_ms=NOW)
        approved = {"chosen_options": ["Approve"], "responded_by_user": {"id": "carol", "name": "carol"}}
        soft_delete(conn, s, summary["run_id"], hitl_result=approved, sleep=lambda _: None)
        assert deleted_posts(conn) == expect
        run = get_run(conn, summary["run_id"])
        assert (run["approval"], run["approved_by"]) == ("person", "carol")
        event = audit.history(conn, event_prefix="retention.purge_approved")[0]
        assert (event["actor"], event["payload"]["approval"]) == ("carol", "person")

    def test_never_is_recorded_as_unattended(self, conn, ws):
        self._world(ws)
        result = run_purge(conn, purge_settings())
        event = audit.history(conn, event_prefix="retention.purge_approved")[0]
        assert event["payload"]["approval"] == "unattended"
        assert event["payload"]["mode"] == "never"
        assert get_run(conn, result["run_id"])["approval"] == "unattended"
