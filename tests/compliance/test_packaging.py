"""Deterministic batch zips (``mmgov.compliance.packaging``): same input, same bytes, whatever the clock."""

from __future__ import annotations

import io
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
