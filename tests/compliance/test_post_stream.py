"""The post stream: a second connection in the export's snapshot, and the cursor fallback."""

from __future__ import annotations

import logging
import time
import zipfile
from pathlib import Path

import psycopg
import pytest

import mmgov.compliance.post_stream as post_stream_mod
from mmgov.compliance.extract import snapshot
from mmgov.compliance.post_stream import post_stream, sibling_connection
from tests.compliance.builders import Workspace

T0 = 1_767_225_600_000
START, END = T0, T0 + 100_000
POST_IDS = "SELECT id FROM posts ORDER BY id"


def _other_backends(conn: psycopg.Connection) -> int:
    return conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend'"
    ).fetchone()[0]


def _backends_settle_at(conn: psycopg.Connection, expected: int) -> bool:
    """Whether the other client backends come down to ``expected`` (a closed one exits shortly after)."""
    deadline = time.monotonic() + 10
    while _other_backends(conn) != expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _workspace(ws: Workspace) -> tuple[str, str, list[str]]:
    chan = ws.channel("town", team=ws.team("acme"))
    alice = ws.user("alice")
    ws.history(chan, alice, T0 - 1000)
    return chan, alice, [ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i) for i in range(5)]


def test_the_sibling_sees_the_exports_snapshot_and_is_read_only(mm_conn, mm_dsn, file_store):
    ws = Workspace(mm_conn, file_store)
    chan, alice, ids = _workspace(ws)
    with snapshot(mm_conn):
        assert mm_conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 5  # the snapshot starts here
        with psycopg.connect(mm_dsn, autocommit=True) as other:
            late = Workspace(other, file_store).post("late", channel=chan, user=alice, create=T0 + 50)
        sibling = sibling_connection(mm_conn)
        with sibling:
            assert sibling.info.backend_pid != mm_conn.info.backend_pid
            seen = {r[0] for r in sibling.execute(POST_IDS)}
            assert seen == set(ids)  # not the post committed after the snapshot
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                sibling.execute("DELETE FROM posts")
    with psycopg.connect(mm_dsn) as fresh:
        assert late in {r[0] for r in fresh.execute(POST_IDS)}


def test_the_stream_hands_out_batches_and_closes_its_connection(mm_conn, file_store):
    ws = Workspace(mm_conn, file_store)
    _chan, _alice, ids = _workspace(ws)
    before = _other_backends(mm_conn)
    with snapshot(mm_conn), post_stream(mm_conn, POST_IDS, {}, 2, "c") as next_rows:
        assert _other_backends(mm_conn) == before + 1  # the stream's own connection
        batches = [next_rows() for _ in range(4)]
    assert [len(b) for b in batches] == [2, 2, 1, 0]
    assert [r[0] for b in batches for r in b] == sorted(ids)
    assert _backends_settle_at(mm_conn, before)


def test_an_error_mid_stream_cancels_the_query_and_closes_the_connection(mm_conn):
    before = _other_backends(mm_conn)

    def fail_after_the_first_batch() -> None:
        big = "SELECT g, repeat('x', 200) FROM generate_series(1, 5000000) g"
        with snapshot(mm_conn), post_stream(mm_conn, big, {}, 1000, "c") as next_rows:
            assert len(next_rows()) == 1000
            raise RuntimeError("format failed")

    with pytest.raises(RuntimeError, match="format failed"):
        fail_after_the_first_batch()
    assert _backends_settle_at(mm_conn, before)
    assert mm_conn.execute("SELECT 1").fetchone() == (1,)  # the export's connection is usable


@pytest.mark.parametrize("export_format", ["csv", "actiance", "globalrelay-zip"])
def test_without_a_second_connection_the_export_is_byte_identical(
    ws, run_export, tmp_path, monkeypatch, caplog, export_format
):
    """When the stream's connection cannot be opened, a cursor on the export's connection reads the same rows."""
    chan, _alice, _ids = _workspace(ws)
    bob = ws.user("bob")
    ws.history(chan, bob, T0 + 3, T0 + 40)
    ws.post("deleted", channel=chan, user=bob, create=T0 + 10, delete=T0 + 20)
    with_file = ws.post("with-file", channel=chan, user=bob, create=T0 + 11)
    ws.file("f", post=with_file, user=bob, channel=chan, name="a.txt", create=T0 + 11, content=b"abc")
    opened = []
    real = post_stream_mod.sibling_connection
    monkeypatch.setattr(post_stream_mod, "sibling_connection", lambda conn: opened.append(1) or real(conn))
    with caplog.at_level(logging.WARNING, logger=post_stream_mod.__name__):
        streamed = run_export(START, END, batch_size=3, dest=tmp_path / "a", export_format=export_format)
    assert opened  # the normal path streams through a second connection
    assert not caplog.records

    def refuse(conn):
        raise psycopg.OperationalError("FATAL: sorry, too many clients already")

    monkeypatch.setattr(post_stream_mod, "sibling_connection", refuse)
    with caplog.at_level(logging.WARNING, logger=post_stream_mod.__name__):
        fallback = run_export(START, END, batch_size=3, dest=tmp_path / "b", export_format=export_format)
    assert "too many clients" in caplog.text
    assert "through a cursor" in caplog.text
    assert len(streamed.zips) == len(fallback.zips) == 3
    for a, b in zip(streamed.zips, fallback.zips, strict=True):
        assert a.name == b.name
        assert _entries(a) == _entries(b)


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}
