"""The whole-workspace post count check: posts of the exported channels in the snapshot == exported +
skips named in ``warnings.txt``; any other difference is a warning, never silence."""

from __future__ import annotations

import psycopg
import pytest

from mmgov.bulk_export.archive import FolderSink
from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.export_options import ExportOptions
from mmgov.bulk_export.file_copy import FileCopier
from mmgov.bulk_export.reconciliation import count_posts_in_database, reconcile_posts
from mmgov.file_store import LocalFileStore


def _context(conn, tmp_path, **params) -> ExportContext:
    copier = FileCopier(LocalFileStore(tmp_path), FolderSink(tmp_path, "exp"), tmp_path / "warnings.txt")
    options = ExportOptions.from_params({"output_path": str(tmp_path), **params})
    return ExportContext(conn=conn, writer=None, copier=copier, options=options)  # type: ignore[arg-type]


def test_the_edge_export_reconciles_with_its_named_skips(export):
    """The authorless post and the DM Mattermost cannot import are the skips ``warnings.txt`` names."""
    assert export.summary["reconciliation"] == {
        "posts_in_database": 13,
        "posts_exported": 12,
        "posts_skipped": 1,
        "direct_posts_in_database": 6,
        "direct_posts_exported": 5,
        "direct_posts_skipped": 1,
    }
    assert not any(line.startswith("reconciliation") for line in export.warnings)


@pytest.mark.parametrize(("archived", "posts"), [(True, 13), (False, 11)], ids=["with-archived", "live-only"])
def test_posts_in_database_are_those_of_the_exported_channels(edge_workspace, tmp_path, archived, posts):
    with psycopg.connect(edge_workspace.dsn) as conn:
        ctx = _context(conn, tmp_path, include_archived_channels=archived)
        count_posts_in_database(ctx)
    assert ctx.post_totals == {"posts_in_database": posts, "direct_posts_in_database": 6}


def test_a_difference_no_skip_explains_is_a_warning(tmp_path):
    ctx = _context(None, tmp_path)
    ctx.post_totals.update(
        posts_in_database=10,
        posts_exported=7,
        posts_skipped=1,
        direct_posts_in_database=2,
        direct_posts_exported=2,
    )
    assert reconcile_posts(ctx)["direct_posts_skipped"] == 0
    assert ctx.copier.close().read_text().splitlines() == [
        'reconciliation "posts" (database): 2 posts of the exported channels are neither exported nor named above'
    ]
