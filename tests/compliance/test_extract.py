"""Reading a window (``mmgov.compliance.extract``): exact batches of one snapshot, with their files.

Mattermost's compliance export selects ``updateat`` in ``[start, end)`` without ``system_*`` posts
(``server/channels/store/sqlstore/compliance_store.go``, ``MessageExport``); the tie-break on the
post id keeps posts sharing a millisecond from being skipped or repeated between batches.
"""

from __future__ import annotations

import psycopg
import pytest

from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.extract import WindowReader, iter_batches
from tests.compliance.builders import Workspace

T0 = 1_767_225_600_000
WINDOW = ExportWindow(T0, T0 + 100_000)


@pytest.fixture
def town(ws: Workspace) -> tuple[str, str]:
    team = ws.team("acme")
    chan = ws.channel("town", team=team)
    alice = ws.user("alice")
    ws.history(chan, alice, T0 - 1000)
    return chan, alice


def _ids(reader) -> list[list[str]]:
    return [[cp.post.id for cp in batch.posts] for batch, _counts in reader]


def test_the_window_is_half_open_and_leaves_system_posts_out(ws, town, mm_conn):
    chan, alice = town
    first = ws.post("at-start", channel=chan, user=alice, create=WINDOW.start_ms)
    last = ws.post("before-end", channel=chan, user=alice, create=WINDOW.end_ms - 1)
    ws.post("at-end", channel=chan, user=alice, create=WINDOW.end_ms)
    ws.post("before-start", channel=chan, user=alice, create=WINDOW.start_ms - 1)
    ws.post("joined", channel=chan, user=alice, create=T0 + 5, ptype="system_join_channel")
    plugin = ws.post("plugin", channel=chan, user=alice, create=T0 + 6, ptype="custom_poll")
    reader = WindowReader(mm_conn, WINDOW, batch_size=10)
    assert _ids(reader) == [[first, plugin, last]]
    assert (reader.counts.posts, reader.counts.files) == (3, 0)


def test_a_post_written_while_the_window_is_read_is_not_in_this_read(ws, town, mm_conn, mm_dsn):
    """Every batch comes from the snapshot taken when the read began: a post inserted, or one moved
    into the window, after the first batch is neither in the batches nor in the counts."""
    chan, alice = town
    ids = [ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i) for i in range(5)]
    outside = ws.post("outside", channel=chan, user=alice, create=WINDOW.end_ms + 5)
    reader = WindowReader(mm_conn, WINDOW, batch_size=2)
    batches = iter(reader)
    seen = [cp.post.id for cp in next(batches)[0].posts]
    with psycopg.connect(mm_dsn, autocommit=True) as other:
        Workspace(other).post("late", channel=chan, user=alice, create=T0 + 50)
        other.execute("UPDATE posts SET updateat = %s WHERE id = %s", (T0 + 60, outside))
        other.execute("UPDATE posts SET updateat = %s WHERE id = %s", (WINDOW.end_ms + 9, ids[4]))
    seen += [cp.post.id for batch, _counts in batches for cp in batch.posts]
    assert seen == ids
    assert reader.counts.posts == 5


def test_batches_cover_the_window_without_gaps(ws, town, mm_conn):
    """Batch i covers [start_i, end_i): the first starts at the window start, each next one where
    the previous ended (its last updateat), the last ends at the window end."""
    chan, alice = town
    for i in range(5):
        ws.post(f"p{i}", channel=chan, user=alice, create=T0 + 10 * i)
    spans = [(b.start_ms, b.end_ms, b.is_last) for b, _counts in iter_batches(mm_conn, WINDOW, batch_size=2)]
    assert spans == [
        (WINDOW.start_ms, T0 + 10, False),
        (T0 + 10, T0 + 30, False),
        (T0 + 30, WINDOW.end_ms, True),
    ]


def test_an_empty_window_gives_one_empty_batch(mm_conn, town):
    [(batch, counts)] = list(iter_batches(mm_conn, WINDOW, batch_size=3))
    assert (batch.posts, batch.start_ms, batch.end_ms, batch.is_last) == (
        [],
        WINDOW.start_ms,
        WINDOW.end_ms,
        True,
    )
    assert (counts.posts, counts.files, counts.first, counts.last) == (0, 0, None, None)


def test_files_come_with_their_posts_and_are_counted_per_batch(ws, town, mm_conn):
    chan, alice = town
    plain = ws.post("plain", channel=chan, user=alice, create=T0 + 1)
    with_files = ws.post("with-files", channel=chan, user=alice, create=T0 + 2)
    f1 = ws.file("f1", post=with_files, user=alice, channel=chan, name="a.txt", create=T0 + 2)
    f2 = ws.file("f2", post=with_files, user=alice, channel=chan, name="b.txt", create=T0 + 3)
    [(batch, counts)] = list(iter_batches(mm_conn, WINDOW, batch_size=10))
    uploads = {cp.post.id: sorted(f.id for f in cp.uploads) for cp in batch.posts}
    assert uploads == {plain: [], with_files: sorted([f1, f2])}
    assert (counts.posts, counts.files) == (2, 2)
    assert (counts.first, counts.last) == ((T0 + 1, plain), (T0 + 2, with_files))


def test_a_batch_size_below_one_is_refused(mm_conn):
    with pytest.raises(ValueError, match="BatchSize must be >= 1, got 0"):
        WindowReader(mm_conn, WINDOW, batch_size=0)
