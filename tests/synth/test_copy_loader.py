"""COPY text escaping round-trips through a real PostgreSQL, and the fast id source."""

from __future__ import annotations

import random
import re

from mmgov_dev.synth.copy_loader import copy_chunks, copy_lines, esc, flag, opt
from mmgov_dev.synth.idgen import id_source

AWKWARD = [
    "",
    "plain",
    "tab\there",
    "new\nline",
    "crlf\r\nline",
    "back\\slash and \\N and \\t literally",
    "\\",
    "quote \" and 'single', comma",
    "unicode 😀 日本語 café",
    "controls \x01\x02\x0b\x0c\x1b\x7f",
    "noncharacters \ufffe\uffff",
]


def test_escaped_text_round_trips(synth_db):
    _dsn, conn = synth_db
    conn.execute("CREATE TABLE t (n int, s text, b boolean)")
    lines = [f"{i}\t{esc(s)}\t{flag(i % 2 == 0)}\n" for i, s in enumerate(AWKWARD)]
    lines.append(f"{len(AWKWARD)}\t{opt(None)}\t{flag(False)}\n")
    copy_lines(conn, "t", ["n", "s", "b"], lines)
    got = conn.execute("SELECT s, b FROM t ORDER BY n").fetchall()
    assert got == [(s, i % 2 == 0) for i, s in enumerate(AWKWARD)] + [(None, False)]


def test_chunks_may_split_anywhere_between_lines(synth_db):
    _dsn, conn = synth_db
    conn.execute("CREATE TABLE t (n int)")
    copy_chunks(
        conn, "t", ["n"], ("".join(f"{i}\n" for i in range(k, k + 1000)) for k in range(0, 10_000, 1000))
    )
    assert conn.execute("SELECT count(*), sum(n) FROM t").fetchone() == (10_000, sum(range(10_000)))


def test_ids_are_mattermost_shaped_unique_and_deterministic():
    a = id_source(random.Random(5))
    b = id_source(random.Random(5))
    first = [a() for _ in range(50_000)]
    assert first == [b() for _ in range(50_000)]
    assert len(set(first)) == len(first)
    assert all(re.fullmatch(r"[a-z0-9]{26}", i) for i in first)
    assert first != [id_source(random.Random(6))() for _ in range(1)] * 50_000
