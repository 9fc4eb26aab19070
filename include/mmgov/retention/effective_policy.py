"""Which retention applies to a channel (seed rules 01, 02, 03, 04).

Channel policy > team policy > global ``DataRetentionSettings``. A granular policy with "keep
forever" deletes nothing and shields the channel from the global setting (messages and files).
DMs and GMs have no team: a channel policy or the global setting. The rule goes by the channel's
team, never its type, so a type mmgov does not know (Mattermost 11.8 adds ``BO`` and ``BP``) never
stops retention: with a team it follows its team's policy, without one it is governed like a DM or
GM; the preview names such types in a warning. Granular policies always apply;
the global message setting only with ``EnableMessageDeletion``, the global file setting (on
``fileinfo.createat``, as Mattermost does) only with ``EnableFileDeletion``. A stored duration
that is not positive (Mattermost's -1, or anything invalid) is treated as keep forever: retention
errs on the side of keeping.

:func:`effective_policy` answers for one channel in Python; :data:`PLAN_SQL` computes the same for
every channel in one statement (the purge's plan); tests compare the two.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from mmgov.settings import Settings

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
# Mattermost 11.7's channel types (its enum ``channel_type``).
KNOWN_CHANNEL_TYPES = frozenset({"O", "P", "D", "G"})


@dataclass(frozen=True)
class EffectivePolicy:
    """The retention that decides a channel's posts.

    ``source``: ``channel``, ``team``, ``global`` or ``none``; ``post_retention_hours`` is ``None``
    when messages are kept (keep forever, or no policy and global message deletion off).
    """

    channel_id: str
    team_id: str
    source: str
    policy_id: str | None
    post_retention_hours: int | None
    keep_forever: bool
    file_retention_hours: int | None

    def post_cutoff_ms(self, now_ms: int) -> int | None:
        """Posts with ``createat`` strictly below this are expired (``now - createat > duration``)."""
        return None if self.post_retention_hours is None else now_ms - self.post_retention_hours * HOUR_MS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _duration_hours(postduration: int | None) -> int | None:
    return int(postduration) * 24 if postduration is not None and postduration > 0 else None


def effective_policy(conn: psycopg.Connection, settings: Settings, channel_id: str) -> EffectivePolicy | None:
    """The effective retention of one channel, or ``None`` when the channel does not exist."""
    row = conn.execute(
        """
        SELECT c.id, coalesce(c.teamid, ''), cp.id, cp.postduration, tp.id, tp.postduration
        FROM channels c
        LEFT JOIN retentionpolicieschannels rpc ON rpc.channelid = c.id
        LEFT JOIN retentionpolicies cp ON cp.id = rpc.policyid
        LEFT JOIN retentionpoliciesteams rpt ON rpt.teamid = c.teamid AND c.teamid <> ''
        LEFT JOIN retentionpolicies tp ON tp.id = rpt.policyid
        WHERE c.id = %s
        """,
        (channel_id,),
    ).fetchone()
    if row is None:
        return None
    cid, team_id, cp_id, cp_duration, tp_id, tp_duration = row
    drs = settings.DataRetentionSettings
    file_hours = drs.file_retention_hours if drs.EnableFileDeletion else None
    if cp_id is not None:
        hours = _duration_hours(cp_duration)
        return EffectivePolicy(
            cid, team_id, "channel", cp_id, hours, hours is None, None if hours is None else file_hours
        )
    if tp_id is not None:
        hours = _duration_hours(tp_duration)
        return EffectivePolicy(
            cid, team_id, "team", tp_id, hours, hours is None, None if hours is None else file_hours
        )
    if drs.EnableMessageDeletion:
        return EffectivePolicy(cid, team_id, "global", None, drs.message_retention_hours, False, file_hours)
    return EffectivePolicy(cid, team_id, "none", None, None, False, file_hours)


# The plan for every channel, as rows of mmgov.purge_channels. Parameters: run_id, now_ms,
# global_enabled (bool), global_cutoff_ms.
PLAN_SQL = """
INSERT INTO mmgov.purge_channels
    (run_id, channelid, teamid, channel_type, policy_id, source, post_cutoff_ms, keep_forever)
SELECT %(run_id)s, c.id, coalesce(c.teamid, ''), coalesce(c.type::text, ''),
       coalesce(cp.id, tp.id),
       CASE WHEN cp.id IS NOT NULL THEN 'channel'
            WHEN tp.id IS NOT NULL THEN 'team'
            WHEN %(global_enabled)s THEN 'global'
            ELSE 'none' END,
       CASE WHEN cp.id IS NOT NULL THEN
                CASE WHEN cp.postduration > 0 THEN %(now_ms)s - cp.postduration * 86400000 END
            WHEN tp.id IS NOT NULL THEN
                CASE WHEN tp.postduration > 0 THEN %(now_ms)s - tp.postduration * 86400000 END
            WHEN %(global_enabled)s THEN %(global_cutoff_ms)s
       END,
       CASE WHEN cp.id IS NOT NULL THEN NOT coalesce(cp.postduration > 0, false)
            WHEN tp.id IS NOT NULL THEN NOT coalesce(tp.postduration > 0, false)
            ELSE false END
FROM channels c
LEFT JOIN retentionpolicieschannels rpc ON rpc.channelid = c.id
LEFT JOIN retentionpolicies cp ON cp.id = rpc.policyid
LEFT JOIN retentionpoliciesteams rpt ON rpt.teamid = c.teamid AND c.teamid <> ''
LEFT JOIN retentionpolicies tp ON tp.id = rpt.policyid
"""


def unknown_channel_types(conn: psycopg.Connection, run_id: str) -> dict[str, int]:
    """Channel types in run ``run_id``'s plan that mmgov does not know, with their channel counts."""
    rows = conn.execute(
        "SELECT channel_type, count(*) FROM mmgov.purge_channels WHERE run_id = %s AND channel_type <> ''"
        " AND NOT (channel_type = ANY(%s)) GROUP BY channel_type ORDER BY channel_type",
        (run_id, sorted(KNOWN_CHANNEL_TYPES)),
    )
    return {t: int(n) for t, n in rows}


def plan_params(settings: Settings, run_id: str, now_ms: int) -> dict[str, Any]:
    """Parameters of :data:`PLAN_SQL` for ``settings`` evaluated at ``now_ms``."""
    drs = settings.DataRetentionSettings
    return {
        "run_id": run_id,
        "now_ms": now_ms,
        "global_enabled": drs.EnableMessageDeletion,
        "global_cutoff_ms": now_ms - drs.message_retention_hours * HOUR_MS,
    }


def file_cutoff_ms(settings: Settings, now_ms: int) -> int | None:
    """Files with ``createat`` below this are expired by the global file setting (``None``: off)."""
    drs = settings.DataRetentionSettings
    return now_ms - drs.file_retention_hours * HOUR_MS if drs.EnableFileDeletion else None


# --- fingerprints -------------------------------------------------------------------------------


def _digest(doc: Any) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def plan_document(conn: psycopg.Connection, settings: Settings) -> dict[str, Any]:
    """Everything that decides what retention deletes, except holds: policies and the settings."""
    policies = [
        {
            "id": pid,
            "postduration": int(d) if d is not None else None,
            "teams": teams or [],
            "channels": chans or [],
        }
        for pid, d, teams, chans in conn.execute(
            """
            SELECT p.id, p.postduration,
                   (SELECT array_agg(teamid ORDER BY teamid) FROM retentionpoliciesteams t WHERE t.policyid = p.id),
                   (SELECT array_agg(channelid ORDER BY channelid) FROM retentionpolicieschannels c
                     WHERE c.policyid = p.id)
            FROM retentionpolicies p ORDER BY p.id
            """
        )
    ]
    drs = settings.DataRetentionSettings
    return {
        "policies": policies,
        "global": {
            "EnableMessageDeletion": drs.EnableMessageDeletion,
            "message_retention_hours": drs.message_retention_hours,
            "EnableFileDeletion": drs.EnableFileDeletion,
            "file_retention_hours": drs.file_retention_hours,
            "PreservePinnedPosts": drs.PreservePinnedPosts,
        },
        "export_guard": settings.MessageExportSettings.EnableExport,
    }


def holds_document(conn: psycopg.Connection) -> list[list[Any]]:
    """The active legal holds (what they protect), for the approval fingerprint."""
    return [
        list(r)
        for r in conn.execute(
            "SELECT scope, target_id, start_ms, end_ms FROM mmgov.legal_holds WHERE released_at IS NULL"
            " ORDER BY scope, target_id, start_ms NULLS FIRST, end_ms NULLS FIRST"
        )
    ]


def fingerprints(conn: psycopg.Connection, settings: Settings) -> tuple[str, str, dict[str, Any]]:
    """``(fingerprint, plan_hash, plan_doc)``: the approval fingerprint covers the plan and the holds."""
    doc = plan_document(conn, settings)
    plan_hash = _digest(doc)
    return _digest({"plan": plan_hash, "holds": holds_document(conn)}), plan_hash, doc
