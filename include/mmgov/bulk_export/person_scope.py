"""What a per-person export contains: the people asked for, and the records that belong to them.

GDPR basis: the right of access (Art. 15) covers personal data *concerning* the person; the right
to portability (Art. 20) covers data the person *provided*. Both are limited by the rights of others
(Art. 15(4), 20(4)). mmgov therefore exports, for each person:

* their profile (user line: names, e-mail, position, locale, roles, notification and display
  preferences, custom status, deletion time), team and channel memberships, profile picture;
* the bots they own (bot lines; not the bots' posts), and the custom emoji they created;
* every channel thread they took part in (they wrote the root, a reply, or reacted to a post of
  it), whole: the root and all replies, with reactions and attachments, because a thread is a
  conversation the person was a party to and their replies do not make sense without it;
* every direct and group message channel they belong to, with all its posts (a private
  conversation addressed to them);
* the teams and channels those records live in (names, headers, purposes: needed to place them).

Excluded: posts of channels (their own included) in threads they did not take part in, and
everything of channels they never joined or wrote in. Other people's *private* state is excluded
even where their content is included: only the person's own flags (``flagged_by``), thread
follows, favourites, sidebar visibility and unread counters are exported, never anyone else's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from mmgov.bulk_export.errors import ExportParamError


@dataclass(frozen=True)
class Person:
    """One person whose data is exported."""

    user_id: str
    username: str
    email: str
    is_bot: bool


@dataclass
class PersonScope:
    """Ids of everything a per-person export contains, computed inside the export's snapshot.

    Sizes grow with the people's own activity (their threads and DMs), never with the workspace.
    """

    people: list[Person]
    team_ids: list[str] = field(default_factory=list)
    channel_ids: list[str] = field(default_factory=list)
    thread_root_ids: list[str] = field(default_factory=list)
    direct_channel_ids: list[str] = field(default_factory=list)
    orphan_reply_ids: list[str] = field(default_factory=list)

    @property
    def user_ids(self) -> list[str]:
        return [p.user_id for p in self.people]


# Thread roots the people took part in (posted or reacted), in team channels (``u``: user ids).
THREAD_ROOTS = """
WITH touched AS (
    SELECT CASE WHEN p.rootid = '' THEN p.id ELSE p.rootid END AS root
      FROM posts p WHERE p.userid = ANY(%(u)s)
    UNION
    SELECT CASE WHEN p.rootid = '' THEN p.id ELSE p.rootid END
      FROM reactions r JOIN posts p ON p.id = r.postid
     WHERE r.userid = ANY(%(u)s) AND COALESCE(r.deleteat, 0) = 0
)
SELECT root.id FROM touched
  JOIN posts root ON root.id = touched.root AND root.rootid = ''
  JOIN channels c ON c.id = root.channelid AND c.type NOT IN ('D', 'G')
  JOIN teams t ON t.id = c.teamid
 WHERE %(archived)s OR (COALESCE(c.deleteat, 0) = 0 AND COALESCE(t.deleteat, 0) = 0)
 ORDER BY root.id
"""

# Their replies whose root no longer exists (``ch``/``dch``: their team and direct channel ids).
ORPHAN_REPLIES = """
SELECT p.id FROM posts p
 WHERE p.userid = ANY(%(u)s) AND p.rootid <> ''
   AND NOT EXISTS (SELECT 1 FROM posts r WHERE r.id = p.rootid)
   AND (p.channelid = ANY(%(ch)s) OR p.channelid = ANY(%(dch)s))
 ORDER BY p.id
"""


def resolve_people(conn: psycopg.Connection, identifiers: tuple[str, ...]) -> list[Person]:
    """Match usernames or e-mail addresses (case-insensitive); an unknown one is an error naming it."""
    rows = conn.execute(
        "SELECT u.id, u.username, u.email, b.userid IS NOT NULL FROM users u"
        " LEFT JOIN bots b ON b.userid = u.id"
        " WHERE lower(u.username) = ANY(%(ids)s) OR lower(u.email) = ANY(%(ids)s)",
        {"ids": list(identifiers)},
    ).fetchall()
    people = {r[0]: Person(r[0], r[1], r[2] or "", bool(r[3])) for r in rows}
    known = {p.username.lower() for p in people.values()} | {p.email.lower() for p in people.values()}
    unknown = [i for i in identifiers if i not in known]
    if unknown:
        raise ExportParamError(
            f"users: no Mattermost user has the username or e-mail {', '.join(repr(u) for u in unknown)}"
        )
    return sorted(people.values(), key=lambda p: p.username)


def build_person_scope(
    conn: psycopg.Connection, people: list[Person], *, include_archived: bool
) -> PersonScope:
    """Compute the ids of the records a per-person export contains (see the module docstring)."""
    scope = PersonScope(people=people)
    uids = scope.user_ids
    archived_ok = include_archived
    params = {"u": uids, "archived": archived_ok}

    # Thread roots the people took part in, in team channels (not DMs/GMs: those come whole).
    scope.thread_root_ids = [
        r[0]
        for r in conn.execute(
            THREAD_ROOTS,
            params,
        )
    ]
    # Team channels: where they are members, plus the channels of their threads.
    scope.channel_ids = [
        r[0]
        for r in conn.execute(
            """
        SELECT c.id FROM channels c JOIN teams t ON t.id = c.teamid
         WHERE c.type NOT IN ('D', 'G')
           AND (%(archived)s OR (COALESCE(c.deleteat, 0) = 0 AND COALESCE(t.deleteat, 0) = 0))
           AND (EXISTS (SELECT 1 FROM channelmembers cm WHERE cm.channelid = c.id AND cm.userid = ANY(%(u)s))
                OR c.id IN (SELECT p.channelid FROM posts p WHERE p.id = ANY(%(roots)s)))
         ORDER BY c.id
        """,
            {**params, "roots": scope.thread_root_ids},
        )
    ]
    scope.team_ids = [
        r[0]
        for r in conn.execute(
            """
        SELECT t.id FROM teams t
         WHERE (%(archived)s OR COALESCE(t.deleteat, 0) = 0)
           AND (EXISTS (SELECT 1 FROM teammembers tm WHERE tm.teamid = t.id AND tm.userid = ANY(%(u)s)
                          AND COALESCE(tm.deleteat, 0) = 0)
                OR t.id IN (SELECT c.teamid FROM channels c WHERE c.id = ANY(%(channels)s)))
         ORDER BY t.id
        """,
            {**params, "channels": scope.channel_ids},
        )
    ]
    # Direct and group channels they belong to (a DM's name holds both ids: also found without a member row).
    patterns = [f"{uid}\\_\\_%" for uid in uids] + [f"%\\_\\_{uid}" for uid in uids]
    scope.direct_channel_ids = [
        r[0]
        for r in conn.execute(
            """
        SELECT c.id FROM channels c
         WHERE c.type IN ('D', 'G')
           AND (EXISTS (SELECT 1 FROM channelmembers cm WHERE cm.channelid = c.id AND cm.userid = ANY(%(u)s))
                OR (c.type = 'D' AND c.name LIKE ANY(%(patterns)s)))
         ORDER BY c.id
        """,
            {**params, "patterns": patterns},
        )
    ]
    # Their replies whose root no longer exists (physically removed): exported as top-level posts.
    scope.orphan_reply_ids = [
        r[0]
        for r in conn.execute(
            ORPHAN_REPLIES,
            {**params, "ch": scope.channel_ids, "dch": scope.direct_channel_ids},
        )
    ]
    return scope
