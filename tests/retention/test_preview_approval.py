"""Preview counts per policy, team and channel; the approval decision of each RetentionApproval mode."""

from __future__ import annotations

import pytest

from mmgov.retention.approval import next_task
from mmgov.retention.legal_hold import create_hold
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from mmgov.retention.runs import get_run
from tests.retention.builders import NOW, settings

APPROVED = {"chosen_options": ["Approve"], "responded_by_user": {"id": "ann", "name": "ann"}}


def mode_settings(mode: str, days: int = 100, factor: float = 3.0):
    return settings(
        DataRetentionSettings={
            "EnableMessageDeletion": True,
            "MessageRetentionDays": days,
            "BatchSize": 50,
            "TimeBetweenBatchesMilliseconds": 0,
        },
        Mmgov={"RetentionApproval": mode, "RetentionAnomalyFactor": factor},
    )


def complete(conn, s, summary):
    hitl = APPROVED if summary["approval"]["needs_approval"] else None
    return soft_delete(conn, s, summary["run_id"], hitl_result=hitl, sleep=lambda _: None)


def test_counts_per_policy_team_and_channel(conn, ws):
    sales, ops = ws.team("sales"), ws.team("ops")
    s1, s2, o1 = ws.channel(sales, name="s1"), ws.channel(sales, name="s2"), ws.channel(ops, name="o1")
    ws.policy("sales 30", 30, teams=[sales])
    for _ in range(3):
        ws.post(s1, 40)
    ws.post(s1, 40, pinned=True)
    f = ws.post(s2, 50)
    ws.file(f, 50)
    ws.post(o1, 200)
    ws.post(o1, 20)
    summary = preview_purge(
        conn,
        settings(
            DataRetentionSettings={
                "EnableMessageDeletion": True,
                "MessageRetentionDays": 100,
                "PreservePinnedPosts": True,
            }
        ),
        now_ms=NOW,
    )
    assert (summary["messages_to_delete"], summary["files_to_delete"]) == (5, 1)
    assert summary["spared"]["messages_pinned"] == 1
    assert {(t["team_name"], t["messages"], t["files"]) for t in summary["by_team"]} == {
        ("sales", 4, 1),
        ("ops", 1, 0),
    }
    assert {(p["display_name"], p["messages"]) for p in summary["by_policy"]} == {("sales 30", 4), (None, 1)}
    channels = {c["name"]: (c["messages"], c["files"], c["spared_pinned"]) for c in summary["channels"]}
    assert channels == {"s1": (3, 0, 1), "s2": (1, 1, 0), "o1": (1, 0, 0)}
    assert (
        "| Policy \u201csales 30\u201d (team) | 30 days | created before 2025-12-02 00:00 UTC | 2 | 4 | 1 |"
        in summary["markdown"]
    )
    stored = conn.execute(
        "SELECT sum(posts_to_delete), sum(files_to_delete), sum(spared_pinned) FROM mmgov.purge_channels"
        " WHERE run_id = %s",
        (summary["run_id"],),
    ).fetchone()
    assert tuple(int(v) for v in stored) == (5, 1, 1)


def test_spared_reasons_count_each_post_once(conn, ws):
    team = ws.team()
    chan = ws.channel(team)
    ws.post(chan, 200, pinned=True)  # held and pinned: counted as held
    create_hold(conn, name="h", scope="channel", target_id=chan, actor="a")
    summary = preview_purge(
        conn,
        settings(
            DataRetentionSettings={
                "EnableMessageDeletion": True,
                "PreservePinnedPosts": True,
                "MessageRetentionDays": 100,
            }
        ),
        now_ms=NOW,
    )
    assert summary["spared"]["messages_held"] == 1
    assert summary["spared"]["messages_pinned"] == 0


def test_retried_preview_reuses_its_run(conn, ws):
    ws.post(ws.channel(ws.team()), 200)
    s = mode_settings("never")
    first = preview_purge(conn, s, dag_run_id="manual__1", now_ms=NOW)
    again = preview_purge(conn, s, dag_run_id="manual__1", now_ms=NOW)
    assert first["run_id"] == again["run_id"]
    assert conn.execute("SELECT count(*) FROM mmgov.purge_candidates").fetchone()[0] == 1
    complete(conn, s, again)
    after_delete = preview_purge(conn, s, dag_run_id="manual__1", now_ms=NOW)
    assert after_delete["run_id"] == first["run_id"]
    assert get_run(conn, first["run_id"])["status"] == "completed"


class TestModes:
    def test_always_asks_a_person(self, conn, ws):
        ws.post(ws.channel(ws.team()), 200)
        summary = preview_purge(conn, mode_settings("always"), now_ms=NOW)
        assert summary["approval"]["needs_approval"]
        assert next_task(summary, dry_run=False) == "approval"
        assert next_task(summary, dry_run=True) == "report"

    def test_never_runs_unattended(self, conn, ws):
        ws.post(ws.channel(ws.team()), 200)
        summary = preview_purge(conn, mode_settings("never"), now_ms=NOW)
        assert not summary["approval"]["needs_approval"]
        assert next_task(summary, dry_run=False) == "soft_delete"

    def test_nothing_to_delete_needs_nobody(self, conn, ws):
        ws.post(ws.channel(ws.team()), 2)
        summary = preview_purge(conn, mode_settings("always"), now_ms=NOW)
        assert not summary["approval"]["needs_approval"]
        assert summary["approval"]["reasons"] == ["nothing to delete"]

    def test_on_change(self, conn, ws):
        chan = ws.channel(ws.team())
        for _ in range(4):
            ws.post(chan, 200)
        s = mode_settings("on_change")
        first = preview_purge(conn, s, now_ms=NOW)
        assert first["approval"]["reasons"] == ["first run: no run was approved before"]
        complete(conn, s, first)
        # same policies and settings, usual count: no person needed
        for _ in range(4):
            ws.post(chan, 200)
        second = preview_purge(conn, s, now_ms=NOW)
        assert not second["approval"]["needs_approval"]
        complete(conn, s, second)
        assert get_run(conn, second["run_id"])["approval"] == "unchanged"
        # a policy change needs a person again
        ws.post(chan, 200)
        ws.policy("new", 50, channels=[ws.channel()])
        changed = preview_purge(conn, s, now_ms=NOW)
        assert changed["approval"]["needs_approval"]
        assert "changed since the last approved run" in changed["approval"]["reasons"][0]
        # a settings change too
        other = preview_purge(conn, mode_settings("on_change", days=90), now_ms=NOW)
        assert "changed" in other["approval"]["reasons"][0]

    def test_on_change_anomaly(self, conn, ws):
        chan = ws.channel(ws.team())
        s = mode_settings("on_change", factor=2.0)
        for _ in range(3):
            for _ in range(4):
                ws.post(chan, 200)
            complete(conn, s, preview_purge(conn, s, now_ms=NOW))
        for _ in range(8):
            ws.post(chan, 200)
        usual = preview_purge(conn, s, now_ms=NOW)
        assert not usual["approval"]["needs_approval"]  # 8 <= 2 x median 4
        ws.post(chan, 200)
        spike = preview_purge(conn, s, now_ms=NOW)
        assert spike["approval"]["needs_approval"]
        assert spike["approval"]["reasons"] == [
            "9 items is more than 2 x the median (4) of the last 3 completed runs"
        ]

    def test_on_change_does_not_count_unattended_runs_as_approved(self, conn, ws):
        chan = ws.channel(ws.team())
        ws.post(chan, 200)
        complete(conn, mode_settings("never"), preview_purge(conn, mode_settings("never"), now_ms=NOW))
        ws.post(chan, 200)
        summary = preview_purge(conn, mode_settings("on_change"), now_ms=NOW)
        assert summary["approval"]["reasons"][0].startswith("first run")


@pytest.mark.parametrize("mode", ["always", "on_change", "never"])
def test_dry_run_branch_skips_approval_and_delete(conn, ws, mode):
    ws.post(ws.channel(ws.team()), 200)
    summary = preview_purge(conn, mode_settings(mode), dry_run=True, now_ms=NOW)
    assert next_task(summary, dry_run=True) == "report"
    assert get_run(conn, summary["run_id"])["status"] == "dry_run"
