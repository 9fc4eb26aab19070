"""The approval decision of each RetentionApproval mode (always, on_change, never) and the dry-run branch."""

from __future__ import annotations

import pytest

from mmgov.retention.approval import next_task
from mmgov.retention.preview import preview_purge
from mmgov.retention.runs import get_run
from tests.retention.builders import NOW, complete, mode_settings


class TestModes:
    def test_always_asks_a_person(self, conn, ws):
        ws.post(ws.channel(ws.team()), 200)
        summary = preview_purge(conn, mode_settings("always"), now_ms=NOW)
        assert summary["approval"]["needs_approval"]
        assert next_task(summary, dry_run=False) == "approval"
        assert next_task(summary, dry_run=True) == "report"

    def test_never_runs_unattended(self, conn, ws):
        ws.post(ws.channel(ws.team()), 200)
        summary = preview_purge(conn, mode_settings("never"), now_ms=NOW)
        assert not summary["approval"]["needs_approval"]
        assert next_task(summary, dry_run=False) == "soft_delete"

    def test_nothing_to_delete_needs_nobody(self, conn, ws):
        ws.post(ws.channel(ws.team()), 2)
        summary = preview_purge(conn, mode_settings("always"), now_ms=NOW)
        assert not summary["approval"]["needs_approval"]
        assert summary["approval"]["reasons"] == ["nothing to delete"]

    def test_on_change(self, conn, ws):
        chan = ws.channel(ws.team())
        for _ in range(4):
            ws.post(chan, 200)
        s = mode_settings("on_change")
        first = preview_purge(conn, s, now_ms=NOW)
        assert first["approval"]["reasons"] == ["first run: no run was approved before"]
        complete(conn, s, first)
        # same policies and settings, usual count: no person needed
        for _ in range(4):
            ws.post(chan, 200)
        second = preview_purge(conn, s, now_ms=NOW)
        assert not second["approval"]["needs_approval"]
        complete(conn, s, second)
        assert get_run(conn, second["run_id"])["approval"] == "unchanged"
        # a policy change needs a person again
        ws.post(chan, 200)
        ws.policy("new", 50, channels=[ws.channel()])
        changed = preview_purge(conn, s, now_ms=NOW)
        assert changed["approval"]["needs_approval"]
        assert "changed since the last approved run" in changed["approval"]["reasons"][0]
        # a settings change too
        other = preview_purge(conn, mode_settings("on_change", days=90), now_ms=NOW)
        assert "changed" in other["approval"]["reasons"][0]

    def test_on_change_anomaly(self, conn, ws):
        chan = ws.channel(ws.team())
        s = mode_settings("on_change", factor=2.0)
        for _ in range(3):
            for _ in range(4):
                ws.post(chan, 200)
            complete(conn, s, preview_purge(conn, s, now_ms=NOW))
        for _ in range(8):
            ws.post(chan, 200)
        usual = preview_purge(conn, s, now_ms=NOW)
        assert not usual["approval"]["needs_approval"]  # 8 <= 2 x median 4
        ws.post(chan, 200)
        spike = preview_purge(conn, s, now_ms=NOW)
        assert spike["approval"]["needs_approval"]
        assert spike["approval"]["reasons"] == [
            "9 items is more than 2 x the median (4) of the last 3 completed runs"
        ]

    def test_on_change_does_not_count_unattended_runs_as_approved(self, conn, ws):
        chan = ws.channel(ws.team())
        ws.post(chan, 200)
        complete(conn, mode_settings("never"), preview_purge(conn, mode_settings("never"), now_ms=NOW))
        ws.post(chan, 200)
        summary = preview_purge(conn, mode_settings("on_change"), now_ms=NOW)
        assert summary["approval"]["reasons"][0].startswith("first run")


@pytest.mark.parametrize("mode", ["always", "on_change", "never"])
def test_dry_run_branch_skips_approval_and_delete(conn, ws, mode):
    ws.post(ws.channel(ws.team()), 200)
    summary = preview_purge(conn, mode_settings(mode), dry_run=True, now_ms=NOW)
    assert next_task(summary, dry_run=True) == "report"
    assert get_run(conn, summary["run_id"])["status"] == "dry_run"
