"""What each compliance export run exported, version by version: the late-arrival sweep and the recount read it.

Why: Mattermost stamps ``posts.updateat`` in the application server before the transaction commits,
and every node of a cluster stamps with its own clock, so a post version can become visible after an
export has read past its ``updateat``. The settle margin (``Mmgov.ExportSettleSeconds``) makes that
rare; this module makes it harmless.

Record: ``mmgov.compliance_ledger`` holds one row per exported post version ``(updateat, id)`` and
run; ``mmgov.compliance_export_runs`` one row per run (window, folder, the window's count at export,
``delivered_at``). A run's ledger rows are written by one ``INSERT ... SELECT`` with the batches' own
predicate inside the export's snapshot transaction (:class:`mmgov.compliance.extract.WindowReader`),
so they are exactly the rows the zips hold, and they roll back with a failed staging; they count only
once the run is delivered. A per-version ledger, not a count and digest per time slice: a digest tells
*that* a slice changed, not *which* versions are new (versions also leave a slice when a post is edited
again), so the late batch would have to re-export whole slices (duplicates); the ledger gives the exact
set difference with one anti-join on Mattermost's ``idx_posts_update_at`` range and the ledger's own
index. Its cost at 1M posts/day: docs/compliance-export.md ("Completeness").

Sweep (:func:`late_spans`, :func:`count_unexported`): each run looks at the windows of the runs
delivered in the last ``Mmgov.LateArrivalLookbackHours`` (merged into spans, without the run's own
window) for versions not in the ledger; the extractor reads them (predicate :func:`only_unexported`)
into late batches of the current run. Rows of runs delivered (or staged and never delivered) before
the lookback are pruned: a version of a window still swept can only have been exported by that
window's run or a later one.

Recount (:func:`recount_previous`): each run counts the previous run's window again; versions there
that no delivered run and not this run exported are growth the sweep did not capture: an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.post_reader import WINDOW_PREDICATE
from mmgov.state import register_ddl

register_ddl("compliance_ledger.sql")

HOUR_MS = 3_600_000

# A version some delivered run exported (the ledger's index: (update_at, post_id)).
EXPORTED = (
    "EXISTS (SELECT 1 FROM mmgov.compliance_ledger l JOIN mmgov.compliance_export_runs r ON r.id = l.run"
    " WHERE l.update_at = p.updateat AND l.post_id = p.id AND r.delivered_at IS NOT NULL)"
)
_UNEXPORTED_PREDICATE = f"{WINDOW_PREDICATE} AND NOT {EXPORTED}"

# The window's (or a late read's) rows, recorded for the run: the same predicate as the batches' query.
RECORD = (
    "INSERT INTO mmgov.compliance_ledger (run, update_at, post_id)"
    f" SELECT %(ledger_run)s, p.updateat, p.id FROM posts p WHERE {WINDOW_PREDICATE}"
)


def only_unexported(query: str) -> str:
    """``query`` (a window query of the extractor) restricted to versions no delivered run exported."""
    if WINDOW_PREDICATE not in query:  # pragma: no cover - a programming error
        raise ValueError("not a window query: the window predicate is missing")
    return query.replace(WINDOW_PREDICATE, _UNEXPORTED_PREDICATE)


@dataclass(frozen=True)
class LateSpan:
    """A stretch of ``updateat`` already exported by delivered runs, and the windows it covers."""

    span: ExportWindow
    windows: tuple[ExportWindow, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"span": self.span.as_dict(), "windows": [w.as_dict() for w in self.windows]}


def begin_run(
    conn: psycopg.Connection, run_key: str, run_folder: str, window: ExportWindow, now_ms: int
) -> int:
    """Register (or reset, on a retry) the run; its earlier ledger rows are dropped. Returns its number."""
    with conn.transaction():
        run = conn.execute(
            "INSERT INTO mmgov.compliance_export_runs (run_key, run_folder, start_ms, end_ms, staged_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (run_key) DO UPDATE SET run_folder = EXCLUDED.run_folder,"
            " start_ms = EXCLUDED.start_ms, end_ms = EXCLUDED.end_ms, staged_at = EXCLUDED.staged_at,"
            " db_posts = NULL, delivered_at = NULL RETURNING id",
            (run_key, run_folder, window.start_ms, window.end_ms, now_ms),
        ).fetchone()[0]
        conn.execute("DELETE FROM mmgov.compliance_ledger WHERE run = %s", (run,))
    return int(run)


def prune(conn: psycopg.Connection, now_ms: int, lookback_hours: float) -> int:
    """Drop the ledger rows of runs delivered (or staged, if never delivered) before the lookback, except
    the last delivered run's (the next recount reads them)."""
    floor = now_ms - int(lookback_hours * HOUR_MS)
    with conn.transaction():
        return conn.execute(
            "DELETE FROM mmgov.compliance_ledger l USING mmgov.compliance_export_runs r"
            " WHERE r.id = l.run AND COALESCE(r.delivered_at, r.staged_at) < %s AND r.id <> ALL(SELECT id"
            " FROM mmgov.compliance_export_runs WHERE delivered_at IS NOT NULL ORDER BY delivered_at DESC LIMIT 1)",
            (floor,),
        ).rowcount


def set_window_count(conn: psycopg.Connection, run: int, posts: int) -> None:
    with conn.transaction():
        conn.execute("UPDATE mmgov.compliance_export_runs SET db_posts = %s WHERE id = %s", (posts, run))


def mark_delivered(conn: psycopg.Connection, run: int, now_ms: int) -> None:
    """The run's ledger rows count from now on (call once its files are published)."""
    with conn.transaction():
        conn.execute("UPDATE mmgov.compliance_export_runs SET delivered_at = %s WHERE id = %s", (now_ms, run))


def late_spans(
    conn: psycopg.Connection, run: int, window: ExportWindow, now_ms: int, lookback_hours: float
) -> list[LateSpan]:
    """The spans to sweep: windows of runs delivered in the lookback, merged, minus ``window``."""
    if lookback_hours <= 0:
        return []
    floor = now_ms - int(lookback_hours * HOUR_MS)
    rows = conn.execute(
        "SELECT DISTINCT start_ms, end_ms FROM mmgov.compliance_export_runs"
        " WHERE delivered_at >= %s AND id <> %s AND start_ms < end_ms"
        " ORDER BY start_ms, end_ms",
        (floor, run),
    ).fetchall()
    merged: list[tuple[int, int, list[ExportWindow]]] = []
    for start, end in rows:
        w = ExportWindow(int(start), int(end))
        if merged and w.start_ms <= merged[-1][1]:
            s, e, ws = merged[-1]
            merged[-1] = (s, max(e, w.end_ms), [*ws, w])
        else:
            merged.append((w.start_ms, w.end_ms, [w]))
    out = []
    for s, e, ws in merged:
        for a, b in ((s, min(e, window.start_ms)), (max(s, window.end_ms), e)):
            if a < b:
                out.append(
                    LateSpan(ExportWindow(a, b), tuple(w for w in ws if w.start_ms < b and w.end_ms > a))
                )
    return out


def count_unexported(conn: psycopg.Connection, span: ExportWindow) -> int:
    """Versions in ``span`` no delivered run exported (the sweep reads them only when there are some)."""
    return int(
        conn.execute(
            f"SELECT count(*) FROM posts p WHERE {_UNEXPORTED_PREDICATE}",
            {"start": span.start_ms, "end": span.end_ms},
        ).fetchone()[0]
    )


def late_by_window(conn: psycopg.Connection, run: int, late: LateSpan) -> list[dict[str, Any]]:
    """How many of the run's late versions in ``late`` belong to each window it covers."""
    out = []
    for w in late.windows:
        lo, hi = max(w.start_ms, late.span.start_ms), min(w.end_ms, late.span.end_ms)
        n = conn.execute(
            "SELECT count(*) FROM mmgov.compliance_ledger WHERE run = %s AND update_at >= %s AND update_at < %s",
            (run, lo, hi),
        ).fetchone()[0]
        out.append({"window": w.as_dict(), "late_posts": int(n)})
    return out


def recount_previous(conn: psycopg.Connection, run: int, window: ExportWindow) -> dict[str, Any] | None:
    """Count the previous delivered run's window again (``None`` when there is none).

    ``uncaptured``: versions in that window now that neither a delivered run nor this run exported
    (they arrived after this run's sweep read the window); non-zero is an alert.
    """
    prev = conn.execute(
        "SELECT run_key, start_ms, end_ms, db_posts FROM mmgov.compliance_export_runs"
        " WHERE delivered_at IS NOT NULL AND id <> %s AND end_ms <= %s ORDER BY end_ms DESC, delivered_at DESC"
        " LIMIT 1",
        (run, window.end_ms),
    ).fetchone()
    if prev is None:
        return None
    run_key, start, end, at_export = prev
    params = {"start": start, "end": end, "run": run}
    now_count, uncaptured = conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT {EXPORTED} AND NOT EXISTS (SELECT 1 FROM"
        " mmgov.compliance_ledger m WHERE m.run = %(run)s AND m.update_at = p.updateat AND m.post_id = p.id))"
        f" FROM posts p WHERE {WINDOW_PREDICATE}",
        params,
    ).fetchone()
    return {
        "run_key": run_key,
        "window": {"start_ms": int(start), "end_ms": int(end)},
        "posts_at_export": None if at_export is None else int(at_export),
        "posts_now": int(now_count),
        "growth": None if at_export is None else int(now_count) - int(at_export),
        "uncaptured": int(uncaptured),
    }
