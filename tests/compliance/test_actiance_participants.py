"""Actiance participants: the rule (reference_participants) by example, and the incremental engine
(ParticipantBlocks) held to the rule over generated membership histories, batch after batch.

The element and its order follow Mattermost's actiance_export.go (``ParticipantEntered`` /
``ParticipantLeft``, ``LoginName``, ``UserType``, ``DateTimeUTC``, ``CorporateEmailID``), see the
document tests in test_actiance_format.py.
"""

from __future__ import annotations

import random
from array import array

import pytest
from lxml import etree

from mmgov.compliance.actiance_participants import (
    ENTERED,
    LEFT,
    ParticipantBlocks,
    Presence,
    participant_element,
    reference_blocks,
    reference_participants,
)
from mmgov.compliance.membership import _NO_LEAVE, _Channel, event_key
from mmgov.compliance.model import (
    ChannelActivity,
    ChannelInfo,
    MemberEvent,
    MemberEventKind,
    MembersDelta,
    UserInfo,
)

INFO = ChannelInfo("c", "n", "d", "O", "t", "tn", "td")
PREV, ENTER = MemberEventKind.PREVIOUSLY_JOINED, MemberEventKind.ENTER


class TestRule:
    def test_entered_in_member_order_left_by_time_then_closing_by_email_and_id(self):
        zed, amy, bob = (
            UserInfo("u1", "zed", "z@x"),
            UserInfo("u2", "amy", "a@x"),
            UserInfo("u3", "bob", "b@x"),
        )
        amy2 = UserInfo("u0", "amy2", "a@x")  # same e-mail, lower id: first among the closing leaves
        joins = [
            MemberEvent(zed, PREV, 5),
            MemberEvent(amy, PREV, 7, left_at=40),
            MemberEvent(bob, ENTER, 20, left_at=30),
            MemberEvent(amy2, ENTER, 25, left_at=100),  # at the batch end: a closing leave
            MemberEvent(amy, ENTER, 50),  # amy again: rejoined
        ]
        entered, left = reference_participants(joins, 100)
        assert entered == [
            Presence(zed, 5),
            Presence(amy, 7),
            Presence(bob, 20),
            Presence(amy2, 25),
            Presence(amy, 50),
        ]
        assert left == [
            Presence(bob, 30),
            Presence(amy, 40),
            Presence(amy2, 100),
            Presence(amy, 100),
            Presence(zed, 100),
        ]

    def test_equal_keys_keep_the_members_order(self):
        """Two objects of one user (a bot flag from a post): a stable sort, as the members come."""
        user, bot = UserInfo("u", "n", "e@x"), UserInfo("u", "n", "e@x", is_bot=True)
        for first, second in ((user, bot), (bot, user)):
            joins = [MemberEvent(first, PREV, 1), MemberEvent(second, ENTER, 2)]
            assert [p.user for p in reference_participants(joins, 9).left] == [first, second]

    def test_element_as_mattermost_writes_it(self):
        user = UserInfo("u", "n", "a<b>&c@x", is_bot=True)
        element = participant_element(LEFT, user, 42)
        assert element == (
            "\n    <ParticipantLeft>\n      <LoginName>a&lt;b&gt;&amp;c@x</LoginName>\n      <UserType>bot</UserType>"
            "\n      <DateTimeUTC>42</DateTimeUTC>\n      <CorporateEmailID>a&lt;b&gt;&amp;c@x</CorporateEmailID>"
            "\n    </ParticipantLeft>"
        )
        parsed = etree.fromstring(element)
        assert [(c.tag, c.text) for c in parsed] == [
            ("LoginName", "a<b>&c@x"),
            ("UserType", "bot"),
            ("DateTimeUTC", "42"),
            ("CorporateEmailID", "a<b>&c@x"),
        ]

    def test_blocks_render_the_rule(self):
        users = [UserInfo("u1", "n", ""), UserInfo("u2", "m", "b@x")]  # a user without e-mail sorts first
        joins = [MemberEvent(users[1], PREV, 3), MemberEvent(users[0], ENTER, 4)]
        entered, left = reference_blocks(joins, 9)
        assert (
            entered
            == (
                participant_element(ENTERED, users[1], 3) + participant_element(ENTERED, users[0], 4)
            ).encode()
        )
        assert (
            left == (participant_element(LEFT, users[0], 9) + participant_element(LEFT, users[1], 9)).encode()
        )


def _engine_blocks(
    engine: ParticipantBlocks, cid: str, activity: ChannelActivity, end: int
) -> tuple[bytes, bytes]:
    entered, left = engine.channel_blocks(cid, activity, end)
    return b"".join(entered), b"".join(left)


def _users(rng: random.Random, count: int) -> list[UserInfo]:
    """Users with random e-mails (their order), one in ten deactivated at 4000, bots, some without e-mail,
    e-mails XML escapes (``&``, ``<``)."""
    out = []
    for i in range(count):
        email = rng.choice([f"{rng.random():.5f}@x", f"{rng.random():.3f}&<@x", ""])
        out.append(
            UserInfo(f"u{i}", f"n{i}", email, is_bot=i % 7 == 0, delete_at=rng.choice([0] * 9 + [4000]))
        )
    return out


def _history_rows(rng: random.Random, users: list[UserInfo], count: int) -> list[tuple[int, UserInfo, int]]:
    """``(join, user, leave)`` history rows: joined at 0 or within 10 s, a third leaving; some joins and
    leaves exactly on a batch boundary (multiples of 250)."""
    rows = []
    for _ in range(count):
        join = rng.choice([0, rng.randrange(10_000), 250 * rng.randrange(40)])
        leave = rng.choice([_NO_LEAVE, _NO_LEAVE, join + rng.randrange(1, 3000), 250 * (join // 250 + 1)])
        rows.append((join, rng.choice(users), leave))
    return rows


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_engine_equals_the_rule_on_the_membership_source(seed):
    """Member lists from the real membership state machine (joins, leaves, rejoins, deactivations,
    events on batch boundaries, a user with several rows, late users sorting between earlier ones,
    a channel skipping batches so its kept lists are dropped, the user cache dropped): every batch of
    every channel equals the rule, and the channels take the incremental path."""
    rng = random.Random(seed)
    users = _users(rng, 70)
    late = [UserInfo(f"v{i}", "v", "a@x" + "\x01" * (80 - i)) for i in range(80)]  # each sorts below the last
    channels = {}
    for c in range(4):
        rows = _history_rows(rng, users, 120)
        if c == 0:
            rows += [(5000 + 50 * i, user, _NO_LEAVE) for i, user in enumerate(late)]
        rows += [
            (100, users[0], 200),
            (150, users[0], _NO_LEAVE),
            (300, users[0], 600),
        ]  # one user, three rows
        rows.sort(key=lambda r: (r[0], r[1].email, r[1].id))
        users_of = [r[1] for r in rows]
        channels[f"c{c}"] = _Channel(
            users_of, array("q", [r[0] for r in rows]), array("q", [r[2] for r in rows])
        )
    engine = ParticipantBlocks()
    engine.MAX_USERS = 140  # the users' elements are dropped once more users than that were seen
    incremental = 0
    for batch in range(40):
        start, end = 250 * batch, 250 * (batch + 1)
        for cid, state in channels.items():
            if cid == "c3" and batch % 3 == 1:
                continue  # not active in this batch: its kept lists are dropped
            joins, leaves, _, leaving = state.during(start, end, 0)
            activity = ChannelActivity(INFO, joins, leaves, state.delta(leaving))
            assert leaves == sorted(leaves, key=event_key)
            assert _engine_blocks(engine, cid, activity, end) == reference_blocks(joins, end), (batch, cid)
            incremental += cid in engine._next_present
        engine.next_batch()
    assert incremental == 4 * 40 - 13


def _random_deltas(rng: random.Random, users: list[UserInfo], batches: int):
    """A channel's activities built by hand, batch after batch, as the membership source builds them:
    the prefix loses some members and gains some (a new list object, ``parent`` the old one) or stays
    the same object; some members leave inside the batch; some enter (a few of them leaving too)."""
    prefix: list[MemberEvent] = []
    for batch in range(batches):
        start, end = 100 * batch, 100 * (batch + 1)
        parent, removed, appended = prefix, (), 0
        if rng.random() < 0.6:
            removed = tuple(sorted(rng.sample(range(len(prefix)), rng.randrange(min(3, len(prefix)) + 1))))
            kept = [e for i, e in enumerate(prefix) if i not in removed]
            added = [
                MemberEvent(rng.choice(users), PREV, start - rng.randrange(1, 50))
                for _ in range(rng.randrange(4))
            ]
            prefix, appended = kept + added, len(added)
        leaving = tuple(sorted(rng.sample(range(len(prefix)), rng.randrange(min(2, len(prefix)) + 1))))
        joins = list(prefix)
        leaves = []
        for i in leaving:
            e = prefix[i]
            t = start + rng.randrange(100)
            joins[i] = MemberEvent(e.user, PREV, e.time, left_at=t)
            leaves.append(MemberEvent(e.user, MemberEventKind.LEAVE, t))
        for _ in range(rng.randrange(3)):
            left_at = rng.choice([None, None, start + 60])
            joins.append(MemberEvent(rng.choice(users), ENTER, start + 50, left_at=left_at))
            if left_at is not None:
                leaves.append(MemberEvent(joins[-1].user, MemberEventKind.LEAVE, left_at))
        leaves.sort(key=event_key)
        yield (
            ChannelActivity(INFO, joins, leaves, MembersDelta(prefix, parent, removed, appended, leaving)),
            end,
        )


@pytest.mark.parametrize("twins", [False, True], ids=["distinct-users", "twin-user-objects"])
def test_engine_equals_the_rule_on_generated_deltas(twins):
    """Hand-built deltas, with members sharing one e-mail, and (``twins``) two objects of one user with
    different bot flags, whose closing leaves the engine cannot order from its kept lists: those
    channels fall back to the rule, and every batch still equals it."""
    rng = random.Random(5)
    users = [UserInfo(f"u{i}", f"n{i}", rng.choice(["same@x", f"{i % 9}@x", ""])) for i in range(30)]
    if twins:
        users += [UserInfo(u.id, u.username, u.email, is_bot=True) for u in users[:5]]
    engine = ParticipantBlocks()
    fallbacks = 0
    for activity, end in _random_deltas(rng, users, 200):
        assert _engine_blocks(engine, "c", activity, end) == reference_blocks(activity.joins, end)
        fallbacks += "c" not in engine._next_present
        engine.next_batch()
    assert (fallbacks > 0) is twins


def test_without_delta_the_rule_renders_the_channel():
    """Synthetic joins of post authors come without a delta: the channel is the rule's, and no list is kept."""
    users = [UserInfo(f"u{i}", "n", f"{'zyx'[i]}@x") for i in range(3)]
    joins = [MemberEvent(u, PREV, 100 + i, synthetic=i == 2) for i, u in enumerate(users)]
    engine = ParticipantBlocks()
    assert _engine_blocks(engine, "c", ChannelActivity(INFO, joins), 500) == reference_blocks(joins, 500)
    assert not engine._next_present


def test_user_elements_are_bounded_between_batches():
    engine = ParticipantBlocks()
    engine.MAX_USERS = 3
    users = [UserInfo(f"u{i}", "n", f"{'qwertyuiop'[i]}@x") for i in range(8)]
    for batch in range(3):
        prefix = [MemberEvent(u, PREV, batch) for u in users[batch : batch + 6]]
        activity = ChannelActivity(INFO, prefix, [], MembersDelta(prefix, None, (), len(prefix), ()))
        assert _engine_blocks(engine, "c", activity, 99) == reference_blocks(prefix, 99)
        engine.next_batch()
        assert len(engine._users) <= 3
