"""Whole-workspace export of the hand-made edge workspace: exact lines, files, warnings, validity."""

from __future__ import annotations

import pytest

from mmgov.bulk_export.export_check import validate_export
from mmgov_dev.synth.files import EMOJI_PNG, PROFILE_PNGS
from tests.bulk_export.conftest import ALICE_HASH, ALICE_MFA, BOB_HASH
from tests.bulk_export.workspace import T0, export_once


@pytest.fixture
def export(edge_workspace, tmp_path):
    return export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, create_archive=False)


def _by(items, key="username"):
    return {item[key]: item for item in items}


def _posts(export):
    return {p["message"]: p for p in export.of_type("post")}


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


def test_teams_and_channels_include_deleted_ones_with_their_deletion_time(export):
    teams = _by(export.of_type("team"), "name")
    assert set(teams) == {"alpha", "oldteam"}
    assert teams["oldteam"]["delete_at"] == T0 - 5000
    assert "delete_at" not in teams["alpha"]
    channels = {(c["team"], c["name"]): c for c in export.of_type("channel")}
    assert set(channels) == {
        ("alpha", "town-square"),
        ("alpha", "archived-proj"),
        ("alpha", "secret-room"),
        ("oldteam", "legacy"),
    }
    assert channels[("alpha", "archived-proj")]["deleted_at"] == T0 - 2000
    assert channels[("alpha", "archived-proj")]["type"] == "P"


def test_users_carry_profile_preferences_and_memberships_but_never_secrets(export):
    users = _by(export.of_type("user"))
    assert set(users) == {
        "alice",
        "bob",
        "carol",
        "dave",
        "zed",
        "ssouser",
        "erin",
        "frank",
        "grace",
        "heidi",
    }
    alice = users["alice"]
    assert alice["email"] == "alice@example.com"
    assert alice["first_name"] == "Alice"
    assert alice["position"] == "Engineer"
    assert alice["locale"] == "en"
    assert alice["roles"] == "system_user"
    assert alice["theme"] == '{"type":"Onyx"}'
    assert alice["military_time"] == "true"
    assert alice["name_format"] == "full_name"
    assert alice["email_interval"] == "fifteen"
    assert alice["tutorial_step"] == "999"
    assert alice["notify_props"]["mobile"] == "mention"
    assert alice["notify_props"]["comments"] == "never"
    assert alice["custom_status"] == {"emoji": "palm_tree", "text": "On holiday", "duration": "today"}
    assert alice["profile_image"] == f"users/{export_user_id(export, 'alice')}/profile.png"
    teams = _by(alice["teams"], "name")
    assert teams["alpha"]["roles"] == "team_user team_admin"
    assert teams["alpha"]["theme"] == '{"type":"Denim"}'
    channels = _by(teams["alpha"]["channels"], "name")
    assert set(channels) == {"town-square", "archived-proj"}
    assert channels["town-square"]["favorite"] is True
    assert channels["archived-proj"]["favorite"] is False
    assert channels["town-square"]["notify_props"] == {
        "desktop": "default",
        "mobile": "default",
        "mark_unread": "all",
    }
    assert channels["town-square"]["msg_count"] == 3
    assert channels["town-square"]["last_viewed_at"] == T0
    assert users["carol"]["delete_at"] == T0 - 1000  # deactivated, still exported
    assert users["ssouser"]["auth_service"] == "saml"
    assert users["ssouser"]["auth_data"] == "ssouser@idp.example"
    assert "profile_image" not in users["bob"]  # picture recorded, file gone: a warning instead
    assert "profile_image" not in users["dave"]  # never uploaded one: nothing, no warning
    for line in export.lines:
        assert "password" not in line.get("user", {})
        assert "mfa_secret" not in line.get("user", {})


def export_user_id(export, username):
    from tests.bulk_export.workspace import make_id

    return make_id(f"user:{username}")


def test_no_secret_byte_anywhere_in_the_output(export):
    everything = export.all_bytes()
    for secret in (ALICE_HASH, ALICE_MFA, BOB_HASH):
        assert secret.encode() not in everything
    assert b"$2a$10$" not in everything


def test_bots_with_owner_usernames_even_when_the_owner_is_deactivated_or_a_plugin(export):
    bots = _by(export.of_type("bot"))
    assert bots["helper-bot"] == {
        "username": "helper-bot",
        "owner": "carol",
        "display_name": "Helper Bot",
        "description": "helper-bot does things",
    }
    assert bots["plugin-bot"]["owner"] == "com.example.plugin"
    assert "helper-bot" not in _by(export.of_type("user"))


def test_threads_are_nested_with_reactions_flags_files_and_followers(export):
    p1 = _posts(export)["Release notes are up"]
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
    posts = _posts(export)
    assert posts["Oops, deleted"]["delete_at"] == T0 + 500
    assert posts["Oops, deleted"]["props"]["deleteBy"]
    assert posts["Oops (before the edit)"]["delete_at"] == T0 + 450
    assert "delete_at" not in posts["Release notes are up"]


def test_orphaned_reply_becomes_a_top_level_post_and_an_authorless_post_is_a_warning(export):
    orphan = _posts(export)["Reply whose root was purged"]
    assert orphan["user"] == "alice"
    assert orphan["channel"] == "town-square"
    assert "Author gone" not in _posts(export)
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


def test_archived_channels_and_their_posts_are_left_out_when_not_asked_for(edge_workspace, tmp_path):
    export = export_once(
        edge_workspace.dsn,
        tmp_path / "out",
        edge_workspace.store,
        include_archived_channels=False,
        create_archive=False,
    )
    assert {c["name"] for c in export.of_type("channel")} == {"town-square", "secret-room"}
    assert {t["name"] for t in export.of_type("team")} == {"alpha"}
    messages = set(_posts(export))
    assert "Archived channel talk" not in messages
    assert "Legacy team post" not in messages
    alice = _by(export.of_type("user"))["alice"]
    assert [t["name"] for t in alice["teams"]] == ["alpha"]
    assert {c["name"] for c in alice["teams"][0]["channels"]} == {"town-square"}
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


def test_emoji_images_go_to_exported_emoji_and_data(export, edge_workspace):
    emoji = _by(export.of_type("emoji"), "name")
    # the deleted one is left out, and so is the one whose image is missing: Mattermost's importer
    # stops at an emoji line whose image it cannot open (app.import.emoji.bad_file.error in
    # server/channels/app/import_functions.go), and every direct message comes after the emoji
    assert set(emoji) == {"partyparrot"}
    parrot = edge_workspace.id("emoji:partyparrot")
    assert emoji["partyparrot"]["image"] == f"exported_emoji/{parrot}/image"
    assert export.members[f"exported_emoji/{parrot}/image"] == EMOJI_PNG
    assert export.members[f"data/exported_emoji/{parrot}/image"] == EMOJI_PNG
    assert [line["type"] for line in export.lines][-4:] == ["direct_post"] * 4  # all of them


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
