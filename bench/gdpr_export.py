"""Benchmark of the GDPR export: ``make bench-gdpr POSTS=1000000``.

1. Generates a synthetic workspace of N posts with ``python -m mmgov_dev.synth`` in its own process
   (its memory does not count), unless ``--reuse`` finds it already there.
2. Measures the raw baseline: ``COPY (SELECT * FROM posts) TO STDOUT`` read by psycopg (best of 3).
3. Runs the real whole-workspace export (``mmgov.bulk_export.export_job``, no attachments) in a
   child process and reads that child's peak RSS.
4. Measures the COPY baseline again (the machine may be shared: the best of all COPY runs is used).

Reports posts/s and JSONL lines/s, peak RSS of the export process (target <= 250 MB) and the ratio
of the export's wall time to the COPY baseline (target <= 4.0); writes ``bench/results/gdpr_export-N.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from workspace import ensure_workspace

from mmgov.mattermost_schema import schema_facts
from mmgov_dev.embedded_postgres import server_uri

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RSS_MB = 250
TARGET_RATIO = 4.0


def copy_baseline(dsn: str) -> float:
    """Seconds to read ``COPY (SELECT * FROM posts) TO STDOUT`` through psycopg."""
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY (SELECT * FROM posts) TO STDOUT") as copy:
            for _chunk in copy:
                pass
        return time.perf_counter() - t0


def run_child(dsn: str, output: Path, create_archive: bool) -> dict:
    """The export, alone in a fresh process (this script with ``--child``): wall time, counts, peak RSS."""
    argv = [
        sys.executable,
        __file__,
        "--child",
        json.dumps({"dsn": dsn, "output": str(output), "create_archive": create_archive}),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
    if proc.returncode != 0 or line is None:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"export child failed with exit code {proc.returncode}")
    return json.loads(line[len("RESULT") :])


def child_export(dsn: str, output: str, create_archive: bool) -> dict:
    """Runs in the child process: start -> run -> finish, like the DAG, without attachments."""
    import logging

    from mmgov.bulk_export.export_job import finish_export, run_export, start_export
    from mmgov.bulk_export.export_options import ExportOptions
    from mmgov.file_store import LocalFileStore
    from mmgov.settings import Settings
    from mmgov.state import ensure_mmgov_schema

    logging.disable(logging.INFO)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    job_id = f"bench-{int(time.time())}"
    params = {
        "output_path": output,
        "create_archive": create_archive,
        "include_attachments": False,
        "include_profile_pictures": False,
    }
    with psycopg.connect(dsn, autocommit=True) as state, psycopg.connect(dsn, autocommit=True) as conn:
        ensure_mmgov_schema(state)
        job = start_export(state, job_id, params, actor=None, settings=Settings())
        t0 = time.perf_counter()
        result = run_export(
            conn, state, job_id, ExportOptions.from_params(job["options"]), LocalFileStore(output)
        )
        seconds = time.perf_counter() - t0
        summary = finish_export(state, result.to_dict())
    return {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_imports_mb": rss_before,
        "summary": summary,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--database", default=None, help="default: mmgov_bench_gdpr_<posts>")
    parser.add_argument("--reuse", action="store_true", help="reuse the workspace database if it has N posts")
    parser.add_argument("--archive", action="store_true", help="write a ZIP instead of a folder")
    parser.add_argument("--validate", action="store_true", help="also run the import validator (not timed)")
    parser.add_argument("--keep", action="store_true", help="keep the export (printed path)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child)
        print(
            "RESULT" + json.dumps(child_export(job["dsn"], job["output"], job["create_archive"])), flush=True
        )
        return 0

    server = server_uri()
    database = args.database or f"mmgov_bench_gdpr_{args.posts}"
    dsn = ensure_workspace(server, database, args.posts, reuse=args.reuse)
    copies = [copy_baseline(dsn) for _ in range(3)]
    output = Path(tempfile.mkdtemp(prefix="mmgov-bench-gdpr-"))
    try:
        child = run_child(dsn, output, args.archive)
        copies += [copy_baseline(dsn) for _ in range(2)]
        summary = child["summary"]
        progress = summary["progress"]
        posts = progress["posts_exported"] + progress["direct_posts_exported"]
        lines = sum(
            v
            for k, v in progress.items()
            if k.endswith("_exported") and k not in ("attachments_exported", "profile_pictures_exported")
        )
        copy_s = min(copies)
        result = {
            "posts": args.posts,
            "mattermost_schema": schema_facts()["mattermost"]["release"],
            "posts_exported": posts,
            "export_seconds": round(child["seconds"], 3),
            "posts_per_second": round(posts / child["seconds"]),
            "records_per_second": round(lines / child["seconds"]),
            "peak_rss_mb": round(child["peak_rss_mb"], 1),
            "rss_after_imports_mb": round(child["rss_after_imports_mb"], 1),
            "copy_seconds_best": round(copy_s, 3),
            "copy_seconds_all": [round(c, 3) for c in copies],
            "ratio_to_copy": round(child["seconds"] / copy_s, 2),
            "output_bytes": summary["file_size_bytes"],
            "archive": args.archive,
            "load_average": os.getloadavg(),
            "reconciliation": summary["reconciliation"],
        }
        if args.validate:
            from mmgov.bulk_export.export_check import validate_export

            report = validate_export(summary["output_path"], check_files=False)
            result["validation"] = report.summary()
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"gdpr_export-{args.posts}.json").write_text(json.dumps(result, indent=2) + "\n")
        ok_rss = result["peak_rss_mb"] <= TARGET_RSS_MB
        ok_ratio = result["ratio_to_copy"] <= TARGET_RATIO
        print(f"GDPR export of {args.posts:,} posts ({'zip' if args.archive else 'folder'}, no attachments)")
        print(
            f"  export          {result['export_seconds']:.2f} s, {result['posts_per_second']:,} posts/s, "
            f"{result['records_per_second']:,} records/s, {result['output_bytes'] / 1e6:.0f} MB written"
        )
        print(
            f"  peak RSS        {result['peak_rss_mb']:.0f} MB (of which imports {result['rss_after_imports_mb']:.0f}"
            f" MB)  target <= {TARGET_RSS_MB} MB: {'PASS' if ok_rss else 'FAIL'}"
        )
        print(
            f"  COPY baseline   {copy_s:.2f} s (best of {len(copies)})  ratio {result['ratio_to_copy']:.2f}"
            f"  target <= {TARGET_RATIO}: {'PASS' if ok_ratio else 'FAIL'}"
        )
        print(f"  load average    {', '.join(f'{x:.1f}' for x in result['load_average'])}")
        if args.validate:
            print(f"  validation      {result['validation']}")
        if args.keep:
            print(f"  output          {summary['output_path']}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(output, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
