"""Post and direct post lines: threads nested under their root with reactions, flags, files and
followers; deleted posts and edit history; an orphaned reply, an authorless post."""

from __future__ import annotations

from tests.bulk_export.workspace import T0, posts_by_message


def test_threads_are_nested_with_reactions_flags_files_and_followers(export):
    p1 = posts_by_message(export)["Release notes are up"]
    assert (p1["team"], p1["channel"], p1["user"], p1["is_pinned"]) == ("alpha", "town-square", "alice", True)
    assert p1["flagged_by"] == ["alice", "dave"]
    assert p1["reactions"] == [
        {"user": "bob", "create_at": T0 + 150, "emoji_name": "+1"}
    ]  # removed tada left out
    assert [a["path"] for a in p1["attachments"]] == [
        "20260101/teams/alpha/channels/town/users/alice/f1/notes.txt",
        "20260101/teams/alpha/channels/town/users/alice/f2/gone.txt",
    ]
    assert [r["message"] for r in p1["replies"]] == ["Thanks, alice!", "Reply two"]
    r1 = p1["replies"][0]
    assert set(r1) == {
        "user",
        "type",
        "message",
        "props",
        "create_at",
        "edit_at",
        "is_pinned",
        "flagged_by",
        "reactions",
    }  # its only attachment has an unsafe path: neither listed nor read
    assert r1["flagged_by"] == ["bob"]
    assert r1["reactions"][0]["emoji_name"] == "heart"
    assert p1["thread_followers"] == [
        {"user": "alice", "last_viewed": T0, "unread_mentions": 0},
        {"user": "bob", "last_viewed": T0, "unread_mentions": 0},
    ]


def test_deleted_posts_and_edit_history_are_exported_with_delete_at(export):
    posts = posts_by_message(export)
    assert posts["Oops, deleted"]["delete_at"] == T0 + 500
    assert posts["Oops, deleted"]["props"]["deleteBy"]
    assert posts["Oops (before the edit)"]["delete_at"] == T0 + 450
    assert "delete_at" not in posts["Release notes are up"]


def test_orphaned_reply_becomes_a_top_level_post_and_an_authorless_post_is_a_warning(export):
    orphan = posts_by_message(export)["Reply whose root was purged"]
    assert orphan["user"] == "alice"
    assert orphan["channel"] == "town-square"
    assert "Author gone" not in posts_by_message(export)
    assert any("author gggggggggggggggggggggggggg no longer exists" in w for w in export.warnings)
    rec = export.summary["reconciliation"]
    assert rec["posts_in_database"] == rec["posts_exported"] + rec["posts_skipped"]
    assert rec == {
        "posts_in_database": 13,
        "posts_exported": 12,
        "posts_skipped": 1,
        "direct_posts_in_database": 6,
        "direct_posts_exported": 5,
        "direct_posts_skipped": 1,
    }
