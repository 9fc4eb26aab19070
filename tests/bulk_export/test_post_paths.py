"""The posts PostgreSQL renders (whole workspace) are byte for byte the lines of the Python path."""

from __future__ import annotations

from collections import Counter

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
