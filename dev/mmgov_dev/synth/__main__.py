"""CLI: ``python -m mmgov_dev.synth --posts N [...]`` generates a workspace into a fresh database.

The target database (``--database``, default ``mattermost``) is dropped and re-created, unless it
holds Mattermost data that this generator did not make (no ``MmgovSynth`` row in ``systems``):
then the command refuses, whatever the flags, rather than destroy a real workspace.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from mmgov.db import with_database
from mmgov_dev.embedded_postgres import create_database, server_uri
from mmgov_dev.synth.config import SynthConfig, SynthTargetNotEmpty
from mmgov_dev.synth.generator import generate


def parse_end(value: str) -> int:
    """Epoch milliseconds from ``value``: digits (ms) or an ISO-8601 date/time (naive = UTC)."""
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--end must be epoch ms or ISO-8601, got {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mmgov_dev.synth", description=__doc__.splitlines()[0])
    p.add_argument("--posts", type=int, required=True, help="exact number of rows in posts")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--days", type=int, default=90, help="length of the time span")
    p.add_argument("--end", type=parse_end, default=None, help="end of the span: epoch ms or ISO-8601")
    p.add_argument("--file-root", type=Path, default=None, help="local file store folder for blobs")
    p.add_argument("--users", type=int, default=None)
    p.add_argument("--teams", type=int, default=None)
    p.add_argument("--attachment-ratio", type=float, default=0.03)
    p.add_argument("--missing-files", type=int, default=3)
    p.add_argument("--dsn", default=None, help="server URI (default: MMGOV_DATABASE_URL or embedded server)")
    p.add_argument("--database", default="mattermost", help="database to (re)create on the server")
    p.add_argument(
        "--no-create", action="store_true", help="load into the --dsn database as is (must be empty)"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def _is_foreign_mattermost(dsn: str) -> bool:
    """True when ``dsn``'s database exists and holds posts not made by this generator."""
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError:
        return False
    with conn:
        if conn.execute("SELECT to_regclass('public.posts') IS NOT NULL").fetchone() != (True,):
            return False
        if conn.execute("SELECT EXISTS (SELECT 1 FROM posts)").fetchone() != (True,):
            return False
        if conn.execute("SELECT to_regclass('public.systems') IS NULL").fetchone() == (True,):
            return True
        marked = conn.execute("SELECT EXISTS (SELECT 1 FROM systems WHERE name = 'MmgovSynth')").fetchone()
        return marked != (True,)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    config = SynthConfig(
        posts=args.posts,
        seed=args.seed,
        days=args.days,
        end_ms=args.end,
        file_root=args.file_root.resolve() if args.file_root else None,
        users=args.users,
        teams=args.teams,
        attachment_ratio=args.attachment_ratio,
        missing_files=args.missing_files,
    )
    config.resolve()  # validate before touching any database
    started = time.perf_counter()
    if args.no_create:
        if not args.dsn:
            print("--no-create needs --dsn", file=sys.stderr)
            return 2
        target = args.dsn
    else:
        server = args.dsn or server_uri()
        if _is_foreign_mattermost(with_database(server, args.database)):
            print(
                f"database {args.database!r} holds Mattermost data not made by mmgov_dev.synth; "
                "refusing to replace it (choose another --database)",
                file=sys.stderr,
            )
            return 3
        target = create_database(server, args.database, replace=True)
    try:
        with psycopg.connect(target) as conn:
            summary = generate(conn, config)
    except SynthTargetNotEmpty as exc:
        print(str(exc), file=sys.stderr)
        return 3
    elapsed = time.perf_counter() - started
    if args.json:
        doc = summary.to_dict()
        doc["database"] = target
        doc["elapsed_s"] = round(elapsed, 3)
        print(json.dumps(doc, indent=2))
        return 0
    counts = ", ".join(f"{k}={v}" for k, v in summary.counts.items())
    print(f"generated into {target} in {elapsed:.1f} s (seed {summary.seed})")
    print(f"span: {summary.start_ms} .. {summary.end_ms} ms")
    print(f"rows: {counts}")
    print("timings: " + ", ".join(f"{k}={v:.2f}s" for k, v in summary.timings.items()))
    if summary.file_root is not None:
        print(f"files: {summary.blobs_written} written under {summary.file_root}; missing on purpose: "
              + ", ".join(summary.missing_file_ids))  # fmt: skip
    else:
        print("files: none written (no --file-root)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
