"""`make demo`: seed a synthetic Mattermost workspace, run every mmgov DAG for real, show the output.

Uses the embedded PostgreSQL (or ``MMGOV_DATABASE_URL``), a SQLite Airflow metadata DB under
``.mmgov/airflow``, and ``airflow dags test`` for each DAG in ``dags/``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime

import psycopg

from mmgov.state import ensure_mmgov_schema
from mmgov_dev.devenv import PROJECT_ROOT, AirflowEnv, demo_settings
from mmgov_dev.embedded_postgres import create_database, server_uri
from mmgov_dev.synth import SynthConfig, generate

STATE = PROJECT_ROOT / ".mmgov"
DAY_MS = 86_400_000


def dag_runs(start_ms: int, end_ms: int) -> list[tuple[str, dict]]:
    """Each DAG the demo runs, in order (export before retention, which guards on the export)."""
    return [
        ("compliance_export", {"export_from": start_ms, "export_to": end_ms, "export_format": "csv"}),
        ("retention_purge", {"dry_run": False}),
        (
            "gdpr_export",
            {
                "include_attachments": True,
                "include_profile_pictures": True,
                "include_archived_channels": True,
                "include_roles_and_schemes": True,
                "create_archive": True,
                "output_path": str(STATE / "demo" / "gdpr"),
                "users": [],
            },
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=20_000, help="posts in the demo workspace")
    parser.add_argument("--database", default="mattermost_demo")
    args = parser.parse_args()

    t0 = time.monotonic()
    demo_dir = STATE / "demo"
    file_root = demo_dir / "filestore"
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    file_root.mkdir(parents=True)
    server = server_uri()
    dsn = create_database(server, args.database, replace=True)
    end_ms = int(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
    with psycopg.connect(dsn, autocommit=True) as conn:
        summary = generate(
            conn, SynthConfig(posts=args.posts, seed=42, days=90, end_ms=end_ms, file_root=file_root)
        )
        ensure_mmgov_schema(conn)
    print(
        f"[demo] seeded {args.posts:,} posts into {args.database} in {time.monotonic() - t0:.1f}s "
        f"(files in {file_root})",
        flush=True,
    )

    env = AirflowEnv(
        home=STATE / "airflow", mattermost_dsn=dsn, settings=demo_settings(file_root, approval="never")
    )
    if (env.home / "airflow.db").exists():
        (env.home / "airflow.db").unlink()
    env.migrate()
    present = {p.stem for p in (PROJECT_ROOT / "dags").glob("*.py") if not p.name.startswith("_")}
    results: list[tuple[str, str, float]] = []
    for dag_id, conf in dag_runs(end_ms - 90 * DAY_MS, end_ms):
        if dag_id not in present:
            continue
        t = time.monotonic()
        print(f"[demo] airflow dags test {dag_id} -c '{json.dumps(conf)}'", flush=True)
        env.dags_test(dag_id, conf)
        results.append((dag_id, "success", time.monotonic() - t))

    print("\n=== mmgov demo: what was produced and where ===")
    print(f"Mattermost database : {args.database} on {server.split('@')[-1]}")
    print(f"Workspace           : {json.dumps(summary.to_dict().get('counts', {}))}")
    for dag_id, state, secs in results:
        print(f"DAG {dag_id:<18}: {state} in {secs:.0f}s")
        for note in env.run_notes(dag_id).values():  # the run notes (mmgov_airflow.outcomes)
            print(f"    note: {note}")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (event) event, payload FROM mmgov.audit_log ORDER BY event, id DESC"
        ).fetchall()
    for event, payload in rows:
        keep = {k: v for k, v in payload.items() if not isinstance(v, dict | list) or k == "counts"}
        print(f"  event {event:<34} {json.dumps(keep, default=str)[:300]}")
    print("Output folders:")
    for folder in (file_root / "export", demo_dir / "gdpr"):
        if folder.exists():
            for path in sorted(p for p in folder.rglob("*") if p.is_file())[:10]:
                print(f"  {path.relative_to(PROJECT_ROOT)}  ({path.stat().st_size:,} bytes)")
    print(f"Airflow home        : {env.home} (logs, SQLite metadata)")
    print(f"Total               : {time.monotonic() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
