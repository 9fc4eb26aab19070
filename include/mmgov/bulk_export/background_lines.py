"""The whole-workspace post stream on a second connection, overlapping the sections before it.

Safety rule: the second connection reads the SAME snapshot as the export's transaction
(``pg_export_snapshot()`` there, ``SET TRANSACTION SNAPSHOT`` here, both ``REPEATABLE READ READ
ONLY``), so the export still comes from one database state; it only reads. Nothing to undo.

While the main connection writes versions, roles, teams, channels, users and bots, the post lines
PostgreSQL renders (:class:`mmgov.bulk_export.post_lines.LineStream`) stream on the twin connection
in a thread: ``post`` lines wait in an unnamed temporary file (:class:`HeldWriter`) until the
sections before them are written, then go straight to the export. The twin stream has every line
and thread key except the rendered ``direct_post`` lines; the main connection streams those next
(same query, same order: by root id) into their spool, so both connections render posts
at the same time. The lines and their order are exactly those of the serial path. When the twin
connection cannot be opened, or the snapshot cannot be exported, the export runs serially
(:mod:`mmgov.twin_connection`).
"""

from __future__ import annotations

import io
import logging
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg
from psycopg import sql

from mmgov.bulk_export.jsonl_writer import JsonlWriter
from mmgov.bulk_export.post_lines import ALL, NOT_RENDERED_DIRECT, RENDERED_DIRECT, LineStream
from mmgov.twin_connection import import_snapshot

log = logging.getLogger(__name__)
# The export's connection streams the rendered direct post lines while the twin streams the rest
# (False: the twin streams them all). Shortens the twin's stream (the export's critical path) by
# about an eighth at the price of the side data and the post scans computed twice (measured at
# 1,000,000 posts: twin 3.6 -> 3.25 s of CPU, the export's connection +1.6 s). Off: on an idle
# 2-core machine the extra work costs more than it saves (1M posts: 3.33-3.42 s off, 3.64-3.66 s on).
SPLIT_DIRECT = False


class HeldWriter(JsonlWriter):
    """Takes the ``post`` lines of the background stream: into an unnamed temporary file until
    :meth:`release`, which appends them to ``target``; afterwards straight into ``target``."""

    def __init__(self, target: JsonlWriter, spool_dir: Path):
        held = tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n", dir=spool_dir)  # noqa: SIM115
        super().__init__(held)  # closed by release() or close()
        self.target = target
        self.lock = threading.Lock()
        self.released = False

    def lines(self, line_type: str, data: bytes, count: int) -> None:
        with self.lock:
            if self.released:
                self.target.lines(line_type, data, count)
            else:
                super().lines(line_type, data, count)

    def release(self) -> None:
        """Append the held lines to ``target`` (whose earlier lines are all written) and pass the
        following lines straight on."""
        with self.lock:
            self.target.append(self)
            self.released = True
            self.stream.close()

    def close(self) -> None:
        self.stream.close()


class BackgroundLines:
    """Runs ``lines`` (built on ``twin``) in a thread, in a transaction that imports ``snapshot_id``."""

    def __init__(
        self, twin: psycopg.Connection, snapshot_id: str, settings: sql.Composable, lines: LineStream
    ):
        self.twin = twin
        self.snapshot_id = snapshot_id
        self.settings = settings
        self.lines = lines
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="gdpr-post-lines", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            with import_snapshot(self.twin, self.snapshot_id, self.settings):
                self.lines.run()
        except BaseException as exc:  # noqa: BLE001 - re-raised by wait() in the export's thread
            self.error = exc

    def wait(
        self, on_progress: Callable[[int, int], None] | None, others: Sequence[LineStream] = ()
    ) -> LineStream:
        """Wait for the stream, reporting the progress of it and ``others`` now and every
        ``progress_every_s`` (from this thread: the progress connection is the caller's); re-raise
        its error."""
        streams = [self.lines, *others]
        while True:
            if on_progress is not None:
                on_progress(*(sum(s.lines[d] + s.replies[d] for s in streams) for d in (False, True)))
            self.thread.join(self.lines.progress_every_s)
            if not self.thread.is_alive():
                break
        if self.error is not None:
            raise self.error
        return self.lines

    def stop(self) -> None:
        """Cancel the stream (the export failed elsewhere) and wait for the thread to end."""
        if self.thread.is_alive():
            try:
                self.twin.cancel_safe()
            except psycopg.Error:
                log.exception("GDPR export: could not cancel the background post stream")
            self.thread.join()


class NoLines(JsonlWriter):
    """The writer of a section a stream's part has no lines of: any line is a bug, never silence."""

    def __init__(self) -> None:
        super().__init__(io.StringIO())

    def lines(self, line_type: str, data: bytes, count: int) -> None:
        raise RuntimeError(
            f"GDPR export: {count} unexpected {line_type} line(s) in this part of the post stream"
        )


class BackgroundPosts:
    """``with BackgroundPosts(...) as posts:`` write the sections before the posts, :meth:`release`,
    stream the rendered direct post lines (:meth:`direct_lines`, on the export's connection), then
    :meth:`wait`; leaving the block early cancels the background stream.

    The background stream (on ``twin``) has every other line and every thread key, in the serial
    path's order; the rendered direct post lines come in the same order (by root id) from
    the export's connection, straight into their spool.
    """

    def __init__(
        self,
        twin: psycopg.Connection,
        snapshot_id: str,
        settings: sql.Composable,
        target: JsonlWriter,
        spool_dir: Path,
        make_lines: Callable[..., LineStream],
        direct_writer: JsonlWriter,
    ):
        self.held = HeldWriter(target, spool_dir)
        self.make_lines = make_lines
        self.direct_writer = direct_writer
        if SPLIT_DIRECT:
            lines = make_lines(twin, {False: self.held, True: NoLines()}, NOT_RENDERED_DIRECT)
        else:
            lines = make_lines(twin, {False: self.held, True: direct_writer}, ALL)
        self.background = BackgroundLines(twin, snapshot_id, settings, lines)

    def __enter__(self) -> BackgroundPosts:
        self.background.start()
        return self

    def release(self) -> None:
        """The sections before the posts are written: append the post lines held so far."""
        self.held.release()

    def direct_lines(self) -> list[LineStream]:
        """Stream the rendered direct post lines on the export's connection (into their spool)."""
        if not SPLIT_DIRECT:
            return []
        lines = self.make_lines(None, {False: NoLines(), True: self.direct_writer}, RENDERED_DIRECT)
        lines.run()
        return [lines]

    def wait(
        self, on_progress: Callable[[int, int], None] | None, others: Sequence[LineStream]
    ) -> LineStream:
        """Wait for the background stream (see :meth:`BackgroundLines.wait`)."""
        return self.background.wait(on_progress, others)

    def __exit__(self, *exc_info: object) -> None:
        self.background.stop()
        self.held.close()
