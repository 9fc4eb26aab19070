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

This module's :class:`MembershipSource` hands out whole member lists (Actiance, Global Relay, the
CSV's batch mode). A format that writes each membership row once per window (the CSV's window
mode) uses :class:`mmgov.compliance.window_membership.WindowMembership` instead, which streams the
window's joins and leaves in time order and keeps only who is present.

Over 400 lines on purpose: the per-channel state machine (:class:`_Channel`) and the source that
drives it batch by batch are one invariant (the prefix of present members and its deltas) and are
read together.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable
from enum import Enum

import psycopg

from mmgov.compliance.model import (
    ChannelActivity,
    ChannelInfo,
    MemberEvent,
    MemberEventKind,
    MembersDelta,
    UserInfo,
)
from mmgov.compliance.post_reader import CHANNELS_BY_ID, channel_info, user_pair


class MemberListing(Enum):
    """How a format writes a channel's membership: the member lists the extractor hands it."""

    # every batch's ChannelActivity.joins lists every member present (Actiance, Global Relay and
    # the CSV's batch mode name all participants of each batch): MembershipSource
    EVERY_BATCH = "batch"
    # each membership row once per window: a channel's present members come only in the first batch
    # where it is active, later batches hold only new joins; WindowMembership keeps only who is
    # present between batches (memory stays flat on big workspaces)
    ONCE_PER_WINDOW = "window"


_HISTORY_REACHES = "SELECT EXISTS (SELECT 1 FROM channelmemberhistory WHERE jointime <= %s)"

# Per channel, the sorted join and leave times inside the window: one row (an array) per channel, so
# that neither libpq nor Python ever holds one row per event (1M posts: 102k events, 844 rows).
_WINDOW_EVENTS = """
SELECT channelid, array_agg(t ORDER BY t) FROM (
    SELECT channelid, jointime AS t FROM channelmemberhistory WHERE jointime >= %(start)s AND jointime < %(end)s
    UNION ALL
    SELECT channelid, leavetime AS t FROM channelmemberhistory WHERE leavetime >= %(start)s AND leavetime < %(end)s
) e GROUP BY channelid
"""

# Every history row of the given channels that overlaps [start, end) (the whole list source caches the
# window's per channel; the window-mode source asks for those present at a batch start, start = end).
MEMBERS_FROM_HISTORY = """
SELECT h.channelid, h.userid, h.jointime, h.leavetime, u.username, u.email, u.deleteat, b.userid IS NOT NULL
FROM channelmemberhistory h
JOIN users u ON u.id = h.userid
LEFT JOIN bots b ON b.userid = h.userid
WHERE h.channelid = ANY(%(channels)s) AND h.jointime < %(end)s AND (h.leavetime IS NULL OR h.leavetime >= %(start)s)
ORDER BY h.channelid, h.jointime, u.email COLLATE "C", h.userid
"""

# The current-members fallback: each channel's current members, by e-mail and user id.
MEMBERS_FROM_CURRENT = """
SELECT m.channelid, m.userid, NULL::bigint, NULL::bigint, u.username, u.email, u.deleteat, b.userid IS NOT NULL
FROM channelmembers m
JOIN users u ON u.id = m.userid
LEFT JOIN bots b ON b.userid = m.userid
WHERE m.channelid = ANY(%(channels)s)
ORDER BY m.channelid, u.email COLLATE "C", m.userid
"""

_NO_LEAVE = -1  # leavetime NULL in the leaves array (real leave times are >= the window start >= 0)


class _Channel:
    """One channel's membership, advanced batch by batch without revisiting unchanged members.

    The channel's history rows (sorted by join time, e-mail, user id) are kept column-wise: ``users``,
    ``joins`` and ``leaves`` (``array('q')``; ``joins`` is None in the current-members fallback,
    where every row is present from the window start), ``exit_times`` / ``exit_rows``: from when each
    row is no longer listed (it left, or its user was deactivated), sorted. A row has a
    :class:`MemberEvent` (``events[i]``) only while it is in the prefix, so memory is a few machine
    words per history row plus one event per present member.

    ``in_prefix[i]``: row ``i`` has ``join < upto`` and is still listed at ``upto``. ``prefix``: the
    previously-joined events (no ``left_at``) of those rows, in row order, and ``prefix_rows`` their
    row indices (ascending, so a row's place in ``prefix`` is a bisection: changes copy the list and
    touch only those places); :meth:`is_present` looks a user up among them (``ids``: the rows'
    user ids, sorted, and ``id_rows`` the row of each: a bisection, no per-member object). A batch
    ``[start, end)`` is ``prefix`` advanced to ``start`` (rows that joined since appended, rows that
    exited dropped), its leavers given their ``left_at``, then the rows that enter inside the range.
    When nothing of that happens the list is the very same object as the previous batch's.
    """

    __slots__ = (
        "appended",
        "events",
        "exit_rows",
        "exit_times",
        "id_rows",
        "ids",
        "in_prefix",
        "joins",
        "leaves",
        "next_exit",
        "next_join",
        "parent",
        "prefix",
        "prefix_rows",
        "removed",
        "upto",
        "users",
    )

    def __init__(self, users: list[UserInfo], joins: array | None, leaves: array | None):
        self.users = users
        self.joins = joins
        self.leaves = leaves
        exits = sorted((t, i) for i in range(len(users)) if (t := self._exit(i)) is not None)
        self.exit_times = array("q", [t for t, _ in exits])
        self.exit_rows = array("q", [i for _, i in exits])
        self.in_prefix = bytearray(len(users))
        by_id = sorted(range(len(users)), key=lambda i: users[i].id)
        self.ids = [users[i].id for i in by_id]
        self.id_rows = array("l", by_id)
        self.events: list[MemberEvent | None] = [None] * len(users)
        self.next_join = 0  # rows[:next_join] have been considered for the prefix
        self.next_exit = 0  # exits[:next_exit] have been applied
        self.prefix: list[MemberEvent] = []
        self.prefix_rows = array("q")
        # how ``prefix`` was derived from the one before it (see MembersDelta)
        self.parent: list[MemberEvent] | None = None
        self.removed: tuple[int, ...] = ()
        self.appended = 0
        self.upto: int | None = None

    def _leave(self, i: int) -> int | None:
        if self.leaves is None:
            return None
        t = self.leaves[i]
        return None if t == _NO_LEAVE else t

    def _exit(self, i: int) -> int | None:
        """When row ``i`` stops being listed: the earlier of its leave and its user's deactivation."""
        leave = self._leave(i)
        deactivated = self.users[i].delete_at or None
        if leave is None:
            return deactivated
        return leave if deactivated is None else min(leave, deactivated)

    def _advance(self, start: int, window_start: int) -> None:
        users, joins, events, in_prefix = self.users, self.joins, self.events, self.in_prefix
        exit_times, exit_rows = self.exit_times, self.exit_rows
        gone: list[int] = []
        j = self.next_exit
        while j < len(exit_times) and exit_times[j] < start:
            if in_prefix[exit_rows[j]]:
                gone.append(exit_rows[j])
            j += 1
        self.next_exit = j
        added: list[MemberEvent] = []
        added_rows: list[int] = []
        i = self.next_join
        n = len(users)
        while i < n and (joins is None or joins[i] < start):
            ex = self._exit(i)
            if ex is None or ex >= start:
                in_prefix[i] = 1
                added_rows.append(i)
                e = events[i] = self._previously_joined(i, window_start)
                added.append(e)
            i += 1
        self.next_join = i
        self.upto = start
        if not gone and not added_rows:
            return
        for i in gone:
            in_prefix[i] = 0
        prefix, prefix_rows = self.prefix, self.prefix_rows
        self.parent, self.removed, self.appended = prefix, (), len(added)
        if gone:
            self.removed = tuple(sorted(_place(prefix_rows, i) for i in gone))
            prefix, prefix_rows = _without_rows(prefix, prefix_rows, self.removed)
            for i in gone:
                events[i] = None
        self.prefix = prefix + added if added else prefix  # always a new list: batches keep the old one
        self.prefix_rows = prefix_rows + array("q", added_rows) if added else prefix_rows

    def during(
        self, start: int, end: int, window_start: int
    ) -> tuple[list[MemberEvent], list[MemberEvent], set[str], tuple[int, ...]]:
        """Joins (sorted by time, e-mail, id), leaves, the user ids of rows entering in ``[start, end)``
        and the positions in ``prefix`` of the members leaving in it."""
        if self.upto is None or start > self.upto:
            self._advance(start, window_start)
        users, joins, in_prefix = self.users, self.joins, self.in_prefix
        exit_times, exit_rows = self.exit_times, self.exit_rows
        # rows of the prefix whose leave is inside the range: listed with their left_at, plus a leave
        leaving_at: dict[int, int] = {}  # row index -> its leave time
        leaves: list[MemberEvent] = []
        j = self.next_exit
        while j < len(exit_times) and exit_times[j] < end:
            i = exit_rows[j]
            leave = self._leave(i)
            if in_prefix[i] and leave is not None and leave < end:
                leaving_at[i] = leave
                leaves.append(MemberEvent(users[i], MemberEventKind.LEAVE, leave))
            j += 1
        entering: list[MemberEvent] = []
        i = self.next_join
        n = len(users) if joins is not None else 0
        while i < n and joins[i] < end:
            ex = self._exit(i)
            if ex is None or ex >= start:
                leave = self._leave(i)
                left_at = leave if leave is not None and leave < end else None
                entering.append(MemberEvent(users[i], MemberEventKind.ENTER, joins[i], left_at=left_at))
                if left_at is not None:
                    leaves.append(MemberEvent(users[i], MemberEventKind.LEAVE, left_at))
            i += 1
        leaving: list[int] = []
        joins_out = self.prefix
        if leaving_at:
            joins_out = joins_out.copy()
            rows, events = self.prefix_rows, self.events
            for i, leave in leaving_at.items():
                pos = _place(rows, i)
                joins_out[pos] = MemberEvent(
                    users[i], MemberEventKind.PREVIOUSLY_JOINED, events[i].time, left_at=leave
                )
                leaving.append(pos)
            leaving.sort()
        if entering:
            joins_out = joins_out + entering
        if len(leaves) > 1:
            leaves.sort(key=event_key)
        return joins_out, leaves, {e.user.id for e in entering}, tuple(leaving)

    def is_present(self, uid: str) -> bool:
        """Whether a row of user ``uid`` is in the prefix (listed at ``upto``)."""
        ids, in_prefix, id_rows = self.ids, self.in_prefix, self.id_rows
        j = bisect.bisect_left(ids, uid)
        while j < len(ids) and ids[j] == uid:
            if in_prefix[id_rows[j]]:
                return True
            j += 1
        return False

    def _previously_joined(self, i: int, window_start: int) -> MemberEvent:
        """Row ``i`` as a previously-joined event (at the window start in the current-members fallback)."""
        joins = self.joins
        time = window_start if joins is None else joins[i]
        return MemberEvent(
            self.users[i], MemberEventKind.PREVIOUSLY_JOINED, time, from_current_members=joins is None
        )

    def delta(self, leaving: tuple[int, ...]) -> MembersDelta:
        """How the joins :meth:`during` gave derive from the previous prefix (``leaving``: its fourth value)."""
        return MembersDelta(self.prefix, self.parent, self.removed, self.appended, leaving)


def _place(rows: array, i: int) -> int:
    """The position of row ``i`` in an ascending array of row indices that holds it."""
    pos = bisect.bisect_left(rows, i)
    if pos == len(rows) or rows[pos] != i:  # pragma: no cover - the prefix always holds a row it lists
        raise RuntimeError(f"membership row {i} is not in the channel's prefix")
    return pos


def _without_rows(
    prefix: list[MemberEvent], rows: array, cuts: tuple[int, ...]
) -> tuple[list[MemberEvent], array]:
    """``prefix`` and its row indices without the positions ``cuts`` (ascending; new objects: slices
    between them)."""
    events: list[MemberEvent] = []
    kept = array("q")
    last = 0
    for pos in cuts:
        events += prefix[last:pos]
        kept += rows[last:pos]
        last = pos + 1
    events += prefix[last:]
    kept += rows[last:]
    return events, kept


Channels = dict[str, ChannelInfo]  # a batch's channels by id
Authors = dict[str, dict[str, UserInfo]]  # a batch's post authors: channel id -> user id -> user


class ChannelMembership:
    """What both membership sources share: the window, whether ``channelmemberhistory`` covers it,
    the users met in membership rows, and the channels active by membership events alone."""

    def __init__(
        self,
        conn: psycopg.Connection,
        window_start: int,
        window_end: int,
        users: dict[str | None, tuple[UserInfo, UserInfo]] | None = None,
    ):
        """``users``: the window's user registry (:attr:`mmgov.compliance.post_reader.Lookups.users`),
        so that a member who also posts is one object (and one cached CSV rendering)."""
        self.conn = conn
        self.window_start = window_start
        self.window_end = window_end
        self.uses_history = bool(conn.execute(_HISTORY_REACHES, (window_start,)).fetchone()[0])
        self._users = {} if users is None else users
        self._channels: dict[str, ChannelInfo] = {}
        self._open()

    def _open(self) -> None:
        """Set up the source's own state (called at the end of ``__init__``)."""

    def _user(
        self, uid: str, username: str | None, email: str | None, deleteat: int | None, is_bot: bool
    ) -> UserInfo:
        """The member ``uid`` (a ``bots`` row makes it a bot), from the registry or added to it."""
        pair = self._users.get(uid)
        if pair is None:
            pair = self._users[uid] = user_pair(uid, username, email, deleteat or 0, bool(is_bot))
        return pair[0]

    def _activities(
        self, channels: dict[str, ChannelInfo], with_events: Iterable[str]
    ) -> dict[str, ChannelActivity]:
        """An empty activity per channel of ``channels`` and of ``with_events`` (sorted by channel id)."""
        active = dict(channels)
        extra = set(with_events) - set(active)
        unknown = sorted(extra - set(self._channels))
        if unknown:
            for row in self.conn.execute(CHANNELS_BY_ID, (unknown,)).fetchall():
                if row[1] is not None:  # a channel without its channels row is left out
                    self._channels[row[0]] = channel_info(*row)
        for cid in extra:
            if cid in self._channels:
                active[cid] = self._channels[cid]
        return {cid: ChannelActivity(info) for cid, info in sorted(active.items())}

    def close(self) -> None:
        """Release what the source holds open (nothing here)."""

    def __enter__(self) -> ChannelMembership:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def activity(
        self, start: int, end: int, channels: Channels, authors: Authors
    ) -> dict[str, ChannelActivity]:
        """Channel id -> membership for a batch ``[start, end)``; batches come in order and tile the window.

        ``channels``: the channels with posts in the batch (more are added for join/leave activity);
        ``authors``: channel id -> user id -> author, for the synthetic joins.
        """
        raise NotImplementedError


class MembershipSource(ChannelMembership):
    """Whole member lists for the batches of one window.

    The window's join/leave times are loaded once; each channel's history rows overlapping the
    window are loaded once, when the channel first becomes active, and advanced batch by batch
    (:class:`_Channel`): a big channel is active in most batches, and rebuilding its member list
    for each batch would dominate the export.
    """

    def _open(self) -> None:
        # channel id -> sorted event times (joins and leaves) inside the window, 8 bytes each.
        self._events: dict[str, array] = {}
        self._members: dict[str, _Channel] = {}
        if self.uses_history:
            with self.conn.cursor(name="mmgov_membership_events") as cur:  # server-side: a chunk at a time
                cur.execute(_WINDOW_EVENTS, {"start": self.window_start, "end": self.window_end})
                while chunk := cur.fetchmany(100):
                    for cid, times in chunk:
                        self._events[cid] = array("q", times)

    def channels_with_events(self, start: int, end: int) -> set[str]:
        """Channels with a join or leave in ``[start, end)``."""
        out = set()
        for cid, times in self._events.items():
            i = bisect.bisect_left(times, start)
            if i < len(times) and times[i] < end:
                out.add(cid)
        return out

    def _load(self, channel_ids: list[str]) -> None:
        history = self.uses_history
        query = MEMBERS_FROM_HISTORY if history else MEMBERS_FROM_CURRENT
        # per channel: its rows' users, join times and leave times (arrays: no int object is kept)
        rows: dict[str, tuple[list[UserInfo], array, array]] = {
            cid: ([], array("q"), array("q")) for cid in channel_ids
        }
        params = {"channels": channel_ids, "start": self.window_start, "end": self.window_end}
        # server-side: libpq holds one chunk of rows, not all the history rows of the new channels
        with self.conn.cursor(name="mmgov_membership_rows") as cur:
            cur.execute(query, params)
            while chunk := cur.fetchmany(5000):
                for cid, uid, jointime, leavetime, username, email, deleteat, is_bot in chunk:
                    members, joins, leaves = rows[cid]
                    members.append(self._user(uid, username, email, deleteat, is_bot))
                    if history:
                        joins.append(jointime)
                        leaves.append(_NO_LEAVE if leavetime is None else leavetime)
        for cid in channel_ids:
            members, joins, leaves = rows.pop(cid)
            if history:
                self._members[cid] = _Channel(members, joins, leaves)
            else:  # the current-members fallback: present from the window start, no times
                self._members[cid] = _Channel(members, None, None)

    def activity(
        self, start: int, end: int, channels: Channels, authors: Authors
    ) -> dict[str, ChannelActivity]:
        result = self._activities(channels, self.channels_with_events(start, end))
        new = [cid for cid in result if cid not in self._members]
        if new:
            self._load(new)
        prev = MemberEventKind.PREVIOUSLY_JOINED
        for cid, act in result.items():
            state = self._members[cid]
            base, leaves, entering, leaving = state.during(start, end, self.window_start)
            synthetic = [
                MemberEvent(user, prev, start, synthetic=True)
                for uid, user in authors.get(cid, {}).items()
                if uid not in entering and not state.is_present(uid)
            ]
            if synthetic:
                act.joins = sorted([*base, *synthetic], key=event_key)
            else:
                act.joins = base
                act.delta = state.delta(leaving)
            act.leaves = leaves
        return result


def event_key(e: MemberEvent) -> tuple[int, str, str]:
    """The order of a channel's joins and of its leaves: (time, e-mail, user id)."""
    return (e.time, e.user.email, e.user.id)
