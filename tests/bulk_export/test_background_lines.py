"""The whole workspace's posts stream on a second connection (``background_lines``): one snapshot,
the same bytes as the serial path, and a failure on either side fails the export cleanly."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

import mmgov.bulk_export.background_lines as background_lines
import mmgov.bulk_export.export_job as export_job
import mmgov.bulk_export.post_lines as post_lines
import mmgov.bulk_export.posts as posts_module
from mmgov.bulk_export.errors import ExportFailed
from tests.bulk_export.workspace import Builder, export_once

LATE = (b"Late root after the snapshot", b"Late reply after the snapshot", b"Late DM after the snapshot")


def _without_version(export) -> list[bytes]:
    return [line for line in export.jsonl.splitlines() if b'"type":"version"' not in line]


def _serial(monkeypatch) -> None:
    monkeypatch.setattr(export_job, "open_twin", lambda conn, **_: None)


def _spy_background(monkeypatch) -> list[str]:
    """Snapshot ids the second connection imported (one per export that used it)."""
    used: list[str] = []
    real = background_lines.import_snapshot

    @contextmanager
    def spy(twin, snapshot_id, settings) -> Iterator[None]:
        used.append(snapshot_id)
        with real(twin, snapshot_id, settings):
            yield

    monkeypatch.setattr(background_lines, "import_snapshot", spy)
    return used


def _insert_late_posts(edge) -> None:
    """A root, a reply to an exported thread and a DM post, committed by another session."""
    with psycopg.connect(edge.dsn, autocommit=True) as conn:
        b = Builder(conn, edge.store)
        town, alice = edge.id("channel:town-square"), edge.id("user:alice")
        b.post("late-root", town, "alice", LATE[0].decode(), at=5000, user_id=alice)
        b.post("late-reply", town, "alice", LATE[1].decode(), root=edge.id("post:p1"), at=5001, user_id=alice)
        b.post("late-dm", edge.id("dm:alice-carol"), "alice", LATE[2].decode(), at=5002, user_id=alice)


def _spy_parts(monkeypatch) -> dict[str, tuple[dict, dict, str]]:
    """Per part of the line stream: its line counts, replies, and the thread running it."""
    parts: dict[str, tuple[dict, dict, str]] = {}
    real = post_lines.LineStream.run

    def run(self):
        real(self)
        parts[self.part] = (dict(self.lines), dict(self.replies), threading.current_thread().name)

    monkeypatch.setattr(post_lines.LineStream, "run", run)
    return parts


@pytest.mark.parametrize("split", [True, False], ids=["split-direct", "all-in-background"])
def test_the_concurrent_path_writes_the_serial_paths_bytes(edge_workspace, tmp_path, monkeypatch, split):
    monkeypatch.setattr(background_lines, "SPLIT_DIRECT", split)
    used = _spy_background(monkeypatch)
    parts = _spy_parts(monkeypatch)
    concurrent = export_once(
        edge_workspace.dsn, tmp_path / "c", edge_workspace.store, job_id="concurrent", create_archive=False
    )
    assert len(used) == 1
    if split:  # the background stream: team post lines only; the export's connection: direct ones only
        background, direct = parts[post_lines.NOT_RENDERED_DIRECT], parts[post_lines.RENDERED_DIRECT]
        assert background[0][False] > 0
        assert background[0][True] == 0
        assert background[2] == "gdpr-post-lines"
        assert direct[0] == {False: 0, True: direct[0][True]}
        assert direct[0][True] > 0
        assert direct[2] != "gdpr-post-lines"
    else:
        assert list(parts) == [post_lines.ALL]
        assert parts[post_lines.ALL][2] == "gdpr-post-lines"
    parts.clear()
    _serial(monkeypatch)
    serial = export_once(
        edge_workspace.dsn, tmp_path / "s", edge_workspace.store, job_id="serial", create_archive=False
    )
    assert len(used) == 1  # the serial export did not use the second connection
    assert list(parts) == [post_lines.ALL]
    assert _without_version(concurrent) == _without_version(serial)
    assert concurrent.warnings == serial.warnings
    assert concurrent.summary["progress"] == serial.summary["progress"]
    assert concurrent.summary["reconciliation"] == serial.summary["reconciliation"]


@pytest.mark.parametrize("twin_delay_s", [0, 0.3], ids=["twin-at-once", "twin-late"])
def test_post_lines_are_held_until_the_sections_before_them_are_written(
    edge_workspace, tmp_path, monkeypatch, twin_delay_s
):
    """One batch per line: the first is held (the users are not written yet), the stream waits until
    the held lines are released, and the following go straight to the export; bytes as serial.

    The release waits for the first line to be held: without that, a fast main thread can write
    the sections before the posts and release before the twin's first line (nothing held, a race).
    """
    monkeypatch.setattr(posts_module, "LINES_PER_WRITE", 1)
    real_import = background_lines.import_snapshot

    @contextmanager
    def late_import(twin, snapshot_id, settings) -> Iterator[None]:
        time.sleep(twin_delay_s)  # twin-late: the sections before the posts are written first
        with real_import(twin, snapshot_id, settings):
            yield

    monkeypatch.setattr(background_lines, "import_snapshot", late_import)
    first_held, released = threading.Event(), threading.Event()
    writes: Counter[str] = Counter()
    real_lines, real_release = background_lines.HeldWriter.lines, background_lines.HeldWriter.release

    def lines(self, line_type, data, count):
        writes["after release" if self.released else "held"] += 1
        real_lines(self, line_type, data, count)
        first_held.set()
        assert released.wait(30)

    def release(self):
        assert first_held.wait(30)
        real_release(self)
        released.set()

    monkeypatch.setattr(background_lines.HeldWriter, "lines", lines)
    monkeypatch.setattr(background_lines.HeldWriter, "release", release)
    concurrent = export_once(
        edge_workspace.dsn, tmp_path / "c", edge_workspace.store, job_id="held", create_archive=False
    )
    assert writes["held"] == 1
    assert writes["after release"] >= 2
    _serial(monkeypatch)
    serial = export_once(
        edge_workspace.dsn, tmp_path / "s", edge_workspace.store, job_id="serial", create_archive=False
    )
    assert _without_version(concurrent) == _without_version(serial)
    assert concurrent.summary["progress"] == serial.summary["progress"]


def test_demo_workspace_concurrent_and_serial_are_byte_identical(demo_db, tmp_path, monkeypatch):
    dsn, store, _summary = demo_db
    used = _spy_background(monkeypatch)
    concurrent = export_once(dsn, tmp_path / "c", store, job_id="concurrent", include_attachments=False)
    assert len(used) == 1
    _serial(monkeypatch)
    serial = export_once(dsn, tmp_path / "s", store, job_id="serial", include_attachments=False)
    assert _without_version(concurrent) == _without_version(serial)
    assert concurrent.warnings == serial.warnings
    assert concurrent.summary["reconciliation"] == serial.summary["reconciliation"]


def test_posts_committed_after_the_export_started_are_in_neither_the_posts_nor_the_counts(
    edge_workspace, tmp_path, monkeypatch
):
    """The posts are committed after the export's snapshot and BEFORE the second connection's
    transaction starts: only the imported snapshot keeps them out."""
    _serial(monkeypatch)
    before = export_once(edge_workspace.dsn, tmp_path / "before", edge_workspace.store, job_id="before")
    monkeypatch.undo()
    used: list[str] = []
    real = background_lines.import_snapshot

    @contextmanager
    def late_then_import(twin, snapshot_id, settings) -> Iterator[None]:
        _insert_late_posts(edge_workspace)
        used.append(snapshot_id)
        with real(twin, snapshot_id, settings):
            yield

    monkeypatch.setattr(background_lines, "import_snapshot", late_then_import)
    during = export_once(edge_workspace.dsn, tmp_path / "during", edge_workspace.store, job_id="during")
    assert len(used) == 1
    assert not any(late in during.jsonl for late in LATE)
    assert _without_version(during) == _without_version(before)
    assert during.summary["progress"] == before.summary["progress"]
    assert during.summary["reconciliation"] == before.summary["reconciliation"]
    assert not any("reconciliation" in w for w in during.warnings)
    monkeypatch.undo()
    after = export_once(edge_workspace.dsn, tmp_path / "after", edge_workspace.store, job_id="after")
    assert all(late in after.jsonl for late in LATE)  # committed: a later export has them
    assert after.summary["progress"]["posts_exported"] == before.summary["progress"]["posts_exported"] + 2
    assert after.summary["progress"]["direct_posts_exported"] == (
        before.summary["progress"]["direct_posts_exported"] + 1
    )


def _no_leftovers(output) -> None:
    assert not [p.name for p in output.iterdir()]
    assert not [t for t in threading.enumerate() if t.name == "gdpr-post-lines"]


def test_a_failing_background_stream_fails_the_export_and_leaves_nothing(
    edge_workspace, tmp_path, monkeypatch
):
    def boom(self):
        raise RuntimeError("background stream broke")

    monkeypatch.setattr(background_lines.LineStream, "run", boom)
    with pytest.raises(ExportFailed, match="background stream broke"):
        export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, job_id="bg-fails")
    _no_leftovers(tmp_path / "out")


def test_a_failure_before_the_posts_stops_the_background_stream(edge_workspace, tmp_path, monkeypatch):
    started = threading.Event()
    real_run = background_lines.LineStream.run

    def run(self):
        started.set()
        real_run(self)

    def users_fail(ctx):
        assert started.wait(30)
        raise RuntimeError("users broke")

    monkeypatch.setattr(background_lines.LineStream, "run", run)
    monkeypatch.setattr(export_job, "export_users", users_fail)
    with pytest.raises(ExportFailed, match="users broke"):
        export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store, job_id="main-fails")
    _no_leftovers(tmp_path / "out")


def test_a_line_in_a_section_the_part_has_none_of_is_an_error():
    with pytest.raises(RuntimeError, match="unexpected direct_post"):
        background_lines.NoLines().lines("direct_post", b"{}\n", 1)
