"""Whole-workspace export of the hand-made edge workspace: exact lines, files, warnings, validity."""

from __future__ import annotations

from mmgov.bulk_export.export_check import validate_export
from mmgov_dev.synth.files import PROFILE_PNGS
from tests.bulk_export.conftest import ALICE_HASH, ALICE_MFA, BOB_HASH
from tests.bulk_export.workspace import T0, export_once, posts_by_message


def test_line_types_come_in_the_seeds_order(export):
    order = ["version", "team", "channel", "user", "bot", "post", "emoji", "direct_channel", "direct_post"]
    seen = []
    for line in export.lines:
        if not seen or seen[-1] != line["type"]:
            seen.append(line["type"])
    assert seen == order


def test_the_export_is_valid_for_mattermost_import(export):
    report = validate_export(export.path)
    assert report.ok, report.errors
    # what it warns about is what warnings.txt explains
    assert {f.code for f in report.warnings} == {"attachment.file.missing"}


def test_no_secret_byte_anywhere_in_the_output(export):
    everything = export.all_bytes()
    for secret in (ALICE_HASH, ALICE_MFA, BOB_HASH):
        assert secret.encode() not in everything
    assert b"$2a$10$" not in everything


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


def test_files_are_copied_and_every_failure_is_one_line_of_warnings_txt(export, edge_workspace):
    assert (
        export.members["data/20260101/teams/alpha/channels/town/users/alice/f1/notes.txt"] == b"release notes"
    )
    alice_id = edge_workspace.id("user:alice")
    assert export.members[f"data/users/{alice_id}/profile.png"] == PROFILE_PNGS[0]
    bob_id, noimage = edge_workspace.id("user:bob"), edge_workspace.id("emoji:noimage")
    assert export.warnings == [
        f'profile_picture "users/{bob_id}/profile.png" (user bob): file not found in the file store',
        f'attachment "20260101/teams/alpha/channels/town/users/alice/f2/gone.txt" (post {edge_workspace.id("post:p1")}):'
        " file not found in the file store",
        f"attachment \"../../etc/passwd\" (post {edge_workspace.id('post:r1')}): file path with '..' refused"
        " (it could leave the file store); not listed, not copied",
        f'post "{edge_workspace.id("post:ghost")}" (channel {edge_workspace.id("channel:town-square")}): author '
        "gggggggggggggggggggggggggg no longer exists: post not exported",
        f'direct_channel "{edge_workspace.id("dm:dave")}" (channel {edge_workspace.id("dm:dave")}): 1 known member(s);'
        " Mattermost imports 2 (direct) or 3-8 (group): channel and its posts not exported",
        f'emoji "emoji/{noimage}/image" (emoji noimage): file not found in the file store; emoji line left'
        " out (Mattermost's importer stops at an emoji whose image is missing)",
    ]
    assert export.summary["status"] == "completed_with_warnings"
    assert export.summary["num_warnings"] == 6 == export.summary["progress"]["num_warnings"]
    assert not any(name.endswith("passwd") for name in export.members)


def test_progress_counters_like_mattermost(export):
    assert export.summary["progress"] == {
        "roles_exported": 0,
        "team_schemes_exported": 0,
        "channel_schemes_exported": 0,
        "teams_exported": 2,
        "channels_exported": 4,
        "users_exported": 10,
        "bots_exported": 2,
        "posts_exported": 12,
        "emojis_exported": 1,
        "direct_channels_exported": 4,
        "direct_posts_exported": 5,
        "attachments_exported": 2,
        "profile_pictures_exported": 1,
        "num_warnings": 6,
    }


def test_small_batches_give_the_same_export(edge_workspace, tmp_path):
    one = export_once(
        edge_workspace.dsn, tmp_path / "a", edge_workspace.store, create_archive=False, job_id="a"
    )
    two = export_once(
        edge_workspace.dsn,
        tmp_path / "b",
        edge_workspace.store,
        create_archive=False,
        job_id="b",
        batch_size=1,
    )
    assert one.jsonl.splitlines()[1:] == two.jsonl.splitlines()[1:]
