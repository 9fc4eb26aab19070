"""Deterministic batch zips (``mmgov.compliance.packaging``): same input, same bytes, whatever the clock."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zipfile

import pytest

from mmgov.compliance.packaging import BatchZipWriter, zip_timestamp

JAN1 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("epoch_ms", "date_time"),
    [
        (JAN1, (2026, 1, 1, 0, 0, 0)),
        (JAN1 + 3_999, (2026, 1, 1, 0, 0, 2)),  # zip times have 2-second steps: rounded down
        (JAN1 + 59_000, (2026, 1, 1, 0, 0, 58)),
        (0, (1980, 1, 1, 0, 0, 0)),  # before the zip epoch: its first moment
        (-1, (1980, 1, 1, 0, 0, 0)),
    ],
    ids=["midnight", "odd-second", "last-even-second", "unix-epoch", "negative"],
)
def test_zip_timestamp(epoch_ms, date_time):
    assert zip_timestamp(epoch_ms) == date_time


def _batch(timestamp_ms: int = JAN1) -> bytes:
    buf = io.BytesIO()
    with BatchZipWriter(buf, timestamp_ms=timestamp_ms) as zw:
        with zw.open("posts.csv") as out:
            for i in range(500):
                out.write(f"{i},message {i}\n".encode())
        zw.copy_from("files/p/a.txt", io.BytesIO(b"attachment"))
        zw.write_text("warning.txt", "one warning\n")
        assert zw.names == ["posts.csv", "files/p/a.txt", "warning.txt"]
    return buf.getvalue()


def test_entries_carry_the_batch_time_fixed_permissions_and_write_order():
    with zipfile.ZipFile(io.BytesIO(_batch())) as zf:
        infos = zf.infolist()
        assert zf.testzip() is None
    assert [i.filename for i in infos] == ["posts.csv", "files/p/a.txt", "warning.txt"]
    assert {i.date_time for i in infos} == {(2026, 1, 1, 0, 0, 0)}
    assert {(i.create_system, i.external_attr >> 16) for i in infos} == {(3, 0o100644)}


def test_only_the_batch_time_changes_the_bytes():
    """The writer's own clock never leaks in: two builds agree; another batch time changes only the
    entries' time fields."""
    first, again, later = _batch(), _batch(), _batch(JAN1 + 86_400_000)
    assert first == again
    assert len(first) == len(later)
    assert first != later
    with zipfile.ZipFile(io.BytesIO(first)) as a, zipfile.ZipFile(io.BytesIO(later)) as b:
        assert [(i.CRC, i.compress_size) for i in a.infolist()] == [
            (i.CRC, i.compress_size) for i in b.infolist()
        ]


@pytest.mark.parametrize(
    "name",
    ["", "/abs.csv", "a\\b.csv", "a/../b.csv", ".."],
    ids=["empty", "absolute", "backslash", "dotdot", "parent"],
)
def test_entry_names_must_be_relative_posix_paths(name):
    with (
        BatchZipWriter(io.BytesIO(), timestamp_ms=JAN1) as zw,
        pytest.raises(ValueError, match="relative POSIX path"),
    ):
        zw.write_text(name, "x")


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
