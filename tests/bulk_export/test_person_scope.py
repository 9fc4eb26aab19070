"""Per-person export (GDPR access / portability): the person's data, nothing of a stranger's channels."""

from __future__ import annotations

import pytest

from mmgov.bulk_export.errors import ExportParamError
from mmgov.bulk_export.export_check import validate_export
from tests.bulk_export.conftest import ALICE_HASH, ALICE_MFA
from tests.bulk_export.workspace import export_once


@pytest.fixture
def alice(edge_workspace, tmp_path):
    return export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, users=["alice"])


def test_only_the_person_has_a_user_line_with_her_memberships(alice):
    users = alice.of_type("user")
    assert [u["username"] for u in users] == ["alice"]
    teams = {t["name"]: t for t in users[0]["teams"]}
    assert set(teams) == {"alpha", "oldteam"}
    assert {c["name"] for c in teams["alpha"]["channels"]} == {"town-square", "archived-proj"}
    assert users[0]["custom_status"]["text"] == "On holiday"
    assert alice.of_type("bot") == []  # she owns no bot


def test_teams_and_channels_are_those_she_belongs_to_or_wrote_in(alice):
    assert {t["name"] for t in alice.of_type("team")} == {"alpha", "oldteam"}
    assert {c["name"] for c in alice.of_type("channel")} == {"town-square", "archived-proj", "legacy"}


def test_threads_she_took_part_in_are_whole_and_others_are_absent(alice):
    posts = {p["message"]: p for p in alice.of_type("post")}
    assert set(posts) == {
        "Release notes are up",  # her root (with bob's and dave's replies)
        "Dave asks something",  # she reacted to it
        "Archived channel talk",
        "Legacy team post",
        "Reply whose root was purged",  # her reply, root gone
    }
    assert [r["message"] for r in posts["Release notes are up"]["replies"]] == ["Thanks, alice!", "Reply two"]


def test_other_peoples_private_state_is_left_out(alice):
    p1 = next(p for p in alice.of_type("post") if p["message"] == "Release notes are up")
    assert p1["flagged_by"] == ["alice"]  # dave's flag is his private bookmark
    assert "flagged_by" not in p1["replies"][0]  # bob flagged his own reply: not hers to see
    assert p1["thread_followers"] == [
        {"user": "alice", "last_viewed": p1["thread_followers"][0]["last_viewed"], "unread_mentions": 0}
    ]
    assert p1["reactions"][0]["user"] == "bob"  # reactions are visible to everyone in the channel
    dms = alice.of_type("direct_channel")
    for dm in dms:
        for participant in dm["participants"]:
            if participant["username"] != "alice":
                assert participant == {"username": participant["username"]}
        assert set(dm.get("favorited_by", [])) <= {"alice"}
        assert set(dm.get("shown_by", [])) <= {"alice"}


def test_her_direct_and_group_messages_are_whole(alice):
    members = sorted(
        sorted(p["username"] for p in d["participants"]) for d in alice.of_type("direct_channel")
    )
    assert members == [
        ["alice", "alice"],
        ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"],
        ["alice", "carol"],
    ]
    posts = {p["message"]: p for p in alice.of_type("direct_post")}
    assert set(posts) == {"Hi carol", "Note to self", "Hello group of eight"}
    assert [r["message"] for r in posts["Hi carol"]["replies"]] == ["Bye alice"]  # carol's reply included


def test_nothing_of_a_strangers_channels_or_dms(alice, edge_workspace):
    text = alice.jsonl.decode()
    for absent in (
        "secret-room",
        "Zed's secret plans",
        "Bob answers in secret",
        "Bob, between us",
        "zed@example.com",
        '"zed"',
        "Dave talks to himself",
        "Oops, deleted",
        "Talking to a ghost",
    ):
        assert absent not in text, absent
    everything = alice.all_bytes()
    for secret in (ALICE_HASH, ALICE_MFA, edge_workspace.id("channel:secret-room")):
        assert secret.encode() not in everything


def test_her_files_and_emoji_only(alice, edge_workspace):
    assert {e["name"] for e in alice.of_type("emoji")} == {"partyparrot"}
    alice_id, bob_id = edge_workspace.id("user:alice"), edge_workspace.id("user:bob")
    assert f"data/users/{alice_id}/profile.png" in alice.members
    assert not any(bob_id in name for name in alice.members)
    assert "data/20260101/teams/alpha/channels/town/users/alice/f1/notes.txt" in alice.members


def test_person_export_is_valid_with_lenient_references(alice):
    report = validate_export(alice.path)  # scope "users" in the version line -> lenient references
    assert report.ok, report.errors
    version = alice.lines[0]["info"]["additional"]
    assert version["scope"] == "users"
    assert version["users"] == ["alice"]


def test_people_are_found_by_email_case_insensitively(edge_workspace, tmp_path):
    export = export_once(
        edge_workspace.dsn,
        tmp_path / "out",
        edge_workspace.store,
        users=["ALICE@Example.com"],
        create_archive=False,
    )
    assert [u["username"] for u in export.of_type("user")] == ["alice"]


def test_two_people_at_once(edge_workspace, tmp_path):
    export = export_once(
        edge_workspace.dsn,
        tmp_path / "out",
        edge_workspace.store,
        users=["carol", "zed"],
        create_archive=False,
    )
    assert sorted(u["username"] for u in export.of_type("user")) == ["carol", "zed"]
    assert [b["username"] for b in export.of_type("bot")] == ["helper-bot"]  # carol owns it
    messages = {p["message"] for p in export.of_type("post")}
    assert messages == {"Zed's secret plans"}
    assert {p["message"] for p in export.of_type("direct_post")} == {
        "Hi carol",
        "Hello group of eight",
        "Bob, between us",
    }


def test_an_unknown_person_is_refused_before_any_work(edge_workspace, tmp_path):
    with pytest.raises(ExportParamError, match=r"no Mattermost user has the username or e-mail 'nobody'"):
        export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, users=["alice", "nobody"])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
