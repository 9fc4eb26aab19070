"""Batches of one snapshot stream, window edges and tiling, deterministic zips, atomic delivery, reconciliation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mmgov.compliance.delivery import STAGING_DIR, DeliveryError, LocalDestination
from mmgov.compliance.export_request import ExportRequest
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.extract import iter_batches
from mmgov.compliance.formats import get_format
from mmgov.compliance.reconcile import ReconciliationError
from mmgov.compliance.staging import check_staged, stage_export
from mmgov.file_store import LocalFileStore
from tests.compliance.builders import csv_request, mmid, town_channel
from tests.compliance.conftest import settings_for

T0 = 1_767_225_600_000
START, END = T0, T0 + 100_000


def _post_ids(lines: list[str]) -> list[str]:
    return [line.split(",")[13] for line in lines if line.split(",")[13]]


class TestSnapshotBatches:
    def test_equal_timestamps_across_batch_boundaries(self, ws, run_export):
        chan, alice = town_channel(ws, T0 - 1000)
        same = [ws.post(f"same{i}", channel=chan, user=alice, create=T0 + 10) for i in range(7)]
        later = ws.post("later", channel=chan, user=alice, create=T0 + 11)
        out = run_export(START, END, batch_size=3)
        assert [z.name for z in out.zips] == [
            f"batch001-{START}-{T0 + 10}.zip",
            f"batch002-{T0 + 10}-{T0 + 10}.zip",
            f"batch003-{T0 + 10}-{END}.zip",
        ]
        exported = _post_ids(out.csv_lines())
        assert sorted(exported) == sorted([*same, later])
        assert len(exported) == len(set(exported)) == 8
        assert out.summary["messages"] == 8

    @pytest.mark.parametrize("batch_size", [1, 2, 7, 8, 9], ids=lambda n: f"batch{n}")
    def test_every_batch_size_exports_each_post_once(self, ws, run_export, batch_size):
        chan, alice = town_channel(ws, T0 - 1000)
        ids = [ws.post(f"s{i}", channel=chan, user=alice, create=T0 + 10 + i // 4) for i in range(8)]
        out = run_export(START, END, batch_size=batch_size)
        exported = _post_ids(out.csv_lines())
        assert sorted(exported) == sorted(ids)
        assert len(out.zips) == -(-8 // batch_size)

    def test_batches_follow_updateat_then_id(self, mm_conn, ws):
        chan, alice = town_channel(ws, T0 - 1000)
        ids = {ws.post(f"p{i}", channel=chan, user=alice, create=T0 + (i % 3)) for i in range(10)}
        window = ExportWindow(START, END)
        seen = []
        for batch, counts in iter_batches(mm_conn, window, batch_size=4):
            keys = [(cp.post.update_at, cp.post.id) for cp in batch.posts]
            assert keys == sorted(keys)
            assert counts.posts == len(batch.posts)  # what the extractor handed out
            seen.extend(keys)
        assert seen == sorted(seen)
        assert {k[1] for k in seen} == ids


class TestWindowEdges:
    def test_start_is_in_end_is_out(self, ws, run_export, tmp_path):
        chan, alice = town_channel(ws, T0 - 1000)
        at_start = ws.post("at-start", channel=chan, user=alice, create=START)
        at_end = ws.post("at-end", channel=chan, user=alice, create=END)
        before = ws.post("before", channel=chan, user=alice, create=START - 1)
        first = run_export(START, END, dest=tmp_path / "a")
        second = run_export(END, END + 100_000, dest=tmp_path / "b")
        assert _post_ids(first.csv_lines()) == [at_start]
        assert _post_ids(second.csv_lines()) == [at_end]
        assert before not in _post_ids(first.csv_lines()) + _post_ids(second.csv_lines())

    def test_adjacent_windows_tile_one_big_window(self, ws, run_export, tmp_path):
        chan, alice = town_channel(ws, T0 - 1000)
        bob = ws.user("bob")
        ws.history(chan, bob, T0 + 40_000, T0 + 150_000)
        for i in range(40):
            t = T0 + i * 5_000  # several land exactly on the boundary T0 + 100_000 (i = 20)
            ws.post(f"t{i}", channel=chan, user=alice if i % 2 else bob, create=t, update=t + (i % 4) * 1000)
        ws.post("edge-a", channel=chan, user=alice, create=T0 + 100_000)
        ws.post("edge-b", channel=chan, user=alice, create=T0 + 99_999)
        mid, end = T0 + 100_000, T0 + 200_000
        a = run_export(START, mid, dest=tmp_path / "a", batch_size=7)
        b = run_export(mid, end, dest=tmp_path / "b", batch_size=5)
        whole = run_export(START, end, dest=tmp_path / "w", batch_size=1000)
        split = _post_ids(a.csv_lines()) + _post_ids(b.csv_lines())
        assert len(split) == len(set(split))
        assert sorted(split) == sorted(_post_ids(whole.csv_lines()))
        assert a.summary["messages"] + b.summary["messages"] == whole.summary["messages"] == 42

        def post_rows(out):
            return sorted(line for line in out.csv_lines() if line.split(",")[13])

        assert sorted(post_rows(a) + post_rows(b)) == post_rows(whole)
        events = [line.split(",")[17] for out in (a, b) for line in out.csv_lines()]
        assert events.count("enter") == 1  # bob joins in the first window...
        assert events.count("leave") == 1  # ...and leaves in the second: each event exactly once


class TestDeterminismAndRerun:
    def test_rerun_gives_byte_identical_zips(self, ws, run_export, tmp_path):
        chan, alice = town_channel(ws, T0 - 1000)
        for i in range(12):
            pid = ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i)
            ws.file(f"f{i}", post=pid, user=alice, channel=chan, name=f"doc{i}.txt", content=b"x" * (i * 100))
        first = run_export(START, END, dest=tmp_path / "d", batch_size=5, run_id="one")
        digests = {z.name: hashlib.sha256(z.read_bytes()).hexdigest() for z in first.zips}
        again = run_export(START, END, dest=tmp_path / "d", batch_size=5, run_id="two")
        assert {z.name: hashlib.sha256(z.read_bytes()).hexdigest() for z in again.zips} == digests
        other = run_export(START, END, dest=tmp_path / "other", batch_size=5, run_id="three")
        assert {z.name: hashlib.sha256(z.read_bytes()).hexdigest() for z in other.zips} == digests
        assert not (tmp_path / "d" / STAGING_DIR).exists()

    def test_rerun_with_fewer_batches_removes_stale_batches(self, ws, run_export, tmp_path):
        chan, alice = town_channel(ws, T0 - 1000)
        for i in range(9):
            ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i)
        big = run_export(START, END, dest=tmp_path / "d", batch_size=2)
        big_names = [z.name for z in big.zips]
        assert len(big_names) == 5
        (big.folder / "notes.txt").write_text("operator file, not ours")
        small = run_export(START, END, dest=tmp_path / "d", batch_size=100)
        assert [z.name for z in small.zips] == [f"batch001-{START}-{END}.zip"]
        assert small.summary["removed_stale"] == big_names
        assert (small.folder / "notes.txt").exists()


class TestAtomicDelivery:
    def test_unwritable_destination_is_a_clear_error(self, mm_conn, ws, file_store, tmp_path):
        blocker = tmp_path / "file-not-dir"
        blocker.write_text("x")
        dest = LocalDestination(blocker / "exports")
        settings = settings_for(file_store)
        with pytest.raises(DeliveryError, match="not writable"):
            stage_export(
                mm_conn,
                csv_request(ExportWindow(START, END)),
                get_format("csv", settings),
                LocalFileStore(file_store),
                dest,
            )


class TestReconciliation:
    def test_a_format_that_drops_a_post_fails_the_run(self, mm_conn, ws, file_store, tmp_path):
        chan, alice = town_channel(ws, T0 - 1000)
        for i in range(5):
            pid = ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i)
        ws.file("f", post=pid, user=alice, channel=chan, name="a.txt")
        settings = settings_for(file_store)
        fmt = get_format("csv", settings)
        original = fmt.write_batch

        def lossy(batch, out, files):
            batch.posts = batch.posts[:-1]  # a bug that silently loses the last post and its file
            return original(batch, out, files)

        fmt.write_batch = lossy
        window = ExportWindow(START, END)
        dest = LocalDestination(tmp_path / "exports")
        request = csv_request(window, batch_size=10)
        manifest = stage_export(mm_conn, request, fmt, LocalFileStore(file_store), dest)
        with pytest.raises(ReconciliationError, match=r"5 posts extracted, format handled 4") as err:
            check_staged(request, manifest, dest)
        assert "1 files extracted, format accounted for 0" in str(err.value)
        assert "database has 5 posts, formats handled 4" in str(err.value)
        assert not (tmp_path / "exports" / window.folder_name).exists()

    def test_a_tampered_staged_zip_fails_the_run(self, mm_conn, ws, file_store, tmp_path):
        chan, alice = town_channel(ws, T0 - 1000)
        ws.post("p", channel=chan, user=alice, create=T0 + 1)
        settings = settings_for(file_store)
        window = ExportWindow(START, END)
        dest = LocalDestination(tmp_path / "exports")
        request = csv_request(window)
        manifest = stage_export(
            mm_conn, request, get_format("csv", settings), LocalFileStore(file_store), dest
        )
        staged = next((tmp_path / "exports" / STAGING_DIR).rglob("batch001-*.zip"))
        staged.write_bytes(staged.read_bytes()[:-10])
        with pytest.raises(ReconciliationError, match="size"):
            check_staged(request, manifest, dest)


def test_zip_entries_have_fixed_metadata(ws, run_export):
    import zipfile

    chan, alice = town_channel(ws, T0 - 1000)
    ws.post("p", channel=chan, user=alice, create=T0 + 1)
    out = run_export(START, END)
    with zipfile.ZipFile(out.zips[0]) as zf:
        infos = zf.infolist()
    assert {i.date_time for i in infos} == {(2026, 1, 1, 0, 1, 40)}  # the window end, UTC
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert mmid("p") in out.csv_lines()[-1]


def test_folder_layout(ws, run_export, tmp_path):
    out = run_export(START, END, dest=tmp_path / "exports")
    assert out.folder == tmp_path / "exports" / f"compliance-export-2026-01-01-00h01m-{START}-{END}"
    assert Path(out.summary["location"]) == out.folder


def test_window_membership_is_the_deduplicated_per_batch_membership(demo_db, tmp_path):
    """On the synthetic workspace, small batches: CsvMembershipRows=window writes each row of
    Mattermost's per-batch membership exactly once (the first time it appears), nothing else."""
    import csv
    import io
    import zipfile

    import psycopg

    from mmgov.compliance.tasks import export_window_to_destination
    from mmgov.settings import Settings

    dsn, store, synth = demo_db
    window = ExportWindow(synth.end_ms - 20 * 86_400_000, synth.end_ms)

    def membership(mode: str) -> list[list[tuple]]:
        settings = Settings.parse(
            {"FileSettings": {"Directory": str(store)}, "Mmgov": {"CsvMembershipRows": mode}}
        )
        with psycopg.connect(dsn) as conn:
            summary = export_window_to_destination(
                conn,
                window,
                settings,
                export_format="csv",
                batch_size=97,
                destination=LocalDestination(tmp_path / mode),
            )
        batches = []
        for name in summary["batches"]:
            with zipfile.ZipFile(tmp_path / mode / window.folder_name / name) as zf:
                rows = list(csv.reader(io.StringIO(zf.read("posts.csv").decode(), newline="")))[1:]
            batches.append([(r[6], r[10], int(r[0]), r[17]) for r in rows if not r[13]])
        return batches

    per_batch = membership("batch")
    per_window = membership("window")
    assert len(per_batch) == len(per_window) > 5
    written = [row for batch in per_window for row in batch]
    assert len(written) == len(set(written))  # nothing twice
    seen: set[tuple] = set()
    expected = []
    for batch in per_batch:  # first occurrence of each history event; synthetic authors once per channel
        for cid, uid, t, kind in batch:
            key = (cid, uid, t, kind == "leave")
            if key in seen:
                continue
            seen.add(key)
            expected.append((cid, uid, t, kind))
    with psycopg.connect(dsn) as conn:
        history = {
            (c, u, t)
            for c, u, j, lv in conn.execute(
                "SELECT channelid, userid, jointime, leavetime FROM channelmemberhistory"
            )
            for t in (j, lv)
        }
    real = [row for row in expected if (row[0], row[1], row[2]) in history]
    synthetic = {(c, u) for c, u, t, k in expected if (c, u, t) not in history}
    assert sorted(r for r in written if (r[0], r[1], r[2]) in history) == sorted(real)
    written_synthetic = [(c, u) for c, u, t, k in written if (c, u, t) not in history]
    assert sorted(written_synthetic) == sorted(synthetic)
    assert len(real) > 50


def test_csv_without_member_lists_writes_the_same_zips_as_with_them(demo_db, tmp_path):
    """The CSV's window mode asks the membership source for no member lists (new joins only after
    a channel's first batch, no per-member objects kept). Forcing whole lists gives byte-identical
    zips, over many small batches of the synthetic workspace and a window that starts mid-history."""
    import psycopg

    from mmgov.compliance.membership import MemberListing
    from mmgov.settings import Settings

    dsn, store, synth = demo_db
    window = ExportWindow(synth.end_ms - 20 * 86_400_000, synth.end_ms)
    settings = Settings.parse({"FileSettings": {"Directory": str(store)}})

    def export(listing: MemberListing) -> dict[str, bytes]:
        fmt = get_format("csv", settings)
        assert fmt.member_listing is MemberListing.ONCE_PER_WINDOW  # the default of the window mode
        fmt.member_listing = listing
        out = tmp_path / f"lists-{listing.value}"
        request = ExportRequest(
            window=window,
            source="params",
            export_format="csv",
            batch_size=97,
            destination=str(out),
            run_folder=window.folder_name,
            run_key="k",
        )
        with psycopg.connect(dsn) as conn:
            manifest = stage_export(conn, request, fmt, LocalFileStore(store), LocalDestination(out))
        assert sum(b.result.members for b in manifest.batches) > 100
        return {p.name: p.read_bytes() for p in sorted(out.rglob("*.zip"))}

    light, full = export(MemberListing.ONCE_PER_WINDOW), export(MemberListing.EVERY_BATCH)
    assert len(light) > 5
    assert light == full
