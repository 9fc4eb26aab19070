"""Policies in Mattermost's tables: validation (seed errors), assignments, conflicts, audit events."""

from __future__ import annotations

import psycopg
import pytest

from mmgov import audit
from mmgov.ids import new_id
from mmgov.retention import retention_policy as rp
from mmgov.retention.errors import (
    InvalidChannel,
    InvalidDuration,
    InvalidPolicy,
    InvalidTeam,
    PolicyNotFound,
    ScopeConflict,
)


def _rows(conn: psycopg.Connection) -> tuple[set, set, set]:
    return (
        set(conn.execute("SELECT id, displayname, postduration FROM retentionpolicies").fetchall()),
        set(conn.execute("SELECT policyid, teamid FROM retentionpoliciesteams").fetchall()),
        set(conn.execute("SELECT policyid, channelid FROM retentionpolicieschannels").fetchall()),
    )


class TestCreate:
    def test_stores_in_mattermost_tables_and_emits_event(self, conn, ws):
        team, chan = ws.team(), ws.channel()
        policy = rp.create_policy(
            conn,
            display_name=" Sales 90d ",
            post_duration_days=90,
            team_ids=[team],
            channel_ids=[chan, chan],
            actor="alice",
        )
        assert policy.display_name == "Sales 90d"
        assert _rows(conn) == ({(policy.id, "Sales 90d", 90)}, {(policy.id, team)}, {(policy.id, chan)})
        event = audit.history(conn, event_prefix="retention.")[0]
        assert event["event"] == "retention.policy_created"
        assert event["actor"] == "alice"
        assert event["payload"]["policy_id"] == policy.id
        assert event["payload"]["post_duration_days"] == 90
        assert event["payload"]["scope"] == {"team_ids": [team], "channel_ids": [chan]}
        assert event["payload"]["actor_id"] == "alice"
        assert isinstance(event["payload"]["timestamp"], int)

    def test_keep_forever_is_stored_as_minus_one(self, conn):
        policy = rp.create_policy(conn, display_name="Legal", post_duration_days=None, actor="a")
        assert _rows(conn)[0] == {(policy.id, "Legal", -1)}
        assert rp.get_policy(conn, policy.id).post_duration_days is None
        assert policy.to_dict()["post_duration"] == -1

    @pytest.mark.parametrize(
        "days",
        [0, -1, -30, 1.5, "30", True],
        ids=["zero", "minus1", "negative", "fraction", "string", "bool"],
    )
    def test_invalid_duration(self, conn, days):
        with pytest.raises(InvalidDuration, match="post_duration_days") as info:
            rp.create_policy(conn, display_name="x", post_duration_days=days, actor="a")
        assert info.value.code == "RETENTION_INVALID_DURATION"
        assert info.value.status == 400
        assert _rows(conn) == (set(), set(), set())

    @pytest.mark.parametrize("name", ["", "   ", None, "x" * 65], ids=["empty", "blank", "none", "too-long"])
    def test_display_name_required_and_at_most_64(self, conn, name):
        with pytest.raises(InvalidPolicy, match="display_name"):
            rp.create_policy(conn, display_name=name, post_duration_days=1, actor="a")

    def test_display_name_of_64_is_fine(self, conn):
        assert (
            rp.create_policy(conn, display_name="x" * 64, post_duration_days=1, actor="a").display_name
            == "x" * 64
        )

    def test_unknown_team_and_channel(self, conn, ws):
        team = ws.team()
        missing = new_id()
        with pytest.raises(InvalidTeam, match=missing) as info:
            rp.create_policy(
                conn, display_name="x", post_duration_days=1, team_ids=[team, missing], actor="a"
            )
        assert info.value.code == "RETENTION_INVALID_TEAM"
        assert info.value.status == 400
        with pytest.raises(InvalidChannel, match=missing) as info:
            rp.create_policy(conn, display_name="x", post_duration_days=1, channel_ids=[missing], actor="a")
        assert info.value.code == "RETENTION_INVALID_CHANNEL"
        with pytest.raises(InvalidChannel, match="malformed"):
            rp.create_policy(conn, display_name="x", post_duration_days=1, channel_ids=["nope"], actor="a")
        assert _rows(conn) == (set(), set(), set())

    def test_team_or_channel_in_another_policy_is_a_conflict(self, conn, ws):
        team, chan = ws.team(), ws.channel()
        first = rp.create_policy(
            conn, display_name="a", post_duration_days=1, team_ids=[team], channel_ids=[chan], actor="a"
        )
        before = _rows(conn)
        with pytest.raises(ScopeConflict, match=f"team {team} is in policy {first.id}") as info:
            rp.create_policy(conn, display_name="b", post_duration_days=2, team_ids=[team], actor="a")
        assert info.value.status == 409
        with pytest.raises(ScopeConflict, match=f"channel {chan}"):
            rp.create_policy(conn, display_name="b", post_duration_days=2, channel_ids=[chan], actor="a")
        assert _rows(conn) == before


class TestReadPatchDelete:
    def test_get_missing(self, conn):
        with pytest.raises(PolicyNotFound) as info:
            rp.get_policy(conn, new_id())
        assert (info.value.code, info.value.status) == ("RETENTION_POLICY_NOT_FOUND", 404)

    def test_list_pages_by_name(self, conn):
        made = [
            rp.create_policy(conn, display_name=f"p{i}", post_duration_days=i + 1, actor="a")
            for i in range(5)
        ]
        page0, total = rp.list_policies(conn, page=0, per_page=2)
        page2, _ = rp.list_policies(conn, page=2, per_page=2)
        assert total == 5
        assert [p.id for p in page0] == [made[0].id, made[1].id]
        assert [p.id for p in page2] == [made[4].id]
        with pytest.raises(InvalidPolicy, match="per_page"):
            rp.list_policies(conn, per_page=0)

    def test_patch_changes_fields_and_reports_changed_fields(self, conn, ws):
        t1, t2, c1 = ws.team(), ws.team(), ws.channel()
        policy = rp.create_policy(conn, display_name="a", post_duration_days=30, team_ids=[t1], actor="a")
        after = rp.patch_policy(
            conn,
            policy.id,
            {"post_duration_days": None, "team_ids": [t2], "channel_ids": [c1], "display_name": "a"},
            actor="bob",
        )
        assert (after.post_duration_days, after.team_ids, after.channel_ids) == (None, [t2], [c1])
        assert _rows(conn) == ({(policy.id, "a", -1)}, {(policy.id, t2)}, {(policy.id, c1)})
        event = audit.history(conn, event_prefix="retention.policy_updated")[0]
        assert event["payload"]["changed_fields"] == ["post_duration_days", "team_ids", "channel_ids"]
        assert event["payload"]["before"]["post_duration_days"] == 30
        assert event["payload"]["after"] == {
            "post_duration_days": None,
            "team_ids": [t2],
            "channel_ids": [c1],
        }
        assert event["actor"] == "bob"

    def test_patch_without_change_records_nothing(self, conn):
        policy = rp.create_policy(conn, display_name="a", post_duration_days=30, actor="a")
        rp.patch_policy(conn, policy.id, {"post_duration_days": 30}, actor="a")
        assert audit.history(conn, event_prefix="retention.policy_updated") == []

    def test_patch_validates_like_create(self, conn, ws):
        policy = rp.create_policy(conn, display_name="a", post_duration_days=30, actor="a")
        with pytest.raises(InvalidDuration):
            rp.patch_policy(conn, policy.id, {"post_duration_days": 0}, actor="a")
        with pytest.raises(InvalidTeam):
            rp.patch_policy(conn, policy.id, {"team_ids": [new_id()]}, actor="a")
        with pytest.raises(InvalidPolicy, match="unknown field"):
            rp.patch_policy(conn, policy.id, {"retention": 3}, actor="a")
        with pytest.raises(PolicyNotFound):
            rp.patch_policy(conn, new_id(), {"display_name": "b"}, actor="a")
        assert rp.get_policy(conn, policy.id).post_duration_days == 30

    def test_add_and_remove_scopes(self, conn, ws):
        t1, t2, c1 = ws.team(), ws.team(), ws.channel()
        policy = rp.create_policy(conn, display_name="a", post_duration_days=30, team_ids=[t1], actor="a")
        assert rp.add_scopes(conn, policy.id, team_ids=[t2], channel_ids=[c1], actor="a").team_ids == sorted(
            [t1, t2]
        )
        after = rp.remove_scopes(conn, policy.id, team_ids=[t1], actor="a")
        assert (after.team_ids, after.channel_ids) == ([t2], [c1])

    def test_delete_removes_assignments_in_one_transaction(self, conn, ws):
        team, chan = ws.team(), ws.channel()
        keep = rp.create_policy(
            conn, display_name="keep", post_duration_days=5, channel_ids=[ws.channel()], actor="a"
        )
        policy = rp.create_policy(
            conn, display_name="a", post_duration_days=30, team_ids=[team], channel_ids=[chan], actor="a"
        )
        rp.delete_policy(conn, policy.id, actor="carol")
        policies, teams, channels = _rows(conn)
        assert {p[0] for p in policies} == {keep.id}
        assert teams == set()
        assert {c[0] for c in channels} == {keep.id}
        event = audit.history(conn, event_prefix="retention.policy_deleted")[0]
        assert event["payload"]["policy_id"] == policy.id
        assert event["actor"] == "carol"
        assert event["payload"]["before"]["team_ids"] == [team]
        with pytest.raises(PolicyNotFound):
            rp.delete_policy(conn, policy.id, actor="a")

    def test_delete_rolls_back_entirely_when_audit_fails(self, conn, ws, monkeypatch):
        team = ws.team()
        policy = rp.create_policy(conn, display_name="a", post_duration_days=30, team_ids=[team], actor="a")
        before = _rows(conn)

        def broken(*args, **kwargs):
            raise RuntimeError("audit down")

        monkeypatch.setattr(rp.audit, "record", broken)
        with pytest.raises(RuntimeError, match="audit down"):
            rp.delete_policy(conn, policy.id, actor="a")
        assert _rows(conn) == before


class TestApiFields:
    def test_mattermost_post_duration_alias(self):
        assert (
            rp.policy_fields({"display_name": "a", "post_duration": -1}, partial=False)["post_duration_days"]
            is None
        )
        assert (
            rp.policy_fields({"display_name": "a", "post_duration": 7}, partial=False)["post_duration_days"]
            == 7
        )
        assert rp.policy_fields({"display_name": "a"}, partial=False)["post_duration_days"] is None
        assert rp.policy_fields({"post_duration": 0}, partial=True) == {"post_duration_days": 0}

    @pytest.mark.parametrize(
        ("body", "match"),
        [
            ({"post_duration_days": 3}, "display_name is required"),
            ({"display_name": "a", "post_duration": 3, "post_duration_days": 3}, "not both"),
            ({"display_name": "a", "bogus": 1}, "unknown field"),
            ([1, 2], "JSON object"),
        ],
        ids=["no-name", "both-durations", "unknown", "not-object"],
    )
    def test_refused(self, body, match):
        with pytest.raises(InvalidPolicy, match=match):
            rp.policy_fields(body, partial=False)
