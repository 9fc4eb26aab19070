"""Cost of the compliance export's completeness ledger at N posts a day: ``make bench-ledger POSTS=1000000``.

Seeds N posts spread over one day (Mattermost's schema and indexes, ``INSERT ... SELECT
generate_series``) and measures, with the real statements of :mod:`mmgov.compliance.ledger` and
:mod:`mmgov.compliance.extract`:

1. the ledger write a daily export adds: its ``INSERT ... SELECT`` of the window's ``(updateat, id)``
   inside the export's REPEATABLE READ snapshot, beside the export's own ``count(*)`` of the window;
2. the sweep of the next run over that window: ``count_unexported`` with no late post (every run
   pays it), then with 1 % late posts committed afterwards;
3. the ledger's size on disk (table + index) and the prune of the day's rows.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import psycopg

from mmgov.compliance import ledger
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.extract import COUNT_POSTS
from mmgov.mattermost_schema import create_mattermost_indexes, create_mattermost_tables
from mmgov.state import ensure_mmgov_schema
from mmgov.twin_connection import snapshot
from mmgov_dev.embedded_postgres import create_database, drop_database, server_uri

DAY = 86_400_000
DB_NAME = "mmgov_bench_ledger"
RESULTS = Path(__file__).resolve().parent / "results"

_POSTS = """
INSERT INTO posts (id, createat, updateat, deleteat, userid, channelid, rootid, originalid, message, type, props,
                   hashtags, filenames, fileids, hasreactions, editat, ispinned, remoteid)
SELECT substr(md5(%(tag)s || i), 1, 26), %(start)s::bigint + i * %(step)s::bigint, %(start)s::bigint + i * %(step)s::bigint,
       0, substr(md5('user' || (i %% 1000)), 1, 26), substr(md5('chan' || (i %% 200)), 1, 26), '', '',
       'benchmark message number ' || i, '', '{}'::jsonb, '', '[]', '[]', false, 0, false, ''
FROM generate_series(1, %(n)s) i
"""


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts in the day")
    parser.add_argument(
        "--server", help="PostgreSQL server URI (default: MMGOV_DATABASE_URL or the embedded one)"
    )
    args = parser.parse_args()
    server = args.server or server_uri()
    dsn = create_database(server, DB_NAME, replace=True)
    start = 1_767_225_600_000  # 2026-01-01
    window = ExportWindow(start, start + DAY)
    step = DAY // (args.posts + 2)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            create_mattermost_tables(conn)
            conn.execute(_POSTS, {"tag": "post", "start": start, "step": step, "n": args.posts})
            create_mattermost_indexes(conn)
            ensure_mmgov_schema(conn)
            conn.execute("VACUUM ANALYZE")
            run = ledger.begin_run(conn, "bench-day", window.folder_name, window, start + DAY)
            params = {"start": window.start_ms, "end": window.end_ms, "ledger_run": run}
            with snapshot(conn, read_only=False):
                count_s, _ = timed(lambda: conn.execute(COUNT_POSTS, params).fetchone())
                record_s, _ = timed(lambda: conn.execute(ledger.RECORD, params))
            ledger.mark_delivered(conn, run, start + DAY)
            conn.execute("ANALYZE mmgov.compliance_ledger")
            size = conn.execute(
                "SELECT pg_table_size('mmgov.compliance_ledger'), pg_indexes_size('mmgov.compliance_ledger')"
            ).fetchone()
            sweep_none_s, none = timed(lambda: ledger.count_unexported(conn, window))
            late_n = max(1, args.posts // 100)
            conn.execute(_POSTS, {"tag": "late", "start": start + step // 2, "step": step * 100, "n": late_n})
            conn.execute("ANALYZE posts")
            sweep_late_s, late = timed(lambda: ledger.count_unexported(conn, window))
            # a later run delivered: the day's rows fall out of the lookback (the last delivered run's stay)
            later = ledger.begin_run(
                conn, "bench-next-day", "next", ExportWindow(start + DAY, start + 2 * DAY), start
            )
            ledger.mark_delivered(conn, later, start + 2 * DAY)
            prune_s, pruned = timed(lambda: ledger.prune(conn, start + 3 * DAY, 24))
    finally:
        drop_database(server, DB_NAME)
    report = {
        "posts_per_day": args.posts,
        "window_count_s": round(count_s, 3),
        "ledger_record_s": round(record_s, 3),
        "ledger_record_rows_per_s": round(args.posts / record_s),
        "ledger_table_mb": round(size[0] / 2**20, 1),
        "ledger_index_mb": round(size[1] / 2**20, 1),
        "sweep_no_late_s": round(sweep_none_s, 3),
        "sweep_no_late_found": none,
        "late_posts": late_n,
        "sweep_with_late_s": round(sweep_late_s, 3),
        "sweep_with_late_found": late,
        "prune_s": round(prune_s, 3),
        "pruned_rows": pruned,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"compliance_ledger-{args.posts}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(
        f"compliance ledger at {args.posts:,} posts/day: record {report['ledger_record_s']} s "
        f"(the window's count(*): {report['window_count_s']} s), {report['ledger_table_mb']} + "
        f"{report['ledger_index_mb']} MB, sweep {report['sweep_no_late_s']} s ({late_n:,} late: "
        f"{report['sweep_with_late_s']} s), prune {report['prune_s']} s; saved {out}"
    )


if __name__ == "__main__":
    main()
