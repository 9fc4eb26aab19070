"""Whole-workspace export of the hand-made edge workspace: exact lines, files, warnings, validity."""

from __future__ import annotations

from mmgov.bulk_export.export_check import validate_export
from mmgov_dev.synth.files import PROFILE_PNGS
from tests.bulk_export.conftest import ALICE_HASH, ALICE_MFA, BOB_HASH
from tests.bulk_export.workspace import export_once


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
