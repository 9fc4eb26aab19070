"""Progress counters reach the job row while the posts stream, not only at the end."""

from __future__ import annotations

from tests.bulk_export.workspace import export_once


def test_progress_is_written_while_the_posts_stream(edge_workspace, tmp_path, monkeypatch):
    import mmgov.bulk_export.posts as posts
    import mmgov.bulk_export.progress as progress

    seen = []
    monkeypatch.setattr(posts, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(posts, "LINES_PER_WRITE", 1)
    monkeypatch.setattr(progress, "PROGRESS_ROW_EVERY_S", 0.0)
    real = progress.job_state.update_progress

    def spy(conn, job_id, progress):
        seen.append(dict(progress))
        real(conn, job_id, progress)

    monkeypatch.setattr(progress.job_state, "update_progress", spy)
    export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, job_id="live")
    during = [p["posts_exported"] for p in seen]
    assert during == sorted(during)
    assert len(set(during)) > 3  # several values while the posts streamed, not just the end
