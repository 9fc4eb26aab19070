"""mmgov.compliance.ledger: the per-version record of what each run exported, and the sweep and recount
that read it. Late commits across a real export run are tests/compliance/test_completeness.py; here
the ledger's own rules on a real database.
"""

from __future__ import annotations

import psycopg
import pytest

from mmgov.compliance import ledger
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.post_reader import WINDOW_PREDICATE
from mmgov.state import ensure_mmgov_schema
from tests.compliance.builders import Workspace

HOUR = ledger.HOUR_MS
NOW = 1_000 * HOUR


@pytest.fixture
def conn(mm_conn: psycopg.Connection) -> psycopg.Connection:
    ensure_mmgov_schema(mm_conn)
    return mm_conn


def _delivered(conn: psycopg.Connection, key: str, start: int, end: int, at: int = NOW) -> int:
    run = ledger.begin_run(conn, key, key, ExportWindow(start, end), at)
    with conn.transaction():
        conn.execute(ledger.RECORD, {"ledger_run": run, "start": start, "end": end})
    ledger.mark_delivered(conn, run, at)
    return run


def test_late_spans_merge_delivered_windows_minus_the_runs_own(conn):
    _delivered(conn, "a", 0, 100)
    _delivered(conn, "b", 100, 200)  # touches a: one span
    _delivered(conn, "c", 300, 400)
    _delivered(conn, "old", 500, 600, at=NOW - 48 * HOUR)  # outside the lookback
    ledger.begin_run(conn, "staged", "staged", ExportWindow(700, 800), NOW)  # never delivered
    run = ledger.begin_run(conn, "now", "now", ExportWindow(150, 350), NOW)
    spans = ledger.late_spans(conn, run, ExportWindow(150, 350), NOW, lookback_hours=24)
    assert [(s.span.start_ms, s.span.end_ms) for s in spans] == [(0, 150), (350, 400)]
    assert [[(w.start_ms, w.end_ms) for w in s.windows] for s in spans] == [
        [(0, 100), (100, 200)],
        [(300, 400)],
    ]
    assert ledger.late_spans(conn, run, ExportWindow(150, 350), NOW, lookback_hours=0) == []


def test_only_versions_no_delivered_run_exported_are_unexported(conn):
    ws = Workspace(conn)
    chan, alice = ws.channel("c", team=ws.team("t")), ws.user("alice")
    for i in range(3):
        ws.post(f"p{i}", channel=chan, user=alice, create=10 + i)
    window = ExportWindow(0, 100)
    assert ledger.count_unexported(conn, window) == 3
    staged = ledger.begin_run(conn, "r1", "r1", window, NOW)
    with conn.transaction():
        conn.execute(ledger.RECORD, {"ledger_run": staged, "start": 0, "end": 100})
    assert ledger.count_unexported(conn, window) == 3  # staged, not delivered: they do not count yet
    ledger.mark_delivered(conn, staged, NOW)
    assert ledger.count_unexported(conn, window) == 0
    late = ws.post("late", channel=chan, user=alice, create=50)  # a late commit inside the window
    assert ledger.count_unexported(conn, window) == 1
    query = ledger.only_unexported(f"SELECT p.id FROM posts p WHERE {WINDOW_PREDICATE}")
    assert [r[0] for r in conn.execute(query, {"start": 0, "end": 100})] == [late]


def test_a_retried_run_starts_over_and_recount_finds_uncaptured_growth(conn):
    ws = Workspace(conn)
    chan, alice = ws.channel("c", team=ws.team("t")), ws.user("alice")
    ws.post("p", channel=chan, user=alice, create=10)
    window = ExportWindow(0, 100)
    run = _delivered(conn, "r1", 0, 100)
    ledger.set_window_count(conn, run, 1)
    assert ledger.begin_run(conn, "r1", "r1", window, NOW) == run  # the retry: same run, rows dropped
    assert (
        conn.execute("SELECT count(*) FROM mmgov.compliance_ledger WHERE run = %s", (run,)).fetchone()[0] == 0
    )
    run = _delivered(conn, "r1", 0, 100)
    ledger.set_window_count(conn, run, 1)
    nxt = ledger.begin_run(conn, "r2", "r2", ExportWindow(100, 200), NOW)
    assert ledger.recount_previous(conn, nxt, ExportWindow(100, 200))["uncaptured"] == 0
    ws.post("late", channel=chan, user=alice, create=20)
    found = ledger.recount_previous(conn, nxt, ExportWindow(100, 200))
    assert {k: found[k] for k in ("run_key", "posts_at_export", "posts_now", "growth", "uncaptured")} == {
        "run_key": "r1",
        "posts_at_export": 1,
        "posts_now": 2,
        "growth": 1,
        "uncaptured": 1,
    }
    assert ledger.recount_previous(conn, run, window) is None  # no delivered run before the first
