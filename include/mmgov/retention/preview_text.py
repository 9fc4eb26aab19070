"""A purge preview a person can decide on: the same words in the approval body and the console.

:func:`readable_facts` adds to a preview summary what people need and ids do not say (channel
labels, cutoffs, the time zone, the approval deadline, the global file retention on its own);
:func:`decision_view` turns a summary into rows of plain text (dates in ``Mmgov.Timezone``, never
epoch milliseconds); :func:`markdown` renders them for Airflow's Required Action page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from mmgov import names
from mmgov.settings import Settings

DAY_MS = 86_400_000
CHANNEL_ROWS = 15  # channels listed by name in the approval body; the rest are summed in one row


def readable_facts(
    conn: psycopg.Connection,
    summary: dict[str, Any],
    settings: Settings,
    *,
    file_cutoff: int | None,
    dag_run_id: str | None,
) -> dict[str, Any]:
    """Facts to store with the summary (inside the preview's transaction: its temp tables exist)."""
    run_id = summary["run_id"]
    labels = names.channel_labels(conn, [c["channel_id"] for c in summary["channels"]])
    for channel in summary["channels"]:
        channel["label"] = labels.get(channel["channel_id"]) or channel["name"] or channel["channel_id"]
    by_file_retention: dict[tuple[Any, str], int] = {}
    if file_cutoff is not None:  # files the global file retention deletes belong on their own row
        by_file_retention = {
            (pid, source): int(n)
            for pid, source, n in conn.execute(
                "SELECT pc.policy_id, pc.source, count(*) FROM mmgov_purge_files f"
                " JOIN mmgov.purge_channels pc ON pc.run_id = %s AND pc.channelid = f.channelid"
                " WHERE f.verdict = 'd' GROUP BY 1, 2",
                (run_id,),
            )
        }
    for policy in summary["by_policy"]:
        policy["files"] -= by_file_retention.get((policy["policy_id"], policy["source"]), 0)
        cutoff = policy["post_cutoff_ms"]
        policy["keep_days"] = None if cutoff is None else round((summary["now_ms"] - cutoff) / DAY_MS, 2)
    channels, messages, files = conn.execute(
        "SELECT count(*), coalesce(sum(posts_to_delete), 0), coalesce(sum(files_to_delete), 0)"
        " FROM mmgov.purge_channels WHERE run_id = %s AND posts_to_delete + files_to_delete > 0",
        (run_id,),
    ).fetchone()
    drs = settings.DataRetentionSettings
    return {
        "dag_run_id": dag_run_id,
        "timezone": settings.Mmgov.Timezone,
        "grace_days": settings.Mmgov.PurgeGraceDays,
        "approval_timeout_hours": settings.Mmgov.RetentionApprovalTimeoutHours,
        "channels_with_deletions": {
            "channels": int(channels),
            "messages": int(messages),
            "files": int(files),
        },
        "file_retention": None
        if file_cutoff is None
        else {
            "cutoff_ms": file_cutoff,
            "keep_days": round(drs.file_retention_hours / 24, 2),
            "files": summary.get("files_by_file_retention", 0),
        },
    }


def when(ms: int | None, timezone: str = "UTC") -> str:
    """Epoch milliseconds as ``2026-01-02 03:04 CET`` in ``timezone``; ``-`` for none."""
    if ms is None:
        return "-"
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone(ZoneInfo(timezone))
    return moment.strftime("%Y-%m-%d %H:%M %Z")


def _days(value: float | None) -> str:
    if value is None:
        return "forever"
    if value < 1:
        return f"{round(value * 24)} hours"
    return f"{value:g} days"


def _guard(summary: dict[str, Any], tz: str) -> str:
    guard = summary["export_guard"]
    if guard["state"] == "on":
        return (
            "only messages last changed before "
            f"{when(guard['watermark_ms'], tz)} (the end of the last compliance export) can be deleted"
        )
    return guard["note"]


def decision_view(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as plain-text rows: what goes, by which rule and cutoff, what is spared and why."""
    tz = summary.get("timezone", "UTC")
    now = summary["now_ms"]
    rules = []
    for p in summary["by_policy"]:
        if p["source"] == "global":
            name = "Global message retention (DataRetentionSettings)"
        else:
            name = f"Policy \u201c{p['display_name'] or p['policy_id']}\u201d ({p['source']})"
        keep = "forever" if p["keep_forever"] else _days(p.get("keep_days"))
        cutoff = "never deleted" if p["keep_forever"] else f"created before {when(p['post_cutoff_ms'], tz)}"
        rules.append([name, keep, cutoff, p["channels"], p["messages"], p["files"]])
    fr = summary.get("file_retention")
    if fr is not None:
        rules.append(
            [
                "Global file retention (FileRetentionDays)",
                _days(fr["keep_days"]),
                f"files uploaded before {when(fr['cutoff_ms'], tz)}",
                None,
                None,
                fr["files"],
            ]
        )
    sp = summary["spared"]
    spared = [
        (sp["messages_held"], "messages under a legal hold"),
        (sp["messages_pinned"], "pinned messages (PreservePinnedPosts)"),
        (sp["messages_not_exported"], "messages the compliance export has not captured yet"),
        (sp["files_held"], "files under a legal hold"),
        (sp["files_pinned"], "files of pinned messages"),
        (sp["files_not_exported"], "files of messages the compliance export has not captured yet"),
        (sp["files_keep_forever"], "files in channels whose policy keeps them forever"),
    ]
    deleting = [c for c in summary["channels"] if c["messages"] or c["files"]]
    shown = deleting[:CHANNEL_ROWS]
    total = summary.get("channels_with_deletions") or {
        "channels": len(deleting),
        "messages": sum(c["messages"] for c in deleting),
        "files": sum(c["files"] for c in deleting),
    }
    more = {
        "channels": total["channels"] - len(shown),
        "messages": total["messages"] - sum(c["messages"] for c in shown),
        "files": total["files"] - sum(c["files"] for c in shown),
    }
    timeout_h = summary.get("approval_timeout_hours")
    return {
        "title": f"Retention purge run {summary['run_id']}"
        + (f" (Airflow run {summary['dag_run_id']})" if summary.get("dag_run_id") else ""),
        "previewed": when(now, tz),
        "timezone": tz,
        "messages": summary["messages_to_delete"],
        "files": summary["files_to_delete"],
        "grace_days": summary.get("grace_days"),
        "rules": rules,
        "spared": [(n, why) for n, why in spared if n],
        "guard": _guard(summary, tz),
        "channels": [
            [c.get("label") or c["name"] or c["channel_id"], c["messages"], c["files"], _spared(c)]
            for c in shown
        ],
        "more_channels": more if more["channels"] > 0 else None,
        "channel_total": total,
        "teams": [[t["team_name"] or t["team_id"], t["messages"], t["files"]] for t in summary["by_team"]],
        "approval_reasons": summary["approval"]["reasons"],
        "approve_by": None if timeout_h is None else when(now + int(timeout_h * 3_600_000), tz),
        "timeout_hours": timeout_h,
    }


def _spared(channel: dict[str, Any]) -> int:
    return channel["spared_held"] + channel["spared_pinned"] + channel["spared_not_exported"]


def _n(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def markdown(summary: dict[str, Any]) -> str:
    """The approval body (Markdown) of a preview summary."""
    v = decision_view(summary)
    grace = f"restorable for {v['grace_days']} days" if v["grace_days"] is not None else "restorable"
    lines = [
        f"**{v['title']}**, previewed {v['previewed']} (times in {v['timezone']})",
        "",
        f"Will soft-delete **{v['messages']:,} messages** and **{v['files']:,} files** "
        f"({grace}, then removed for good).",
        "",
    ]
    if v["approve_by"]:
        lines += [
            f"**Answer by {v['approve_by']}** ({v['timeout_hours']:g} hours after the preview): "
            "without an answer the run fails and deletes nothing.",
            "",
        ]
    lines += ["| rule | keeps | deletes | channels | messages | files |", "|---|---|---|---:|---:|---:|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} | {_n(r[3])} | {_n(r[4])} | {_n(r[5])} |" for r in v["rules"]]
    lines += ["", "**Spared** (not deleted):"]
    lines += [f"- {n:,} {why}" for n, why in v["spared"]] or ["- nothing"]
    lines += ["", f"Export guard: {v['guard']}.", "", "Approval: " + "; ".join(v["approval_reasons"])]
    if summary.get("unknown_channel_types"):
        lines += [
            "",
            f"Warning: channel types unknown to this mmgov version: {summary['unknown_channel_types']}",
        ]
    if v["teams"]:
        lines += ["", "| team | messages | files |", "|---|---:|---:|"]
        lines += [f"| {t[0]} | {t[1]:,} | {t[2]:,} |" for t in v["teams"]]
    if v["channels"]:
        lines += ["", "| channel | messages | files | spared |", "|---|---:|---:|---:|"]
        lines += [f"| {c[0]} | {c[1]:,} | {c[2]:,} | {c[3]:,} |" for c in v["channels"]]
        more = v["more_channels"]
        if more:
            lines.append(
                f"| \u2026 and {more['channels']:,} more channels | {more['messages']:,} | {more['files']:,} | |"
            )
        total = v["channel_total"]
        lines.append(
            f"| **all {total['channels']:,} channels** | {total['messages']:,} | {total['files']:,} | |"
        )
    return "\n".join(lines)
