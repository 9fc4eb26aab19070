"""Granular data-retention policies (Mattermost's ``retentionpolicies*`` tables).

Three policies exercise the resolution order: a 30-day policy on a team and on one channel, a
keep-forever policy (``postduration = -1``) that shields channels (one of them inside the 30-day
team, one a group message), and a one-year policy on another team.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mmgov_dev.synth.copy_loader import esc
from mmgov_dev.synth.model import Workspace

POLICY_COLUMNS = ("id", "displayname", "postduration")
POLICY_TEAM_COLUMNS = ("policyid", "teamid")
POLICY_CHANNEL_COLUMNS = ("policyid", "channelid")


@dataclass
class Policies:
    """Rows of the three retention tables, and the policy ids by role."""

    ids: dict[str, str]
    policy_lines: list[str] = field(default_factory=list)
    team_lines: list[str] = field(default_factory=list)
    channel_lines: list[str] = field(default_factory=list)


def build_policies(ws: Workspace, new_id: Callable[[], str]) -> Policies:
    """Policies with team and channel assignments (each team or channel in at most one policy)."""
    h, teams = ws.handles, ws.teams
    last = teams[-1]
    other_public = next(
        (c.id for c in ws.channels if c.team is last and c.type == "O" and c.name != "town-square"),
        h["public_channel_id"],
    )
    plan = [
        ("short", "Chatter: 30 days", 30, [last.id] if len(teams) >= 2 else [], [h["off_topic_channel_id"]]),
        ("forever", "Legal hold — keep forever", -1, [],
         [h["private_channel_id"], other_public, h["gm_channel_id"]]),
        ("year", "One year", 365, [teams[1].id] if len(teams) >= 3 else [], [h["archived_channel_id"]]),
    ]  # fmt: skip
    pol = Policies(ids={})
    seen_teams: set[str] = set()
    seen_channels: set[str] = set()
    for key, display, days, team_ids, channel_ids in plan:
        pid = new_id()
        pol.ids[key] = pid
        pol.policy_lines.append(f"{pid}\t{esc(display)}\t{days}\n")
        for tid in team_ids:
            if tid not in seen_teams:
                seen_teams.add(tid)
                pol.team_lines.append(f"{pid}\t{tid}\n")
        for cid in channel_ids:
            if cid not in seen_channels:
                seen_channels.add(cid)
                pol.channel_lines.append(f"{pid}\t{cid}\n")
    return pol
