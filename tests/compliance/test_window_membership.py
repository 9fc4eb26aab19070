"""Membership once per window (``WindowMembership``, the CSV's window mode) against whole member
lists (``MembershipSource``), over random histories in PostgreSQL.

The first batch where a channel is active must list everything the whole list holds; later batches
exactly the whole list's events at or after the batch start (entries and synthetic joins); leaves
in every batch. That is what makes the CSV's window mode write each membership row once.
"""

from __future__ import annotations

import gc
import itertools
import random

import psycopg
import pytest

from mmgov.compliance.membership import MembershipSource
from mmgov.compliance.model import ChannelActivity, MemberEvent, UserInfo
from mmgov.compliance.post_reader import CHANNELS_BY_ID, channel_info
from mmgov.compliance.window_membership import WindowMembership
from tests.compliance.builders import Workspace, mmid

START, END = 10_000, 20_000  # the window


def _random_history(ws: Workspace, rng: random.Random, *, fallback: bool) -> tuple[list[str], list[UserInfo]]:
    """Six channels (one a DM) and 40 users (bots, users deactivated before, inside and after the
    window), with history rows joining before and inside the window, leaving inside it or never,
    a user with several rows, a join and leave at one time, a row that leaves before it joins, and
    rows of a user missing from ``users``. ``fallback``: no history reaches the window start, the
    current ``channelmembers`` count instead (the history inside the window is then ignored)."""
    team = ws.team("t")
    users: list[UserInfo] = []
    for i in range(40):
        delete_at = rng.choice([0] * 6 + [5_000, rng.randrange(START, END), 30_000])
        email = f"{rng.random():.4f}@x"  # random e-mails: their order is the sort order
        uid = ws.user(f"u{i}", email=email, bot=i % 13 == 0, delete_at=delete_at)
        users.append(UserInfo(uid, f"u{i}", email, i % 13 == 0, delete_at))
    ghost = mmid("ghost")  # in the history, not in users
    channels = [
        ws.channel(f"c{c}", team=None if c == 5 else team, ctype="D" if c == 5 else "O") for c in range(6)
    ]
    for cid in channels:
        rows: set[tuple[str, int]] = set()
        for _ in range(45):
            uid = rng.choice(users).id
            join = rng.choice([rng.randrange(0, START), rng.randrange(START, END)])
            if fallback:
                join = rng.randrange(START + 1, END)
            leave = rng.choice([None, None, join + rng.randrange(1, 4_000), join])
            if (uid, join) not in rows:
                rows.add((uid, join))
                ws.history(cid, uid, join, leave)
        for uid, join, leave in ((users[0].id, 12_000, 11_000), (ghost, 11_500, 13_000)):
            if (uid, join) not in rows:
                ws.history(cid, uid, join, leave)
        if fallback:
            for user in rng.sample(users, 15):
                ws.member(cid, user.id)
    return channels, users


def _batches(rng: random.Random) -> list[tuple[int, int]]:
    """Batches tiling the window, a few of them empty (posts sharing their last update time)."""
    cuts = sorted(rng.randrange(START, END) for _ in range(30))
    cuts += rng.sample(cuts, 3)  # repeated cut: a batch [t, t)
    bounds = [START, *sorted(cuts), END]
    return list(itertools.pairwise(bounds))


def _as_tuples(events: list[MemberEvent]) -> list[tuple]:
    return [(e.user.id, e.kind, e.time, e.left_at, e.synthetic, e.from_current_members) for e in events]


def _compare(conn: psycopg.Connection, seed: int, *, fallback: bool) -> dict[str, int]:
    """Run both sources over the same random batches; returns what the comparison covered."""
    ws = Workspace(conn)
    rng = random.Random(seed)
    channel_ids, users = _random_history(ws, rng, fallback=fallback)
    stranger = UserInfo(mmid("stranger"), "stranger", "s@x")  # an author with no membership at all
    infos = {row[0]: channel_info(*row) for row in conn.execute(CHANNELS_BY_ID, (channel_ids,))}
    covered = dict.fromkeys(("first", "later_joins", "later_synthetic", "leaves", "synthetic", "batches"), 0)
    with conn.transaction():
        whole = MembershipSource(conn, START, END)
        assert whole.uses_history is not fallback
        with WindowMembership(conn, START, END) as once:
            seen: set[str] = set()
            for start, end in _batches(rng):
                posted = rng.sample(channel_ids, rng.randrange(0, 4))
                channels = {cid: infos[cid] for cid in posted}
                authors = {cid: {u.id: u for u in rng.sample([*users, stranger], 5)} for cid in posted}
                full = whole.activity(start, end, channels, authors)
                light = once.activity(start, end, channels, authors)
                assert list(light) == list(full), (start, end)
                for cid, act in light.items():
                    expected: ChannelActivity = full[cid]
                    assert act.channel == expected.channel
                    if cid in seen:
                        later = [e for e in expected.joins if e.time >= start]
                        assert _as_tuples(act.joins) == _as_tuples(later), (start, end, cid)
                        covered["later_joins"] += len(act.joins)
                        covered["later_synthetic"] += sum(e.synthetic for e in act.joins)
                    else:
                        seen.add(cid)
                        assert _as_tuples(act.joins) == _as_tuples(expected.joins), (start, end, cid)
                        covered["first"] += len(act.joins)
                    assert _as_tuples(act.leaves) == _as_tuples(expected.leaves), (start, end, cid)
                    covered["leaves"] += len(act.leaves)
                    covered["synthetic"] += sum(e.synthetic for e in act.joins)
                covered["batches"] += 1
    return covered


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_window_membership_lists_what_the_whole_lists_add(mm_conn, seed):
    covered = _compare(mm_conn, seed, fallback=False)
    # the random data did exercise every kind of entry
    assert covered["first"] > 20
    assert covered["later_joins"] > 50
    assert covered["leaves"] > 20
    assert covered["synthetic"] > 10
    assert covered["batches"] == 34


def test_window_membership_in_the_current_members_fallback(mm_conn):
    covered = _compare(mm_conn, 4, fallback=True)
    assert covered["first"] > 20
    assert covered["later_joins"] == covered["later_synthetic"] > 10  # no entries: authors missing
    assert covered["synthetic"] > 10
    assert covered["leaves"] == 0


def test_window_membership_keeps_who_is_present_and_no_event(mm_conn):
    """The memory claim: between batches no event object is kept, and the state is one small number
    per row present at the batch end (not per history row or event of the window)."""
    ws = Workspace(mm_conn)
    rng = random.Random(5)
    channel_ids, _users = _random_history(ws, rng, fallback=False)

    def live_events() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is MemberEvent)

    before = live_events()
    handed_out = 0
    with mm_conn.transaction(), WindowMembership(mm_conn, START, END) as once:
        for start, end in _batches(rng):
            out = once.activity(start, end, {}, {})
            handed_out += sum(len(a.joins) + len(a.leaves) for a in out.values())
            del out
            assert live_events() == before
            present = mm_conn.execute(
                "SELECT count(*) FROM channelmemberhistory h JOIN users u ON u.id = h.userid"
                " WHERE h.channelid = ANY(%s) AND h.jointime < %s AND (h.leavetime IS NULL OR h.leavetime >= %s)",
                (list(once._present), end, end),
            ).fetchone()[0]
            assert sum(len(numbers) for numbers in once._present.values()) == present, (start, end)
        rows = mm_conn.execute("SELECT count(*) FROM channelmemberhistory").fetchone()[0]
        assert sum(len(numbers) for numbers in once._present.values()) < rows
    assert handed_out > 100
    assert set(once._present) == set(channel_ids)  # every channel had events: all were tracked
