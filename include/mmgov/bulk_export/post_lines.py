"""Whole-workspace post lines rendered by PostgreSQL, streamed as bytes (the fast path of the posts).

ONE ``COPY (query) TO STDOUT (FORMAT binary)`` for both sections: PostgreSQL renders each usual
thread as its complete JSONL line (root keys, reactions, flags, files, replies, thread followers,
``delete_at``; exactly what :class:`mmgov.bulk_export.posts.PostStream` would write) and Python only
routes the bytes to the section's file. Lines come by thread key (root id, then section), the
order of Mattermost's exporter (roots ``ORDER BY Posts.Id``: ``GetParentsForExportAfter`` in
server/channels/store/sqlstore/post_store.go), asked for with ORDER BY: whatever plan PostgreSQL
picks (hash or merge join, any server version), the same database gives the same bytes
(tests/bulk_export/test_post_order.py). The only sort is of the joined rows:

* replies (rows with a ``rootid``) are rendered and aggregated per root first (a sort of the replies
  alone), then joined onto the roots (full join: replies whose root is not exported come out as
  unmatched rows);
* side data (reactions, flags, files, thread followers) is ONE sorted aggregate, hash-joined on the
  post id; channel keys and DM members are rendered once per channel, author keys once per user;
* each line is one balanced tree of concatenations (:data:`_MEMBERS`).

Threads the database cannot render exactly are named instead of rendered (``X`` + thread key) and
exported by the Python path afterwards: an author that no longer exists, a file (copied by Python;
without copying, only a path that is not plainly safe), a DM Mattermost cannot import, a reply
without its root. Each row is one line; a line with replies is prefixed ``#<count>:`` so the
counters stay exact. Memory does not grow with the workspace: lines are written in batches, thread
keys go to a spool file.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from typing import IO

import psycopg
from psycopg import sql

from mmgov.bulk_export.jsonl_writer import JsonlWriter
from mmgov.bulk_export.post_sql import (
    ARCHIVED,
    POST_FIELDS,
    SORTED_SIDE_ROWS,
    side_rows,
)

# False sends every thread through the Python path (tests compare both paths' lines).
RENDER_IN_DATABASE = True
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00"
_BINARY_TRAILER = b"\xff\xff"
_DIRECT_MARK = ord("d")  # '{"type":"d...' (direct_post) vs '{"type":"p...' (post)
_COUNT_MARK = ord("#")
_THREAD_MARK = ord("X")

# A file path listed by PostgreSQL: only one that is plainly inside the file store (starts with a
# letter, digit or '_', no backslash, no '..' component, no drive letter); anything else is checked
# (and named in warnings.txt) by the Python path, which applies safe_relative_path.
_PLAIN_PATH = r"v ~ '^[A-Za-z0-9_][^\\]*$' AND v !~ '(^|/)\.\.(/|$)' AND substr(v, 2, 1) <> ':'"
# Rendered side data per post: '"flagged_by":[..]', '"reactions":[..]', '"attachments":[..]',
# '"priority":{..}', '"acknowledgements":[..]' (in the order of PostStream._extras), the root-only '"thread_followers":[..]', and whether the database
# may render it (files need Python when they are copied, or when a path is not plainly safe).
_SIDE_JSON = """
side_json AS (
    SELECT postid,
           COALESCE(',"flagged_by":[' || string_agg(v, ',') FILTER (WHERE k = 'f') || ']', '')
           || COALESCE(',"reactions":[' || string_agg(v, ',') FILTER (WHERE k = 'r') || ']', '')
           || COALESCE(',"attachments":['
                       || string_agg('{{"path":' || to_json(v)::text || '}}', ',') FILTER (WHERE k = 'a')
                       || ']', '')
           || COALESCE(',"priority":' || string_agg(v, ',') FILTER (WHERE k = 'p'), '')
           || COALESCE(',"acknowledgements":[' || string_agg(v, ',') FILTER (WHERE k = 'k') || ']', '') AS extras,
           ',"thread_followers":[' || string_agg(v, ',') FILTER (WHERE k = 't') || ']' AS followers,
           count(*) FILTER (WHERE k = 'a') = 0
           OR (NOT %(copy_files)s AND bool_and({plain_path}) FILTER (WHERE k = 'a')) AS renderable
      FROM {sorted}
     GROUP BY postid),"""
# Exported channels: the start of their lines, rendered once ('{"type":"post","post":{"team":..,
# "channel":..,' or '{"type":"direct_post","direct_post":{"channel_members":[..],'); NULL for a DM
# or GM Mattermost cannot import (not 2 or 3-8 members: the Python path names it in warnings.txt).
# Authors: '"user":"name","type":' (the key after it too), rendered once per user.
_CHANNELS = """
chan AS MATERIALIZED (
    SELECT c.id, c.type IN ('D', 'G') AS is_direct,
           CASE WHEN c.type NOT IN ('D', 'G') THEN '{{"type":"post","post":{{"team":' || to_json(t.name)::text
                     || ',"channel":' || to_json(c.name)::text || ','
                WHEN m.n = 2 OR m.n BETWEEN 3 AND 8 THEN
                     '{{"type":"direct_post","direct_post":{{"channel_members":[' || m.names || '],'
           END AS lead
      FROM channels c LEFT JOIN teams t ON t.id = c.teamid
      LEFT JOIN LATERAL (
           SELECT count(*) AS n, string_agg(to_json(u.username)::text, ',' ORDER BY u.username) AS names
             FROM unnest(string_to_array(c.name, '__')) x(uid) JOIN users u ON u.id = x.uid
            WHERE c.type = 'D'
           UNION ALL
           SELECT count(*), string_agg(to_json(u.username)::text, ',' ORDER BY u.username)
             FROM channelmembers cm JOIN users u ON u.id = cm.userid
            WHERE c.type = 'G' AND cm.channelid = c.id) m ON c.type IN ('D', 'G') AND m.n > 0
     WHERE {scope}),
authors AS MATERIALIZED (
    SELECT id, author, '{{' || author AS reply_author FROM (SELECT id, {author} AS author FROM users) a),"""
# Replies rendered and aggregated per root, in thread order (time, then id).
_REPLIES = """
replies AS (
    SELECT rootid, is_direct, count(*) AS n, bool_and(renderable) AS renderable,
           string_agg({reply}, ',') AS body
      FROM (SELECT r.rootid COLLATE "C" AS rootid, ch.is_direct, r.type, r.message, r.props, r.createat,
                   r.editat, r.ispinned, a.reply_author AS author,
                   CASE WHEN so.postid IS NULL AND COALESCE(r.deleteat, 0) = 0 THEN '}}'
                        ELSE COALESCE(so.extras, '')
                             || COALESCE(',"delete_at":' || NULLIF(COALESCE(r.deleteat, 0), 0)::text, '') || '}}'
                   END AS tail,
                   a.author IS NOT NULL AND ch.lead IS NOT NULL AND COALESCE(so.renderable, true) AS renderable
              FROM posts r JOIN chan ch ON ch.id = r.channelid
              LEFT JOIN authors a ON a.id = r.userid
              LEFT JOIN side_json so ON so.postid = r.id COLLATE "C"
             WHERE r.rootid <> ''
             ORDER BY 1, 2, r.createat, r.id COLLATE "C") r
     GROUP BY rootid, is_direct)"""
# Roots joined to their replies (the join behind a fence, so a filter of the part of the lines a
# query streams cannot change the join): a line, or the thread key for the Python path; sorted by
# root id (Mattermost's order: ids are [a-z0-9], so byte order is every collation's), then section.
_SELECT = """
SELECT CASE WHEN j.id IS NULL THEN 'X' || CASE WHEN j.rp_direct THEN '1' ELSE '0' END || j.rootid
            WHEN NOT (%(render)s AND j.renderable AND COALESCE(j.rp_renderable, true))
                 THEN 'X' || CASE WHEN j.is_direct THEN '1' ELSE '0' END || j.id
            ELSE {line}
       END
  FROM (SELECT rt.*, rp.rootid, rp.is_direct AS rp_direct, rp.n, rp.renderable AS rp_renderable, rp.body
          FROM (SELECT p.id COLLATE "C" AS id, ch.is_direct, ch.lead, a.author, p.type, p.message, p.props,
                       p.createat, p.editat, p.ispinned, so.postid IS NULL AND COALESCE(p.deleteat, 0) = 0 AS plain,
                       so.extras, so.followers, p.deleteat,
                       a.author IS NOT NULL AND ch.lead IS NOT NULL AND COALESCE(so.renderable, true) AS renderable
                  FROM posts p JOIN chan ch ON ch.id = p.channelid
                  LEFT JOIN authors a ON a.id = p.userid
                  LEFT JOIN side_json so ON so.postid = p.id COLLATE "C"
                 WHERE p.rootid = '' OR p.rootid IS NULL) rt
          FULL JOIN replies rp ON rp.rootid = rt.id AND rp.is_direct = rt.is_direct
        OFFSET 0) j
{where}
 ORDER BY COALESCE(j.id, j.rootid), COALESCE(j.is_direct, j.rp_direct)
"""
# A direct post line PostgreSQL renders (the ELSE branch above).
_RENDERED_DIRECT = (
    "j.id IS NOT NULL AND j.is_direct AND %(render)s AND j.renderable AND COALESCE(j.rp_renderable, true)"
)
_REPLY = "{reply}"
# What a stream covers: every line and thread key (one connection); or, on two connections, every
# line but the rendered direct post lines (and no reply body of a direct thread), and those alone.
ALL, NOT_RENDERED_DIRECT, RENDERED_DIRECT = "all", "not rendered direct", "rendered direct"
_SCOPES = {
    ALL: (
        "(c.type NOT IN ('D', 'G') AND t.id IS NOT NULL AND {archived}) OR c.type IN ('D', 'G')",
        _REPLY,
        "",
    ),
    NOT_RENDERED_DIRECT: (
        "(c.type NOT IN ('D', 'G') AND t.id IS NOT NULL AND {archived}) OR c.type IN ('D', 'G')",
        f"CASE WHEN NOT is_direct THEN {_REPLY} END",
        f"WHERE NOT ({_RENDERED_DIRECT})",
    ),
    RENDERED_DIRECT: ("c.type IN ('D', 'G')", _REPLY, f"WHERE {_RENDERED_DIRECT}"),
}
# The keys of a post after its author, in POST_FIELDS' order, rendered from the raw columns of a row
# alias by _MEMBERS (tests/bulk_export/test_post_lines.py: the same bytes as the Python path).
_REST_KEYS = ["type", "message", "props", "create_at", "edit_at", "is_pinned"]
if [key for key, _expr, _kind in POST_FIELDS] != ["user", *_REST_KEYS]:  # pragma: no cover - a guard
    raise RuntimeError("POST_FIELDS changed: update _MEMBERS, which renders these keys in this order")
# ``{json}`` escapes a string: JSON_SCALAR from PostgreSQL 16 (the same bytes as to_json, without its
# type lookup per call: ~0.08 s less per 1,000,000 messages), to_json before.
JSON_SCALAR_SINCE = 160000
# Each ``||`` copies both of its sides: the pieces are concatenated as a balanced tree (a left-deep
# chain would copy the start of the line once per key), keys are literals with the value next to
# them, and the usual values (no type, no props, not edited) are one literal with their keys.
# ``{head}`` ends with '"type":' (the authors' column); ``{tail}`` closes the object.
_MEMBERS = """((({head} || CASE WHEN COALESCE({a}.type, '') = '' THEN '"","message":'
                        ELSE {json}({a}.type)::text || ',"message":' END)
             || ({json}(COALESCE({a}.message, ''))::text
                 || CASE WHEN {a}.props IS NULL OR {a}.props = '{{}}'::jsonb THEN ',"props":{{}}'
                         ELSE ',"props":' || {a}.props::text END))
            || ((',"create_at":' || COALESCE({a}.createat, 0)::text)
                || (CASE WHEN COALESCE({a}.editat, 0) = 0
                         THEN CASE WHEN {a}.ispinned THEN ',"edit_at":0,"is_pinned":true'
                                   ELSE ',"edit_at":0,"is_pinned":false' END
                         ELSE ',"edit_at":' || {a}.editat::text
                              || CASE WHEN {a}.ispinned THEN ',"is_pinned":true' ELSE ',"is_pinned":false' END
                    END || ({tail}))))"""
# A root line starts with its channel's lead and the author (after '#<count>:' when it has replies);
# it ends with its side data, replies, thread followers, delete_at and '}}\n' (only the latter, most of
# the time: no CASE branch of several concatenations per row when there is nothing to add).
_ROOT_HEAD = "(CASE WHEN j.n IS NULL THEN j.lead ELSE '#' || j.n || ':' || j.lead END || j.author)"
_ROOT_TAIL = """CASE WHEN j.plain AND j.body IS NULL THEN E'}}\\n'
                 ELSE COALESCE(j.extras, '') || COALESCE(',"replies":[' || j.body || ']', '') || COALESCE(j.followers, '')
                      || COALESCE(',"delete_at":' || NULLIF(COALESCE(j.deleteat, 0), 0)::text, '') || E'}}\\n'
            END"""


def _rendered(alias: str, head: str, tail: str, server_version: int) -> sql.Composable:
    """The members of a post or reply after ``head`` (see :data:`_MEMBERS`), then ``tail``."""
    json = "JSON_SCALAR" if server_version >= JSON_SCALAR_SINCE else "to_json"
    return sql.SQL(_MEMBERS.format(a=alias, head=head, tail=tail, json=json))


def lines_query(
    part: str = ALL, server_version: int = JSON_SCALAR_SINCE, *, extras: bool = False
) -> sql.Composed:
    """The whole-workspace line stream (``part``: see :data:`ALL`) for a server of ``server_version``
    (``conn.info.server_version``), with priorities and acknowledgements when ``extras``
    (:func:`mmgov.bulk_export.post_sql.has_post_extras`); parameters: archived, copy_files, render,
    people (NULL)."""
    query = lines_select(part, server_version, extras=extras)
    return sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(query)


def lines_select(
    part: str = ALL, server_version: int = JSON_SCALAR_SINCE, *, extras: bool = False
) -> sql.Composed:
    """The query :func:`lines_query` copies out (its plan: :mod:`mmgov.query_plans`)."""
    scope, reply, where = _SCOPES[part]
    side_json = sql.SQL(_SIDE_JSON).format(plain_path=sql.SQL(_PLAIN_PATH), sorted=sql.SQL(SORTED_SIDE_ROWS))
    chan = sql.SQL(_CHANNELS).format(
        scope=sql.SQL(scope).format(archived=sql.SQL(ARCHIVED)),
        author=sql.SQL("'\"user\":' || to_json(username)::text || ',\"type\":'"),
    )
    replies = sql.SQL(_REPLIES).format(
        reply=sql.SQL(reply).format(reply=_rendered("r", "author", "tail", server_version))
    )
    select = sql.SQL(_SELECT).format(
        line=_rendered("j", _ROOT_HEAD, _ROOT_TAIL, server_version), where=sql.SQL(where)
    )
    return sql.SQL("WITH {side}{side_json}{chan}{replies} {select}").format(
        side=side_rows(extras=extras), side_json=side_json, chan=chan, replies=replies, select=select
    )


class LineStream:
    """Copies the rendered lines into the two section writers; names the other threads in a spool.

    After :meth:`run`: ``lines``/``replies`` per section (``False`` team posts, ``True`` direct
    posts) and :meth:`thread_keys` (batches of keys for the Python path).
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        writers: dict[bool, JsonlWriter],
        *,
        include_archived: bool,
        copy_files: bool,
        on_progress: Callable[[int, int], None] | None = None,
        lines_per_write: int = 2000,
        progress_every_s: float = 5.0,
        part: str = ALL,
        extras: bool = False,
    ):
        self.conn = conn
        self.part = part
        self.extras = extras
        self.writers = writers
        self.params = {
            "archived": include_archived,
            "copy_files": copy_files,
            "render": RENDER_IN_DATABASE,
            "people": None,
        }
        self.on_progress = on_progress
        self.lines_per_write = lines_per_write
        self.progress_every_s = progress_every_s
        self.lines = {False: 0, True: 0}
        self.replies = {False: 0, True: 0}
        self.keys: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by thread_keys()
        self.key_count = 0

    def run(self) -> None:
        """Stream every line (see the module docstring)."""
        posts: list[memoryview] = []
        direct: list[memoryview] = []
        write_key = self.keys.write
        per_write = self.lines_per_write
        last_report = time.monotonic()
        query = lines_query(self.part, self.conn.info.server_version, extras=self.extras)
        with self.conn.cursor().copy(query, self.params) as copy:
            rows = iter(copy)
            first = next(rows, None)
            if first is None or bytes(first[:11]) != _BINARY_HEADER:
                raise RuntimeError("GDPR export: the post stream did not start with a binary COPY header")
            header_len = 19 + int.from_bytes(first[15:19], "big")
            for row in _chain_first(first[header_len:], rows):
                if len(row) <= 6:  # the trailer (last), or a NULL that must not happen
                    if bytes(row) != _BINARY_TRAILER:
                        raise RuntimeError("GDPR export: the post stream returned an empty line")
                    continue
                mark = row[6]
                if mark == _COUNT_MARK:
                    head = bytes(row[7:32])
                    end = head.index(b":")
                    row = row[8 + end :]
                    is_direct = row[9] == _DIRECT_MARK
                    self.replies[is_direct] += int(head[:end])
                    (direct if is_direct else posts).append(row)
                elif mark == _THREAD_MARK:
                    write_key(bytes(row[7:]) + b"\n")
                    self.key_count += 1
                    continue
                elif row[15] == _DIRECT_MARK:
                    direct.append(row[6:])
                else:
                    posts.append(row[6:])
                if len(posts) >= per_write or len(direct) >= per_write:
                    self._flush(posts, direct)
                    if (
                        self.on_progress is not None
                        and time.monotonic() - last_report >= self.progress_every_s
                    ):
                        self.on_progress(
                            self.lines[False] + self.replies[False], self.lines[True] + self.replies[True]
                        )
                        last_report = time.monotonic()
        self._flush(posts, direct)

    def _flush(self, posts: list[memoryview], direct: list[memoryview]) -> None:
        for is_direct, batch in ((False, posts), (True, direct)):
            if batch:
                self.writers[is_direct].lines(
                    "direct_post" if is_direct else "post", b"".join(batch), len(batch)
                )
                self.lines[is_direct] += len(batch)
                batch.clear()

    def thread_keys(self, batch: int) -> Iterator[list[str]]:
        """The keys of the threads left to the Python path, ``batch`` at a time; closes the spool."""
        with self.keys:
            self.keys.seek(0)
            keys: list[str] = []
            for line in self.keys:
                keys.append(line[:-1].decode())
                if len(keys) >= batch:
                    yield keys
                    keys = []
            if keys:
                yield keys


def _chain_first(first: memoryview, rows: Iterator[memoryview]) -> Iterator[memoryview]:
    """The first message (its header already cut off: the first row, if any) then the others."""
    if len(first):
        yield first
    yield from rows
