"""mmgov.names: what a person types resolves to Mattermost ids, and ids read back as names.

The CLI's use of these names end to end is tests/retention/test_cli_names.py. Mattermost stores
usernames and e-mails lower-case (``model.NormalizeUsername``/``NormalizeEmail`` in
server/public/model/user.go); ``teams.name`` and ``channels (name, teamid)`` are unique.
"""

from __future__ import annotations

import psycopg
import pytest

from mmgov.errors import MmgovError
from mmgov.names import (
    MAX_GROUP_NAMES,
    channel_ids,
    channel_labels,
    channel_paths,
    search_channels,
    search_teams,
    search_users,
    team_ids,
    team_labels,
    user_ids,
    user_labels,
)
from tests.retention.builders import Workspace


class Unknown(MmgovError):
    code = "TEST_UNKNOWN"


@pytest.fixture
def ws(mm_conn: psycopg.Connection) -> Workspace:
    return Workspace(mm_conn)


def _members(conn: psycopg.Connection, channel_id: str, user_ids_: list[str]) -> None:
    for uid in user_ids_:
        conn.execute(
            "INSERT INTO channelmembers (channelid, userid, roles, lastviewedat, msgcount, mentioncount,"
            " notifyprops, lastupdateat) VALUES (%s, %s, '', 0, 0, 0, '{}', 0)",
            (channel_id, uid),
        )


def test_users_by_id_username_with_or_without_at_and_email(ws):
    alice, bob = ws.user("alice"), ws.user("bob")
    got = user_ids(ws.conn, [alice, "@BOB", " alice@example.com ", "", "alice"], Unknown)
    assert got == [alice, bob]  # each once, in the order first given; blanks ignored


def test_unknown_names_are_all_named_with_what_to_give(ws):
    ws.user("alice")
    with pytest.raises(Unknown, match=r"no such user: 'carol', '@dave'; give a user id, username or e-mail"):
        user_ids(ws.conn, ["alice", "carol", "@dave"], Unknown)
    with pytest.raises(Unknown, match=r"no such team: 'nope'; give a team id or the team's name"):
        team_ids(ws.conn, ["nope"], Unknown)
    with pytest.raises(Unknown, match=r"no such channel: 'sales/nope'"):
        channel_ids(ws.conn, ["sales/nope"], Unknown)


def test_teams_and_channels_by_id_or_url_name(ws):
    sales, support = ws.team("sales"), ws.team("support")
    town = ws.channel(sales, name="town-square")
    other_town = ws.channel(support, name="town-square")
    assert team_ids(ws.conn, ["Sales", support], Unknown) == [sales, support]
    assert channel_ids(ws.conn, ["sales/town-square", other_town], Unknown) == [town, other_town]
    # A channel's name alone is ambiguous across teams: it is not accepted.
    with pytest.raises(Unknown, match="no such channel: 'town-square'"):
        channel_ids(ws.conn, ["town-square"], Unknown)


def test_labels_for_team_channels_direct_and_group_messages(ws):
    sales = ws.team("sales")
    town = ws.channel(sales, name="town-square")
    users = [ws.user(f"user{i:02d}") for i in range(MAX_GROUP_NAMES + 2)]
    direct = ws.channel(type="D", name="dm")
    group = ws.channel(type="G", name="gm")
    empty = ws.channel(type="G", name="gm-empty")
    _members(ws.conn, direct, users[:2])
    _members(ws.conn, group, users)
    labels = channel_labels(ws.conn, [town, direct, group, empty, ""])
    assert labels[town] == "sales / town-square"
    assert labels[direct] == "Direct message: user00, user01"
    shown = ", ".join(f"user{i:02d}" for i in range(MAX_GROUP_NAMES))
    assert labels[group] == f"Group message: {shown} +2"
    assert labels[empty] == "Group message: (no members left)"
    assert channel_paths(ws.conn, [town, direct]) == {town: "sales/town-square"}


def test_team_and_user_labels(ws):
    sales = ws.team("sales")
    ws.conn.execute("UPDATE teams SET displayname = 'Sales EMEA' WHERE id = %s", (sales,))
    plain = ws.team("ops")
    alice = ws.user("alice")
    assert team_labels(ws.conn, [sales, plain]) == {sales: "Sales EMEA (sales)", plain: "ops"}
    assert user_labels(ws.conn, [alice]) == {alice: "@alice"}


def test_searches_match_prefixes_case_insensitively_and_escape_wildcards(ws):
    sales, support = ws.team("sales"), ws.team("support")
    ws.channel(sales, name="town-square")
    ws.channel(support, name="town-hall")
    ws.channel(sales, type="D", name="town-dm")  # direct messages are not offered
    ws.user("alice")
    ws.user("a_b")
    ws.user("axb")
    assert [t["name"] for t in search_teams(ws.conn, "S")] == ["sales", "support"]
    assert [c["path"] for c in search_channels(ws.conn, "town")] == ["sales/town-square", "support/town-hall"]
    assert [c["path"] for c in search_channels(ws.conn, "support/TOWN")] == ["support/town-hall"]
    assert [u["username"] for u in search_users(ws.conn, "@A")] == ["a_b", "alice", "axb"]
    assert [u["username"] for u in search_users(ws.conn, "a_")] == ["a_b"]  # "_" is not a wildcard
    assert len(search_users(ws.conn, "a", limit=2)) == 2
