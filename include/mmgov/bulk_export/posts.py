"""Posts and direct posts: every thread as one line, replies nested under their root.

The hot path of the export, built to stay close to a raw ``COPY posts`` (see ``bench/gdpr_export.py``):

* ONE query for both sections (``post``: team channels, ``direct_post``: DMs and GMs), streamed
  in binary with libpq's chunked rows mode (``cursor.stream(size=...)``: rows decoded in C a chunk
  at a time; ``COPY ... rows()`` cost a Python wait per row): the posts table is scanned and the
  side data aggregated once, PostgreSQL produces rows while Python writes lines, nothing is quoted
  twice, and there are no per-post or per-batch round trips. Direct posts go to a spool that the
  caller appends after the emoji and direct channel lines (the seed's order);
* rows come ordered by thread (root id, root first, then replies by time), so Python holds one
  thread at a time: memory is bounded by the largest thread, never by the workspace (sorting is the
  database's job, in its ``work_mem`` / temp files);
* PostgreSQL renders each post's scalar keys as compact JSON (:func:`json_object` over
  :data:`POST_FIELDS`) above the sort, i.e. while it streams; reactions, flags, files and thread
  followers come from ONE aggregate (one sort, plain aggregates) hash-joined on the post id, and
  channel data (team/channel keys rendered once per channel, DM members) from one small hashed
  table; Python only stitches the arrays together.

Why not keyset pages of roots with one replies query per page (the first version): on 1,000,000
posts, reading roots in id order is random heap access and every page costs six queries; it took
84 s where this stream takes 10-20 s on the same (shared, 2-core) machine.

Every row of ``posts`` in an exported channel is exported once, deleted ones included with their
``delete_at`` (the seed's rule_04; old versions of edited posts are deleted rows). A reply whose root
no longer exists (physically removed, e.g. by retention) is exported as a top-level post; a post
whose author no longer exists is named in ``warnings.txt``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from psycopg import sql

from mmgov.bulk_export.context import ExportContext
from mmgov.bulk_export.file_copy import attachment_member
from mmgov.bulk_export.jsonl_writer import JsonlWriter, dumps
from mmgov.compliance.file_store import safe_relative_path
from mmgov.compliance.formats import AttachmentUnavailable

PROGRESS_EVERY_S = 5.0
LINES_PER_WRITE = 1000
# Rows per chunk of the result stream (libpq's chunked rows mode): rows are decoded a chunk at a
# time in C, with one wait per chunk instead of one per row (COPY ... rows() waits per row).
STREAM_CHUNK_ROWS = 2000


def json_object(fields: Sequence[tuple[str, str, str]], *, braces: bool = True) -> sql.Composable:
    """A SQL expression rendering ``{"key":value,...}`` compactly, keys in the given order.

    Each field is ``(key, sql_expression, kind)``: ``str`` (escaped by ``to_json``), ``json`` (a json
    or jsonb value), ``num`` or ``bool``. Expressions must not be NULL (use COALESCE); they are
    constants of this package, never input. ``braces=False`` renders ``"key":value,...,`` (members
    to splice in front of another object's members).
    """
    render = {"str": "to_json({})::text", "json": "({})::text", "num": "({})::text", "bool": "({})::text"}
    parts: list[sql.Composable] = []
    for i, (key, expr, kind) in enumerate(fields):
        lead = ("{" if braces else "") if i == 0 else ","
        parts.append(sql.Literal(lead + dumps(key) + ":"))
        parts.append(sql.SQL(render[kind]).format(sql.SQL(expr)))
    parts.append(sql.Literal("}" if braces else ","))
    return sql.SQL(" || ").join(parts)


# The scalar keys of a post or reply, in Mattermost's order (spec: post / replies keys).
POST_FIELDS = (
    ("user", "s.username", "str"),
    ("type", "COALESCE(s.type, '')", "str"),
    ("message", "COALESCE(s.message, '')", "str"),
    ("props", "COALESCE(s.props, '{}'::jsonb)", "json"),
    ("create_at", "COALESCE(s.createat, 0)", "num"),
    ("edit_at", "COALESCE(s.editat, 0)", "num"),
    ("is_pinned", "COALESCE(s.ispinned, false)", "bool"),
)
# Keys only a top-level channel post has (a reply inherits them from its root).
CHANNEL_FIELDS = (("team", "s.team", "str"), ("channel", "s.channel", "str"))
REACTION_FIELDS = (
    ("user", "u.username", "str"),
    ("create_at", "COALESCE(x.createat, 0)", "num"),
    ("emoji_name", "x.emojiname", "str"),
)
FOLLOWER_FIELDS = (
    ("user", "u.username", "str"),
    ("last_viewed", "COALESCE(m.lastviewed, 0)", "num"),
    ("unread_mentions", "COALESCE(m.unreadmentions, 0)", "num"),
)

# Side data, ONE aggregate per post id (a single hash join on the 1M-row stream instead of four):
# reactions still in place, by users that exist; flags and thread follows are private: per person,
# only the exported people's. One sort (post id in byte order, then kind and the kind's own order:
# reactions by time, user, emoji; flags and follows by user, o1 = 0; files by time, id) feeds plain
# aggregates, which take their input in that order (k: r reaction, f flag, a file, t follow).
_SIDE = """
side_rows AS (
    SELECT x.postid, 'r'::"char" AS k, {reaction} AS v, x.createat AS o1, u.username AS o2, x.emojiname AS o3
      FROM reactions x JOIN users u ON u.id = x.userid WHERE COALESCE(x.deleteat, 0) = 0
    UNION ALL
    SELECT f.name, 'f', to_json(u.username)::text, 0, u.username, ''
      FROM preferences f JOIN users u ON u.id = f.userid
     WHERE f.category = 'flagged_post' AND f.value = 'true'
       AND (%(people)s::text[] IS NULL OR f.userid = ANY(%(people)s::text[]))
    UNION ALL
    SELECT f.postid, 'a', f.path, f.createat, f.id, ''
      FROM fileinfo f WHERE f.postid <> '' AND COALESCE(f.path, '') <> ''
    UNION ALL
    SELECT m.postid, 't', {follower}, 0, u.username, ''
      FROM threadmemberships m JOIN users u ON u.id = m.userid
     WHERE m.following AND (%(people)s::text[] IS NULL OR m.userid = ANY(%(people)s::text[]))),
side_of AS (
    SELECT postid,
           string_agg(v, ',') FILTER (WHERE k = 'r') AS reactions,
           string_agg(v, ',') FILTER (WHERE k = 'f') AS flags,
           array_agg(v) FILTER (WHERE k = 'a') AS paths,
           string_agg(v, ',') FILTER (WHERE k = 't') AS followers
      FROM (SELECT postid COLLATE "C" AS postid, k, v FROM side_rows
             ORDER BY postid COLLATE "C", k, o1, o2, o3) sorted
     GROUP BY postid)"""
# The exported channels, joined to the posts once (a small hash table): whether direct, the
# '"team":"x","channel":"y",' members a top-level team post starts with (rendered once per channel),
# and the members of a direct/group channel, sorted usernames: a DM's two users come from its name
# (a DM with yourself lists you twice; a deactivated user stays), a GM's from channelmembers.
_CHANNELS = """,
chan AS MATERIALIZED (
    SELECT s.id, s.is_direct, CASE WHEN NOT s.is_direct THEN {head} END AS head, s.members
      FROM (SELECT c.id, c.type IN ('D', 'G') AS is_direct, t.name AS team, c.name AS channel,
                   CASE WHEN c.type = 'D' THEN
                       (SELECT array_agg(u.username ORDER BY u.username)
                          FROM unnest(string_to_array(c.name, '__')) x(uid) JOIN users u ON u.id = x.uid)
                   WHEN c.type = 'G' THEN
                       (SELECT array_agg(u.username ORDER BY u.username)
                          FROM channelmembers cm JOIN users u ON u.id = cm.userid WHERE cm.channelid = c.id)
                   END AS members
              FROM channels c LEFT JOIN teams t ON t.id = c.teamid
             WHERE (c.type IN ('O', 'P') AND t.id IS NOT NULL AND {archived})
                OR (c.type IN ('D', 'G'){person_channels})) s)"""
# Both sections in one pass: team-channel posts first, then direct posts, each sorted by thread
# (one text sort key, direct flag first, so the sort compares abbreviated keys). Sorted with raw
# columns and rendered to JSON above the sort, i.e. while streaming (in parallel with Python)
# rather than before the sort can return its first row. The sorted rows stay narrow: the sort key
# is the thread key of the stream, the channel id only comes with direct posts (members) and the
# author id only with a post whose author is gone (warnings).
_SELECT = """
SELECT s.is_direct, s.skey, s.is_reply, s.id, s.channelid, s.deleteat,
       s.head, {body}, s.reactions, s.flags, s.paths, s.followers, s.members, s.userid
  FROM (SELECT (CASE WHEN ch.is_direct THEN '1' ELSE '0' END
                || CASE WHEN p.rootid = '' THEN p.id ELSE p.rootid END) COLLATE "C" AS skey,
               ch.is_direct, NULL, p.rootid <> '' AS is_reply, p.id COLLATE "C" AS id,
               CASE WHEN ch.is_direct OR u.username IS NULL THEN p.channelid END AS channelid,
               COALESCE(p.deleteat, 0) AS deleteat, p.createat, p.type, p.message, p.props, p.editat, p.ispinned,
               CASE WHEN u.username IS NULL THEN p.userid END AS userid, u.username,
               ch.head, side_of.reactions, side_of.flags, side_of.paths,
               CASE WHEN p.rootid = '' THEN side_of.followers END AS followers, ch.members
          FROM posts p JOIN chan ch ON ch.id = p.channelid
          LEFT JOIN users u ON u.id = p.userid
          LEFT JOIN side_of ON side_of.postid = p.id COLLATE "C"
         {person_threads}
         ORDER BY 1, 4, p.createat, 5) s
 ORDER BY s.skey, s.is_reply, s.createat, s.id
"""
# is_direct, thread key, is_reply, id, channelid, deleteat, head, body, reactions, flags, paths, followers, members,
# author: the row layout of the stream
ROW_TYPES = ["bool", "text", "bool", "text", "text", "int8", "text", "text", "text", "text", "text[]", "text",
             "text[]", "text"]  # fmt: skip
_ARCHIVED = "(%(archived)s OR (COALESCE(c.deleteat, 0) = 0 AND COALESCE(t.deleteat, 0) = 0))"
_PERSON_THREADS = (
    "WHERE ch.is_direct OR CASE WHEN p.rootid = '' THEN p.id ELSE p.rootid END = ANY(%(roots)s::text[])"
    " OR p.id = ANY(%(orphans)s::text[])"
)
_PERSON_CHANNELS = " AND c.id = ANY(%(channels)s::text[])"


def posts_query(*, per_person: bool) -> sql.Composed:
    """The query of both post sections; parameters: archived, people (+ roots, orphans, channels)."""
    side = sql.SQL(_SIDE).format(reaction=json_object(REACTION_FIELDS), follower=json_object(FOLLOWER_FIELDS))
    channels = sql.SQL(_CHANNELS).format(
        head=json_object(CHANNEL_FIELDS, braces=False),  # '"team":"x","channel":"y",' before the body
        archived=sql.SQL(_ARCHIVED),
        person_channels=sql.SQL(_PERSON_CHANNELS if per_person else ""),
    )
    select = sql.SQL(_SELECT).format(
        body=json_object(POST_FIELDS), person_threads=sql.SQL(_PERSON_THREADS if per_person else "")
    )
    return sql.SQL("WITH {side}{channels} {select}").format(side=side, channels=channels, select=select)


@dataclass
class PostCounts:
    """What a section wrote: lines, replies nested in them, deleted posts, orphans, files listed."""

    lines: int = 0
    replies: int = 0
    deleted: int = 0
    orphans: int = 0
    attachments_listed: int = 0
    skipped_posts: int = 0
    skipped_channels: set[str] = field(default_factory=set)

    @property
    def posts(self) -> int:
        """Posts written (top-level and nested)."""
        return self.lines + self.replies


class PostStream:
    """Writes both post sections from one stream (see the module docstring).

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

    def params(self) -> dict[str, object]:
        person = self.ctx.person
        params: dict[str, object] = {
            "archived": self.ctx.options.include_archived_channels,
            "people": self.ctx.people,
        }
        if person is not None:
            params.update(
                roots=person.thread_root_ids,
                orphans=person.orphan_reply_ids,
                channels=person.direct_channel_ids,
            )
        return params

    def run(self) -> tuple[PostCounts, PostCounts]:
        """Stream all posts; returns the counts of the ``post`` and the ``direct_post`` sections."""
        query = posts_query(per_person=self.ctx.person is not None)
        batch: list[str] = []
        direct = False
        thread_key = None
        thread: list[tuple] = []
        last_report = time.monotonic()
        with self.ctx.conn.cursor(binary=True) as cursor:
            for row in cursor.stream(query, self.params(), size=STREAM_CHUNK_ROWS):
                if row[1] == thread_key:
                    thread.append(row)
                    continue
                if thread:
                    self._thread_lines(thread, batch, direct)
                    if len(batch) >= LINES_PER_WRITE or row[0] != direct:
                        self._flush(batch, direct)
                        if (
                            self.on_progress is not None
                            and time.monotonic() - last_report >= PROGRESS_EVERY_S
                        ):
                            self.on_progress(self.counts[False].posts, self.counts[True].posts)
                            last_report = time.monotonic()
                direct = row[0]
                thread_key = row[1]
                thread = [row]
        if thread:
            self._thread_lines(thread, batch, direct)
        self._flush(batch, direct)
        return self.counts[False], self.counts[True]

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
         members, _author) = row  # fmt: skip
        if direct:
            names = self._channel_members(channel_id, members)
            if names is None:
                counts.skipped_posts += 1 + len(replies)
                counts.skipped_channels.add(channel_id)
                return None
            obj = '{"channel_members":' + names + "," + obj[1:]
        else:
            obj = "{" + head + obj[1:]
        tail = self._extras(pid, reacted, flagged, paths, counts)
        if replies:
            parts = []
            for reply in replies:
                r_tail = self._extras(reply[3], reply[8], reply[9], reply[10], counts)
                if reply[5]:
                    r_tail += ',"delete_at":' + str(reply[5])
                    counts.deleted += 1
                r_obj = reply[7]
                parts.append(r_obj[:-1] + r_tail + "}" if r_tail else r_obj)
            tail += ',"replies":[' + ",".join(parts) + "]"
            counts.replies += len(replies)
        if followed:
            tail += ',"thread_followers":[' + followed + "]"
        if delete_at:
            tail += ',"delete_at":' + str(delete_at)
            counts.deleted += 1
        counts.lines += 1
        return obj[:-1] + tail + "}" if tail else obj

    def _extras(
        self, pid: str, reacted: str | None, flagged: str | None, paths: list[str] | None, counts: PostCounts
    ) -> str:
        tail = ""
        if flagged:
            tail += ',"flagged_by":[' + flagged + "]"
        if reacted:
            tail += ',"reactions":[' + reacted + "]"
        if paths:
            listed = self._attachments(pid, paths)
            counts.attachments_listed += len(listed)
            if listed:
                tail += ',"attachments":' + dumps([{"path": path} for path in listed])
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
