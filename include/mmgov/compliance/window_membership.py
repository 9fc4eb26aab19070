"""Membership written once per window (the CSV's window mode): joins and leaves streamed in time order.

The rules are :mod:`mmgov.compliance.membership`'s; what a batch hands out differs. The first batch
where a channel is active lists its members present at the batch start (previously-joined, from
``channelmemberhistory`` rows with ``jointime < start`` and no leave before it, or the current
``channelmembers`` in the fallback); every batch lists the members who enter or leave inside it
and the synthetic joins of its authors. A membership row is thus written once per window.

The window's joins and leaves come from one server-side cursor in time order (like the file
rows), a batch's worth at a time: a join or leave makes its channel active in the batch of its
time, and batches tile the window, so each event is taken exactly when its batch needs it. Between
batches the state is, per channel, who is present (a sorted array of small user numbers, 4 bytes a
member), for the synthetic joins: not one row per history row or event of the window.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator

import psycopg

from mmgov.compliance.membership import (
    MEMBERS_FROM_CURRENT,
    MEMBERS_FROM_HISTORY,
    Authors,
    ChannelMembership,
    Channels,
    event_key,
)
from mmgov.compliance.model import ChannelActivity, MemberEvent, MemberEventKind, UserInfo

# The window's joins and leaves, in time order (joins of one time by e-mail and user id, the order
# of the history rows). ``u.id IS NOT NULL``: an event of a user missing from ``users`` still makes
# its channel active but lists nobody (as the whole-list source does).
_EVENTS_IN_WINDOW = """
SELECT e.t, e.leaving, e.channelid, e.userid, e.jointime, e.leavetime, u.id IS NOT NULL, u.username,
       u.email, u.deleteat, b.userid IS NOT NULL
FROM (
    SELECT jointime AS t, false AS leaving, channelid, userid, jointime, leavetime
    FROM channelmemberhistory WHERE jointime >= %(start)s AND jointime < %(end)s
    UNION ALL
    SELECT leavetime, true, channelid, userid, jointime, leavetime
    FROM channelmemberhistory WHERE leavetime >= %(start)s AND leavetime < %(end)s
) e
LEFT JOIN users u ON u.id = e.userid
LEFT JOIN bots b ON b.userid = e.userid
ORDER BY e.t, e.leaving, u.email COLLATE "C", e.userid
"""

_PREVIOUSLY_JOINED = MemberEventKind.PREVIOUSLY_JOINED


class _Events:
    """The window's join and leave rows, handed out by batch end (rows with a time before it)."""

    CHUNK = 500  # rows per fetch: only the current chunk's rows are alive

    def __init__(self, cur: psycopg.ServerCursor | None):
        self.cur = cur
        self.rows: list[tuple] = []
        self.pos = 0

    def until(self, end: int) -> Iterator[tuple]:
        """The rows with a time before ``end`` not handed out yet, one at a time."""
        while self.cur is not None:
            if self.pos == len(self.rows):
                self.rows, self.pos = self.cur.fetchmany(self.CHUNK), 0
                if not self.rows:
                    self.cur = None  # closed by WindowMembership.close
                continue
            row = self.rows[self.pos]
            if row[0] >= end:
                return
            self.pos += 1
            yield row


def _listed(user: UserInfo, at: int) -> bool:
    """Whether ``user`` is listed in a batch starting at ``at`` (not deactivated before it)."""
    return not 0 < user.delete_at < at


class WindowMembership(ChannelMembership):
    """Membership for the batches of one window, each row once (see the module docstring).

    Use as a context manager (or :meth:`close`): the event cursor stays open for the window.
    """

    def _open(self) -> None:
        # channel id -> the user numbers of its present rows, sorted (one per row: a user with two
        # overlapping rows is there twice); a channel is here from its first active batch on.
        self._present: dict[str, array] = {}
        self._number: dict[str, int] = {}  # user id -> its small number in ``_present``
        self._cursor: psycopg.ServerCursor | None = None
        if self.uses_history:
            self._cursor = self.conn.cursor(name="mmgov_membership_stream")
            self._cursor.execute(_EVENTS_IN_WINDOW, {"start": self.window_start, "end": self.window_end})
        self._events = _Events(self._cursor)

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    def _numbered(self, uid: str) -> int:
        number = self._number.get(uid)
        if number is None:
            number = self._number[uid] = len(self._number)
        return number

    def _first_members(self, channel_ids: list[str], start: int, end: int) -> dict[str, list[MemberEvent]]:
        """Start tracking ``channel_ids``: their members present at ``start`` (previously-joined,
        ``left_at`` when they leave before ``end``), and who is present."""
        out: dict[str, list[MemberEvent]] = {cid: [] for cid in channel_ids}
        numbers: dict[str, list[int]] = {cid: [] for cid in channel_ids}
        history = self.uses_history
        # the rows overlapping the empty range [start, start): those present at ``start``
        query = MEMBERS_FROM_HISTORY if history else MEMBERS_FROM_CURRENT
        params = {"channels": channel_ids, "start": start, "end": start}
        with self.conn.cursor(name="mmgov_membership_rows") as cur:
            cur.execute(query, params)
            while chunk := cur.fetchmany(5000):
                for cid, uid, jointime, leavetime, username, email, deleteat, is_bot in chunk:
                    user = self._user(uid, username, email, deleteat, is_bot)
                    numbers[cid].append(self._numbered(uid))
                    if not _listed(user, start):
                        continue
                    if history:
                        left_at = leavetime if leavetime is not None and leavetime < end else None
                        out[cid].append(MemberEvent(user, _PREVIOUSLY_JOINED, jointime, left_at=left_at))
                    else:  # the current-members fallback: present from the window start
                        out[cid].append(
                            MemberEvent(
                                user, _PREVIOUSLY_JOINED, self.window_start, from_current_members=True
                            )
                        )
        for cid, nums in numbers.items():
            self._present[cid] = array("i", sorted(nums))
        return out

    def _is_present(self, cid: str, user: UserInfo, start: int) -> bool:
        """Whether a row of ``user`` is present in channel ``cid`` at ``start`` and the user is listed."""
        number = self._number.get(user.id)
        if number is None or not _listed(user, start):
            return False
        present = self._present[cid]
        i = bisect.bisect_left(present, number)
        return i < len(present) and present[i] == number

    def activity(
        self, start: int, end: int, channels: Channels, authors: Authors
    ) -> dict[str, ChannelActivity]:
        # per channel with events: (entering, leaves) in the stream's order
        events: dict[str, tuple[list[MemberEvent], list[MemberEvent]]] = {}
        joined: list[tuple[str, int]] = []
        left: list[tuple[str, int]] = []
        rows = self._events.until(end)  # streamed: a batch may hold most of the window's events
        for t, leaving, cid, uid, jointime, leavetime, known, username, email, deleteat, is_bot in rows:
            entering, leaves = events.get(cid) or events.setdefault(cid, ([], []))
            if not known:
                continue
            user = self._user(uid, username, email, deleteat, is_bot)
            number = self._numbered(uid)
            listed = _listed(user, start)
            # a row that leaves before it joins (broken history) is never present, as in
            # MembershipSource: listed only while both its events fall in one batch
            backwards = leavetime is not None and leavetime < jointime
            if leaving:
                if not backwards:
                    left.append((cid, number))
                if listed and jointime < end:
                    leaves.append(MemberEvent(user, MemberEventKind.LEAVE, t))
            else:
                if not backwards:
                    joined.append((cid, number))
                if listed and (leavetime is None or leavetime >= start):
                    left_at = leavetime if leavetime is not None and leavetime < end else None
                    entering.append(MemberEvent(user, MemberEventKind.ENTER, t, left_at=left_at))
        result = self._activities(channels, events)
        new = [cid for cid in result if cid not in self._present]
        first = self._first_members(new, start, end) if new else {}
        for cid, act in result.items():
            entering, leaves = events.get(cid, ([], []))
            joins = first.get(cid, [])
            if entering:
                joins = joins + entering if joins else entering
            entering_ids = {e.user.id for e in entering}
            synthetic = [
                MemberEvent(user, _PREVIOUSLY_JOINED, start, synthetic=True)
                for uid, user in authors.get(cid, {}).items()
                if uid not in entering_ids and not self._is_present(cid, user, start)
            ]
            act.joins = sorted([*joins, *synthetic], key=event_key) if synthetic else joins
            if len(leaves) > 1:
                leaves.sort(key=event_key)
            act.leaves = leaves
        # who is present at ``end``: every join of the batch, then every leave (a leave always
        # follows its own row's join, so this order leaves the same multiset as time order)
        for cid, number in joined:
            bisect.insort(self._present[cid], number)
        for cid, number in left:
            present = self._present[cid]
            i = bisect.bisect_left(present, number)
            if i < len(present) and present[i] == number:
                del present[i]
        return result
