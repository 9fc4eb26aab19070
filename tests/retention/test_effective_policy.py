"""Channel > team > global; keep forever shields; DMs follow global or a channel policy; SQL = Python."""

from __future__ import annotations

import random

import pytest

from mmgov.ids import new_id
from mmgov.retention.effective_policy import (
    HOUR_MS,
    PLAN_SQL,
    effective_policy,
    file_cutoff_ms,
    fingerprints,
    plan_params,
)
from tests.retention.builders import NOW, settings

GLOBAL_ON = settings(
    DataRetentionSettings={
        "EnableMessageDeletion": True,
        "MessageRetentionDays": 100,
        "EnableFileDeletion": True,
        "FileRetentionHours": 48,
    }
)
GLOBAL_OFF = settings()


class TestHierarchy:
    def test_channel_beats_team_beats_global(self, conn, ws):
        team = ws.team()
        in_both, team_only, plain = ws.channel(team), ws.channel(team), ws.channel(ws.team())
        tp = ws.policy("team", 30, teams=[team])
        cp = ws.policy("chan", 7, channels=[in_both])
        got = {c: effective_policy(conn, GLOBAL_ON, c) for c in (in_both, team_only, plain)}
        assert (got[in_both].source, got[in_both].policy_id, got[in_both].post_retention_hours) == (
            "channel",
            cp,
            7 * 24,
        )
        assert (got[team_only].source, got[team_only].policy_id, got[team_only].post_retention_hours) == (
            "team",
            tp,
            720,
        )
        assert (got[plain].source, got[plain].policy_id, got[plain].post_retention_hours) == (
            "global",
            None,
            2400,
        )
        assert got[in_both].post_cutoff_ms(NOW) == NOW - 7 * 24 * HOUR_MS

    def test_keep_forever_shields_from_global_messages_and_files(self, conn, ws):
        team = ws.team()
        forever_team, forever_chan = ws.channel(team), ws.channel(ws.team())
        ws.policy("legal", None, teams=[team])
        ws.policy("board", None, channels=[forever_chan])
        for channel in (forever_team, forever_chan):
            got = effective_policy(conn, GLOBAL_ON, channel)
            assert got.keep_forever
            assert got.post_retention_hours is None
            assert got.file_retention_hours is None

    def test_channel_policy_beats_keep_forever_team(self, conn, ws):
        team = ws.team()
        chan = ws.channel(team)
        ws.policy("legal", None, teams=[team])
        ws.policy("short", 3, channels=[chan])
        got = effective_policy(conn, GLOBAL_ON, chan)
        assert (got.source, got.post_retention_hours, got.keep_forever) == ("channel", 72, False)

    def test_direct_and_group_messages_follow_global_or_channel_policy(self, conn, ws):
        dm, gm, dm_policy = ws.channel("", type="D"), ws.channel("", type="G"), ws.channel("", type="D")
        ws.policy("dm", 5, channels=[dm_policy])
        assert effective_policy(conn, GLOBAL_ON, dm).source == "global"
        assert effective_policy(conn, GLOBAL_ON, gm).post_retention_hours == 2400
        assert effective_policy(conn, GLOBAL_ON, dm_policy).post_retention_hours == 120
        assert effective_policy(conn, GLOBAL_OFF, dm).source == "none"

    def test_global_off_keeps_messages_but_granular_policies_apply(self, conn, ws):
        team = ws.team()
        chan, other = ws.channel(team), ws.channel(ws.team())
        ws.policy("team", 30, teams=[team])
        assert effective_policy(conn, GLOBAL_OFF, chan).post_retention_hours == 720
        got = effective_policy(conn, GLOBAL_OFF, other)
        assert (got.source, got.post_retention_hours, got.file_retention_hours) == ("none", None, None)

    def test_message_and_file_retention_are_independent(self, conn, ws):
        chan = ws.channel(ws.team())
        files_only = settings(DataRetentionSettings={"EnableFileDeletion": True, "FileRetentionDays": 2})
        got = effective_policy(conn, files_only, chan)
        assert (got.post_retention_hours, got.file_retention_hours) == (None, 48)
        assert file_cutoff_ms(files_only, NOW) == NOW - 48 * HOUR_MS
        assert file_cutoff_ms(GLOBAL_OFF, NOW) is None

    def test_unknown_channel(self, conn):
        assert effective_policy(conn, GLOBAL_ON, new_id()) is None


@pytest.mark.parametrize("global_settings", [GLOBAL_ON, GLOBAL_OFF], ids=["global-on", "global-off"])
def test_plan_sql_matches_python_resolution(conn, ws, global_settings):
    """The one-statement plan agrees with the per-channel Python resolution on a random workspace."""
    rng = random.Random(5)
    teams = [ws.team() for _ in range(6)]
    channels = [ws.channel(rng.choice([*teams, ""]), type=rng.choice("OPDG")) for _ in range(60)]
    used_teams, used_channels = set(), set()
    for i in range(8):
        pick_t = {t for t in rng.sample(teams, 2) if t not in used_teams}
        pick_c = {c for c in rng.sample(channels, 6) if c not in used_channels}
        used_teams |= pick_t
        used_channels |= pick_c
        ws.policy(f"p{i}", rng.choice([None, 1, 30, 365]), teams=sorted(pick_t), channels=sorted(pick_c))
    run = new_id()
    conn.execute(
        "INSERT INTO mmgov.purge_runs (id, kind, status, created_at, now_ms, fingerprint, plan_hash, plan_doc,"
        " approval_mode) VALUES (%s, 'purge', 'previewed', 0, %s, '', '', '{}', 'never')",
        (run, NOW),
    )
    conn.execute(PLAN_SQL, plan_params(global_settings, run, NOW))
    sql_plan = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT channelid, source, policy_id, post_cutoff_ms, keep_forever FROM mmgov.purge_channels WHERE run_id = %s",
            (run,),
        )
    }
    assert set(sql_plan) == set(channels)
    for channel in channels:
        eff = effective_policy(conn, global_settings, channel)
        assert sql_plan[channel] == (eff.source, eff.policy_id, eff.post_cutoff_ms(NOW), eff.keep_forever), (
            channel
        )


def test_fingerprint_changes_with_policies_settings_and_holds(conn, ws):
    base, plan_hash, _ = fingerprints(conn, GLOBAL_ON)
    assert fingerprints(conn, GLOBAL_ON)[0] == base
    assert fingerprints(conn, GLOBAL_OFF)[0] != base
    pid = ws.policy("p", 30, channels=[ws.channel()])
    with_policy, plan2, _ = fingerprints(conn, GLOBAL_ON)
    assert with_policy != base
    assert plan2 != plan_hash
    conn.execute("UPDATE retentionpolicies SET postduration = 31 WHERE id = %s", (pid,))
    assert fingerprints(conn, GLOBAL_ON)[0] != with_policy
    from mmgov.retention.legal_hold import create_hold

    before_hold, plan_before_hold, _ = fingerprints(conn, GLOBAL_ON)
    create_hold(conn, name="h", scope="team", target_id=ws.team(), actor="a")
    after_hold, plan_after_hold, _ = fingerprints(conn, GLOBAL_ON)
    assert after_hold != before_hold
    assert plan_after_hold == plan_before_hold
