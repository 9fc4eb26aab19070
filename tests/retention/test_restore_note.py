"""The restore result's ``note``: what came back, or why nothing did (the restores themselves: test_restore.py)."""

from __future__ import annotations

import pytest

from mmgov import names
from mmgov.retention.restore_note import restore_note

RESULT = {"messages_restored": 0, "files_restored": 0}


def test_what_came_back_where_and_what_was_left_alone(conn, ws):
    chan = ws.channel(ws.team())
    label = names.channel_labels(conn, [chan])[chan]
    result = {"messages_restored": 3, "files_restored": 1, "channel_id": chan, "skipped_changed": 2}
    assert restore_note(conn, {"id": "r1", "status": "completed"}, result) == (
        f"restored 3 messages and 1 files in channel {label}; 2 changed since and left alone"
    )


@pytest.mark.parametrize(
    ("run", "why"),
    [
        ({"status": "dry_run"}, "it was a dry run (a preview only)"),
        ({"status": "completed", "dry_run": True}, "it was a dry run (a preview only)"),
        ({"status": "rejected", "approved_by": "dpo"}, "its deletion was rejected by dpo"),
        ({"status": "expired"}, "its approval timed out"),
    ],
    ids=["dry-run", "dry-run-flag", "rejected", "expired"],
)
def test_a_run_that_deleted_nothing_says_why(conn, run, why):
    note = restore_note(conn, {"id": "r1", **run}, RESULT)
    assert note == f"nothing to restore: run r1 deleted nothing because {why}"
