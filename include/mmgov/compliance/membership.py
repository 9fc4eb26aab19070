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
    """One cached membership row of a channel, with the events built from it (reused across batches).

    Events are memoized in fixed slots (no per-row dict: a big workspace caches ~100k rows).
    """

    __slots__ = ("_enter", "_enter_left", "_leave", "_prev", "_prev_left", "join", "leave", "user")

    def __init__(self, user: UserInfo, join: int | None, leave: int | None):
        self.user = user
        self.join = join
        self.leave = leave
        self._prev = self._prev_left = self._enter = self._enter_left = self._leave = None

    def _new(self, kind: MemberEventKind, time: int, left_at: int | None) -> MemberEvent:
        return MemberEvent(self.user, kind, time, left_at=left_at, from_current_members=self.join is None)

    def previously_joined(self, time: int, left_at: int | None) -> MemberEvent:
        if left_at is None:
            ev = self._prev
            if ev is None:
                ev = self._prev = self._new(MemberEventKind.PREVIOUSLY_JOINED, time, None)
        else:
            ev = self._prev_left
            if ev is None:
                ev = self._prev_left = self._new(MemberEventKind.PREVIOUSLY_JOINED, time, left_at)
        return ev

    def entered(self, time: int, left_at: int | None) -> MemberEvent:
        if left_at is None:
            ev = self._enter
            if ev is None:
                ev = self._enter = self._new(MemberEventKind.ENTER, time, None)
        else:
            ev = self._enter_left
            if ev is None:
                ev = self._enter_left = self._new(MemberEventKind.ENTER, time, left_at)
        return ev

    def left(self, time: int) -> MemberEvent:
        ev = self._leave
        if ev is None:
            ev = self._leave = self._new(MemberEventKind.LEAVE, time, None)
        return ev


class MembershipSource:
    """Membership for the batches of one window.

    The window's join/leave times are loaded once; each channel's history rows overlapping the
    window are loaded once, when the channel first becomes active, and filtered per batch in
    memory (a big channel is active in most batches: querying and rebuilding its members for each
    batch would dominate the export).
    """

    def __init__(self, conn: psycopg.Connection, window_start: int, window_end: int):
        self.conn = conn
        self.window_start = window_start
        self.window_end = window_end
        self.uses_history = bool(conn.execute(_HISTORY_REACHES, (window_start,)).fetchone()[0])
        # channel id -> sorted event times (joins and leaves) inside the window: small (a day's joins).
        self._events: dict[str, list[int]] = defaultdict(list)
        self._members: dict[str, list[_Member]] = {}
        self._users: dict[str, UserInfo] = {}  # shared by every channel's rows
        self._channels: dict[str, ChannelInfo] = {}
        # channel id -> sorted times inside the window when its membership changes (join, leave, deactivation)
        self._changes: dict[str, list[int]] = {}
        # channel id -> (range start it was computed for, joins) when those were all previously-joined
        self._reuse: dict[str, tuple[int, list[MemberEvent]]] = {}
        # channel id -> (its last joins list, the ids of those users)
        self._present: dict[str, tuple[list[MemberEvent], set[str]]] = {}
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
        for cid in channel_ids:
            self._members[cid] = []
        params = {"channels": channel_ids, "start": self.window_start, "end": self.window_end}
        users = self._users
        for cid, uid, jointime, leavetime, username, email, deleteat, is_bot in self.conn.execute(
            query, params
        ).fetchall():
            user = users.get(uid)
            if user is None:
                user = users[uid] = UserInfo(uid, username or "", email or "", bool(is_bot), deleteat or 0)
            self._members[cid].append(_Member(user, jointime, leavetime))
        for cid in channel_ids:
            times = list(self._events.get(cid, ()))
            times.extend(
                m.user.delete_at
                for m in self._members[cid]
                if self.window_start <= m.user.delete_at < self.window_end
            )
            self._changes[cid] = sorted(times)

    def _unchanged(self, cid: str, since: int, end: int) -> bool:
        times = self._changes.get(cid, ())
        i = bisect.bisect_left(times, since)
        return i >= len(times) or times[i] >= end

    def _members_during(self, cid: str, start: int, end: int) -> tuple[list[MemberEvent], list[MemberEvent]]:
        """Joins (sorted by time, e-mail) and leaves of a channel's cached history rows for ``[start, end)``."""
        joins: list[MemberEvent] = []
        leaves: list[MemberEvent] = []
        window_start = self.window_start
        for m in self._members[cid]:
            if 0 < m.user.delete_at < start:
                continue
            join = m.join
            if join is None:  # fallback: current members, present for the whole window
                joins.append(m.previously_joined(window_start, None))
                continue
            if join >= end:
                break  # rows are sorted by join time
            leave = m.leave
            if leave is not None and leave < start:
                continue
            left_at = leave if leave is not None and leave < end else None
            joins.append(m.previously_joined(join, left_at) if join < start else m.entered(join, left_at))
            if left_at is not None:
                leaves.append(m.left(left_at))
        if len(leaves) > 1:
            leaves.sort(key=_event_key)
        return joins, leaves

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
            by_author = authors.get(cid, {})
            cached = self._reuse.get(cid)
            if cached is not None and self._unchanged(cid, cached[0], end):
                base, leaves = cached[1], []  # nothing changed since: the same list object as last time
            else:
                base, leaves = self._members_during(cid, start, end)
                if not leaves and all(e.kind is prev for e in base):
                    self._reuse[cid] = (start, base)
                else:
                    self._reuse.pop(cid, None)
            known = self._present.get(cid)
            if known is None or known[0] is not base:
                known = self._present[cid] = (base, {e.user.id for e in base})
            present = known[1]
            synthetic = [
                MemberEvent(user, prev, start, synthetic=True)
                for uid, user in by_author.items()
                if uid not in present
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
