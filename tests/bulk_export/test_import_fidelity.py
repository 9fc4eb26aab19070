"""The GDPR export as Mattermost's exporter writes it and its importer reads it (issue 18, item 4, and the
GDPR parts of item 2), on real PostgreSQL: live files only, post priority and acknowledgements (DM/GM
participants' notify props: test_direct.py; channel types the import format does not carry:
test_channels.py).

Expected values come from Mattermost's own code: ``server/channels/app/export.go`` and
``export_converters.go`` (what the exporter writes), ``server/channels/app/imports/import_types.go``
(the keys), ``server/channels/app/import_functions.go`` (what the importer restores).
"""

from __future__ import annotations

import psycopg
import pytest

import mmgov.bulk_export.post_lines as post_lines
from mmgov.bulk_export.export_check import validate_export
from tests.bulk_export.workspace import T0, export_once, posts_by_message

NOTES = "20260101/teams/alpha/channels/town/users/alice/f1/notes.txt"


def _paths(post):
    return [a["path"] for a in post.get("attachments", [])]


@pytest.fixture
def files_workspace(edge_workspace):
    """Files removed from a live post, and files of deleted posts (deleted with them, or before)."""
    b = edge_workspace.b
    town = edge_workspace.id("channel:town-square")
    with psycopg.connect(edge_workspace.dsn, autocommit=True) as conn:
        b.conn = conn
        # a live post: one file still attached, one the user removed (fileinfo.deleteat set)
        b.post("live", town, "alice", "Live post with a removed file", at=2000)
        b.file("kept", "live", "alice", "20260102/kept.txt", b"kept")
        b.file("removed", "live", "alice", "20260102/removed.txt", b"removed", deleted=T0 + 2100)
        # a deleted post: the file deleted with it (same time, or just after), and one removed before
        b.post("gone", town, "alice", "Deleted post with its files", at=2200, deleted=T0 + 3000)
        b.file("with", "gone", "alice", "20260102/with-post.txt", b"with", deleted=T0 + 3000)
        b.file("after", "gone", "alice", "20260102/just-after.txt", b"after", deleted=T0 + 3001)
        b.file("before", "gone", "alice", "20260102/removed-before.txt", b"before", deleted=T0 + 2500)
        # a reply of a live thread whose file was removed
        b.file("reply-removed", "r2", "dave", "20260102/reply-removed.txt", b"x", deleted=T0 + 2600)
        # a direct post with a removed file
        b.file("dm-removed", "dm1", "alice", "20260102/dm-removed.txt", b"x", deleted=T0 + 2700)
        b.file("dm-kept", "dm1", "alice", "20260102/dm-kept.txt", b"dm")
    return edge_workspace


@pytest.mark.parametrize("render", [True, False], ids=["database", "python"])
@pytest.mark.parametrize("attachments", [False, True], ids=["paths", "files"])
def test_a_post_lists_only_its_live_files_and_a_deleted_post_the_files_deleted_with_it(
    files_workspace, tmp_path, monkeypatch, render, attachments
):
    """Mattermost's ``buildPostAttachments`` lists ``FileInfo().GetForPost(postID, false, false,
    false)``: no deleted file (server/channels/app/export.go)."""
    monkeypatch.setattr(post_lines, "RENDER_IN_DATABASE", render)
    export = export_once(
        files_workspace.dsn,
        tmp_path / "out",
        files_workspace.store,
        create_archive=False,
        include_attachments=attachments,
    )
    posts = posts_by_message(export)
    assert _paths(posts["Live post with a removed file"]) == ["20260102/kept.txt"]
    assert sorted(_paths(posts["Deleted post with its files"])) == [
        "20260102/just-after.txt",
        "20260102/with-post.txt",
    ]
    reply = next(r for r in posts["Release notes are up"]["replies"] if r["message"] == "Reply two")
    assert "attachments" not in reply
    assert _paths(posts_by_message(export, "direct_post")["Hi carol"]) == ["20260102/dm-kept.txt"]
    names = set(export.members)
    assert ("data/20260102/removed.txt" in names) is False
    assert ("data/20260102/removed-before.txt" in names) is False
    assert ("data/20260102/kept.txt" in names) is attachments
    assert ("data/20260102/with-post.txt" in names) is attachments
    assert validate_export(export.path).ok


def test_per_person_export_lists_only_live_files_too(files_workspace, tmp_path):
    export = export_once(
        files_workspace.dsn, tmp_path / "out", files_workspace.store, create_archive=False, users=["alice"]
    )
    posts = posts_by_message(export)
    assert _paths(posts["Live post with a removed file"]) == ["20260102/kept.txt"]
    assert sorted(_paths(posts["Deleted post with its files"])) == [
        "20260102/just-after.txt",
        "20260102/with-post.txt",
    ]
    assert _paths(posts_by_message(export, "direct_post")["Hi carol"]) == ["20260102/dm-kept.txt"]


@pytest.fixture
def priority_workspace(edge_workspace):
    ids = edge_workspace.id
    with psycopg.connect(edge_workspace.dsn, autocommit=True) as conn:  # Mattermost 11.7's tables
        town, dm = ids("channel:town-square"), ids("dm:alice-carol")
        conn.execute(
            "INSERT INTO postspriority VALUES (%s, %s, 'urgent', true, false), (%s, %s, 'important', NULL, NULL)",
            (ids("post:p4"), town, ids("post:dm1"), dm),
        )
        conn.execute(
            "INSERT INTO postacknowledgements VALUES (%s, %s, %s, NULL, %s), (%s, %s, %s, NULL, %s),"
            " (%s, %s, 0, NULL, %s), (%s, %s, %s, NULL, %s)",
            (
                ids("post:p4"), ids("user:bob"), T0 + 700, town,
                ids("post:p4"), ids("user:alice"), T0 + 650, town,
                ids("post:p4"), ids("user:zed"), town,  # removed acknowledgement: acknowledgedat 0
                ids("post:dm1"), ids("user:carol"), T0 + 1350, dm,
            ),
        )  # fmt: skip
    return edge_workspace


@pytest.mark.parametrize("render", [True, False], ids=["database", "python"])
def test_post_priority_and_acknowledgements_are_exported_as_mmgov_additions(
    priority_workspace, tmp_path, monkeypatch, render
):
    """Mattermost's exporter writes neither (``importLineForPost``, export_converters.go) and
    ``PostImportData`` (import_types.go) has no key for them; mmgov adds ``priority`` (the keys of
    ``model.PostPriority``) and the live ``acknowledgements``, which the importer ignores."""
    monkeypatch.setattr(post_lines, "RENDER_IN_DATABASE", render)
    export = export_once(
        priority_workspace.dsn, tmp_path / "out", priority_workspace.store, create_archive=False
    )
    p4 = posts_by_message(export)["Dave asks something"]
    assert p4["priority"] == {"priority": "urgent", "requested_ack": True, "persistent_notifications": False}
    assert p4["acknowledgements"] == [
        {"user": "alice", "acknowledged_at": T0 + 650},
        {"user": "bob", "acknowledged_at": T0 + 700},
    ]
    assert list(p4)[-3:] == ["reactions", "priority", "acknowledgements"]
    dm1 = posts_by_message(export, "direct_post")["Hi carol"]
    assert dm1["priority"] == {
        "priority": "important",
        "requested_ack": False,
        "persistent_notifications": False,
    }
    assert dm1["acknowledgements"] == [{"user": "carol", "acknowledged_at": T0 + 1350}]
    assert "priority" not in posts_by_message(export)["Release notes are up"]
    assert validate_export(export.path).ok


def test_per_person_export_has_priority_and_acknowledgements_too(priority_workspace, tmp_path):
    export = export_once(
        priority_workspace.dsn,
        tmp_path / "out",
        priority_workspace.store,
        create_archive=False,
        users=["alice"],
    )
    p4 = posts_by_message(export)["Dave asks something"]  # alice reacted to it: her thread
    assert p4["priority"]["priority"] == "urgent"
    assert [a["user"] for a in p4["acknowledgements"]] == ["alice", "bob"]


def test_without_the_tables_no_key_is_written(edge_workspace, tmp_path):
    with psycopg.connect(edge_workspace.dsn, autocommit=True) as conn:
        for table in ("postspriority", "postacknowledgements"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    export = export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, create_archive=False)
    assert b'"priority"' not in export.jsonl
    assert b'"acknowledgements"' not in export.jsonl
    assert export.summary["progress"]["posts_exported"] == 12
