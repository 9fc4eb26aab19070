"""The purge report: ``retention.deletion_completed`` once per run, with its counts and duration."""

from __future__ import annotations

from mmgov import audit
from mmgov.retention.report import report_purge
from tests.retention.builders import purge_settings, run_purge


def test_report_emits_deletion_completed_once(conn, ws):
    chan = ws.channel(ws.team())
    ws.post(chan, 200)
    result = run_purge(conn, purge_settings())
    first = report_purge(conn, result["run_id"])
    report_purge(conn, result["run_id"])
    events = audit.history(conn, event_prefix="retention.deletion_completed")
    assert len(events) == 1
    payload = events[0]["payload"]
    assert (payload["messages_deleted"], payload["files_deleted"], payload["run_id"]) == (
        1,
        0,
        result["run_id"],
    )
    assert isinstance(payload["duration_ms"], int)
    assert isinstance(payload["timestamp"], int)
    assert first["status"] == "completed"
    assert first["messages_deleted"] == 1
    assert conn.execute("SELECT count(*) FROM mmgov.purge_candidates").fetchone()[0] == 0
