"""A channel type mmgov does not know (Mattermost 11.8 adds ``BO`` and ``BP``) never stops retention.

Decision (``mmgov.retention.effective_policy``): retention goes by the channel's team, not its type.
A channel of an unknown type with a team follows its team's policy; one without a team is governed
like a DM or GM (its channel policy, else the global setting). The preview names the types.
"""

from __future__ import annotations

from mmgov.file_store import LocalFileStore
from mmgov.mattermost_schema import schema_facts
from mmgov.retention.effective_policy import KNOWN_CHANNEL_TYPES, effective_policy
from mmgov.retention.physical_removal import preview_removal, remove_expired
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from mmgov.retention.runs import db_now_ms
from tests.retention.builders import DAY, NOW, deleted_posts, settings
from tests.support.channel_types import add_channel_type

GRACE = 30


def _settings(global_days: int = 100):
    return settings(
        DataRetentionSettings={
            "EnableMessageDeletion": True,
            "MessageRetentionDays": global_days,
            "TimeBetweenBatchesMilliseconds": 0,
        },
        Mmgov={"RetentionApproval": "never", "PurgeGraceDays": GRACE},
    )


def test_known_types_are_mattermost_11_7s_enum():
    assert set(schema_facts()["enums"]["channel_type"]) == KNOWN_CHANNEL_TYPES


def test_unknown_types_follow_the_team_or_are_governed_like_dms(conn, ws, file_store, caplog):
    add_channel_type(conn, "BO")
    add_channel_type(conn, "BP")
    team = ws.team()
    board = ws.channel(team, type="BO")  # a team channel of a new type
    teamless = ws.channel("", type="BP")  # no team: like a DM
    dm = ws.channel("", type="D")
    ws.policy("short", 10, teams=[team])
    in_board = {"old": ws.post(board, 20), "young": ws.post(board, 5)}
    in_teamless = {"old": ws.post(teamless, 150), "young": ws.post(teamless, 20)}
    in_dm = {"old": ws.post(dm, 150), "young": ws.post(dm, 20)}
    s = _settings(global_days=100)

    assert effective_policy(conn, s, board).source == "team"
    assert effective_policy(conn, s, teamless).source == effective_policy(conn, s, dm).source == "global"

    summary = preview_purge(conn, s, now_ms=NOW)
    assert summary["messages_to_delete"] == 3
    assert summary["unknown_channel_types"] == {"BO": 1, "BP": 1}
    assert "channel types unknown to this mmgov version" in caplog.text
    types = {c["channel_id"]: c["type"] for c in summary["channels"]}
    assert (types[board], types[teamless]) == ("BO", "BP")

    soft_delete(conn, s, summary["run_id"], sleep=lambda _: None)
    assert deleted_posts(conn) == {in_board["old"], in_teamless["old"], in_dm["old"]}

    removal = preview_removal(conn, s, now_ms=db_now_ms(conn) + (GRACE + 1) * DAY)
    result = remove_expired(conn, s, removal["run_id"], LocalFileStore(file_store), sleep=lambda _: None)
    assert result["messages_removed"] == 3
    left = {r[0] for r in conn.execute("SELECT id FROM posts")}
    assert left == {in_board["young"], in_teamless["young"], in_dm["young"]}


def test_a_channel_policy_governs_a_teamless_channel_of_an_unknown_type(conn, ws):
    add_channel_type(conn, "BP")
    teamless = ws.channel("", type="BP")
    policy = ws.policy("keep", None, channels=[teamless])
    ws.post(teamless, 400)
    s = _settings(global_days=100)
    got = effective_policy(conn, s, teamless)
    assert (got.source, got.policy_id, got.keep_forever) == ("channel", policy, True)
    assert preview_purge(conn, s, now_ms=NOW)["messages_to_delete"] == 0


def test_known_types_bring_no_warning(conn, ws):
    ws.post(ws.channel(ws.team()), 200)
    assert "unknown_channel_types" not in preview_purge(conn, _settings(), now_ms=NOW)
