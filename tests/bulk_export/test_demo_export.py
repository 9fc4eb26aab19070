"""The demo workspace (synthetic, 3,000 posts) exported whole, as a ZIP and as a folder."""

from __future__ import annotations

import psycopg
import pytest

from mmgov.bulk_export.export_check import validate_export
from tests.bulk_export.workspace import export_once


@pytest.fixture(params=[True, False], ids=["zip", "folder"])
def demo_export(request, demo_db, tmp_path):
    dsn, store, summary = demo_db
    export = export_once(
        dsn, tmp_path / "out", store, create_archive=request.param, include_roles_and_schemes=True
    )
    return dsn, store, summary, export


def test_demo_export_is_valid_and_complete(demo_export):
    dsn, _store, summary, export = demo_export
    report = validate_export(export.path)
    assert report.ok, report.errors[:5]
    rec = export.summary["reconciliation"]
    assert rec["posts_in_database"] + rec["direct_posts_in_database"] == summary.counts["posts"]
    assert rec["posts_exported"] == rec["posts_in_database"] - rec["posts_skipped"]
    assert rec["direct_posts_exported"] == rec["direct_posts_in_database"] - rec["direct_posts_skipped"]
    nested = sum(1 + len(p.get("replies", [])) for p in export.of_type("post"))
    assert nested == rec["posts_exported"] == export.summary["progress"]["posts_exported"]
    with psycopg.connect(dsn) as conn:
        humans, bots, teams, channels, direct = conn.execute(
            "SELECT (SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM bots b WHERE b.userid = u.id)),"
            " (SELECT count(*) FROM bots), (SELECT count(*) FROM teams),"
            " (SELECT count(*) FROM channels WHERE type IN ('O', 'P')),"
            " (SELECT count(*) FROM channels WHERE type IN ('D', 'G'))"
        ).fetchone()
    counts = report.counts
    assert (counts["user"], counts["bot"], counts["team"], counts["channel"]) == (
        humans,
        bots,
        teams,
        channels,
    )
    assert (
        counts["direct_channel"] + len({w for w in export.warnings if w.startswith("direct_channel")})
        == direct
    )
    assert counts["scheme"] >= 1
    assert counts["role"] >= 1


def test_every_missing_file_is_one_warning_line(demo_export):
    _dsn, _store, summary, export = demo_export
    attachment_warnings = [w for w in export.warnings if w.startswith("attachment ")]
    assert len(attachment_warnings) == len(summary.missing_file_ids) > 0
    for file_id in summary.missing_file_ids:
        assert sum(f"/{file_id}/" in w for w in attachment_warnings) == 1
    assert export.summary["status"] == "completed_with_warnings"
    assert export.summary["num_warnings"] == len(export.warnings)
    listed = {
        a["path"]
        for p in export.of_type("post") + export.of_type("direct_post")
        for a in p.get("attachments", [])
        + [a for r in p.get("replies", []) for a in r.get("attachments", [])]
    }
    copied = {
        name[len("data/") :] for name in export.members if name.startswith("data/") and "/channels/" in name
    }
    assert copied <= listed
    assert len(listed - copied) == len(summary.missing_file_ids)


def test_no_password_hash_or_mfa_secret_in_any_byte(demo_export):
    dsn, _store, _summary, export = demo_export
    with psycopg.connect(dsn) as conn:
        secrets = [
            s
            for (s,) in conn.execute(
                "SELECT password FROM users WHERE password <> '' UNION SELECT mfasecret FROM users WHERE mfasecret <> ''"
            )
        ]
    assert secrets, "the demo workspace has passwords and MFA secrets to leak"
    haystacks = [export.all_bytes(), *export.members.values()]
    for secret in secrets:
        needle = secret.encode()
        assert not any(needle in hay for hay in haystacks)
    for key in (b'"password":', b'"mfa_secret":', b'"mfasecret":', b'"mfa_active":'):
        assert key not in export.jsonl


def test_deleted_users_archived_channels_and_deleted_posts_are_marked(demo_export):
    dsn, _store, summary, export = demo_export
    with psycopg.connect(dsn) as conn:
        deactivated = conn.execute(
            "SELECT username FROM users WHERE id = %s", (summary.handles["deactivated_user_id"],)
        ).fetchone()[0]
        archived = conn.execute(
            "SELECT name FROM channels WHERE id = %s", (summary.handles["archived_channel_id"],)
        ).fetchone()[0]
        deleted_posts = conn.execute("SELECT count(*) FROM posts WHERE deleteat > 0").fetchone()[0]
    users = {u["username"]: u for u in export.of_type("user")}
    assert users[deactivated]["delete_at"] > 0
    assert next(c for c in export.of_type("channel") if c["name"] == archived)["deleted_at"] > 0
    marked = sum(
        ("delete_at" in p) + sum("delete_at" in r for r in p.get("replies", []))
        for p in export.of_type("post") + export.of_type("direct_post")
    )
    assert marked == deleted_posts > 0
