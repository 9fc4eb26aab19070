"""How fast the Governance console's pages load on a large workspace: ``python bench/console_pages.py``.

Seeds a synthetic workspace (``mmgov_dev.synth``, default 1,000,000 posts) unless ``--reuse``, adds what
the pages list (policies, legal holds of each scope, a previewed purge run, audit rows), starts a real
``airflow api-server`` with the plugin and times every page over HTTP with an admin's session cookie
(3 loads each; the slowest counts). Target: every page under 1 s. Prints JSON; ``uptime`` matters.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT), str(PROJECT / "plugins")]

import mmgov.bulk_export.job_state  # noqa: E402 - registers gdpr_export.sql
import mmgov.custody.attestation  # noqa: E402 - registers custody.sql
import mmgov.retention  # noqa: E402, F401 - registers retention.sql
from mmgov.db import with_database  # noqa: E402
from mmgov.retention import legal_hold as lh  # noqa: E402
from mmgov.retention import retention_policy as rp  # noqa: E402
from mmgov.retention.preview import preview_purge  # noqa: E402
from mmgov.settings import Settings  # noqa: E402
from mmgov.state import ensure_mmgov_schema  # noqa: E402
from mmgov_dev.devenv import AirflowEnv  # noqa: E402
from tests.support.airflow_api import start_api_server  # noqa: E402

SETTINGS = {
    "DataRetentionSettings": {
        "EnableMessageDeletion": True,
        "MessageRetentionDays": 30,
        "EnableFileDeletion": True,
    },
    "Mmgov": {"RetentionApproval": "always", "Timezone": "Europe/Berlin"},
}
PAGES = [
    "policies",
    "holds",
    "effective?channel={channel}",
    "runs",
    "runs/{run_id}",
    "exports",
    "gdpr",
    "audit",
    "audit?event=retention.&actor=bench",
]


def seed(server: str, database: str, posts: int, files: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "mmgov_dev.synth",
        "--posts",
        str(posts),
        "--dsn",
        server,
        "--database",
        database,
    ]
    subprocess.run([*cmd, "--file-root", str(files)], check=True, stdout=subprocess.DEVNULL)


def prepare(dsn: str) -> dict[str, str]:
    """Policies, holds of each scope and a previewed run, on the workspace's busiest objects."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_mmgov_schema(conn)
        team = conn.execute(
            "SELECT teamid FROM channels WHERE teamid <> '' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        channels = [
            r[0]
            for r in conn.execute(
                "SELECT c.id FROM channels c WHERE c.teamid = %s AND c.type = 'O' ORDER BY c.totalmsgcount DESC LIMIT 4",
                (team,),
            )
        ]
        user = conn.execute("SELECT userid FROM posts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[
            0
        ]
        path = conn.execute(
            "SELECT t.name || '/' || c.name FROM channels c JOIN teams t ON t.id = c.teamid WHERE c.id = %s",
            (channels[0],),
        ).fetchone()[0]
        if not conn.execute("SELECT 1 FROM mmgov.legal_holds LIMIT 1").fetchone():
            rp.create_policy(
                conn,
                display_name="bench channels",
                post_duration_days=90,
                team_ids=[],
                channel_ids=channels[:3],
                actor="bench",
            )
            for scope, target in (("user", user), ("team", team), ("channel", channels[3])):
                lh.create_hold(conn, name=f"bench {scope}", scope=scope, target_id=target, actor="bench")
        started = time.monotonic()
        summary = preview_purge(conn, Settings.parse(SETTINGS), dag_run_id=f"manual__bench{int(time.time())}")
        print(f"preview of the workspace: {time.monotonic() - started:.1f}s", file=sys.stderr)
    return {"channel": path, "run_id": summary["run_id"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--dsn", default=os.environ.get("MMGOV_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    p.add_argument("--database", default="mmgov_bench_console")
    p.add_argument("--posts", type=int, default=1_000_000)
    p.add_argument("--reuse", action="store_true", help="the database is already seeded")
    args = p.parse_args()
    dsn = with_database(args.dsn, args.database)
    with tempfile.TemporaryDirectory(prefix="mmgov-console-bench-") as tmp:
        if not args.reuse:
            started = time.monotonic()
            seed(args.dsn, args.database, args.posts, Path(tmp) / "files")
            print(f"seeded {args.posts:,} posts in {time.monotonic() - started:.0f}s", file=sys.stderr)
        values = prepare(dsn)
        env = AirflowEnv(home=Path(tmp) / "airflow", mattermost_dsn=dsn, settings=SETTINGS)
        env.migrate()
        server = start_api_server(env)
        try:
            cookie = f"_token={server.token('admin')}"
            results = {}
            for page in PAGES:
                url = f"{server.base_url}/mmgov/console/{page.format(**values)}"
                seconds = []
                for _ in range(3):
                    req = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310 - loopback
                    started = time.monotonic()
                    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
                        resp.read()
                        assert resp.status == 200, (url, resp.status)
                    seconds.append(time.monotonic() - started)
                results[page] = {
                    "max_s": round(max(seconds), 3),
                    "median_s": round(statistics.median(seconds), 3),
                }
        finally:
            server.stop()
    with psycopg.connect(dsn) as conn:
        posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    print(
        json.dumps(
            {
                "posts": posts,
                "pages": results,
                "all_under_1s": all(r["max_s"] < 1 for r in results.values()),
                "load": os.getloadavg(),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
