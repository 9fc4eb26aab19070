"""SQL of the post sections shared by both paths: JSON rendering, side data, exported channels, and
the thread-ordered query the Python path (:mod:`mmgov.bulk_export.posts`) reads.

Every expression here is a constant of this package, never input; values are bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from mmgov.bulk_export.jsonl_writer import dumps

_RENDER = {"str": "to_json({})::text", "json": "({})::text", "num": "({})::text", "bool": "({})::text"}


def json_members(fields: Sequence[tuple[str, str, str]]) -> sql.Composable:
    """A SQL expression rendering ``"key":value,...`` compactly (no braces), keys in the given order.

    Each field is ``(key, sql_expression, kind)``: ``str`` (escaped by ``to_json``), ``json`` (a json
    or jsonb value), ``num`` or ``bool``. Expressions must not be NULL (use COALESCE).
    """
    parts: list[sql.Composable] = []
    for i, (key, expr, kind) in enumerate(fields):
        parts.append(sql.Literal(("," if i else "") + dumps(key) + ":"))
        parts.append(sql.SQL(_RENDER[kind]).format(sql.SQL(expr)))
    return sql.SQL(" || ").join(parts)


def json_object(fields: Sequence[tuple[str, str, str]], *, braces: bool = True) -> sql.Composable:
    """``{"key":value,...}`` (see :func:`json_members`); ``braces=False`` renders ``"key":value,...,``
    (members to splice in front of another object's members)."""
    head, tail = ("{", "}") if braces else ("", ",")
    return sql.SQL("{} || {} || {}").format(sql.Literal(head), json_members(fields), sql.Literal(tail))


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
# Mattermost 11's post-keyed tables its import format has no key for: a post's priority
# (``postspriority``, keys of ``model.PostPriority``) and who acknowledged it (``postacknowledgements``,
# live ones: a removed acknowledgement keeps its row with ``acknowledgedat`` 0). Mattermost's own
# exporter writes neither (``importLineForPost`` in server/channels/app/export_converters.go;
# ``PostImportData`` in server/channels/app/imports/import_types.go has no such key) and its importer
# ignores unknown keys, so mmgov adds them (``priority``, ``acknowledgements``) for completeness, like
# ``delete_at``. The tables exist since Mattermost 7.7; where they do not, the keys are never written.
POST_EXTRA_TABLES = ("postspriority", "postacknowledgements")
PRIORITY_FIELDS = (
    ("priority", "COALESCE(pp.priority, '')", "str"),
    ("requested_ack", "COALESCE(pp.requestedack, false)", "bool"),
    ("persistent_notifications", "COALESCE(pp.persistentnotifications, false)", "bool"),
)
ACKNOWLEDGEMENT_FIELDS = (("user", "u.username", "str"), ("acknowledged_at", "pa.acknowledgedat", "num"))

# The thread key of a post: its root's id (its own for a root), after a section flag ('1' direct).
THREAD_OF = "COALESCE(NULLIF({p}.rootid, ''), {p}.id)"
IS_REPLY = "COALESCE({p}.rootid, '') <> ''"

# Side data rows of the posts (k: r reaction, f flag, a file, t follow; with ``{extras}``: p priority,
# k acknowledgement by time, user), with the order each kind's
# items are listed in (o1, o2, o3): reactions still in place, by users that exist, by time, user,
# emoji; flags and thread follows are private: per person, only the exported people's, by user;
# files by time, id. ``{only}`` restricts the post ids (empty: all).
# Files are a post's live files, as Mattermost's exporter lists them (``buildPostAttachments`` reads
# ``FileInfo().GetForPost(postID, false, false, false)``: no deleted file, server/channels/app/
# export.go): a file a user removed from a live post is not an attachment (it would come back live
# on import). A deleted post (exported by mmgov with its ``delete_at``) keeps the files deleted with
# it: Mattermost and mmgov's retention set their ``deleteat`` when (or just after) the post's, so a
# file deleted before its post was removed from it while the post was live.
_SIDE_ROWS = """
side_rows AS (
    SELECT x.postid, 'r'::"char" AS k, {reaction} AS v, x.createat AS o1, u.username AS o2, x.emojiname AS o3
      FROM reactions x JOIN users u ON u.id = x.userid WHERE COALESCE(x.deleteat, 0) = 0{only_x}
    UNION ALL
    SELECT f.name, 'f', to_json(u.username)::text, 0, u.username, ''
      FROM preferences f JOIN users u ON u.id = f.userid
     WHERE f.category = 'flagged_post' AND f.value = 'true'{only_f}
       AND (%(people)s::text[] IS NULL OR f.userid = ANY(%(people)s::text[]))
    UNION ALL
    SELECT f.postid, 'a', f.path, f.createat, f.id, ''
      FROM fileinfo f WHERE f.postid <> '' AND COALESCE(f.path, '') <> ''{only_a}
       AND (COALESCE(f.deleteat, 0) = 0
            OR EXISTS (SELECT 1 FROM posts dp WHERE dp.id = f.postid AND dp.deleteat > 0
                       AND f.deleteat >= dp.deleteat))
    UNION ALL
    SELECT m.postid, 't', {follower}, 0, u.username, ''
      FROM threadmemberships m JOIN users u ON u.id = m.userid
     WHERE m.following AND (%(people)s::text[] IS NULL OR m.userid = ANY(%(people)s::text[])){only_m}{extras}),"""
_EXTRA_SIDE_ROWS = """
    UNION ALL
    SELECT pp.postid, 'p', {priority}, 0, '', '' FROM postspriority pp WHERE true{only_p}
    UNION ALL
    SELECT pa.postid, 'k', {acknowledgement}, pa.acknowledgedat, u.username, ''
      FROM postacknowledgements pa JOIN users u ON u.id = pa.userid WHERE pa.acknowledgedat > 0{only_k}"""
# ONE sort (post id in byte order, then kind and the kind's own order) feeds plain aggregates, which
# take their input in that order: one hash join on the post stream instead of four.
SORTED_SIDE_ROWS = """(SELECT postid COLLATE "C" AS postid, k, v FROM side_rows
             ORDER BY postid COLLATE "C", k, o1, o2, o3) sorted"""
_SIDE_OF = """
side_of AS (
    SELECT postid,
           string_agg(v, ',') FILTER (WHERE k = 'r') AS reactions,
           string_agg(v, ',') FILTER (WHERE k = 'f') AS flags,
           array_agg(v) FILTER (WHERE k = 'a') AS paths,
           string_agg(v, ',') FILTER (WHERE k = 't') AS followers,
           string_agg(v, ',') FILTER (WHERE k = 'p') AS priority,
           string_agg(v, ',') FILTER (WHERE k = 'k') AS acks
      FROM {sorted}
     GROUP BY postid),"""


def side_rows(*, only: str = "", extras: bool = False) -> sql.Composable:
    """The ``side_rows`` CTE; ``only`` (e.g. ``" AND {col} IN (SELECT id FROM t)"``) restricts post ids;
    ``extras``: with priorities and acknowledgements (see :data:`POST_EXTRA_TABLES`)."""
    extra_rows = sql.SQL(_EXTRA_SIDE_ROWS).format(
        priority=json_object(PRIORITY_FIELDS),
        acknowledgement=json_object(ACKNOWLEDGEMENT_FIELDS),
        only_p=sql.SQL(only.format(col="pp.postid")),
        only_k=sql.SQL(only.format(col="pa.postid")),
    )
    return sql.SQL(_SIDE_ROWS).format(
        reaction=json_object(REACTION_FIELDS),
        follower=json_object(FOLLOWER_FIELDS),
        only_x=sql.SQL(only.format(col="x.postid")),
        only_f=sql.SQL(only.format(col="f.name")),
        only_a=sql.SQL(only.format(col="f.postid")),
        only_m=sql.SQL(only.format(col="m.postid")),
        extras=extra_rows if extras else sql.SQL(""),
    )


def has_post_extras(conn: psycopg.Connection) -> bool:
    """Whether the database has Mattermost's priority and acknowledgement tables (7.7+)."""
    row = conn.execute(
        "SELECT bool_and(to_regclass(t) IS NOT NULL) FROM unnest(%s::text[]) t", (list(POST_EXTRA_TABLES),)
    ).fetchone()
    return bool(row and row[0])


# The exported channels, joined to the posts once (a small hash table): whether direct, the
# '"team":"x","channel":"y",' members a top-level team post starts with (rendered once per channel),
# and the members of a direct/group channel, sorted usernames: a DM's two users come from its name
# (a DM with yourself lists you twice; a deactivated user stays), a GM's from channelmembers.
_CHANNELS = """
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
             WHERE (c.type NOT IN ('D', 'G') AND t.id IS NOT NULL AND {archived})
                OR (c.type IN ('D', 'G'){person_channels})) s)"""
ARCHIVED = "(%(archived)s OR (COALESCE(c.deleteat, 0) = 0 AND COALESCE(t.deleteat, 0) = 0))"


def channels(*, per_person: bool = False) -> sql.Composable:
    """The ``chan`` CTE (parameters: archived, + channels per person)."""
    return sql.SQL(_CHANNELS).format(
        head=json_object(CHANNEL_FIELDS, braces=False),  # '"team":"x","channel":"y",' before the body
        archived=sql.SQL(ARCHIVED),
        person_channels=sql.SQL(" AND c.id = ANY(%(channels)s::text[])" if per_person else ""),
    )


# Both sections in one pass: team-channel posts first, then direct posts, each sorted by thread
# (one text sort key, direct flag first, so the sort compares abbreviated keys). Sorted with raw
# columns and rendered to JSON above the sort, i.e. while streaming. The author id only comes with
# a post whose author is gone (warnings), the channel id with direct posts (members).
_SELECT = """
SELECT s.is_direct, s.skey, s.is_reply, s.id, s.channelid, s.deleteat,
       s.head, {body}, s.reactions, s.flags, s.paths, s.followers, s.members, s.userid, s.priority, s.acks
  FROM (SELECT (CASE WHEN ch.is_direct THEN '1' ELSE '0' END || {thread_of}) COLLATE "C" AS skey,
               ch.is_direct, NULL, {is_reply} AS is_reply, p.id COLLATE "C" AS id,
               CASE WHEN ch.is_direct OR u.username IS NULL THEN p.channelid END AS channelid,
               COALESCE(p.deleteat, 0) AS deleteat, p.createat, p.type, p.message, p.props, p.editat, p.ispinned,
               CASE WHEN u.username IS NULL THEN p.userid END AS userid, u.username,
               ch.head, side_of.reactions, side_of.flags, side_of.paths,
               CASE WHEN NOT {is_reply} THEN side_of.followers END AS followers, ch.members,
               side_of.priority, side_of.acks
          FROM {posts} p JOIN chan ch ON ch.id = p.channelid
          LEFT JOIN users u ON u.id = p.userid
          LEFT JOIN side_of ON side_of.postid = p.id COLLATE "C"
         {where}
         ORDER BY 1, 4, p.createat, 5) s
 {outer_where}
 ORDER BY s.skey, s.is_reply, s.createat, s.id
"""
# The row layout of the thread stream: is_direct, thread key, is_reply, id, channelid, deleteat, head, body,
# reactions, flags, paths, followers, members, author, priority, acknowledgements.
_PERSON_THREADS = (
    "WHERE ch.is_direct OR {thread_of} = ANY(%(roots)s::text[]) OR p.id = ANY(%(orphans)s::text[])"
)
# The posts of given threads (``roots``: thread keys without their section flag), by index.
_THREAD_POSTS = """
thread_posts AS MATERIALIZED (
    SELECT p.* FROM posts p WHERE p.id = ANY(%(roots)s::text[]) AND COALESCE(p.rootid, '') = ''
    UNION ALL
    SELECT p.* FROM posts p WHERE p.rootid = ANY(%(roots)s::text[]) AND p.rootid <> ''),"""


def thread_query(*, per_person: bool = False, keyed: bool = False, extras: bool = False) -> sql.Composed:
    """Posts ordered by thread, for the Python path.

    Parameters: archived, people; per person also roots, orphans, channels; ``keyed``: only the
    threads ``keys`` (section flag + root id; ``roots`` = the same without the flag); ``extras``:
    priorities and acknowledgements (:func:`has_post_extras`).
    """
    thread_of = sql.SQL(THREAD_OF.format(p="p"))
    is_reply = sql.SQL(IS_REPLY.format(p="p"))
    select = sql.SQL(_SELECT).format(
        body=json_object(POST_FIELDS),
        thread_of=thread_of,
        is_reply=is_reply,
        posts=sql.SQL("thread_posts" if keyed else "posts"),
        where=sql.SQL(_PERSON_THREADS).format(thread_of=thread_of) if per_person else sql.SQL(""),
        outer_where=sql.SQL("WHERE s.skey = ANY(%(keys)s::text[])" if keyed else ""),
    )
    side = side_rows(only=" AND {col} IN (SELECT id FROM thread_posts)" if keyed else "", extras=extras)
    side_of = sql.SQL(_SIDE_OF).format(sorted=sql.SQL(SORTED_SIDE_ROWS))
    return sql.SQL("WITH {posts}{side}{side_of}{channels} {select}").format(
        posts=sql.SQL(_THREAD_POSTS if keyed else ""),
        side=side,
        side_of=side_of,
        channels=channels(per_person=per_person),
        select=select,
    )
