"""Why a restore brought back what it did, in words: the ``note`` of every restore result."""

from __future__ import annotations

from typing import Any

import psycopg

from mmgov import names
from mmgov.retention.runs import resolve_run

_NEVER_DELETED = {
    "dry_run": "it was a dry run (a preview only)",
    "previewed": "it has not deleted anything yet (it is waiting for approval or was never approved)",
    "rejected": "its deletion was rejected",
    "expired": "its approval timed out",
}


def restore_note(conn: psycopg.Connection, run: dict[str, Any], result: dict[str, Any]) -> str:
    """A sentence for the restore ``result`` of ``run`` (re-read for its counters), saying why when 0."""
    messages, files = result["messages_restored"], result["files_restored"]
    channel = result.get("channel_id")
    label = names.channel_labels(conn, [channel]).get(channel, channel) if channel else None
    where = f" in channel {label}" if channel else ""
    skipped = result.get("skipped_changed", 0)
    tail = f"; {skipped} changed since and left alone" if skipped else ""
    if messages or files:
        return f"restored {messages} messages and {files} files{where}{tail}"
    if run["status"] in _NEVER_DELETED or run.get("dry_run"):
        who = f" by {run['approved_by']}" if run["status"] == "rejected" and run.get("approved_by") else ""
        reason = _NEVER_DELETED.get(run["status"], _NEVER_DELETED["dry_run"])
        return f"nothing to restore: run {run['id']} deleted nothing because {reason}{who}"
    fresh = resolve_run(conn, run["id"], kind=run["kind"])
    if skipped:
        return f"nothing restored{where}: all {skipped} rows were changed or removed since the run{tail}"
    if fresh["messages_restored"] or fresh["files_restored"]:
        return (
            f"nothing left to restore{where}: this run's deletions were already restored "
            f"({fresh['messages_restored']} messages and {fresh['files_restored']} files in all)"
        )
    if channel:
        return f"nothing to restore: run {run['id']} deleted nothing in channel {label}"
    return f"nothing to restore: run {run['id']} deleted nothing ({run['status']})"
