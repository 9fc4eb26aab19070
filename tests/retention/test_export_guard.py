"""With the compliance export on, the purge deletes only what the last completed export covered."""

from __future__ import annotations

from mmgov import audit
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from tests.retention.builders import (
    DAY,
    NOW,
    deleted_posts,
    purge_settings,
    run_purge,
)


class TestExportGuard:
    def test_no_completed_export_deletes_nothing(self, conn, ws):
        chan = ws.channel(ws.team())
        for _ in range(3):
            ws.post(chan, 300)
        result = run_purge(conn, purge_settings(EnableExport=True))
        assert deleted_posts(conn) == set()
        assert result["summary"]["export_guard"]["state"] == "blocked"
        assert "NOTHING will be deleted" in result["summary"]["markdown"]
        assert result["summary"]["spared"]["messages_not_exported"] == 3

    def test_only_posts_the_last_export_covered(self, conn, ws):
        chan = ws.channel(ws.team())
        covered = ws.post(chan, 300)
        edited_after = ws.post(chan, 300, updated_days_ago=10)
        edited_before = ws.post(chan, 300, updated_days_ago=40)
        audit.record(
            conn,
            "compliance_export.completed",
            {"window_start_ms": NOW - 60 * DAY, "window_end_ms": NOW - 30 * DAY},
        )
        audit.record(
            conn, "compliance_export.completed", {"window_start_ms": 0, "window_end_ms": NOW - 90 * DAY}
        )
        result = run_purge(conn, purge_settings(EnableExport=True))
        assert deleted_posts(conn) == {covered, edited_before}
        assert edited_after not in deleted_posts(conn)
        assert result["summary"]["export_guard"] == {
            "state": "on",
            "watermark_ms": NOW - 30 * DAY,
            "note": result["summary"]["export_guard"]["note"],
        }

    def test_edit_after_preview_is_spared(self, conn, ws):
        chan = ws.channel(ws.team())
        edited, plain = ws.post(chan, 300), ws.post(chan, 300)
        audit.record(conn, "compliance_export.completed", {"window_start_ms": 0, "window_end_ms": NOW - DAY})
        s = purge_settings(EnableExport=True)
        summary = preview_purge(conn, s, now_ms=NOW)
        conn.execute("UPDATE posts SET updateat = %s, message = 'edited' WHERE id = %s", (NOW, edited))
        soft_delete(conn, s, summary["run_id"], sleep=lambda _: None)
        assert deleted_posts(conn) == {plain}

    def test_export_disabled_ignores_audit(self, conn, ws):
        chan = ws.channel(ws.team())
        old = ws.post(chan, 300, updated_days_ago=1)
        run_purge(conn, purge_settings())
        assert deleted_posts(conn) == {old}
