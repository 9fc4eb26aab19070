"""The membership state machine (``membership._Channel``) with and without member lists.

No database: the rows are what ``MembershipSource._load`` hands to each channel (sorted by join
time, e-mail, user id). The end-to-end checks against PostgreSQL are in the format tests.
"""

from __future__ import annotations

import gc
import random
from array import array

from mmgov.compliance.membership import _NO_LEAVE, _Channel
from mmgov.compliance.model import MemberEvent, UserInfo


def random_users(rng: random.Random, count: int) -> list[UserInfo]:
    """Users with random e-mails (their sort order); one in ten deactivated at 4000."""
    return [
        UserInfo(f"u{i}", f"n{i}", f"{rng.random():.5f}@x", delete_at=rng.choice([0] * 9 + [4000]))
        for i in range(count)
    ]


def random_history_rows(rng: random.Random, users: list[UserInfo], count: int) -> list[tuple]:
    """``(join, user, leave)`` history rows: joined at 0 or within 10 s, a third of them leaving."""
    rows = []
    for _ in range(count):
        join = rng.choice([0, rng.randrange(10_000)])
        leave = rng.choice([_NO_LEAVE, _NO_LEAVE, join + rng.randrange(1, 3000)])
        rows.append((join, rng.choice(users), leave))
    return rows


def _channels(seed: int, *, lists: bool, fallback: bool = False) -> dict[str, _Channel]:
    """Four channels of random history rows: joins before and inside the window, leaves, users
    deactivated mid-window, a user with two rows and one with two rows at the same time."""
    rng = random.Random(seed)
    users = random_users(rng, 60)
    out = {}
    for c in range(4):
        rows = random_history_rows(rng, users, 90)
        rows.append((100, users[0], 200))  # one user, two rows
        rows.append((150, users[0], _NO_LEAVE))
        rows.append((300, users[1], _NO_LEAVE))  # the same row twice (duplicated history)
        rows.append((300, users[1], _NO_LEAVE))
        rows.sort(key=lambda r: (r[0], r[1].email, r[1].id))
        members = [r[1] for r in rows]
        if fallback:  # current channelmembers: no history columns
            out[f"c{c}"] = _Channel(members, None, None, lists=lists)
        else:
            out[f"c{c}"] = _Channel(
                members, array("q", [r[0] for r in rows]), array("q", [r[2] for r in rows]), lists=lists
            )
    return out


def _as_tuples(events: list[MemberEvent]) -> list[tuple]:
    return [(e.user.id, e.kind, e.time, e.left_at, e.synthetic, e.from_current_members) for e in events]


def _batches(skip_every: int = 3):
    """40 batches of 250 ms; channel c3 is inactive in every third one."""
    for batch in range(40):
        start, end = 250 * batch, 250 * (batch + 1)
        for cid in ("c0", "c1", "c2", "c3"):
            if cid == "c3" and batch % skip_every == 1:
                continue
            yield batch, cid, start, end


def test_without_member_lists_a_channel_gives_its_members_once_then_only_new_joins():
    """``lists=False`` (the CSV's window mode): the first batch where a channel is active lists
    everything the full list holds (with ``left_at``); later batches only the joins inside the
    batch, which are exactly the full list's events at or after the batch start. Leaves, the
    entering users and who is present (for synthetic joins) are the same as with lists."""
    for fallback in (False, True):
        full, light = (
            _channels(7, lists=True, fallback=fallback),
            _channels(7, lists=False, fallback=fallback),
        )
        seen: set[str] = set()
        later_joins = leaves = 0
        outcomes: set[bool] = set()
        for batch, cid, start, end in _batches():
            f_joins, f_leaves, f_entering, _ = full[cid].during(start, end, 0)
            l_joins, l_leaves, l_entering, l_leaving = light[cid].during(start, end, 0)
            if cid not in seen:
                seen.add(cid)
                assert _as_tuples(l_joins) == _as_tuples(f_joins), (batch, cid)
                assert l_joins, (batch, cid)
            else:
                assert _as_tuples(l_joins) == _as_tuples([e for e in f_joins if e.time >= start]), (
                    batch,
                    cid,
                )
                later_joins += len(l_joins)
            leaves += len(l_leaves)
            assert _as_tuples(l_leaves) == _as_tuples(f_leaves), (batch, cid)
            assert l_entering == f_entering
            assert l_leaving == ()
            # who counts as present (no synthetic join): a user with a row in the prefix
            in_prefix = {e.user.id for e in full[cid].prefix}
            for uid in {u.id for u in full[cid].users} | {"nobody"}:
                present = uid in in_prefix
                assert light[cid].is_present(uid) == full[cid].is_present(uid) == present, (batch, cid, uid)
                outcomes.add(present)
        # the data did exercise joins and leaves after each channel's first batch (the fallback
        # has neither: its members are present for the whole window)
        assert (later_joins > 50 and leaves > 50) if not fallback else (later_joins == leaves == 0)
        assert outcomes == {True, False}


def test_without_member_lists_no_member_event_outlives_its_batch():
    """The memory claim: a channel without lists keeps no event object between batches (a few
    machine words per history row), while the one with lists keeps one per present member."""

    def live_events() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is MemberEvent)

    before = live_events()
    light, full = _channels(3, lists=False), _channels(3, lists=True)
    handed_out = 0
    for _batch, cid, start, end in _batches():
        out = light[cid].during(start, end, 0)
        handed_out += len(out[0]) + len(out[1])
        del out
    assert handed_out > 200
    assert live_events() == before
    for _batch, cid, start, end in _batches():
        out = full[cid].during(start, end, 0)
        del out
    kept = live_events() - before
    present = sum(sum(state.in_prefix) for state in full.values())
    assert kept >= present > 0
    assert all(state.prefix == [] and state.events == [] for state in light.values())
