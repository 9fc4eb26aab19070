"""Posts and direct posts: every thread as one line, replies nested under their root.

The hot path of the export, built to stay close to a raw ``COPY posts`` (see ``bench/gdpr_export.py``).
Two paths write the same lines:

* whole workspace: PostgreSQL renders every usual thread as its complete line and Python copies
  the bytes (:mod:`mmgov.bulk_export.post_lines`: one binary ``COPY``, no thread sort); the threads
  it names instead (an author gone, files to copy or check, a DM Mattermost cannot import, replies
  whose root is gone) are then read here, a batch of threads at a time;
* per person (small): one query ordered by thread (:func:`mmgov.bulk_export.post_sql.thread_query`).

In the Python path, rows come ordered by thread (root id, root first, then replies by time), so
Python holds one thread at a time; PostgreSQL renders each post's scalar keys as compact JSON and
the side data (reactions, flags, files, thread followers) as one aggregate; Python stitches them
together, checks file paths, copies files, and names what cannot be exported in ``warnings.txt``.
Direct posts go to a spool that the caller appends after the emoji and direct channel lines (the
seed's order), so the posts table is read and the side data aggregated only once.

Every row of ``posts`` in an exported channel is exported once, deleted ones included with their
``delete_at`` (the seed's rule_04; old versions of edited posts are deleted rows). A reply whose root
no longer exists (physically removed, e.g. by retention) is exported as a top-level post; a post
whose author no longer exists is named in ``warnings.txt``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.file_copy import attachment_member
from mmgov.bulk_export.jsonl_writer import JsonlWriter, dumps
from mmgov.bulk_export.post_lines import ALL, LineStream
from mmgov.bulk_export.post_sql import thread_query
from mmgov.file_store import AttachmentUnavailable, safe_relative_path

PROGRESS_EVERY_S = 5.0
LINES_PER_WRITE = 2000
# Rows per chunk of the thread stream (libpq's chunked rows mode): rows are decoded a chunk at a
# time in C, with one wait per chunk instead of one per row.
STREAM_CHUNK_ROWS = 2000
# Threads per query of the Python path after the line stream (looked up by index).
THREADS_PER_QUERY = 2000


@dataclass
class PostCounts:
    """What a section wrote: lines, replies nested in them, orphans, posts skipped (and their DMs)."""

    lines: int = 0
    replies: int = 0
    orphans: int = 0
    skipped_posts: int = 0
    skipped_channels: set[str] = field(default_factory=set)

    @property
    def posts(self) -> int:
        """Posts written (top-level and nested)."""
        return self.lines + self.replies


class PostStream:
    """Writes both post sections (see the module docstring).

    ``post`` lines go to the export's JSONL as they come; ``direct_post`` lines go to
    ``direct_writer``, a spool the caller appends after the emoji and direct channel lines (the
    seed's order), so the posts table is read and the side data aggregated only once.
    """

    def __init__(
        self,
        ctx: ExportContext,
        direct_writer: JsonlWriter,
        on_progress: Callable[[int, int], None] | None = None,
    ):
        self.ctx = ctx
        self.writers = {False: ctx.writer, True: direct_writer}
        self.copy_attachments = ctx.options.include_attachments
        self.on_progress = on_progress
        self.counts = {False: PostCounts(), True: PostCounts()}
        self._members: dict[tuple[str, ...], str | None] = {}

    def line_stream(
        self,
        conn: psycopg.Connection | None = None,
        writers: dict[bool, JsonlWriter] | None = None,
        part: str = ALL,
    ) -> LineStream:
        """The ``part`` of the whole workspace's rendered lines on ``conn`` (default: the export's),
        into ``writers`` (default: the sections'); progress is reported only on the export's."""
        return LineStream(
            conn or self.ctx.conn,
            writers or self.writers,
            include_archived=self.ctx.options.include_archived_channels,
            copy_files=self.copy_attachments,
            on_progress=self.on_progress if conn is None and part == ALL else None,
            lines_per_write=LINES_PER_WRITE,
            progress_every_s=PROGRESS_EVERY_S,
            part=part,
            extras=self.ctx.post_extras,
        )

    def run(self, streams: Sequence[LineStream] = ()) -> tuple[PostCounts, PostCounts]:
        """Stream all posts; returns the counts of the ``post`` and the ``direct_post`` sections.

        ``streams``: the whole workspace's line streams, already run (see
        :mod:`mmgov.bulk_export.background_lines`); default: run one here.
        """
        if self.ctx.person is not None:
            query = thread_query(per_person=True, extras=self.ctx.post_extras)
            self._threads(self._stream(query, self._person_params()))
            return self.counts[False], self.counts[True]
        if not streams:
            streams = [self.line_stream()]
            streams[0].run()
        for lines in streams:
            for direct in (False, True):
                self.counts[direct].lines += lines.lines[direct]
                self.counts[direct].replies += lines.replies[direct]
        query = thread_query(keyed=True, extras=self.ctx.post_extras)
        for lines in streams:
            for keys in lines.thread_keys(THREADS_PER_QUERY):
                params = self._params() | {"keys": keys, "roots": [key[1:] for key in keys]}
                self._threads(self._stream(query, params))
        return self.counts[False], self.counts[True]

    def _params(self) -> dict[str, object]:
        return {"archived": self.ctx.options.include_archived_channels, "people": self.ctx.people}

    def _person_params(self) -> dict[str, object]:
        person = self.ctx.person
        assert person is not None
        return self._params() | {
            "roots": person.thread_root_ids,
            "orphans": person.orphan_reply_ids,
            "channels": person.direct_channel_ids,
        }

    def _stream(self, query: sql.Composed, params: dict[str, object]) -> Iterator[tuple]:
        with self.ctx.conn.cursor(binary=True) as cursor:
            yield from cursor.stream(query, params, size=STREAM_CHUNK_ROWS)

    def _threads(self, rows: Iterable[tuple]) -> None:
        """Write the threads of ``rows`` (ordered by thread) through the Python path."""
        batch: list[str] = []
        direct = False
        thread_key = None
        thread: list[tuple] = []
        last_report = time.monotonic()
        for row in rows:
            if row[1] == thread_key:
                thread.append(row)
                continue
            if thread:
                self._thread_lines(thread, batch, direct)
                if len(batch) >= LINES_PER_WRITE or row[0] != direct:
                    self._flush(batch, direct)
                    if self.on_progress is not None and time.monotonic() - last_report >= PROGRESS_EVERY_S:
                        self.on_progress(self.counts[False].posts, self.counts[True].posts)
                        last_report = time.monotonic()
            direct = row[0]
            thread_key = row[1]
            thread = [row]
        if thread:
            self._thread_lines(thread, batch, direct)
        self._flush(batch, direct)

    def _flush(self, batch: list[str], direct: bool) -> None:
        self.writers[direct].raw("direct_post" if direct else "post", batch)
        batch.clear()

    def _thread_lines(self, thread: list[tuple], out: list[str], direct: bool) -> None:
        """A root with its replies -> one line; replies without their root -> one line each.

        A post whose author no longer exists cannot be imported (``user`` is required): it is named
        in ``warnings.txt`` instead; the replies of such a root become top-level posts.
        """
        counts = self.counts[direct]
        root = thread[0]
        if (
            not direct
            and len(thread) == 1
            and not root[2]
            and root[7] is not None
            and root[5] == 0
            and root[8] is None
            and root[9] is None
            and root[10] is None
            and root[11] is None
            and root[14] is None
            and root[15] is None
        ):  # the common case: a team post alone in its thread, nothing to append
            out.append("{" + root[6] + root[7][1:])
            counts.lines += 1
            return
        if not root[2] and root[7] is not None:
            replies = [r for r in thread[1:] if r[7] is not None or self._skip_authorless(r, counts)]
            line = self._post(root, replies, counts)
            if line is not None:
                out.append(line)
            return
        if not root[2]:
            self._skip_authorless(root, counts)
            thread = thread[1:]
        for reply in thread:  # the root no longer exists (or could not be exported)
            if reply[7] is None:
                self._skip_authorless(reply, counts)
                continue
            line = self._post(reply, [], counts)
            if line is not None:
                out.append(line)
                counts.orphans += 1

    def _skip_authorless(self, row: tuple, counts: PostCounts) -> bool:
        counts.skipped_posts += 1
        self.ctx.copier.warn(
            "post", row[3], f"channel {row[4]}", f"author {row[13]} no longer exists: post not exported"
        )
        return False

    def _post(self, row: tuple, replies: list[tuple], counts: PostCounts) -> str | None:
        (direct, _thread, _is_reply, pid, channel_id, delete_at, head, obj, reacted, flagged, paths, followed,
         members, _author, priority, acks) = row  # fmt: skip
        if direct:
            names = self._channel_members(channel_id, members)
            if names is None:
                counts.skipped_posts += 1 + len(replies)
                counts.skipped_channels.add(channel_id)
                return None
            obj = '{"channel_members":' + names + "," + obj[1:]
        else:
            obj = "{" + head + obj[1:]
        tail = self._extras(pid, reacted, flagged, paths, priority, acks)
        if replies:
            parts = []
            for reply in replies:
                r_tail = self._extras(reply[3], reply[8], reply[9], reply[10], reply[14], reply[15])
                if reply[5]:
                    r_tail += ',"delete_at":' + str(reply[5])
                r_obj = reply[7]
                parts.append(r_obj[:-1] + r_tail + "}" if r_tail else r_obj)
            tail += ',"replies":[' + ",".join(parts) + "]"
            counts.replies += len(replies)
        if followed:
            tail += ',"thread_followers":[' + followed + "]"
        if delete_at:
            tail += ',"delete_at":' + str(delete_at)
        counts.lines += 1
        return obj[:-1] + tail + "}" if tail else obj

    def _extras(
        self,
        pid: str,
        reacted: str | None,
        flagged: str | None,
        paths: list[str] | None,
        priority: str | None = None,
        acks: str | None = None,
    ) -> str:
        """The side keys of a post, in :data:`mmgov.bulk_export.post_lines._SIDE_JSON`'s order."""
        tail = ""
        if flagged:
            tail += ',"flagged_by":[' + flagged + "]"
        if reacted:
            tail += ',"reactions":[' + reacted + "]"
        if paths:
            listed = self._attachments(pid, paths)
            if listed:
                tail += ',"attachments":' + dumps([{"path": path} for path in listed])
        if priority:
            tail += ',"priority":' + priority
        if acks:
            tail += ',"acknowledgements":[' + acks + "]"
        return tail

    def _attachments(self, pid: str, paths: list[str]) -> list[str]:
        """The paths to list (and copy): one that could leave the file store is neither (Mattermost's
        importer would reject it too) and becomes a line of ``warnings.txt``."""
        listed = []
        for path in paths:
            try:
                safe_relative_path(path)
            except AttachmentUnavailable as exc:
                self.ctx.copier.warn(
                    "attachment", path, f"post {pid}", f"{exc.reason}; not listed, not copied"
                )
                continue
            listed.append(path)
            if self.copy_attachments:
                self.ctx.copier.copy("attachment", path, attachment_member(path), f"post {pid}")
        return listed

    def _channel_members(self, channel_id: str, names: list[str] | None) -> str | None:
        key = (channel_id, *(names or ()))
        if key not in self._members:
            if len(self._members) > 10_000:
                self._members.clear()
            self._members[key] = members_json(self.ctx, channel_id, names)
        return self._members[key]


def members_json(ctx: ExportContext, channel_id: str, names: Sequence[str] | None) -> str | None:
    """The JSON array of a direct channel's members, or ``None`` when Mattermost could not import it.

    Never an empty or short list (a known Mattermost export bug): such a channel is left out with
    its posts and named once in ``warnings.txt``.
    """
    names = list(names or [])
    if is_valid_member_count(len(names)):
        return dumps(names)
    if channel_id not in ctx.invalid_direct_channels:
        ctx.invalid_direct_channels.add(channel_id)
        ctx.copier.warn(
            "direct_channel",
            channel_id,
            f"channel {channel_id}",
            f"{len(names)} known member(s); Mattermost imports 2 (direct) or 3-8 (group):"
            " channel and its posts not exported",
        )
    return None


def is_valid_member_count(count: int) -> bool:
    """2 for a direct message, 3 to 8 for a group message (Mattermost's import rule)."""
    return count == 2 or 3 <= count <= 8
