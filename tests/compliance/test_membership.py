"""The whole member lists (``MembershipSource``) and the user registry they share with the post lookups.

``MembershipSource`` is the reference ``WindowMembership`` is compared with over random histories in
tests/compliance/test_window_membership.py.
"""

from __future__ import annotations

import pytest

from mmgov.compliance.membership import MembershipSource
from mmgov.compliance.window_membership import WindowMembership
from tests.compliance.builders import Workspace

START, END = 10_000, 20_000  # the window


@pytest.mark.parametrize("source", [MembershipSource, WindowMembership])
def test_members_and_authors_share_one_user_registry(mm_conn, source):
    """A member who is also an author is the author's object (one CSV rendering cache entry), and a
    member seen first is added to the registry the post lookups use (as a bot if it has a bots row)."""
    from mmgov.compliance.post_reader import user_pair

    ws = Workspace(mm_conn)
    team = ws.team("t")
    cid = ws.channel("c", team=team)
    alice, bot = ws.user("alice"), ws.user("helper", bot=True)
    ws.history(cid, alice, 5_000)  # before the window: the history covers it
    ws.history(cid, bot, 12_000)
    registry = {alice: user_pair(alice, "alice", "alice@example.com", 0, False)}
    with mm_conn.transaction(), source(mm_conn, START, END, registry) as members:
        joins = members.activity(START, END, {}, {})[cid].joins
    assert [e.user for e in joins] == [registry[alice][0], registry[bot][0]]
    assert joins[0].user is registry[alice][0]
    assert registry[bot][0] is registry[bot][1]
    assert registry[bot][0].is_bot
