"""Team channel lines: archived channels left out unless asked for, and channel types the import
format does not carry (exported as private, or left out without a team)."""

from __future__ import annotations

import psycopg
import pytest

import mmgov.bulk_export.post_lines as post_lines
from mmgov.bulk_export.export_check import validate_export
from tests.bulk_export.workspace import by_key, export_once, posts_by_message


@pytest.fixture
def odd_types_workspace(edge_workspace):
    """Channel type ``X`` (an enum value this Mattermost does not have; newer ones add types): one in
    team alpha with a thread, one without a team."""
    b = edge_workspace.b
    with psycopg.connect(edge_workspace.dsn, autocommit=True) as conn:
        conn.execute("ALTER TYPE channel_type ADD VALUE IF NOT EXISTS 'X'")  # committed before use
    with psycopg.connect(edge_workspace.dsn, autocommit=True) as conn:
        b.conn = conn
        odd = b.channel("alpha", "odd-room", "X", members=("alice", "bob"))
        b.post("odd1", odd, "alice", "Talk in a new kind of channel", at=2000)
        b.post("odd2", odd, "bob", "Answer in it", root="odd1", at=2100)
        teamless = b.channel(None, "floating", "X", members=("alice",))
        b.post("float", teamless, "alice", "Nowhere to import this", at=2200)
    return edge_workspace


@pytest.mark.parametrize("render", [True, False], ids=["database", "python"])
def test_an_unknown_channel_type_is_exported_as_private_and_named_in_warnings(
    odd_types_workspace, tmp_path, monkeypatch, render
):
    """The import format carries team channels of type O and P only (``ValidateChannelImportData`` in
    server/channels/app/imports/import_validators.go): a team channel of another type is exported as
    P with its posts; one without a team cannot be imported and is left out; both are named."""
    monkeypatch.setattr(post_lines, "RENDER_IN_DATABASE", render)
    ws = odd_types_workspace
    export = export_once(ws.dsn, tmp_path / "out", ws.store, create_archive=False)
    channels = {c["name"]: c for c in export.of_type("channel")}
    assert channels["odd-room"]["type"] == "P"
    assert "floating" not in channels
    thread = posts_by_message(export)["Talk in a new kind of channel"]
    assert thread["channel"] == "odd-room"
    assert [r["message"] for r in thread["replies"]] == ["Answer in it"]
    assert "Nowhere to import this" not in posts_by_message(export)
    odd, floating = ws.id("channel:odd-room"), ws.id("channel:floating")
    assert (
        f"channel \"{odd}\" (channel alpha/odd-room): type 'X' is not one Mattermost's import format carries"
        " (O, P): exported as a private channel (P) with its posts"
    ) in export.warnings
    assert (
        f"channel \"{floating}\" (channel floating): type 'X' without a team is neither a team channel (O, P)"
        " nor a direct channel (D, G) of Mattermost's import format: channel and its 1 post(s) not exported"
    ) in export.warnings
    alice = next(u for u in export.of_type("user") if u["username"] == "alice")
    assert "odd-room" in {c["name"] for c in alice["teams"][0]["channels"]}
    rec = export.summary["reconciliation"]
    assert rec["posts_in_database"] == rec["posts_exported"] + rec["posts_skipped"] == 15
    assert validate_export(export.path).ok


def test_an_unknown_channel_type_in_a_per_person_export(odd_types_workspace, tmp_path):
    ws = odd_types_workspace
    export = export_once(ws.dsn, tmp_path / "out", ws.store, create_archive=False, users=["alice"])
    assert {c["name"]: c["type"] for c in export.of_type("channel")}["odd-room"] == "P"
    assert "Talk in a new kind of channel" in posts_by_message(export)
    assert any("type 'X' without a team" in w for w in export.warnings)
    assert validate_export(export.path).ok


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
    messages = set(posts_by_message(export))
    assert "Archived channel talk" not in messages
    assert "Legacy team post" not in messages
    alice = by_key(export.of_type("user"))["alice"]
    assert [t["name"] for t in alice["teams"]] == ["alpha"]
    assert {c["name"] for c in alice["teams"][0]["channels"]} == {"town-square"}
    assert validate_export(export.path).ok
