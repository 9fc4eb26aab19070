"""The window's post rows as the extractor reads them: narrow rows, authors and channels looked up by id.

A post row carries only the post's own columns; its channel (with team) and its author (with the
bot flag) come from small caches keyed by id, filled by one query per batch for the ids not seen
yet (a window has far fewer channels and users than posts). The caches are read in the same
snapshot as the rows, so the records equal those of the joined query
(the benchmark's COPY baseline, ``bench/compliance_export.py``). File rows come from a second stream in the posts'
own order and are grouped per post for the batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import psycopg

from mmgov.compliance.model import ChannelInfo, ExportedFile, UserInfo
from mmgov.compliance.post_classifier import ENTRIES_OF_A_POST

WINDOW_PREDICATE = (
    "p.updateat >= %(start)s AND p.updateat < %(end)s AND (p.type IS NULL OR p.type NOT LIKE 'system\\_%%')"
)

# Column order of a narrow post row (see _ROW_* below).
POST_QUERY = (
    "SELECT p.id, p.createat, p.updateat, COALESCE(p.deleteat, 0), COALESCE(p.editat, 0), p.userid,"
    " p.channelid, COALESCE(p.rootid, ''), COALESCE(p.originalid, ''), COALESCE(p.message, ''),"
    " COALESCE(p.type, ''), p.props->>'deleteBy', p.props->>'previewed_post', p.props->>'from_webhook',"
    " p.props->>'from_bot', p.props->>'from_plugin', p.props->>'override_username',"
    " p.props->>'webhook_display_name'"
    f' FROM posts p WHERE {WINDOW_PREDICATE} ORDER BY p.updateat, p.id COLLATE "C"'
)

# The same columns for given post ids (the rows a rendered read hands back to the Python path).
POSTS_BY_ID = POST_QUERY.split(" FROM posts p ", 1)[0] + " FROM posts p WHERE p.id = ANY(%(ids)s)"


@dataclass(frozen=True)
class SqlRendering:
    """A format's rendering of a post without files, done by PostgreSQL: the accelerator of the
    format's Python rendering (the equivalence tests compare the zips of both, byte for byte).

    ``posts``: an SQL expression over ``posts p`` (and the relations ``joins`` adds) rendering all
    the message entries of a post without files (built with
    :func:`~mmgov.compliance.post_classifier.entries_sql`), as the format writes them. ``time``:
    the time the format orders the post's first entry by (default its ``createat``; Actiance: the
    update time of an updated post). ``params``: the named parameters of those expressions.
    """

    posts: str
    joins: str = ""
    time: str = "COALESCE(p.createat, 0)"
    params: Mapping[str, Any] = field(default_factory=dict)


def rendered_post_query(rendering: SqlRendering) -> str:
    """The window's posts as short rows with a format's rendering of each.

    Row (:data:`~mmgov.compliance.model.RenderedPost`): ``(id, time, updateat, entries, from_bot,
    userid, channelid, rendering)``; ``userid`` and ``channelid`` sit where they are in
    :data:`POST_QUERY` (:class:`Lookups` reads both kinds). ``entries``: the post's message entries
    (:data:`~mmgov.compliance.post_classifier.ENTRIES_OF_A_POST`). The rendering is ``bytea`` (UTF-8):
    read in binary format it arrives as the bytes the zip stores, with no decoding into ``str`` and
    encoding back. Posts with files are rendered too but read again with :data:`POSTS_BY_ID` and
    classified in Python (their files are Python's work).
    """
    return (
        f"SELECT p.id, {rendering.time}, p.updateat, {ENTRIES_OF_A_POST},"
        " COALESCE(p.props->>'from_bot' = 'true', false), p.userid, p.channelid,"
        f" convert_to({rendering.posts}, 'UTF8')"
        f' FROM posts p {rendering.joins} WHERE {WINDOW_PREDICATE} ORDER BY p.updateat, p.id COLLATE "C"'
    )


# An id without a users / bots / channels / teams row gets NULLs, as the benchmark baseline's LEFT JOINs do.
USERS_BY_ID = """
SELECT x.id, u.username, u.email, COALESCE(u.deleteat, 0), b.userid IS NOT NULL
FROM unnest(%s::text[]) AS x(id)
LEFT JOIN users u ON u.id = x.id
LEFT JOIN bots b ON b.userid = x.id
"""

CHANNELS_BY_ID = """
SELECT x.id, c.name, c.displayname, c.type::text, c.teamid, t.name, t.displayname
FROM unnest(%s::text[]) AS x(id)
LEFT JOIN channels c ON c.id = x.id
LEFT JOIN teams t ON t.id = c.teamid
"""

_USER_COLUMN, _CHANNEL_COLUMN = 5, 6
_ROW_USER = itemgetter(_USER_COLUMN)
_ROW_CHANNEL = itemgetter(_CHANNEL_COLUMN)


class Lookups:
    """Authors and channels by id, for the whole window (bounded by the workspace's users and channels).

    ``users[user id]`` is a pair of :class:`UserInfo`: ``[0]`` for a post without ``props.from_bot``,
    ``[1]`` for one with it (the same object when the user has a ``bots`` row).
    """

    def __init__(self) -> None:
        self.users: dict[str | None, tuple[UserInfo, UserInfo]] = {}
        self.channels: dict[str | None, ChannelInfo] = {}
        self._ids: dict[str | None, str | None] = {}  # each author and channel id, once

    def shared_ids(self, rows: list[tuple]) -> list[tuple]:
        """``rows`` with one ``str`` object per distinct author id and channel id.

        The driver makes a new ``str`` for every value it reads: two ids of ~75 bytes per row, and
        a few thousand distinct ids in a window. Sharing them shrinks each batch in memory by
        ~1.5 MB per 10,000 rows (rebuilt column-wise, so the loop runs in C).
        """
        if not rows:
            return rows
        ids = self._ids
        columns: list[Any] = list(zip(*rows, strict=True))
        for k in (_USER_COLUMN, _CHANNEL_COLUMN):
            columns[k] = map(ids.setdefault, columns[k], columns[k])
        return list(zip(*columns, strict=True))

    def resolve(self, conn: psycopg.Connection, rows: list[tuple]) -> None:
        """Look up the authors and channels of ``rows`` that are not cached yet (one query each)."""
        users, channels = self.users, self.channels
        new_users = set(map(_ROW_USER, rows)) - users.keys()
        new_channels = set(map(_ROW_CHANNEL, rows)) - channels.keys()
        if None in new_users:
            new_users.discard(None)
            users[None] = user_pair("", None, None, 0, False)
        if None in new_channels:
            new_channels.discard(None)
            channels[None] = channel_info("", None, None, None, None, None, None)
        if new_users:
            for uid, username, email, delete_at, has_bot in conn.execute(
                USERS_BY_ID, (sorted(new_users),)
            ).fetchall():
                users[uid] = user_pair(uid, username, email, delete_at, has_bot)
        if new_channels:
            for row in conn.execute(CHANNELS_BY_ID, (sorted(new_channels),)).fetchall():
                channels[row[0]] = channel_info(*row)


def user_pair(
    uid: str, username: str | None, email: str | None, delete_at: int, has_bot: bool
) -> tuple[UserInfo, UserInfo]:
    """A user as a post author without and with ``from_bot`` (one object when it has a ``bots`` row)."""
    bot = UserInfo(uid, username or "", email or "", True, delete_at)
    if has_bot:
        return bot, bot
    return UserInfo(uid, username or "", email or "", False, delete_at), bot


def channel_info(
    cid: str,
    name: str | None,
    display: str | None,
    ctype: str | None,
    team_id: str | None,
    team_name: str | None,
    team_display: str | None,
) -> ChannelInfo:
    """A ``channels`` row (with its team) as a record: no team for a DM or group message."""
    is_dm = ctype in ("D", "G")
    return ChannelInfo(
        cid,
        name or "",
        display or "",
        ctype or "",
        "" if is_dm else (team_id or ""),
        "" if is_dm else (team_name or ""),
        "" if is_dm else (team_display or ""),
    )


class FileStream:
    """The window's file rows, in the post stream's order, handed out batch by batch."""

    # Rows per fetch. Small on purpose: a chunk lives until its last row is taken, and a chunk of
    # thousands of rows spans many batches, so its objects sit among several batches' short-lived
    # ones and keep the allocator's pages from being reused (1M posts: +5 MB peak RSS at 5,000 rows).
    CHUNK = 250

    def __init__(self, cur: psycopg.ServerCursor):
        self.cur = cur
        self.rows: list[tuple] = []
        self.pos = 0
        self.done = False

    def _fill(self) -> bool:
        """Make ``rows[pos]`` valid; False at the end of the stream."""
        if self.pos < len(self.rows):
            return True
        if self.done:
            return False
        self.rows = self.cur.fetchmany(self.CHUNK)
        self.pos = 0
        if len(self.rows) < self.CHUNK:
            self.done = True
        return bool(self.rows)

    def take(self, post_ids: set[str]) -> dict[str, list[ExportedFile]]:
        """The files of a batch's posts (the rows at the head of the stream whose post is in ``post_ids``)."""
        out: dict[str, list[ExportedFile]] = {}
        while self._fill():
            rows, pos = self.rows, self.pos
            end = len(rows)
            while pos < end:
                row = rows[pos]
                pid = row[1]
                if pid not in post_ids:
                    self.pos = pos
                    return out
                files = out.get(pid)
                if files is None:
                    files = out[pid] = []
                files.append(ExportedFile(*row))
                pos += 1
            self.pos = pos
        return out

    def exhausted(self) -> bool:
        return not self._fill()
