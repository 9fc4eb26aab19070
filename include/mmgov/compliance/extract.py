"""Read a window's posts from the Mattermost database, in exact batches, from one snapshot.

Selection: every post with ``window.start <= updateat < window.end`` whose ``type`` does not start
with ``system_``, ordered by ``(updateat, id)``: the id tie-break means posts sharing a millisecond
are never skipped or repeated at a batch boundary (Mattermost's equal-timestamp bug).

The window is read in one ``REPEATABLE READ, READ ONLY`` transaction through a server-side
(named) cursor, ``BatchSize`` rows at a time: posts, their files, channel membership and the
reconciliation counts (independent ``count(*)`` queries, :class:`WindowCounts`) all see the same
snapshot, so a post edited while the export runs cannot make the counts disagree with the rows,
and no row can be missed or read twice between batches. Memory holds a batch and the next one's rows
(fetched by a helper thread while the batch is built); no query runs per
row: files come from a second server-side cursor in the posts' order, membership is cached per
channel (see :mod:`mmgov.compliance.membership`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.membership import MembershipSource
from mmgov.compliance.model import ChannelInfo, ExportBatch, ExportedFile, PostRecord, UserInfo
from mmgov.compliance.post_classifier import classify

DEFAULT_BATCH_SIZE = 10_000

# The selection predicate, shared by the batch query, the counts and the benchmark's COPY.
WINDOW_PREDICATE = (
    "p.updateat >= %(start)s AND p.updateat < %(end)s AND (p.type IS NULL OR p.type NOT LIKE 'system\\_%%')"
)

POST_COLUMNS = """
    p.id, p.createat, p.updateat, COALESCE(p.deleteat, 0), COALESCE(p.editat, 0), p.userid, p.channelid,
    COALESCE(p.rootid, ''), COALESCE(p.originalid, ''), COALESCE(p.message, ''), COALESCE(p.type, ''),
    p.props->>'deleteBy', p.props->>'previewed_post', p.props->>'from_webhook', p.props->>'from_bot',
    p.props->>'from_plugin', p.props->>'override_username', p.props->>'webhook_display_name',
    c.name, c.displayname, c.type::text, c.teamid, t.name, t.displayname,
    u.username, u.email, COALESCE(u.deleteat, 0), b.userid IS NOT NULL"""

POST_JOINS = """
FROM posts p
LEFT JOIN channels c ON c.id = p.channelid
LEFT JOIN teams t ON t.id = c.teamid
LEFT JOIN users u ON u.id = p.userid
LEFT JOIN bots b ON b.userid = p.userid"""

STREAM_QUERY = (
    f'SELECT {POST_COLUMNS} {POST_JOINS} WHERE {WINDOW_PREDICATE} ORDER BY p.updateat, p.id COLLATE "C"'
)

# The files of the window's posts, in the posts' own order (merged with the post stream, no per-batch query).
FILES_STREAM = (
    "SELECT f.id, COALESCE(f.postid, ''), COALESCE(f.name, ''), COALESCE(f.path, ''), COALESCE(f.size, 0),"
    " COALESCE(f.mimetype, ''), COALESCE(f.extension, ''), COALESCE(f.createat, 0), COALESCE(f.updateat, 0),"
    " COALESCE(f.deleteat, 0), COALESCE(f.creatorid, '')"
    " FROM fileinfo f JOIN posts p ON p.id = f.postid WHERE "
    + WINDOW_PREDICATE
    + ' ORDER BY p.updateat, p.id COLLATE "C", f.createat, f.id COLLATE "C"'
)

COUNT_POSTS = "SELECT count(*) FROM posts p WHERE " + WINDOW_PREDICATE
COUNT_FILES = "SELECT count(*) FROM fileinfo f JOIN posts p ON p.id = f.postid WHERE " + WINDOW_PREDICATE


def sql_literal(query: str, window: ExportWindow) -> str:
    """A window query with its two parameters inlined (for COPY, which takes no parameters)."""
    return (
        query.replace("%(start)s", str(int(window.start_ms)))
        .replace("%(end)s", str(int(window.end_ms)))
        .replace("%%", "%")
    )


@dataclass(frozen=True, slots=True)
class DbCounts:
    """What the extractor handed to the format for one batch: post rows and their file rows."""

    posts: int
    files: int


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """What the database holds for a whole window (the snapshot the batches were read from)."""

    posts: int
    files: int


def count_window(conn: psycopg.Connection, window: ExportWindow) -> WindowCounts:
    """Posts and files of the window (call inside :func:`snapshot` for consistency)."""
    params = {"start": window.start_ms, "end": window.end_ms}
    posts = conn.execute(COUNT_POSTS, params).fetchone()[0]
    files = conn.execute(COUNT_FILES, params).fetchone()[0]
    return WindowCounts(posts=int(posts), files=int(files))


@contextmanager
def snapshot(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A REPEATABLE READ, READ ONLY transaction: one consistent snapshot of the database."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield conn


class _FileStream:
    """The window's file rows, consumed post by post in the post stream's order."""

    CHUNK = 5000

    def __init__(self, cur: psycopg.ServerCursor):
        self.cur = cur
        self.rows: list[tuple] = []
        self.pos = 0
        self.done = False

    def _peek(self) -> tuple | None:
        if self.pos >= len(self.rows):
            if self.done:
                return None
            self.rows = self.cur.fetchmany(self.CHUNK)
            self.pos = 0
            if len(self.rows) < self.CHUNK:
                self.done = True
            if not self.rows:
                return None
        return self.rows[self.pos]

    def take(self, post_id: str) -> list[ExportedFile]:
        """The files of ``post_id`` (the next post of the stream): the rows at the head with that post id."""
        out: list[ExportedFile] = []
        row = self._peek()
        while row is not None and row[1] == post_id:
            out.append(ExportedFile(*row))
            self.pos += 1
            row = self._peek()
        return out

    def exhausted(self) -> bool:
        return self._peek() is None


class WindowReader:
    """Iterate over a window's batches; :attr:`counts` holds the database's counts of the same snapshot.

    An empty window still yields one (empty) batch covering the whole window, so every run leaves
    evidence of what it exported. Batch ``i`` covers ``[start_i, end_i)`` for membership: ``start_1``
    is the window start, ``end_i`` the last ``updateat`` of the batch (the window end for the last
    one) and ``start_{i+1} = end_i``.
    """

    CURSOR_NAME = "mmgov_compliance_export"

    def __init__(self, conn: psycopg.Connection, window: ExportWindow, batch_size: int = DEFAULT_BATCH_SIZE):
        if batch_size < 1:
            raise ValueError(f"BatchSize must be >= 1, got {batch_size}")
        self.conn = conn
        self.window = window
        self.batch_size = batch_size
        self.counts: WindowCounts | None = None

    def __iter__(self) -> Iterator[tuple[ExportBatch, DbCounts]]:
        conn, window, size = self.conn, self.window, self.batch_size
        conn.autocommit = True
        users: dict[tuple[str, bool], UserInfo] = {}
        channels: dict[str, ChannelInfo] = {}
        with snapshot(conn):
            # Plan for the whole result (like COPY), not for the first rows.
            conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")
            self.counts = count_window(conn, window)
            membership = MembershipSource(conn, window.start_ms, window.end_ms)
            params = {"start": window.start_ms, "end": window.end_ms}
            with (
                conn.cursor(name=self.CURSOR_NAME) as cur,
                conn.cursor(name=self.CURSOR_NAME + "_files") as fcur,
                # Fetches the batch after next while this one is built: the database works meanwhile.
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="compliance-export-fetch") as prefetch,
            ):
                cur.execute(STREAM_QUERY, params)
                fcur.execute(FILES_STREAM, params)
                files = _FileStream(fcur)
                start = window.start_ms
                number = 0
                rows = cur.fetchmany(size)
                pending = prefetch.submit(cur.fetchmany, size)
                while True:
                    number += 1
                    following = pending.result()  # the next batch's rows; none: this one is the last
                    is_last = not following
                    if not is_last:
                        pending = prefetch.submit(cur.fetchmany, size)
                    end = window.end_ms if is_last else rows[-1][2]
                    batch, counts = self._batch(
                        number, start, end, rows, is_last, membership, users, channels, files
                    )
                    yield batch, counts
                    if is_last:
                        if not files.exhausted():  # pragma: no cover - both streams read one snapshot
                            raise RuntimeError(
                                "file rows left over after the last post: stream order mismatch"
                            )
                        return
                    rows = following
                    start = end

    def _batch(
        self,
        number: int,
        start: int,
        end: int,
        rows: list[tuple],
        is_last: bool,
        membership: MembershipSource,
        users: dict[tuple[str, bool], UserInfo],
        channels: dict[str, ChannelInfo],
        files: _FileStream,
    ) -> tuple[ExportBatch, DbCounts]:
        posts = [_post(r, files.take(r[0]), users, channels) for r in rows]
        nfiles = sum(len(p.files) for p in posts)
        batch_channels: dict[str, ChannelInfo] = {}
        authors: dict[str, dict[str, UserInfo]] = defaultdict(dict)
        for p in posts:
            batch_channels[p.channel.id] = p.channel
            authors[p.channel.id].setdefault(p.user.id, p.user)
        activity = membership.activity(start, end, batch_channels, authors)
        window_start = self.window.start_ms
        batch = ExportBatch(
            number=number,
            window=self.window,
            start_ms=start,
            end_ms=end,
            posts=[classify(p, window_start) for p in posts],
            channels=activity,
            is_last=is_last,
        )
        return batch, DbCounts(posts=len(rows), files=nfiles)


def iter_batches(
    conn: psycopg.Connection, window: ExportWindow, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[tuple[ExportBatch, DbCounts]]:
    """The window's batches in order (see :class:`WindowReader`)."""
    yield from WindowReader(conn, window, batch_size)


def _post(
    r: tuple, files, users: dict[tuple[str, bool], UserInfo], channels: dict[str, ChannelInfo]
) -> PostRecord:
    (
        pid,
        createat,
        updateat,
        deleteat,
        editat,
        userid,
        channelid,
        rootid,
        originalid,
        message,
        ptype,
        delete_by,
        previewed,
        from_webhook,
        from_bot,
        from_plugin,
        override_username,
        webhook_display_name,
        cname,
        cdisplay,
        ctype,
        teamid,
        tname,
        tdisplay,
        username,
        email,
        udeleteat,
        has_bot_row,
    ) = r
    is_bot = bool(has_bot_row) or from_bot == "true"
    user = users.get((userid, is_bot))
    if user is None:
        user = users[(userid, is_bot)] = UserInfo(
            userid or "", username or "", email or "", is_bot, udeleteat
        )
    channel = channels.get(channelid)
    if channel is None:
        is_dm = ctype in ("D", "G")
        channel = channels[channelid] = ChannelInfo(
            id=channelid or "",
            name=cname or "",
            display_name=cdisplay or "",
            type=ctype or "",
            team_id="" if is_dm else (teamid or ""),
            team_name="" if is_dm else (tname or ""),
            team_display_name="" if is_dm else (tdisplay or ""),
        )
    # Positional: this runs once per post, and keyword passing costs measurably more.
    return PostRecord(
        pid,
        createat or 0,
        updateat,
        deleteat,
        editat,
        user,
        channel,
        rootid,
        originalid,
        message,
        ptype,
        delete_by,
        previewed or "",
        from_webhook == "true",
        from_bot == "true",
        from_plugin == "true",
        override_username or "",
        webhook_display_name or "",
        tuple(files),
    )
