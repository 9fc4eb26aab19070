"""The post stream: on a twin connection in the export's snapshot, or through a cursor without one."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

import mmgov.compliance.extract as extract_mod
from mmgov.compliance.post_stream import post_stream
from mmgov.twin_connection import open_twin, snapshot
from tests.compliance.builders import Workspace

T0 = 1_767_225_600_000
START, END = T0, T0 + 100_000
POST_IDS = "SELECT id FROM posts ORDER BY id"


def _workspace(ws: Workspace) -> tuple[str, str, list[str]]:
    chan = ws.channel("town", team=ws.team("acme"))
    alice = ws.user("alice")
    ws.history(chan, alice, T0 - 1000)
    return chan, alice, [ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i) for i in range(5)]


def test_the_stream_reads_the_exports_snapshot_on_the_twin(mm_conn, mm_dsn, file_store):
    ws = Workspace(mm_conn, file_store)
    chan, alice, ids = _workspace(ws)
    with _twin(mm_conn) as twin, snapshot(mm_conn):
        assert mm_conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 5  # the snapshot starts here
        with psycopg.connect(mm_dsn, autocommit=True) as other:
            late = Workspace(other, file_store).post("late", channel=chan, user=alice, create=T0 + 50)
        with post_stream(mm_conn, twin, POST_IDS, {}, 100, "c") as post_rows:
            assert {r[0] for r in post_rows.next_batch()} == set(
                ids
            )  # not the post committed after the snapshot
            assert twin.info.transaction_status != psycopg.pq.TransactionStatus.IDLE  # read there
        assert twin.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with psycopg.connect(mm_dsn) as fresh:
        assert late in {r[0] for r in fresh.execute(POST_IDS)}


def test_the_stream_hands_out_batches_and_leaves_the_twin_idle(mm_conn, file_store):
    ws = Workspace(mm_conn, file_store)
    _chan, _alice, ids = _workspace(ws)
    with _twin(mm_conn) as twin, snapshot(mm_conn):
        with post_stream(mm_conn, twin, POST_IDS, {}, 2, "c") as post_rows:
            batches, ends = [], []
            for _ in range(4):
                ends.append(post_rows.at_end())  # a look ahead loses no row, asked twice or not
                ends.append(post_rows.at_end())
                batches.append(post_rows.next_batch())
            assert post_rows.at_end()
        assert twin.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert [len(b) for b in batches] == [2, 2, 1, 0]
    assert [r[0] for b in batches for r in b] == sorted(ids)
    assert ends == [False, False, False, False, False, False, True, True]


@pytest.mark.timeout(120)  # without the cancel, leaving the stream would wait for a billion rows
def test_an_error_mid_stream_cancels_the_query_at_once(mm_conn):
    def fail_after_the_first_batch(twin: psycopg.Connection) -> None:
        # in the select list the series streams (in FROM it would be materialised first)
        endless = "SELECT generate_series(1, 1000000000), repeat('x', 200)"
        with snapshot(mm_conn), post_stream(mm_conn, twin, endless, {}, 1000, "c") as post_rows:
            assert len(post_rows.next_batch()) == 1000
            raise RuntimeError("format failed")

    with _twin(mm_conn) as twin:
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="format failed"):
            fail_after_the_first_batch(twin)
        assert time.monotonic() - started < 30  # cancelled, not read to the end (minutes of rows)
        assert twin.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert twin.execute("SELECT 1").fetchone() == (1,)
    assert mm_conn.execute("SELECT 1").fetchone() == (1,)  # the export's connection is usable


@pytest.mark.parametrize("export_format", ["csv", "actiance", "globalrelay-zip"])
def test_without_a_twin_the_export_is_byte_identical(ws, run_export, tmp_path, monkeypatch, export_format):
    """Without a twin connection, a cursor on the export's connection reads the same rows."""
    chan, _alice, _ids = _workspace(ws)
    bob = ws.user("bob")
    ws.history(chan, bob, T0 + 3, T0 + 40)
    ws.post("deleted", channel=chan, user=bob, create=T0 + 10, delete=T0 + 20)
    with_file = ws.post("with-file", channel=chan, user=bob, create=T0 + 11)
    ws.file("f", post=with_file, user=bob, channel=chan, name="a.txt", create=T0 + 11, content=b"abc")
    twins: list[psycopg.Connection | None] = []

    def recorded(conn: psycopg.Connection, **kw: str) -> psycopg.Connection | None:
        twins.append(open_twin(conn, **kw))
        return twins[-1]

    monkeypatch.setattr(extract_mod, "open_twin", recorded)
    streamed = run_export(START, END, batch_size=3, dest=tmp_path / "a", export_format=export_format)
    assert len(twins) == 1
    assert twins[0] is not None  # the normal path streams on a twin
    monkeypatch.setattr(extract_mod, "open_twin", lambda conn, **kw: None)
    fallback = run_export(START, END, batch_size=3, dest=tmp_path / "b", export_format=export_format)
    assert len(streamed.zips) == len(fallback.zips) == 3
    for a, b in zip(streamed.zips, fallback.zips, strict=True):
        assert a.name == b.name
        assert _entries(a) == _entries(b)


@contextmanager
def _twin(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    twin = open_twin(conn)
    assert twin is not None
    with twin:
        yield twin


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}
