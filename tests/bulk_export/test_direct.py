"""Direct and group message channel lines: participants (a DM with yourself, with a deactivated user,
a GM of 8), favourites and each participant's channel notify props."""

from __future__ import annotations

import psycopg

from mmgov.bulk_export.export_check import validate_export
from tests.bulk_export.workspace import export_once


def test_direct_channel_participants_carry_mattermosts_channel_notify_props(edge_workspace, tmp_path):
    """``importDirectChannelMembersFromChannelMembers`` (server/channels/app/export_converters.go)
    writes desktop, mobile (from ``push``), mark_unread, email, ignore_channel_mentions and
    channel_auto_follow_threads from the member's notify props, and ``importDirectChannel``
    (import_functions.go) restores all six."""
    carol_dm = edge_workspace.id("dm:alice-carol")
    with psycopg.connect(edge_workspace.dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE channelmembers SET notifyprops = %s WHERE channelid = %s AND userid = %s",
            (
                '{"desktop": "all", "push": "none", "mark_unread": "mention", "email": "false",'
                ' "ignore_channel_mentions": "on", "channel_auto_follow_threads": "on", "unknown_key": "x"}',
                carol_dm,
                edge_workspace.id("user:alice"),
            ),
        )
    export = export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, create_archive=False)
    dm = next(
        d
        for d in export.of_type("direct_channel")
        if sorted(p["username"] for p in d["participants"]) == ["alice", "carol"]
    )
    alice = next(p for p in dm["participants"] if p["username"] == "alice")
    assert alice["notify_props"] == {
        "desktop": "all",
        "mobile": "none",
        "mark_unread": "mention",
        "email": "false",
        "ignore_channel_mentions": "on",
        "channel_auto_follow_threads": "on",
    }
    assert list(alice["notify_props"]) == [
        "desktop",
        "mobile",
        "mark_unread",
        "email",
        "ignore_channel_mentions",
        "channel_auto_follow_threads",
    ]  # UserChannelNotifyPropsImportData's order
    carol = next(p for p in dm["participants"] if p["username"] == "carol")
    assert carol["notify_props"] == {"desktop": "default"}  # only what is set
    assert validate_export(export.path).ok


def test_direct_channels_dm_with_deactivated_user_self_dm_and_gm_of_8(export):
    channels = [sorted(p["username"] for p in d["participants"]) for d in export.of_type("direct_channel")]
    assert sorted(channels) == [
        ["alice", "alice"],
        ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"],
        ["alice", "carol"],
        ["bob", "zed"],
    ]
    dm = next(
        d
        for d in export.of_type("direct_channel")
        if sorted(p["username"] for p in d["participants"]) == ["alice", "carol"]
    )
    assert dm["favorited_by"] == ["alice"]
    assert dm["shown_by"] == ["alice"]
    posts = {p["message"]: p for p in export.of_type("direct_post")}
    assert posts["Hi carol"]["channel_members"] == ["alice", "carol"]
    assert [r["message"] for r in posts["Hi carol"]["replies"]] == ["Bye alice"]
    assert posts["Note to self"]["channel_members"] == ["alice", "alice"]
    assert len(posts["Hello group of eight"]["channel_members"]) == 8
    assert "Talking to a ghost" not in posts  # a DM Mattermost cannot import: named in warnings.txt
    assert all(len(p["channel_members"]) in (2, 3, 4, 5, 6, 7, 8) for p in posts.values())
