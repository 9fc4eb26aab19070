"""Benchmark of retention's soft delete: ``make bench-purge POSTS=1000000``.

Seeds N expired posts (plus 10 % young ones and a file for every 10th post) with server-side
``INSERT ... SELECT generate_series`` into a template database with Mattermost 11.7's real schema
(every index, the full-text GIN ones included), then makes two copies of it (``CREATE DATABASE ...
TEMPLATE``): on one, a bare ``UPDATE`` of exactly the rows the purge deletes, in the same batches
(``BatchSize``, same order, the same columns set), timed; on the other, the real purge code
(``mmgov.retention``) previews and soft-deletes them. Another connection keeps inserting and editing
posts in the same channels during both. Reports posts/s excluding the configured pauses
(``TimeBetweenBatchesMilliseconds``), the bare UPDATE's rows/s on the same rows and index set, the
ratio (target >= 80 %), and the latency of the concurrent writes. Then restores the same run
(``mmgov.retention.restore``, same batch size, the writer still running) and reports its posts/s
beside the purge's.
Targets: >= 50,000 posts/s, ratio >= 0.8, p99 of concurrent writes <= 50 ms, restore >= the purge's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import threading
import time
from pathlib import Path

import psutil
import psycopg

import mmgov.retention  # noqa: F401 - registers retention.sql
from mmgov.ids import new_id
from mmgov.mattermost_schema import (
    create_mattermost_indexes,
    create_mattermost_tables,
    schema_differences,
    schema_facts,
)
from mmgov.retention.preview import preview_purge
from mmgov.retention.purge import soft_delete
from mmgov.retention.restore import restore_run
from mmgov.settings import Settings
from mmgov.state import ensure_mmgov_schema
from mmgov_dev.embedded_postgres import create_database, drop_database, server_uri

DAY = 86_400_000
DB_NAME = "mmgov_bench_purge"
TEMPLATE_NAME = "mmgov_bench_purge_tpl"
BARE_NAME = "mmgov_bench_purge_bare"
TARGET_RATIO = 0.8
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
    """Mattermost 11.7's tables, the rows, then every index and view (as after a bulk load)."""
    create_mattermost_tables(conn)
    params = {"channels": channels, "expired": posts, "total": posts + posts // 10, "now": now, "day": DAY}
    for statement in filter(str.strip, _SEED.split(";\n")):
        conn.execute(statement, params)
    conn.execute("SET maintenance_work_mem = '256MB'")
    create_mattermost_indexes(conn)
    ensure_mmgov_schema(conn)
    conn.execute("VACUUM ANALYZE")
    differences = schema_differences(conn)
    if differences:
        raise RuntimeError(f"the benchmark database is not Mattermost 11.7's schema: {differences}")


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


# One batch of a soft delete's columns, as the purge sets them (mmgov.retention.purge), nothing else.
_NOW_MS = "(extract(epoch FROM transaction_timestamp()) * 1000)::bigint"
_BARE_UPDATE = (
    f"UPDATE posts p SET deleteat = {_NOW_MS}, updateat = {_NOW_MS},"
    " props = p.props || jsonb_build_object('deleteBy', 'bench', 'mmgov_purge_run', 'bench')"
    " WHERE p.id = ANY(ARRAY(SELECT id FROM bench_batches WHERE batch = %s))"
)


def bare_update_rate(conn: psycopg.Connection, cutoff: int, batch_size: int) -> tuple[int, float, float]:
    """``(rows, rows/s, server CPU µs/row)`` of a bare ``UPDATE`` of the rows the purge deletes.

    The expired posts (``deleteat = 0``, ``createat`` before ``cutoff``), in the purge's batches: its
    order (``createat, id``), ``batch_size`` rows a transaction, its columns (``deleteat``,
    ``updateat``, ``props`` with the same two keys), its commit (``synchronous_commit = off``). No
    selection, checks, log or files: only the index maintenance every soft delete pays. The batches
    are listed before the clock starts.
    """
    conn.execute(
        "CREATE TEMP TABLE bench_batches AS SELECT (row_number() OVER (ORDER BY createat, id) - 1) / %s AS batch,"
        " id FROM posts WHERE deleteat = 0 AND createat < %s",
        (batch_size, cutoff),
    )
    conn.execute("CREATE INDEX ON bench_batches (batch)")
    conn.execute("ANALYZE bench_batches")
    rows, batches = conn.execute("SELECT count(*), coalesce(max(batch) + 1, 0) FROM bench_batches").fetchone()
    started, cpu = time.perf_counter(), backend_cpu_s(conn)
    for batch in range(batches):
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = off")  # as the purge's batches commit
            conn.execute(_BARE_UPDATE, (batch,))
    seconds = time.perf_counter() - started
    return rows, rows / seconds if seconds > 0 else 0.0, (backend_cpu_s(conn) - cpu) * 1e6 / max(1, rows)


class Measured:
    """A writer on ``dsn`` for the duration of a block: its latencies while the block ran."""

    def __init__(self, dsn: str, sample: list[str]):
        with psycopg.connect(dsn) as conn:
            channels = [r[0] for r in conn.execute("SELECT id FROM channels")]
        self.writer = Writer(dsn, channels, sample)
        self.idle: list[float] = []

    def __enter__(self) -> Writer:
        self.writer.start()
        time.sleep(1.0)
        self.writer.measure.set()
        time.sleep(2.0)
        self.idle = list(self.writer.latencies)
        self.writer.latencies.clear()
        return self.writer

    def __exit__(self, *exc: object) -> None:
        self.writer.stop.set()
        self.writer.join(timeout=30)


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
    tpl_dsn = create_database(server, TEMPLATE_NAME, replace=True)
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
        with psycopg.connect(tpl_dsn, autocommit=True) as conn:
            t0 = time.perf_counter()
            seed(conn, args.posts, args.channels, now)
            seed_s = time.perf_counter() - t0
            sample = [r[0] for r in conn.execute("SELECT id FROM posts TABLESAMPLE SYSTEM (1) LIMIT 20000")]
        # Two copies of the same template: the bare UPDATE on one, the purge on the other.
        bare_dsn = create_database(server, BARE_NAME, template=TEMPLATE_NAME, replace=True)
        dsn = create_database(server, DB_NAME, template=TEMPLATE_NAME, replace=True)
        cutoff = now - settings.DataRetentionSettings.message_retention_hours * 3_600_000
        with psycopg.connect(bare_dsn, autocommit=True) as conn, Measured(bare_dsn, sample) as bare_writer:
            bare_rows, bare_rate, bare_cpu_us = bare_update_rate(conn, cutoff, args.batch_size)
        measured = Measured(dsn, sample)
        with psycopg.connect(dsn, autocommit=True) as conn, measured as writer:
            t0 = time.perf_counter()
            summary = preview_purge(conn, settings, now_ms=now)
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
            writer.latencies[:] = purge_latencies  # the report's write figures are the purge's
        idle = measured.idle
    finally:
        if not args.keep:
            for name in (DB_NAME, BARE_NAME, TEMPLATE_NAME):
                drop_database(server, name)

    sleep_s = result["sleep_ms"] / 1000
    work_s = wall_s - sleep_s
    purge_rate = result["messages_deleted"] / work_s if work_s > 0 else 0.0
    report = {
        "mattermost_schema": schema_facts()["mattermost"]["release"],
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
        "posts_per_s_excluding_sleeps": round(purge_rate),
        "bare_update_rows": bare_rows,
        "bare_update_rows_per_s": round(bare_rate),
        "purge_to_bare_update_ratio": round(purge_rate / bare_rate, 3) if bare_rate else None,
        "server_cpu_us_per_post": round(purge_cpu_us, 1),
        "bare_update_server_cpu_us_per_row": round(bare_cpu_us, 1),
        "concurrent_writes": len(writer.latencies),
        "concurrent_write_errors": len(writer.errors),
        "write_p50_ms": round(statistics.median(writer.latencies) * 1000, 2) if writer.latencies else None,
        "write_p99_ms": round(percentile(writer.latencies, 0.99) * 1000, 2),
        "write_max_ms": round(max(writer.latencies, default=0) * 1000, 2),
        "idle_write_p99_ms": round(percentile(idle, 0.99) * 1000, 2) if idle else None,
        "bare_update_write_p99_ms": round(percentile(bare_writer.latencies, 0.99) * 1000, 2),
        "messages_restored": restored["messages_restored"],
        "files_restored": restored["files_restored"],
        "restore_wall_s": round(restore_s, 2),
        "restore_posts_per_s": round(restored["messages_restored"] / restore_s) if restore_s > 0 else None,
        "restore_to_purge_ratio": round(restored["messages_restored"] / restore_s / purge_rate, 3)
        if restore_s > 0 and purge_rate
        else None,
        "restore_server_cpu_us_per_post": round(restore_cpu_us, 1),
        "restore_write_p99_ms": round(percentile(restore_latencies, 0.99) * 1000, 2),
        "load_average": os.getloadavg(),
        "targets": {
            "posts_per_s": 50_000,
            "purge_to_bare_update_ratio": TARGET_RATIO,
            "write_p99_ms": 50,
            "restore_to_purge_ratio": 1.0,
        },
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"retention_purge-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    if bare_rows != result["messages_deleted"]:  # the purge skips rows the concurrent writer holds locked
        print(f"note: the bare UPDATE changed {bare_rows:,} rows, the purge {result['messages_deleted']:,}")
    ratio = report["purge_to_bare_update_ratio"]
    print(
        f"retention purge: {report['posts_per_s_excluding_sleeps']:,} posts/s excluding sleeps "
        f"(target 50,000); a bare UPDATE of the same {bare_rows:,} rows on the same index set: "
        f"{report['bare_update_rows_per_s']:,} rows/s; ratio {ratio} (target >= {TARGET_RATIO}: "
        f"{'PASS' if ratio is not None and ratio >= TARGET_RATIO else 'FAIL'}); "
        f"concurrent write p99 {report['write_p99_ms']} ms (target 50); server CPU per post "
        f"{report['server_cpu_us_per_post']} µs (bare UPDATE {report['bare_update_server_cpu_us_per_row']} µs); "
        f"restore of the same run: {report['restore_posts_per_s']:,} posts/s, {report['restore_to_purge_ratio']} "
        f"of the purge's rate (target >= 1.0; {report['restore_wall_s']} s, "
        f"{report['restore_server_cpu_us_per_post']} µs server CPU per post, write p99 "
        f"{report['restore_write_p99_ms']} ms); saved {out}"
    )


if __name__ == "__main__":
    main()
