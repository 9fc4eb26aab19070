"""Pure parts: window parameters, schedule, classifier rules, manifest round trip, zip writer."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import struct
import subprocess
import sys
import zipfile

import pytest

from mmgov.compliance.delivery import StagedFile, run_key
from mmgov.compliance.export_window import ExportWindow, ExportWindowError, parse_time_param, resolve_window
from mmgov.compliance.extract import WindowCounts
from mmgov.compliance.formats import BatchResult, UnknownFormatError, get_format
from mmgov.compliance.model import ChannelInfo, ExportedFile, PostRecord, UpdateType, UserInfo
from mmgov.compliance.packaging import BatchZipWriter
from mmgov.compliance.post_classifier import classify
from mmgov.compliance.reconcile import BatchRecord, ReconciliationError, raise_for_problems, reconcile
from mmgov.compliance.run import Manifest, resolve_request
from mmgov.compliance.schedule import DEFAULT_START, daily_cron, start_and_catchup
from mmgov.errors import SettingsError
from mmgov.settings import MessageExportSettings, Settings

JAN1 = 1_767_225_600_000
UTC = dt.UTC


class TestTimeParams:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (JAN1, JAN1),
            (str(JAN1), JAN1),
            ("2026-01-01T00:00:00Z", JAN1),
            ("2026-01-01T01:00:00+01:00", JAN1),
            ("2026-01-01", JAN1),
            ("2026-01-01T00:00:00.123Z", JAN1 + 123),
            (None, None),
            ("", None),
        ],
        ids=["int", "digits", "iso-z", "iso-offset", "date", "millis", "none", "empty"],
    )
    def test_accepted(self, value, expected):
        assert parse_time_param("export_from", value) == expected

    @pytest.mark.parametrize(
        ("value", "match"),
        [
            ("yesterday", "ISO-8601"),
            (1_767_225_600, "looks like epoch seconds"),
            (-5, ">= 0"),
            (1.5, "whole epoch milliseconds"),
            (True, "epoch milliseconds or an ISO-8601"),
        ],
        ids=["words", "seconds", "negative", "float", "bool"],
    )
    def test_refused_with_the_field_name(self, value, match):
        with pytest.raises(ExportWindowError, match=match) as err:
            parse_time_param("export_to", value)
        assert "export_to" in str(err.value)


class TestResolveWindow:
    def test_params_win(self):
        window, source = resolve_window(export_from=JAN1, export_to=JAN1 + 10, now_ms=JAN1 + 100)
        assert (window, source) == (ExportWindow(JAN1, JAN1 + 10), "params")

    def test_export_to_defaults_to_now(self):
        window, _ = resolve_window(export_from=JAN1, now_ms=JAN1 + 100)
        assert window == ExportWindow(JAN1, JAN1 + 100)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"export_to": JAN1}, "without export_from"),
            ({"export_from": JAN1, "export_to": JAN1}, "must be before"),
            ({"export_from": JAN1, "export_to": JAN1 + 10**6}, "in the future"),
            ({}, "no export has completed yet"),
        ],
        ids=["to-only", "empty", "future", "no-interval"],
    )
    def test_errors(self, kwargs, match):
        with pytest.raises(ExportWindowError, match=match):
            resolve_window(**kwargs, now_ms=JAN1 + 100)

    def test_unscheduled_manual_run_exports_since_the_last_export(self):
        # Airflow gives a manual run of an unscheduled DAG no interval, or an empty one.
        empty = dt.datetime(2026, 1, 1, tzinfo=UTC)
        for interval in ({}, {"interval_start": empty, "interval_end": empty}):
            window, source = resolve_window(**interval, last_export_end_ms=JAN1 + 10, now_ms=JAN1 + 100)
            assert (window, source) == (ExportWindow(JAN1 + 10, JAN1 + 100), "since_last_export")
        # No export yet: ExportFromTimestamp starts it; it is also a floor under the last export.
        window, _ = resolve_window(floor_ms=JAN1 + 20, now_ms=JAN1 + 100)
        assert window == ExportWindow(JAN1 + 20, JAN1 + 100)
        window, _ = resolve_window(floor_ms=JAN1 + 20, last_export_end_ms=JAN1 + 10, now_ms=JAN1 + 100)
        assert window == ExportWindow(JAN1 + 20, JAN1 + 100)
        # Parameters still win over the last export.
        window, source = resolve_window(export_from=JAN1, last_export_end_ms=JAN1 + 10, now_ms=JAN1 + 100)
        assert (window, source) == (ExportWindow(JAN1, JAN1 + 100), "params")

    def test_data_interval_and_floor(self):
        start = dt.datetime(2026, 1, 1, 1, tzinfo=UTC)
        end = dt.datetime(2026, 1, 2, 1, tzinfo=UTC)
        window, source = resolve_window(interval_start=start, interval_end=end, now_ms=JAN1 + 10**9)
        assert source == "data_interval"
        assert window == ExportWindow(JAN1 + 3_600_000, JAN1 + 90_000_000)
        floored, _ = resolve_window(
            interval_start=start, interval_end=end, floor_ms=JAN1 + 7_200_000, now_ms=JAN1 + 10**9
        )
        assert floored.start_ms == JAN1 + 7_200_000
        with pytest.raises(ExportWindowError, match="ends in the future"):
            resolve_window(interval_start=start, interval_end=end, now_ms=JAN1)

    def test_settle_margin(self):
        """Mmgov.ExportSettleSeconds: an "up to now" window ends the margin before now; a later end is refused."""
        settle, now = 300_000, JAN1 + 10**9
        window, _ = resolve_window(export_from=JAN1, now_ms=now, settle_ms=settle)
        assert window == ExportWindow(JAN1, now - settle)
        window, source = resolve_window(last_export_end_ms=JAN1, now_ms=now, settle_ms=settle)
        assert (window, source) == (ExportWindow(JAN1, now - settle), "since_last_export")
        # the last export ended inside the margin (the margin grew): an empty window, not a backwards one
        window, _ = resolve_window(last_export_end_ms=now - 10, now_ms=now, settle_ms=settle)
        assert window == ExportWindow(now - settle, now - settle)
        assert resolve_window(export_from=JAN1, export_to=now - settle, now_ms=now, settle_ms=settle)[
            0
        ].end_ms == (now - settle)
        with pytest.raises(
            ExportWindowError, match=r"export_to \(\d+\) is less than Mmgov.ExportSettleSeconds \(300 s\)"
        ):
            resolve_window(export_from=JAN1, export_to=now - settle + 1, now_ms=now, settle_ms=settle)
        start = dt.datetime(2026, 1, 1, 1, tzinfo=UTC)
        end = dt.datetime(2026, 1, 2, 1, tzinfo=UTC)
        end_ms = JAN1 + 90_000_000
        with pytest.raises(ExportWindowError, match=r"data interval end .* Mmgov\.ExportSettleSeconds"):
            resolve_window(
                interval_start=start, interval_end=end, now_ms=end_ms + settle - 1, settle_ms=settle
            )
        window, _ = resolve_window(
            interval_start=start, interval_end=end, now_ms=end_ms + settle, settle_ms=settle
        )
        assert window.end_ms == end_ms

    def test_request_says_when_it_ends_at_the_settle_margin(self):
        settings = Settings.parse({"Mmgov": {"ExportSettleSeconds": 60}})
        up_to_now = resolve_request({"export_from": JAN1}, settings, now_ms=JAN1 + 10**9)
        assert (up_to_now.window.end_ms, up_to_now.settle_seconds, up_to_now.ends_at_settle) == (
            JAN1 + 10**9 - 60_000,
            60,
            True,
        )
        given = resolve_request({"export_from": JAN1, "export_to": JAN1 + 5}, settings, now_ms=JAN1 + 10**9)
        assert not given.ends_at_settle

    def test_pendulum_datetimes_from_airflow(self):
        import pendulum

        start = pendulum.datetime(2026, 1, 1, 1, tz="UTC")
        end = pendulum.datetime(2026, 1, 2, 2, tz="Europe/Berlin")  # 01:00 UTC
        window, _ = resolve_window(interval_start=start, interval_end=end, now_ms=JAN1 + 10**9)
        assert window == ExportWindow(JAN1 + 3_600_000, JAN1 + 90_000_000)

    def test_folder_name_and_edges(self):
        w = ExportWindow(JAN1, JAN1 + 90_000_000)
        assert w.folder_name == f"compliance-export-2026-01-02-01h00m-{JAN1}-{JAN1 + 90_000_000}"
        assert w.contains(JAN1)
        assert not w.contains(JAN1 + 90_000_000)
        with pytest.raises(ExportWindowError):
            ExportWindow(10, 5)

    def test_request_validates_format(self):
        settings = Settings.parse({"MessageExportSettings": {"ExportFormat": "csv"}})
        with pytest.raises(ExportWindowError, match="export_format must be one of"):
            resolve_request(
                {"export_from": JAN1, "export_to": JAN1 + 1, "export_format": "pdf"},
                settings,
                now_ms=JAN1 + 10,
            )
        req = resolve_request(
            {"export_from": JAN1, "export_to": JAN1 + 1},
            settings,
            now_ms=JAN1 + 300_001,  # the end lies Mmgov.ExportSettleSeconds (300) in the past
            run_id="manual__2026-01-01T00:00:00+00:00",
        )
        assert req.export_format == "csv"
        assert req.run_key == "manual__2026-01-01T00_00_00_00_00"
        assert req.destination.endswith("data/export")


class TestSchedule:
    def test_cron(self):
        assert daily_cron("01:00") == "0 1 * * *"
        assert daily_cron("23:59") == "59 23 * * *"
        with pytest.raises(SettingsError, match="DailyRunTime"):
            daily_cron("24:00")

    def test_bad_daily_run_time_is_a_settings_error_at_parse(self):
        with pytest.raises(SettingsError, match=r"MessageExportSettings\.DailyRunTime"):
            Settings.parse({"MessageExportSettings": {"DailyRunTime": "1am"}})

    def test_without_export_from_timestamp_no_catchup(self):
        assert start_and_catchup(MessageExportSettings()) == (DEFAULT_START, False)

    def test_export_from_timestamp_starts_at_the_tick_before(self):
        since = JAN1 + 13 * 3_600_000  # 13:00 UTC, after the 01:00 run
        start, catchup = start_and_catchup(
            MessageExportSettings(ExportFromTimestamp=since, DailyRunTime="01:00")
        )
        assert (start, catchup) == (dt.datetime(2026, 1, 1, 1, tzinfo=UTC), True)
        early = JAN1 + 1_800_000  # 00:30 UTC, before the 01:00 run
        start, _ = start_and_catchup(MessageExportSettings(ExportFromTimestamp=early, DailyRunTime="01:00"))
        assert start == dt.datetime(2025, 12, 31, 1, tzinfo=UTC)


def _post(**kw) -> PostRecord:
    base = {
        "id": "p" * 26,
        "create_at": 100,
        "update_at": 100,
        "delete_at": 0,
        "edit_at": 0,
        "user": UserInfo("u" * 26, "alice", "a@x"),
        "channel": ChannelInfo("c" * 26, "town", "Town", "O"),
        "root_id": "",
        "original_id": "",
        "message": "hi",
        "type": "",
    }
    base.update(kw)
    return PostRecord(**base)


class TestClassifier:
    @pytest.mark.parametrize(
        ("kw", "expected"),
        [
            ({}, [UpdateType.CREATED]),
            ({"delete_at": 150, "update_at": 150, "original_id": "o" * 26}, [UpdateType.EDITED_ORIGINAL]),
            (
                {"delete_at": 150, "update_at": 150, "original_id": "o" * 26, "deleted_by": "u"},
                [UpdateType.EDITED_ORIGINAL],
            ),
            (
                {"delete_at": 150, "update_at": 150, "deleted_by": "u"},
                [UpdateType.CREATED, UpdateType.DELETED],
            ),
            ({"delete_at": 150, "update_at": 150, "deleted_by": "u", "create_at": 50}, [UpdateType.DELETED]),
            ({"update_at": 150, "edit_at": 150}, [UpdateType.EDITED_NEW]),
            ({"update_at": 150}, [UpdateType.UPDATED_NO_MSG_CHANGE]),
            ({"delete_at": 150, "update_at": 150}, [UpdateType.UPDATED_NO_MSG_CHANGE]),
        ],
        ids=[
            "created",
            "edit-original",
            "edit-original-first",
            "deleted-in-window",
            "deleted-later",
            "edited-new",
            "updated",
            "deleted-without-deleteBy",
        ],
    )
    def test_rules_first_match_wins(self, kw, expected):
        cp = classify(_post(**kw), window_start_ms=100)
        assert [m.update_type for m in cp.messages] == expected

    def test_deleted_message_text(self):
        cp = classify(_post(delete_at=150, update_at=150, deleted_by="u", create_at=50), 100)
        assert cp.messages[0].message == "delete hi"
        assert cp.messages[0].update_at == 150

    def test_files(self):
        live = ExportedFile("f" * 26, "p" * 26, "a.txt", "x/a.txt")
        gone = ExportedFile("g" * 26, "p" * 26, "b.txt", "x/b.txt", delete_at=160)
        cp = classify(_post(update_at=160, files=(live, gone)), 100)
        assert cp.uploads == (live, gone)
        assert cp.file_deletions == (gone,)
        deleted = classify(_post(delete_at=160, update_at=160, deleted_by="u", files=(gone,)), 100)
        assert deleted.uploads == (gone,)  # recorded by the "created" entry
        assert deleted.file_deletions == (gone,)


def test_manifest_round_trip():
    rec = BatchRecord(
        1,
        "batch001-1-2.zip",
        1,
        2,
        3,
        1,
        BatchResult("batch001-1-2.zip", posts=3, files_copied=1, warnings=["w"]),
        StagedFile("b", 10, "ab"),
    )
    manifest = Manifest(WindowCounts(posts=3, files=1), [rec])
    again = Manifest.from_dict(json.loads(json.dumps(manifest.as_dict())))
    assert again == manifest


def test_reconcile_reports_gaps_and_counts():
    res = BatchResult("z", posts=2)
    recs = [
        BatchRecord(1, "a", 0, 5, 2, 0, res, StagedFile("a", 1, "x")),
        BatchRecord(3, "b", 6, 10, 2, 0, BatchResult("z", posts=1), StagedFile("b", 1, "x")),
    ]
    report = reconcile(ExportWindow(0, 11), 4, 0, recs)
    text = " | ".join(report.problems)
    assert "expected batch number 2" in text
    assert "starts at 6, expected 5" in text
    assert "2 posts extracted, format handled 1" in text
    assert "window ends at 11" in text
    with pytest.raises(ReconciliationError, match="nothing delivered"):
        raise_for_problems(report)


def test_unknown_format():
    with pytest.raises(UnknownFormatError, match="must be one of"):
        get_format("pdf", Settings())


def test_run_key():
    assert run_key("scheduled__2026-01-02T01:00:00+00:00") == "scheduled__2026-01-02T01_00_00_00_00"


def test_zip_writer_is_deterministic_and_stores_compressed_types():
    def build() -> bytes:
        buf = io.BytesIO()
        with BatchZipWriter(buf, timestamp_ms=JAN1) as zw:
            zw.write_text("posts.csv", "a,b\n" * 1000)
            zw.copy_from("files/p/f-photo.JPG", io.BytesIO(b"\xff" * 5000))
            zw.copy_from("files/p/g-notes.txt", io.BytesIO(b"n" * 5000))
            with pytest.raises(ValueError, match="written twice"):
                zw.write_text("posts.csv", "")
            with pytest.raises(ValueError, match="relative POSIX path"):
                zw.write_text("../evil", "")
        return buf.getvalue()

    first = build()
    assert first == build()
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        kinds = {i.filename: i.compress_type for i in zf.infolist()}
        assert zf.read("files/p/g-notes.txt") == b"n" * 5000
    assert kinds == {
        "posts.csv": zipfile.ZIP_DEFLATED,
        "files/p/f-photo.JPG": zipfile.ZIP_STORED,
        "files/p/g-notes.txt": zipfile.ZIP_DEFLATED,
    }


def test_zip_entries_are_zlib_ng_deflate_streams_whatever_the_path():
    """Deflated entries are exactly zlib-ng's level-1 raw deflate, streamed or written whole, and
    every CRC is zlib's checksum (zlib-ng computes it)."""
    import zlib

    from zlib_ng import zlib_ng

    def engine_deflate(data: bytes) -> bytes:
        c = zlib_ng.compressobj(1, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()

    text = "".join(f"{i},user{i % 97}@example.com,hello world {i * 7919 % 1000}\n" for i in range(20000))
    note = b"line of a small repetitive attachment\n" * 60  # the kind ISA-L deflated two ways
    buf = io.BytesIO()
    with BatchZipWriter(buf, timestamp_ms=JAN1) as zw:
        with zw.open("posts.csv") as stream:
            entry = stream.raw  # the zip entry stream, behind a 1 MiB write buffer
            assert type(entry).__name__ == "_EngineZipWriteFile"  # zlib-ng's CRC-32
            data = text.encode()
            stream.write(data[:1000])
            stream.write(bytearray(data[1000:5000]))
            stream.write(memoryview(data)[5000:])
        zw.write_text("metadata.json", '{"a": 1}')
        zw.copy_from("files/p/f-notes.txt", io.BytesIO(note))  # small: written whole
    data = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert zf.read("posts.csv") == text.encode()
        infos = {i.filename: i for i in zf.infolist()}
    for name, content in (
        ("posts.csv", text.encode()),
        ("metadata.json", b'{"a": 1}'),
        ("files/p/f-notes.txt", note),
    ):
        info = infos[name]
        assert zlib.crc32(content) == info.CRC, name
        name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
        raw = data[info.header_offset + 30 + name_len + extra_len :][: info.compress_size]
        assert raw == engine_deflate(content), name
        assert raw != zlib.compressobj(1, zlib.DEFLATED, -15).compress(content), name  # not zlib's


_ZIP_OF_REPETITIVE_ENTRIES = """
import hashlib, io, sys
from mmgov.compliance.packaging import BatchZipWriter
buf = io.BytesIO()
with BatchZipWriter(buf, timestamp_ms=1767225600000) as zw:
    with zw.open("posts.csv") as stream:
        for i in range(60000):
            stream.write(f"{i},user{i % 97},hello hello world {i * 7919 % 1000}\\n".encode())
    for n in range(300):  # small repetitive attachments, written whole
        zw.copy_from(f"files/p/{n}-a.txt", io.BytesIO((b"row %d of a note\\n" % (n % 7)) * (40 + n)))
print(hashlib.sha256(buf.getvalue()).hexdigest())
"""


def test_zip_bytes_do_not_depend_on_what_memory_held_before():
    """The same entries give the same zip whatever fresh memory holds: glibc's ``MALLOC_PERTURB_``
    fills every allocation with a different byte in each process (a compressor that read memory it
    had not written, as deflate engines have, would change its output)."""
    digests = set()
    for perturb in ("", "1", "85", "170"):
        env = {**os.environ, "MALLOC_PERTURB_": perturb}
        run = subprocess.run(
            [sys.executable, "-c", _ZIP_OF_REPETITIVE_ENTRIES],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(run.stdout.strip())
    assert len(digests) == 1, digests


def test_a_format_entry_written_in_small_pieces_is_deflated_in_1_mib_writes(monkeypatch):
    """Each write of a zip entry stream deflates (releasing the GIL): small pieces are gathered."""
    from mmgov.compliance import packaging

    calls: list[int] = []
    real_write = packaging._EngineZipWriteFile.write
    monkeypatch.setattr(
        packaging._EngineZipWriteFile,
        "write",
        lambda self, data: calls.append(len(data)) or real_write(self, data),
    )
    pieces = [f"<p>{i}</p>".encode() for i in range(400_000)]  # about 4.6 MB
    buf = io.BytesIO()
    with BatchZipWriter(buf, timestamp_ms=JAN1) as zw, zw.open("actiance_export.xml") as stream:
        for piece in pieces:
            stream.write(piece)
        stream.write(b"x" * (3 * packaging.CHUNK))  # a big piece goes through whole
    assert len(calls) <= 8
    assert 3 * packaging.CHUNK in calls
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.read("actiance_export.xml") == b"".join(pieces) + b"x" * (3 * packaging.CHUNK)


def test_warning_with_a_lone_surrogate_is_escaped_not_fatal():
    result = BatchResult(zip_name="b.zip")
    result.warn("Warning:missing - Post: p - files/a\ud800b\nc é")
    assert result.warnings == ["Warning:missing - Post: p - files/a\\ud800b c é"]
    buf = io.BytesIO()
    with BatchZipWriter(buf, timestamp_ms=JAN1) as zw:
        zw.write_text("warning.txt", "".join(w + "\n" for w in result.warnings))
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.read("warning.txt").decode() == "Warning:missing - Post: p - files/a\\ud800b c é\n"


def test_small_attachments_written_whole_give_the_streamed_bytes(monkeypatch):
    """copy_from writes a small file in one go: the archive is byte-identical to the streaming path."""
    import mmgov.compliance.packaging as packaging

    def build() -> bytes:
        buf = io.BytesIO()
        with BatchZipWriter(buf, timestamp_ms=JAN1) as zw:
            zw.write_text("posts.csv", "a,b\n" * 100)
            zw.copy_from("files/p/a-notes.txt", io.BytesIO(b"hello " * 3000))
            zw.copy_from("files/p/b-photo.png", io.BytesIO(bytes(range(256)) * 40))
            zw.copy_from("files/p/c-empty.txt", io.BytesIO(b""))
        return buf.getvalue()

    whole = build()
    monkeypatch.setattr(packaging, "SMALL_ENTRY", -1)
    assert build() == whole
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        assert zf.testzip() is None
        assert zf.read("files/p/a-notes.txt") == b"hello " * 3000
        assert zf.getinfo("files/p/b-photo.png").compress_type == zipfile.ZIP_STORED


def test_attachment_that_grew_after_its_size_was_taken_is_copied_whole(monkeypatch):
    import mmgov.compliance.packaging as packaging

    monkeypatch.setattr(packaging, "SMALL_ENTRY", 10)
    content = b"0123456789" * 50
    buf = io.BytesIO()
    with BatchZipWriter(buf, timestamp_ms=JAN1) as zw:
        assert zw.copy_from("files/p/x.txt", io.BytesIO(content), size=5) == len(content)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.read("files/p/x.txt") == content


def test_a_small_attachment_is_read_for_its_size_plus_one_byte():
    """One read of size + 1 bytes (not of the 1 MiB limit: an unbuffered read allocates what it may
    return); a file that grew since its size was taken, even a little, is still copied whole."""

    class Recording(io.BytesIO):
        def __init__(self, data: bytes):
            super().__init__(data)
            self.asked: list[int] = []

        def read(self, n: int | None = -1) -> bytes:
            self.asked.append(-1 if n is None else n)
            return super().read(n)

    same, grew = Recording(b"12345"), Recording(b"12345678")
    buf = io.BytesIO()
    with BatchZipWriter(buf, timestamp_ms=JAN1) as zw:
        assert zw.copy_from("files/p/same.txt", same, size=5) == 5
        assert zw.copy_from("files/p/grew.txt", grew, size=5) == 8
    assert same.asked == [6]
    assert grew.asked[0] == 6
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.read("files/p/same.txt") == b"12345"
        assert zf.read("files/p/grew.txt") == b"12345678"


def test_lookups_share_one_str_per_author_and_channel_id():
    """Rows keep their values, but equal author and channel ids become one object, across batches
    too (the driver makes a new ``str`` per value: two ids per row in memory otherwise)."""
    from mmgov.compliance.post_reader import Lookups

    def fresh(text: str) -> str:
        return "".join(list(text))  # an equal but distinct str, as read from the database

    def batch(n: int) -> list[tuple]:
        return [
            (f"p{i}", i, i, False, False, fresh("u" * 26) if i % 3 else None, fresh("c" * 26), b"x", 1)
            for i in range(n)
        ]

    lookups = Lookups()
    rows = batch(30)
    assert len({id(r[6]) for r in rows}) == 30
    shared = lookups.shared_ids(rows)
    assert shared == rows
    assert len({id(r[6]) for r in shared}) == 1
    assert len({id(r[5]) for r in shared if r[5] is not None}) == 1
    later = lookups.shared_ids(batch(5))
    assert later[1][5] is shared[1][5]
    assert later[0][6] is shared[0][6]
    assert lookups.shared_ids([]) == []
