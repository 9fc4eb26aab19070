"""Who was in each channel during a batch, from ``channelmemberhistory`` (with the old-database fallback).

For a batch covering ``[start, end)`` (half-open, like the window), a channel is *active* when it
has posts in the batch or a join/leave inside the range. For each active channel the members are
the history rows with ``jointime < end`` and (``leavetime IS NULL`` or ``leavetime >= start``):

- ``jointime < start``: **previously-joined** (at their real join time);
- ``start <= jointime < end``: **enter**; ``start <= leavetime < end``: **leave**;
- users deactivated before ``start`` are left out (as Mattermost does);
- post authors with no history row get a synthetic previously-joined at ``start``.

An event at exactly ``end`` belongs to the next batch (or the next window), so enter/leave entries
are never repeated across batches; previously-joined entries repeat by design (each batch names
who was present).

Fallback: when ``channelmemberhistory`` has no row at or before the window start (it appeared in
Mattermost 4.5; older installations have no history), the current ``channelmembers`` of each
active channel are taken as present for the whole window (previously-joined at the window start).

A channel's join list is reused (the same list object) from one batch to the next when nothing
changed in between (no join, leave or deactivation): formats may cache what they render from it.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable

import psycopg

from mmgov.compliance.model import ChannelActivity, ChannelInfo, MemberEvent, MemberEventKind, UserInfo

_HISTORY_REACHES = "SELECT EXISTS (SELECT 1 FROM channelmemberhistory WHERE jointime <= %s)"

_WINDOW_EVENTS = """
SELECT channelid, jointime AS t FROM channelmemberhistory WHERE jointime >= %(start)s AND jointime < %(end)s
UNION ALL
SELECT channelid, leavetime AS t FROM channelmemberhistory WHERE leavetime >= %(start)s AND leavetime < %(end)s
"""

# Every history row of the given channels that overlaps the window (cached per channel for all batches).
_MEMBERS_FROM_HISTORY = """
SELECT h.channelid, h.userid, h.jointime, h.leavetime, u.username, u.email, u.deleteat, b.userid IS NOT NULL
FROM channelmemberhistory h
JOIN users u ON u.id = h.userid
LEFT JOIN bots b ON b.userid = h.userid
WHERE h.channelid = ANY(%(channels)s) AND h.jointime < %(end)s AND (h.leavetime IS NULL OR h.leavetime >= %(start)s)
ORDER BY h.channelid, h.jointime, u.email COLLATE "C", h.userid
"""

_MEMBERS_FROM_CURRENT = """
SELECT m.channelid, m.userid, NULL::bigint, NULL::bigint, u.username, u.email, u.deleteat, b.userid IS NOT NULL
FROM channelmembers m
JOIN users u ON u.id = m.userid
LEFT JOIN bots b ON b.userid = m.userid
WHERE m.channelid = ANY(%(channels)s)
ORDER BY m.channelid, u.email COLLATE "C", m.userid
"""

CHANNELS_BY_ID = """
SELECT c.id, c.name, c.displayname, c.type::text, COALESCE(c.teamid, ''), COALESCE(t.name, ''),
       COALESCE(t.displayname, '')
FROM channels c LEFT JOIN teams t ON t.id = c.teamid
WHERE c.id = ANY(%s)
"""


def channel_info_row(row: tuple) -> ChannelInfo:
    cid, name, display, ctype, team_id, team_name, team_display = row
    is_dm = ctype in ("D", "G")
    return ChannelInfo(
        id=cid,
        name=name or "",
        display_name=display or "",
        type=ctype or "",
        team_id="" if is_dm else team_id,
        team_name="" if is_dm else team_name,
        team_display_name="" if is_dm else team_display,
    )


class _Member:
    """One cached history row of a channel (or, in the fallback, one current member: ``join`` None)."""

    __slots__ = ("event", "exit", "join", "leave", "user")

    def __init__(self, user: UserInfo, join: int | None, leave: int | None):
        self.user = user
        self.join = join
        self.leave = leave
        # from this time on the row is no longer listed: it left, or its user was deactivated
        exits = [t for t in (leave, user.delete_at or None) if t is not None]
        self.exit = min(exits) if exits else None
        self.event: MemberEvent | None = None  # its previously-joined event while in the channel's prefix


class _Channel:
    """One channel's membership, advanced batch by batch without revisiting unchanged members.

    ``prefix``: the previously-joined events (no ``left_at``) of the rows with ``join < upto`` still
    listed at ``upto``, in (join time, e-mail, user id) order; ``present``: user id -> how many of
    those rows. A batch ``[start, end)`` is ``prefix`` advanced to ``start`` (rows that joined since
    appended, rows that exited dropped), its leavers given their ``left_at``, then the rows that
    enter inside the range. When nothing of that happens the list is the very same object as the
    previous batch's.
    """

    __slots__ = ("exits", "next_exit", "next_join", "prefix", "present", "rows", "upto")

    def __init__(self, rows: list[_Member]):
        self.rows = rows  # sorted by (join, email, user id); the fallback's joins are None (all first)
        self.exits = sorted((m.exit, i) for i, m in enumerate(rows) if m.exit is not None)
        self.next_join = 0  # rows[:next_join] have been considered for the prefix
        self.next_exit = 0  # exits[:next_exit] have been applied
        self.prefix: list[MemberEvent] = []
        self.present: dict[str, int] = {}
        self.upto: int | None = None

    def _advance(self, start: int, window_start: int) -> None:
        rows, exits = self.rows, self.exits
        gone: list[_Member] = []
        j = self.next_exit
        while j < len(exits) and exits[j][0] < start:
            m = rows[exits[j][1]]
            if m.event is not None:
                gone.append(m)
            j += 1
        self.next_exit = j
        added: list[MemberEvent] = []
        i = self.next_join
        while i < len(rows) and (rows[i].join is None or rows[i].join < start):
            m = rows[i]
            if m.exit is None or m.exit >= start:
                time = window_start if m.join is None else m.join
                m.event = MemberEvent(
                    m.user, MemberEventKind.PREVIOUSLY_JOINED, time, from_current_members=m.join is None
                )
                added.append(m.event)
            i += 1
        self.next_join = i
        self.upto = start
        if not gone and not added:
            return
        present = self.present
        prefix = self.prefix
        if gone:
            drop = {id(m.event) for m in gone}
            prefix = [e for e in prefix if id(e) not in drop]
            for m in gone:
                m.event = None
                n = present[m.user.id] - 1
                if n:
                    present[m.user.id] = n
                else:
                    del present[m.user.id]
        self.prefix = prefix + added if added else prefix  # always a new list: batches keep the old one
        for e in added:
            present[e.user.id] = present.get(e.user.id, 0) + 1

    def during(
        self, start: int, end: int, window_start: int
    ) -> tuple[list[MemberEvent], list[MemberEvent], set[str]]:
        """Joins (sorted by time, e-mail, id), leaves, and the user ids of rows entering in ``[start, end)``."""
        if self.upto is None or start > self.upto:
            self._advance(start, window_start)
        rows, exits = self.rows, self.exits
        # rows of the prefix whose leave is inside the range: listed with their left_at, plus a leave
        changed: dict[int, MemberEvent] = {}
        leaves: list[MemberEvent] = []
        j = self.next_exit
        while j < len(exits) and exits[j][0] < end:
            m = rows[exits[j][1]]
            if m.event is not None and m.leave is not None and m.leave < end:
                changed[id(m.event)] = MemberEvent(
                    m.user, MemberEventKind.PREVIOUSLY_JOINED, m.join, left_at=m.leave
                )
                leaves.append(MemberEvent(m.user, MemberEventKind.LEAVE, m.leave))
            j += 1
        entering: list[MemberEvent] = []
        i = self.next_join
        while i < len(rows) and rows[i].join < end:
            m = rows[i]
            if m.exit is None or m.exit >= start:
                left_at = m.leave if m.leave is not None and m.leave < end else None
                entering.append(MemberEvent(m.user, MemberEventKind.ENTER, m.join, left_at=left_at))
                if left_at is not None:
                    leaves.append(MemberEvent(m.user, MemberEventKind.LEAVE, left_at))
            i += 1
        joins = self.prefix
        if changed:
            joins = [changed.get(id(e), e) for e in joins]
        if entering:
            joins = joins + entering
        if len(leaves) > 1:
            leaves.sort(key=_event_key)
        return joins, leaves, {e.user.id for e in entering}


class MembershipSource:
    """Membership for the batches of one window.

    The window's join/leave times are loaded once; each channel's history rows overlapping the
    window are loaded once, when the channel first becomes active, and advanced batch by batch
    (:class:`_Channel`): a big channel is active in most batches, and rebuilding its member list
    for each batch would dominate the export.
    """

    def __init__(self, conn: psycopg.Connection, window_start: int, window_end: int):
        self.conn = conn
        self.window_start = window_start
        self.window_end = window_end
        self.uses_history = bool(conn.execute(_HISTORY_REACHES, (window_start,)).fetchone()[0])
        # channel id -> sorted event times (joins and leaves) inside the window: small (a day's joins).
        self._events: dict[str, list[int]] = defaultdict(list)
        self._members: dict[str, _Channel] = {}
        self._users: dict[str, UserInfo] = {}  # shared by every channel's rows
        self._channels: dict[str, ChannelInfo] = {}
        if self.uses_history:
            for cid, t in conn.execute(_WINDOW_EVENTS, {"start": window_start, "end": window_end}).fetchall():
                self._events[cid].append(t)
            for times in self._events.values():
                times.sort()

    def channels_with_events(self, start: int, end: int) -> set[str]:
        """Channels with a join or leave in ``[start, end)``."""
        out = set()
        for cid, times in self._events.items():
            i = bisect.bisect_left(times, start)
            if i < len(times) and times[i] < end:
                out.add(cid)
        return out

    def _load(self, channel_ids: list[str]) -> None:
        query = _MEMBERS_FROM_HISTORY if self.uses_history else _MEMBERS_FROM_CURRENT
        rows: dict[str, list[_Member]] = {cid: [] for cid in channel_ids}
        params = {"channels": channel_ids, "start": self.window_start, "end": self.window_end}
        users = self._users
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            while chunk := cur.fetchmany(5000):  # psycopg's rows are released chunk by chunk
                for cid, uid, jointime, leavetime, username, email, deleteat, is_bot in chunk:
                    user = users.get(uid)
                    if user is None:
                        user = users[uid] = UserInfo(
                            uid, username or "", email or "", bool(is_bot), deleteat or 0
                        )
                    rows[cid].append(_Member(user, jointime, leavetime))
        for cid in channel_ids:
            self._members[cid] = _Channel(rows[cid])

    def activity(
        self,
        start: int,
        end: int,
        channels: dict[str, ChannelInfo],
        authors: dict[str, dict[str, UserInfo]],
    ) -> dict[str, ChannelActivity]:
        """Channel id -> membership for a batch ``[start, end)``.

        ``channels``: the channels with posts in the batch (more are added for join/leave activity);
        ``authors``: channel id -> user id -> author, for the synthetic joins.
        """
        active = dict(channels)
        extra = self.channels_with_events(start, end) - set(active)
        unknown = sorted(extra - set(self._channels))
        if unknown:
            for row in self.conn.execute(CHANNELS_BY_ID, (unknown,)).fetchall():
                info = channel_info_row(row)
                self._channels[info.id] = info
        for cid in extra:
            if cid in self._channels:
                active[cid] = self._channels[cid]
        result = {cid: ChannelActivity(info) for cid, info in sorted(active.items())}
        new = [cid for cid in result if cid not in self._members]
        if new:
            self._load(new)
        prev = MemberEventKind.PREVIOUSLY_JOINED
        for cid, act in result.items():
            state = self._members[cid]
            base, leaves, entering = state.during(start, end, self.window_start)
            present = state.present
            synthetic = [
                MemberEvent(user, prev, start, synthetic=True)
                for uid, user in authors.get(cid, {}).items()
                if uid not in present and uid not in entering
            ]
            if synthetic:
                act.joins = sorted([*base, *synthetic], key=_event_key)
            else:
                act.joins = base
            act.leaves = leaves
        return result


def _event_key(e: MemberEvent) -> tuple[int, str, str]:
    return (e.time, e.user.email, e.user.id)


def participants(activity: ChannelActivity) -> Iterable[UserInfo]:
    """Distinct members of a channel activity, in join order."""
    seen: set[str] = set()
    for e in activity.joins:
        if e.user.id not in seen:
            seen.add(e.user.id)
            yield e.user
