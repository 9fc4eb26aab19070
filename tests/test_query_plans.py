"""mmgov's key queries reach ``posts`` through Mattermost 11.7's own indexes (the real index set)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from mmgov.bulk_export.export_job import TRANSACTION_SETTINGS
from mmgov.bulk_export.post_lines import lines_select
from mmgov.query_plans import _INDEX_CHECK, QUERIES, explain, main, query_plans


@pytest.fixture(scope="module")
def report(demo_template, db_factory):
    dsn = db_factory.create("plans", template=demo_template[0])
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield query_plans(conn), conn


def test_every_key_query_is_checked(report):
    plans, _ = report
    assert [r["query"] for r in plans] == [q.name for q in QUERIES]
    areas = {r["area"] for r in plans}
    assert areas == {"export", "membership", "purge", "removal", "gdpr"}


@pytest.mark.parametrize("name", [q.name for q in QUERIES if q.posts_by_index])
def test_the_query_reaches_posts_through_an_index(report, name):
    row = next(r for r in report[0] if r["query"] == name)
    assert row["indexed"]["posts"], f"{name} does not read posts at all"
    assert not any(a == "Seq Scan" or a.startswith("Full Index Scan") for a in row["indexed"]["posts"])
    assert row["ok"]


def test_the_export_window_uses_the_update_time_index(report):
    row = next(r for r in report[0] if r["query"] == "export.posts")
    assert row["indexed"]["posts"] == ["Bitmap Index Scan idx_posts_update_at"] or row["indexed"][
        "posts"
    ] == ["Index Scan idx_posts_update_at"]


def test_membership_does_not_rely_on_the_index_mattermost_lacks(report):
    """Without ``channelmemberhistory (channelid, leavetime)`` the window's joins and leaves are one
    scan of that table; the per-channel lookups use its primary key."""
    plans, conn = report
    names = {
        r[0]
        for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'channelmemberhistory'")
    }
    assert names == {"channelmemberhistory_pkey"}
    row = next(r for r in plans if r["query"] == "membership.members_from_history")
    assert row["indexed"]["seq_scans"] == []


def test_the_check_catches_a_query_without_an_index(report):
    _, conn = report
    with conn.transaction(force_rollback=True):
        plan = explain(conn, "SELECT id FROM posts WHERE message = %(m)s", {"m": "x"}, _INDEX_CHECK)
        assert plan.posts == ["Seq Scan"]
        assert plan.posts_read_whole
        walk = explain(conn, "SELECT p.id FROM posts p ORDER BY p.createat, p.id", {}, _INDEX_CHECK)
        assert walk.posts_read_whole  # a walk of a whole index is no better


def test_the_command_prints_the_table_and_succeeds(report, db_factory, capsys):
    _, conn = report
    dsn = db_factory.dsn(conn.info.dbname)
    assert main(["--dsn", dsn]) == 0
    out = capsys.readouterr().out
    assert "| export.posts |" in out
    assert "NO" not in out


def test_the_gdpr_line_stream_asks_for_its_order(report):
    """Whatever the joins, the lines leave through one sort by thread key (root id, section): their
    order is the query's (Mattermost's ``ORDER BY Posts.Id``), never the plan's."""
    plans, conn = report
    assert next(r for r in plans if r["query"] == "gdpr.post_lines")["ok"]
    params = {"archived": True, "copy_files": False, "render": True, "people": None}
    for planner in ("", "SET LOCAL enable_hashjoin = off", "SET LOCAL enable_mergejoin = off"):
        with conn.transaction(force_rollback=True):
            conn.execute(TRANSACTION_SETTINGS)
            if planner:
                conn.execute(planner)
            query = sql.SQL("EXPLAIN (FORMAT JSON) ") + lines_select(server_version=0)
            top = conn.execute(query, params).fetchone()[0][0]["Plan"]
        assert top["Node Type"] == "Sort", planner
        assert [k.replace(" ", "") for k in top["Sort Key"]] == [
            '(COALESCE(j.id,j.rootid))COLLATE"C"',
            "(COALESCE(j.is_direct,j.rp_direct))",
        ], planner
