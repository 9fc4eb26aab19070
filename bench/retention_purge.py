"""Benchmark of retention's soft delete: ``make bench-purge POSTS=1000000``.

Seeds N expired posts (plus 10 % young ones and a file for every 10th post) with server-side
``INSERT ... SELECT generate_series`` into a fresh database with Mattermost's schema and indexes,
previews and soft-deletes them with the real purge code (``mmgov.retention``) while another
connection keeps inserting and editing posts in the same channels. Reports posts/s excluding the
configured pauses (``TimeBetweenBatchesMilliseconds``) and the latency of the concurrent writes.
Then restores the same run (``mmgov.retention.restore``, same batch size, writer still running) and
reports its posts/s beside the purge's.
Targets: >= 50,000 posts/s, p99 of concurrent writes <= 50 ms, restore >= the purge's own rate.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
from pathlib import Path

import psutil
import psycopg

import mmgov.retention  # noqa: F401 - registers retention.sql
from mmgov.embedded_postgres import create_database, drop_database, server_uri
from mmgov.ids import new_id
from mmgov.mattermost_schema import create_mattermost_indexes, create_mattermost_tables
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from mmgov.retention.restore import restore_run
from mmgov.settings import Settings
from mmgov.state import ensure_mmgov_schema

DAY = 86_400_000
DB_NAME = "mmgov_bench_purge"
RESULTS = Path(__file__).resolve().parent / "results"

_SEED = """
INSERT INTO teams (id, createat, updateat, deleteat, displayname, name, type)
SELECT substr(md5('team' || t), 1, 26), 0, 0, 0, 'team ' || t, 'team-' || t, 'O' FROM generate_series(1, 5) t;
INSERT INTO channels (id, createat, updateat, deleteat, teamid, type, displayname, name)
SELECT substr(md5('chan' || c), 1, 26), 0, 0, 0, substr(md5('team' || (c %% 5 + 1)), 1, 26), 'O', 'channel ' || c,
       'channel-' || c
FROM generate_series(1, %(channels)s) c;
INSERT INTO posts (id, createat, updateat, deleteat, userid, channelid, rootid, originalid, message, type, props,
                   hashtags, filenames, fileids, hasreactions, editat, ispinned, remoteid)
SELECT substr(md5('post' || i), 1, 26), %(now)s::bigint - (CASE WHEN i <= %(expired)s THEN 200 ELSE 10 END) * %(day)s::bigint - i,
       %(now)s::bigint - (CASE WHEN i <= %(expired)s THEN 200 ELSE 10 END) * %(day)s::bigint - i, 0,
       substr(md5('user' || (i %% 1000)), 1, 26), substr(md5('chan' || (i %% %(channels)s + 1)), 1, 26), '', '',
       'benchmark message number ' || i || ' with some ordinary text in it', '', '{}'::jsonb, '', '[]', '[]',
       false, 0, false, ''
FROM generate_series(1, %(total)s) i;
INSERT INTO fileinfo (id, creatorid, postid, createat, updateat, deleteat, path, thumbnailpath, previewpath, name,
                      extension, size, mimetype, channelid)
SELECT substr(md5('file' || i), 1, 26), substr(md5('user' || (i %% 1000)), 1, 26), substr(md5('post' || i), 1, 26),
       %(now)s::bigint - 200 * %(day)s::bigint, %(now)s::bigint - 200 * %(day)s::bigint, 0, '20250101/f/' || i || '/a.txt', '', '', 'a.txt', 'txt',
       10, 'text/plain', substr(md5('chan' || (i %% %(channels)s + 1)), 1, 26)
FROM generate_series(10, %(total)s, 10) i;
"""


def seed(conn: psycopg.Connection, posts: int, channels: int, now: int) -> None:
    create_mattermost_tables(conn)
    params = {"channels": channels, "expired": posts, "total": posts + posts // 10, "now": now, "day": DAY}
    for statement in filter(str.strip, _SEED.split(";\n")):
        conn.execute(statement, params)
    create_mattermost_indexes(conn)
    ensure_mmgov_schema(conn)
    conn.execute("VACUUM ANALYZE")


class Writer(threading.Thread):
    """Inserts new posts and edits young and old ones in the benchmark's channels, timing each write."""

    def __init__(self, dsn: str, channels: list[str], post_ids: list[str]):
        super().__init__(daemon=True)
        self.dsn, self.channels, self.post_ids = dsn, channels, post_ids
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.measure = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        rng = random.Random(3)  # noqa: S311 - workload shape, not security
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                now = int(time.time() * 1000)
                started = time.perf_counter()
                try:
                    if rng.random() < 0.5:
                        conn.execute(
                            "INSERT INTO posts (id, createat, updateat, deleteat, userid, channelid, rootid, originalid,"
                            " message, type, props, ispinned) VALUES (%s, %s, %s, 0, %s, %s, '', '', 'new', '', '{}', false)",
                            (new_id(), now, now, new_id(), rng.choice(self.channels)),
                        )
                    else:
                        conn.execute(
                            "UPDATE posts SET message = 'edited', editat = %s, updateat = %s WHERE id = %s",
                            (now, now, rng.choice(self.post_ids)),
                        )
                except psycopg.Error as exc:
                    self.errors.append(str(exc))
                if self.measure.is_set():
                    self.latencies.append(time.perf_counter() - started)
                time.sleep(0.001)


def bare_update_rate(conn: psycopg.Connection, batch_size: int, rows: int = 30_000) -> tuple[float, float]:
    """Rows/s and server CPU µs/row of a bare ``UPDATE posts SET deleteat, updateat, props`` on young posts.

    The same index maintenance as a soft delete without any of its checks: the ceiling for this
    machine and server at this moment (the CPU figure does not depend on what else the machine
    runs). The young posts are put back afterwards (not timed).
    """
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM posts WHERE deleteat = 0 ORDER BY createat DESC LIMIT %s", (rows,)
        )
    ]
    started, cpu = time.perf_counter(), backend_cpu_s(conn)
    for i in range(0, len(ids), batch_size):
        with conn.transaction():
            conn.execute(
                'UPDATE posts SET deleteat = 1, updateat = updateat + 1, props = props || \'{"deleteBy": "bench"}\''
                " WHERE id = ANY(%s)",
                (ids[i : i + batch_size],),
            )
    rate = len(ids) / (time.perf_counter() - started)
    cpu_us = (backend_cpu_s(conn) - cpu) * 1e6 / len(ids)
    conn.execute(
        "UPDATE posts SET deleteat = 0, updateat = updateat - 1, props = props - 'deleteBy' WHERE id = ANY(%s)",
        (ids,),
    )
    conn.execute("VACUUM ANALYZE posts")
    return rate, cpu_us


def backend_cpu_s(conn: psycopg.Connection) -> float:
    """CPU seconds used so far by ``conn``'s server process (the embedded server runs on this machine)."""
    times = psutil.Process(conn.info.backend_pid).cpu_times()
    return times.user + times.system


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(q * len(ordered)) - 1)] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="expired posts to seed and soft-delete")
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=3000, help="DataRetentionSettings.BatchSize")
    parser.add_argument("--pause-ms", type=int, default=100, help="TimeBetweenBatchesMilliseconds (excluded)")
    parser.add_argument(
        "--server", help="PostgreSQL server URI (default: MMGOV_DATABASE_URL or the embedded one)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    server = args.server or server_uri()
    dsn = create_database(server, DB_NAME, replace=True)
    now = int(time.time() * 1000)
    settings = Settings.parse(
        {
            "DataRetentionSettings": {
                "EnableMessageDeletion": True,
                "MessageRetentionDays": 100,
                "BatchSize": args.batch_size,
                "TimeBetweenBatchesMilliseconds": args.pause_ms,
            },
            "Mmgov": {"RetentionApproval": "never"},
        }
    )
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            t0 = time.perf_counter()
            seed(conn, args.posts, args.channels, now)
            seed_s = time.perf_counter() - t0
            ceiling, bare_cpu_us = bare_update_rate(conn, args.batch_size, min(30_000, args.posts // 10))
            channels = [r[0] for r in conn.execute("SELECT id FROM channels")]
            sample = [r[0] for r in conn.execute("SELECT id FROM posts TABLESAMPLE SYSTEM (1) LIMIT 20000")]
            writer = Writer(dsn, channels, sample)
            writer.start()
            time.sleep(1.0)
            writer.measure.set()
            time.sleep(2.0)
            idle = list(writer.latencies)
            writer.latencies.clear()

            t0 = time.perf_counter()
            summary = preview_purge(conn, settings)
            preview_s = time.perf_counter() - t0
            t0, cpu0 = time.perf_counter(), backend_cpu_s(conn)
            result = soft_delete(conn, settings, summary["run_id"])
            wall_s = time.perf_counter() - t0
            purge_cpu_us = (backend_cpu_s(conn) - cpu0) * 1e6 / max(1, result["messages_deleted"])
            purge_latencies = list(writer.latencies)
            writer.latencies.clear()
            t0, cpu0 = time.perf_counter(), backend_cpu_s(conn)
            restored = restore_run(
                conn, settings, summary["run_id"], actor="bench", batch_size=args.batch_size
            )
            restore_s = time.perf_counter() - t0
            restore_cpu_us = (backend_cpu_s(conn) - cpu0) * 1e6 / max(1, restored["messages_restored"])
            restore_latencies = list(writer.latencies)
            writer.latencies[:] = purge_latencies
            writer.stop.set()
            writer.join(timeout=30)
    finally:
        if not args.keep:
            drop_database(server, DB_NAME)

    sleep_s = result["sleep_ms"] / 1000
    work_s = wall_s - sleep_s
    report = {
        "posts_seeded_expired": args.posts,
        "messages_deleted": result["messages_deleted"],
        "files_deleted": result["files_deleted"],
        "batch_size": args.batch_size,
        "pause_ms": args.pause_ms,
        "batches": result["batches"],
        "seed_s": round(seed_s, 1),
        "preview_s": round(preview_s, 2),
        "soft_delete_wall_s": round(wall_s, 2),
        "configured_sleeps_s": round(sleep_s, 2),
        "soft_delete_work_s": round(work_s, 2),
        "posts_per_s_excluding_sleeps": round(result["messages_deleted"] / work_s) if work_s > 0 else None,
        "bare_update_rows_per_s": round(ceiling),
        "server_cpu_us_per_post": round(purge_cpu_us, 1),
        "bare_update_server_cpu_us_per_row": round(bare_cpu_us, 1),
        "concurrent_writes": len(writer.latencies),
        "concurrent_write_errors": len(writer.errors),
        "write_p50_ms": round(statistics.median(writer.latencies) * 1000, 2) if writer.latencies else None,
        "write_p99_ms": round(percentile(writer.latencies, 0.99) * 1000, 2),
        "write_max_ms": round(max(writer.latencies, default=0) * 1000, 2),
        "idle_write_p99_ms": round(percentile(idle, 0.99) * 1000, 2) if idle else None,
        "messages_restored": restored["messages_restored"],
        "files_restored": restored["files_restored"],
        "restore_wall_s": round(restore_s, 2),
        "restore_posts_per_s": round(restored["messages_restored"] / restore_s) if restore_s > 0 else None,
        "restore_server_cpu_us_per_post": round(restore_cpu_us, 1),
        "restore_write_p99_ms": round(percentile(restore_latencies, 0.99) * 1000, 2),
        "targets": {"posts_per_s": 50_000, "write_p99_ms": 50, "restore_posts_per_s": "purge posts/s"},
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"retention_purge-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(
        f"retention purge: {report['posts_per_s_excluding_sleeps']:,} posts/s excluding sleeps "
        f"(target 50,000; a bare UPDATE of the same columns here: {report['bare_update_rows_per_s']:,} rows/s), "
        f"concurrent write p99 {report['write_p99_ms']} ms (target 50); server CPU per post "
        f"{report['server_cpu_us_per_post']} µs (bare UPDATE {report['bare_update_server_cpu_us_per_row']} µs); "
        f"restore of the same run: {report['restore_posts_per_s']:,} posts/s ({report['restore_wall_s']} s, "
        f"{report['restore_server_cpu_us_per_post']} µs server CPU per post, write p99 "
        f"{report['restore_write_p99_ms']} ms); saved {out}"
    )


if __name__ == "__main__":
    main()
