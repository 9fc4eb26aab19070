"""Post lines come in Mattermost's exporter order (root id) whatever plan PostgreSQL picks.

Mattermost's bulk exporter pages the roots ``ORDER BY Posts.Id`` (``GetParentsForExportAfter`` in
server/channels/store/sqlstore/post_store.go). Mattermost ids are 26 lowercase letters and digits,
so the byte order mmgov sorts in (``COLLATE "C"``) is that order under any collation.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import sql

import mmgov.bulk_export.background_lines as background_lines
import mmgov.bulk_export.export_job as export_job
from tests.bulk_export.workspace import export_once

# Planner settings that each force a different join/aggregate strategy on the line stream: the
# roots in table order (hash join) or in id order (merge join), replies grouped by hash or by sort.
PLANS = {
    "default": (),
    "hash-joins": (("enable_mergejoin", "off"), ("enable_nestloop", "off")),
    "merge-joins": (("enable_hashjoin", "off"), ("enable_nestloop", "off"), ("enable_hashagg", "off")),
    "no-seqscan": (("enable_seqscan", "off"), ("enable_hashjoin", "off")),
}


def _with_plan(monkeypatch, settings: tuple[tuple[str, str], ...]) -> None:
    """Add planner settings to the export's transaction settings (both connections use them)."""
    extra = [
        sql.SQL(", set_config({}, {}, true)").format(sql.Literal(k), sql.Literal(v)) for k, v in settings
    ]
    monkeypatch.setattr(
        export_job, "TRANSACTION_SETTINGS", sql.Composed([export_job.TRANSACTION_SETTINGS, *extra])
    )


def _serial(monkeypatch) -> None:
    monkeypatch.setattr(export_job, "open_twin", lambda conn, **_: None)


def _post_lines(jsonl: bytes) -> list[bytes]:
    return [
        line for line in jsonl.splitlines() if line.startswith((b'{"type":"post"', b'{"type":"direct_post"'))
    ]


@pytest.mark.parametrize("split", [False, True], ids=["serial", "split-direct"])
def test_the_post_lines_do_not_depend_on_the_plan(edge_workspace, tmp_path, monkeypatch, split):
    """Fails when any query of the export relies on an order it does not ask for: the same database
    exported under plans that read ``posts`` in different orders gives the same bytes (every
    section; the version line holds the export's time)."""
    if split:
        monkeypatch.setattr(background_lines, "SPLIT_DIRECT", True)
    else:
        _serial(monkeypatch)
    base = export_job.TRANSACTION_SETTINGS
    outputs = {}
    for name, settings in PLANS.items():
        monkeypatch.setattr(export_job, "TRANSACTION_SETTINGS", base)
        _with_plan(monkeypatch, settings)
        export = export_once(
            edge_workspace.dsn,
            tmp_path / name,
            edge_workspace.store,
            job_id=f"plan-{name}",
            create_archive=False,
        )
        outputs[name] = [line for line in export.jsonl.splitlines() if b'"type":"version"' not in line]
    assert len(_post_lines(b"\n".join(outputs["default"]))) > 5
    for name, lines in outputs.items():
        assert lines == outputs["default"], name


def test_rendered_post_lines_come_by_root_id(demo_db, tmp_path, monkeypatch):
    """The lines PostgreSQL renders (no attachment to copy: nearly every thread) are in root id
    order, each section on its own, as Mattermost's exporter writes them."""
    dsn, store, _summary = demo_db
    _serial(monkeypatch)
    _with_plan(monkeypatch, PLANS["hash-joins"])  # the plan that streams the roots in table order
    export = export_once(dsn, tmp_path / "out", store, job_id="by-id", include_attachments=False)
    with psycopg.connect(dsn) as conn:
        roots = conn.execute(
            "SELECT c.type IN ('D', 'G'), u.username, p.createat, p.message, p.id FROM posts p"
            " JOIN channels c ON c.id = p.channelid JOIN users u ON u.id = p.userid"
            " WHERE COALESCE(p.rootid, '') = ''"
        ).fetchall()
    by_content: dict[tuple, str | None] = {}
    for direct, user, at, message, pid in roots:  # a key two roots share identifies neither
        key = (direct, user, at, message)
        by_content[key] = None if key in by_content else pid
    for kind, direct in (("post", False), ("direct_post", True)):
        ids = []
        for line in _post_lines(export.jsonl):
            obj = json.loads(line)
            if obj["type"] == kind:
                body = obj[kind]
                pid = by_content[(direct, body["user"], body["create_at"], body["message"])]
                if pid is not None:
                    ids.append(pid)
        assert len(ids) > 100, kind
        # The rendered lines, then the Python path's few threads (authors gone, ...; one batch, by
        # id too): at most one step back.
        steps_back = [i for i in range(1, len(ids)) if ids[i] < ids[i - 1]]
        assert len(steps_back) <= 1, (kind, steps_back)
