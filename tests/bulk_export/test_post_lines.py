"""The posts PostgreSQL renders (whole workspace) are byte for byte the lines of the Python path."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest

import mmgov.bulk_export.post_lines as post_lines
from mmgov.bulk_export.jsonl_writer import JsonlWriter
from tests.bulk_export.workspace import export_once

POST_TYPES = (b'{"type":"post"', b'{"type":"direct_post"')


def _both_paths(monkeypatch, dsn, store, tmp_path, **params):
    rendered = Counter()
    real_lines = JsonlWriter.lines

    def spy(self, line_type, data, count):
        rendered[line_type] += count
        real_lines(self, line_type, data, count)

    monkeypatch.setattr(JsonlWriter, "lines", spy)
    by_database = export_once(dsn, tmp_path / "db", store, job_id="db-lines", create_archive=False, **params)
    in_database = dict(rendered)
    rendered.clear()
    monkeypatch.setattr(post_lines, "RENDER_IN_DATABASE", False)
    by_python = export_once(dsn, tmp_path / "py", store, job_id="py-lines", create_archive=False, **params)
    assert not rendered  # the second export really took the Python path only
    return by_database, in_database, by_python


def _split(export):
    lines = export.jsonl.splitlines()
    posts = Counter(line for line in lines if line.startswith(POST_TYPES))
    others = [line for line in lines if not line.startswith(POST_TYPES) and b'"type":"version"' not in line]
    return posts, others


def _assert_same(by_database, by_python):
    db_posts, db_others = _split(by_database)
    py_posts, py_others = _split(by_python)
    assert db_posts == py_posts
    assert db_others == py_others
    assert sorted(by_database.warnings) == sorted(by_python.warnings)
    assert by_database.summary["progress"] == by_python.summary["progress"]
    assert by_database.summary["reconciliation"] == by_python.summary["reconciliation"]


@pytest.mark.parametrize("attachments", [False, True], ids=["paths", "files"])
def test_edge_workspace_lines_are_the_same_on_both_paths(edge_workspace, tmp_path, monkeypatch, attachments):
    by_database, in_database, by_python = _both_paths(
        monkeypatch, edge_workspace.dsn, edge_workspace.store, tmp_path, include_attachments=attachments
    )
    assert in_database.get("post", 0) > 0
    assert in_database.get("direct_post", 0) > 0
    _assert_same(by_database, by_python)


def test_demo_workspace_lines_are_the_same_on_both_paths(demo_db, tmp_path, monkeypatch):
    dsn, store, _summary = demo_db
    by_database, in_database, by_python = _both_paths(
        monkeypatch, dsn, store, tmp_path, include_attachments=False, include_archived_channels=False
    )
    assert in_database["post"] > 100
    assert in_database["direct_post"] > 10
    _assert_same(by_database, by_python)


@pytest.mark.parametrize("escape", ["server's", "to_json"])
def test_unusual_column_values_are_the_same_on_both_paths(edge_workspace, tmp_path, monkeypatch, escape):
    """The database writes the usual values (no type, no props, not edited) as literals and the
    others through the JSON functions (JSON_SCALAR from PostgreSQL 16, or to_json): NULLs and unusual
    values take the same bytes on both paths."""
    if escape == "to_json":
        monkeypatch.setattr(post_lines, "JSON_SCALAR_SINCE", 10**9)
    with psycopg.connect(edge_workspace.dsn) as conn:
        query = post_lines.lines_query(post_lines.ALL, conn.info.server_version).as_string(conn)
        uses_json_scalar = escape != "to_json" and conn.info.server_version >= 160000
    assert ("JSON_SCALAR(" in query) == uses_json_scalar
    ids = {
        label: edge_workspace.id(f"post:{label}") for label in ("p4", "p5", "ps", "psr", "gm", "self", "dm2")
    }
    with psycopg.connect(edge_workspace.dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE posts SET type = NULL, props = NULL, editat = NULL, ispinned = NULL, message = NULL,"
            " deleteat = NULL WHERE id = ANY(%s)",
            ([ids["p5"], ids["psr"], ids["dm2"]],),
        )
        conn.execute(
            "UPDATE posts SET type = %s, props = %s, editat = 1767225600123, ispinned = true WHERE id = ANY(%s)",
            (
                'custom_"quoted\\',
                '{"a": [1, "é\\n"], "b": {}}',
                [ids["p4"], ids["ps"], ids["gm"], ids["self"]],
            ),
        )
        conn.execute("UPDATE posts SET props = '{}', editat = 5 WHERE id = %s", (ids["psr"],))
    by_database, in_database, by_python = _both_paths(
        monkeypatch, edge_workspace.dsn, edge_workspace.store, tmp_path, include_attachments=False
    )
    assert in_database.get("post", 0) > 0
    assert in_database.get("direct_post", 0) > 0
    rendered = by_database.jsonl
    assert rendered.count(b'"type":"custom_\\"quoted\\\\","message":') == 4
    assert rendered.count(b'"props":{"a": [1, "\xc3\xa9\\n"], "b": {}},') == 4
    assert rendered.count(b'"edit_at":1767225600123,"is_pinned":true') == 4
    assert b'"type":"","message":"","props":{},' in rendered
    _assert_same(by_database, by_python)
