"""Plans of mmgov's key queries on a synthetic workspace: ``make bench-plans POSTS=1000000``.

Generates (or, with ``--reuse``, reuses) the GDPR benchmark's workspace of N posts on Mattermost
11.7's real schema, then prints :func:`mmgov.query_plans.query_plans`: for the export, membership,
purge, removal and GDPR queries, the index that reaches ``posts`` in the planner's own plan and
under the index check, and the tables read whole. Writes ``bench/results/query_plans-N.json``.
Exit status 1 when a query that must reach ``posts`` through an index cannot.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import psycopg
from workspace import ensure_workspace

from mmgov.mattermost_schema import schema_differences, schema_facts
from mmgov.query_plans import query_plans, render
from mmgov_dev.embedded_postgres import server_uri

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--database", help="default: the GDPR benchmark's mmgov_bench_gdpr_<posts>")
    parser.add_argument("--reuse", action="store_true", help="reuse the workspace when it has N posts")
    args = parser.parse_args()
    database = args.database or f"mmgov_bench_gdpr_{args.posts}"
    dsn = ensure_workspace(server_uri(), database, args.posts, reuse=args.reuse)
    with psycopg.connect(dsn, autocommit=True) as conn:
        differences = schema_differences(conn)
        if differences:
            raise SystemExit(f"{database} is not Mattermost 11.7's schema: {differences}")
        conn.execute("ANALYZE")
        posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        server_version = conn.info.server_version
        report = query_plans(conn)
    RESULTS.mkdir(exist_ok=True)
    doc = {
        "posts": posts,
        "mattermost_schema": schema_facts()["mattermost"]["release"],
        "server_version": server_version,
        "load_average": os.getloadavg(),
        "queries": report,
    }
    (RESULTS / f"query_plans-{args.posts}.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"Plans on {posts:,} posts (Mattermost {doc['mattermost_schema']} schema, {database}):\n")
    print(render(report))
    for row in report:
        if row["note"]:
            print(f"- {row['query']}: {row['note']}")
    return 0 if all(r["ok"] for r in report) else 1


if __name__ == "__main__":
    sys.exit(main())
