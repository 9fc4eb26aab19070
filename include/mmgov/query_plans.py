"""The plans of mmgov's key queries on a Mattermost database: which index reaches ``posts``.

mmgov relies only on Mattermost's own indexes (never one Mattermost lacks). Each query below is the
very text the pipelines run (imported from their modules, private constants included, so the plan
is never of a copy), with parameters drawn from the database
and under the session settings its code sets. Two plans per query, both without running it
(``EXPLAIN``, in a transaction that is rolled back):

- ``chosen``: what the planner picks with its defaults (on a big database: the real plan);
- ``indexed``: with ``enable_seqscan = off``, which shows the index the query can use. A query whose
  ``posts`` access is still a sequential scan then has no Mattermost index to use: it must be fixed.

``python -m mmgov.query_plans --dsn URI`` prints the report (``make bench-plans`` runs it on a
1M-post synthetic workspace).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from mmgov.bulk_export.export_job import TRANSACTION_SETTINGS
from mmgov.bulk_export.person_scope import ORPHAN_REPLIES, THREAD_ROOTS
from mmgov.bulk_export.post_lines import lines_select
from mmgov.compliance.extract import COUNT_POSTS, FILES_STREAM
from mmgov.compliance.membership import _WINDOW_EVENTS, MEMBERS_FROM_CURRENT, MEMBERS_FROM_HISTORY
from mmgov.compliance.post_reader import POST_QUERY, POSTS_BY_ID
from mmgov.compliance.window_membership import _EVENTS_IN_WINDOW
from mmgov.ids import new_id
from mmgov.retention import physical_removal, preview, purge
from mmgov.retention.effective_policy import PLAN_SQL, plan_params
from mmgov.settings import Settings
from mmgov.state import ensure_mmgov_schema

DAY_MS = 86_400_000
SAMPLE_SIZE = 50


@dataclass
class Sample:
    """Parameter values drawn from the database: a one-day window at the middle of the posts' update
    times, some channels, users and posts, and a retention run planned inside the transaction."""

    start: int
    end: int
    channels: list[str]
    users: list[str]
    post_ids: list[str]
    run_id: str
    now: int


@dataclass(frozen=True)
class PlannedQuery:
    """A pipeline query: ``posts_by_index`` means it must reach ``posts`` through an index."""

    name: str
    area: str
    query: str | sql.Composable
    params: Callable[[Sample], dict[str, Any]]
    posts_by_index: bool = True
    settings: sql.Composable | None = None
    note: str = ""


def _window(s: Sample) -> dict[str, Any]:
    return {"start": s.start, "end": s.end}


def _purge_batch(s: Sample) -> dict[str, Any]:
    return {
        "run_id": s.run_id,
        "limit": 3000,
        "preserve_pinned": False,
        "watermark": None,
        "holds_as_of": s.now,
        "file_cutoff": s.now,
        "delete_by": "retention",
        "after_at": -1,
        "after_id": "",
    }


def _classify(s: Sample) -> dict[str, Any]:
    return {
        "run_id": s.run_id,
        "preserve_pinned": False,
        "watermark": None,
        "holds_as_of": s.now,
        "file_cutoff": s.now,
    }


def _victims(s: Sample) -> dict[str, Any]:
    n = len(s.post_ids)
    return {
        "ids": s.post_ids,
        "kinds": ["post"] * n,
        "runs": [s.run_id] * n,
        "at": [1] * n,
        "holds_as_of": s.now,
    }


QUERIES: tuple[PlannedQuery, ...] = (
    PlannedQuery("export.posts", "export", POST_QUERY, _window),
    PlannedQuery("export.files", "export", FILES_STREAM, _window),
    PlannedQuery("export.count_posts", "export", COUNT_POSTS, _window),
    PlannedQuery("export.posts_by_id", "export", POSTS_BY_ID, lambda s: {"ids": s.post_ids}),
    PlannedQuery(
        "membership.window_events",
        "membership",
        _WINDOW_EVENTS,
        _window,
        posts_by_index=False,
        note="reads channelmemberhistory once per window; Mattermost indexes it by (channelid, userid, "
        "jointime) only, so the join and leave times are found by one sequential scan of that table",
    ),
    PlannedQuery(
        "membership.members_from_history",
        "membership",
        MEMBERS_FROM_HISTORY,
        lambda s: {**_window(s), "channels": s.channels},
        posts_by_index=False,
    ),
    PlannedQuery(
        "membership.events_in_window",
        "membership",
        _EVENTS_IN_WINDOW,
        _window,
        posts_by_index=False,
        note="the same scan of channelmemberhistory for the present-members source",
    ),
    PlannedQuery(
        "membership.present_from_history",
        "membership",
        MEMBERS_FROM_HISTORY,
        lambda s: {"start": s.start, "end": s.start, "channels": s.channels},
        posts_by_index=False,
    ),
    PlannedQuery(
        "membership.members_from_current",
        "membership",
        MEMBERS_FROM_CURRENT,
        lambda s: {"channels": s.channels},
        posts_by_index=False,
    ),
    PlannedQuery(
        "purge.classify",
        "purge",
        preview._CLASSIFY_POSTS,
        _classify,
        note="the preview's one pass over the expired posts; when most posts are expired a sequential "
        "scan is the right plan",
    ),
    PlannedQuery(
        "purge.posts_batch", "purge", purge._POSTS_BATCH, _purge_batch, settings=purge._BATCH_SETTINGS
    ),
    PlannedQuery(
        "purge.files_batch", "purge", purge._FILES_BATCH, _purge_batch, settings=purge._BATCH_SETTINGS
    ),
    PlannedQuery("removal.post_victims", "removal", physical_removal._POST_VICTIMS, _victims),
    PlannedQuery(
        "gdpr.post_lines",
        "gdpr",
        lines_select(server_version=0),  # to_json on every server: the plan is the same
        lambda s: {"archived": True, "copy_files": False, "render": True, "people": None},
        posts_by_index=False,
        settings=TRANSACTION_SETTINGS,
        note="the whole workspace's post lines: posts read once sequentially, the lines sorted once by "
        "root id (Mattermost's order; asked for, so no plan changes the bytes). Reading the roots "
        "in id order through posts_pkey instead costs more (random heap reads: +0.6 s per 144,000 "
        "roots, measured on PostgreSQL 15) than the sort (+0.1 s of CPU)",
    ),
    PlannedQuery("gdpr.thread_roots", "gdpr", THREAD_ROOTS, lambda s: {"u": s.users[:3], "archived": False}),
    PlannedQuery(
        "gdpr.orphan_replies",
        "gdpr",
        ORPHAN_REPLIES,
        lambda s: {"u": s.users[:3], "ch": s.channels, "dch": []},
    ),
)


def _sample(conn: psycopg.Connection, settings: Settings) -> Sample:
    lo, hi = conn.execute("SELECT min(updateat), max(updateat) FROM posts").fetchone() or (None, None)
    lo, hi = int(lo or 0), int(hi or DAY_MS)
    start = lo + (hi - lo) // 2
    channels = [r[0] for r in conn.execute("SELECT id FROM channels ORDER BY id LIMIT %s", (SAMPLE_SIZE,))]
    users = [r[0] for r in conn.execute("SELECT id FROM users ORDER BY id LIMIT %s", (SAMPLE_SIZE,))]
    posts = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM posts WHERE updateat >= %s ORDER BY updateat LIMIT %s", (start, SAMPLE_SIZE)
        )
    ]
    run_id = new_id()  # a planned run, rolled back with the transaction
    conn.execute(
        "INSERT INTO mmgov.purge_runs (id, kind, status, created_at, now_ms, fingerprint, plan_hash, plan_doc,"
        " approval_mode) VALUES (%s, 'purge', 'previewed', %s, %s, '', '', '{}', 'never')",
        (run_id, hi, hi),
    )
    conn.execute(PLAN_SQL, plan_params(settings, run_id, hi))
    return Sample(start, start + DAY_MS, channels, users, posts, run_id, hi)


_INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


def _posts_accesses(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(access, relation)`` of every scan in a JSON plan; an index scan without a condition (a walk
    of the whole index) is a ``Full Index Scan``."""
    kind, relation, index = node["Node Type"], node.get("Relation Name", ""), node.get("Index Name", "")
    if kind == "Seq Scan":
        yield "Seq Scan", relation
    elif kind in _INDEX_SCANS:
        access = f"{kind} {index}" if "Index Cond" in node else f"Full Index Scan {index}"
        # a bitmap index scan names no relation: its index does
        yield access, relation or ("posts" if index.startswith(("idx_posts_", "posts_")) else index)
    for child in node.get("Plans", []):
        yield from _posts_accesses(child)


@dataclass
class Plan:
    """The scans of one plan: how ``posts`` is reached, and which tables are read whole."""

    posts: list[str] = field(default_factory=list)
    seq_scans: list[str] = field(default_factory=list)

    @property
    def posts_read_whole(self) -> bool:
        return any(a == "Seq Scan" or a.startswith("Full Index Scan") for a in self.posts)


def explain(
    conn: psycopg.Connection, query: str | sql.Composable, params: dict[str, Any], settings: Any = None
) -> Plan:
    """The plan of ``query`` (not run), in a savepoint rolled back so its settings do not leak."""
    with conn.transaction(force_rollback=True):
        if settings is not None:
            conn.execute(settings)
        statement = sql.SQL("EXPLAIN (FORMAT JSON) ") + (sql.SQL(query) if isinstance(query, str) else query)
        doc = conn.execute(statement, params).fetchone()[0]
    plan = Plan()
    for access, relation in _posts_accesses(doc[0]["Plan"]):
        if relation == "posts":
            plan.posts.append(access)
        if access == "Seq Scan":
            plan.seq_scans.append(relation)
    return plan


# The index check: no sequential scans, and nested loops only, so every access to ``posts`` must
# find its rows through an index condition.
_INDEX_CHECK = sql.SQL(
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
)


def query_plans(conn: psycopg.Connection, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Both plans of every query in :data:`QUERIES` (the connection must not be in a transaction)."""
    ensure_mmgov_schema(conn)
    settings = settings or Settings.parse(
        {"DataRetentionSettings": {"EnableMessageDeletion": True, "MessageRetentionDays": 30}}
    )
    report = []
    tx = conn.transaction(force_rollback=True)
    with tx:
        sample = _sample(conn, settings)
        for q in QUERIES:
            params = q.params(sample)
            chosen = explain(conn, q.query, params, q.settings)
            forced = sql.Composed([q.settings, sql.SQL("; "), _INDEX_CHECK]) if q.settings else _INDEX_CHECK
            indexed = explain(conn, q.query, params, forced)
            report.append(
                {
                    "query": q.name,
                    "area": q.area,
                    "posts_by_index": q.posts_by_index,
                    "chosen": {"posts": chosen.posts, "seq_scans": sorted(set(chosen.seq_scans))},
                    "indexed": {"posts": indexed.posts, "seq_scans": sorted(set(indexed.seq_scans))},
                    "ok": not (q.posts_by_index and indexed.posts_read_whole),
                    "note": q.note,
                }
            )
    return report


def render(report: list[dict[str, Any]]) -> str:
    """The report as a Markdown table."""
    lines = [
        "| query | posts: chosen plan | posts: index check | read whole: chosen | read whole: index check | ok |",
        "|---|---|---|---|---|---|",
    ]
    for r in report:
        chosen, indexed = r["chosen"], r["indexed"]
        cells = (
            r["query"],
            ", ".join(chosen["posts"]) or "-",
            ", ".join(indexed["posts"]) or "-",
            ", ".join(chosen["seq_scans"]) or "-",
            ", ".join(indexed["seq_scans"]) or "-",
            "yes" if r["ok"] else "NO",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmgov.query_plans", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="the Mattermost database (libpq URI)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    args = parser.parse_args(argv)
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        report = query_plans(conn)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if all(r["ok"] for r in report) else 1


if __name__ == "__main__":
    raise SystemExit(main())
