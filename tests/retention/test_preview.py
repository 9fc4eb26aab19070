"""Preview counts per policy, team and channel, what is spared, and a retried preview's run."""

from __future__ import annotations

from mmgov.retention.legal_hold import create_hold
from mmgov.retention.preview import preview_purge
from mmgov.retention.runs import get_run
from tests.retention.builders import NOW, complete, mode_settings, settings


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
