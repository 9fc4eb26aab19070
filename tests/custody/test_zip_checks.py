"""mmgov.custody.zip_checks: what ``mmgov verify`` finds wrong inside a zip, against its manifest.

Real exports checked end to end are tests/custody/test_compliance_s3_and_encryption.py (batch zips)
and tests/custody/test_gdpr.py (GDPR archives); here small hand-made zips, one fault each.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mmgov.custody.zip_checks import check_archive, check_line_counts, check_zip

BATCH = {"file": "batch001.zip", "entries": 2, "uploads": 1, "file_deletions": 0, "members": 1}


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return path


def _doc(fmt: str, **batch: Any) -> dict[str, Any]:
    return {"export": {"format": fmt}, "batches": [{**BATCH, **batch}]}


CSV = b"Post Id,Message\r\n" + b"".join(b"p%d,hello\r\n" % i for i in range(4))  # 4 rows = 2 + 1 + 0 + 1
XML = b"<FileDump><Conversation>" + b"<Message>x</Message>" * 2 + b"</Conversation></FileDump>"


@pytest.mark.parametrize(
    ("fmt", "members", "batch"),
    [
        ("csv", {"posts.csv": CSV}, {}),
        ("actiance", {"actiance_export.xml": XML}, {}),  # <Message> per entry and file deletion
        ("globalrelay-zip", {"a.eml": b"1", "b.eml": b"2", "c.eml": b"3"}, {"format_figures": {"emails": 3}}),
    ],
)
def test_a_zip_that_matches_its_batch_has_no_problem_and_one_count_less_is_named(
    tmp_path, fmt, members, batch
):
    good = _zip(tmp_path / "batch001.zip", members)
    doc = _doc(fmt, zip_entries=len(members), **batch)
    assert check_zip(good, doc, "batch001.zip") == []
    doc["batches"][0]["members"] += 1
    doc["batches"][0]["entries"] += 1
    doc["batches"][0].setdefault("format_figures", {})["emails"] = 99
    (problem,) = check_zip(good, doc, "batch001.zip")
    assert "in the zip, the manifest's counts give" in problem


def test_counts_the_format_wrote(tmp_path):
    short = _zip(tmp_path / "batch001.zip", {"posts.csv": CSV.rsplit(b"p3", 1)[0]})
    assert check_zip(short, _doc("csv", zip_entries=1), "batch001.zip") == [
        "3 posts.csv rows in the zip, the manifest's counts give 4"
    ]
    xml = _zip(tmp_path / "a.zip", {"actiance_export.xml": XML, "files/x.bin": b"x"})
    assert check_zip(xml, _doc("actiance", zip_entries=1, file="a.zip"), "a.zip") == [
        "2 entries in the zip, the manifest says 1"
    ]


def test_a_message_split_across_read_chunks_is_counted_once(tmp_path):
    """``<Message>`` straddling the 1 MiB read boundary is neither lost nor counted twice."""
    pad = b" " * (1024 * 1024 - len(b"<FileDump>") - 4)
    body = b"<FileDump>" + pad + b"<Message>a</Message><Message>b</Message></FileDump>"
    assert body.index(b"<Message>") < 1024 * 1024 < body.index(b"<Message>") + len(b"<Message>")
    path = _zip(tmp_path / "batch001.zip", {"actiance_export.xml": body})
    assert check_zip(path, _doc("actiance", zip_entries=1), "batch001.zip") == []


def test_crc_errors_and_unreadable_zips(tmp_path):
    path = _zip(tmp_path / "batch001.zip", {"posts.csv": CSV})
    data = bytearray(path.read_bytes())
    data[data.index(b"hello")] ^= 0x01  # stored, so the byte is the entry's data: its CRC no longer matches
    path.write_bytes(bytes(data))
    assert check_zip(path, {"batches": []}, "batch001.zip") == ["entry posts.csv fails its CRC check"]
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    (problem,) = check_zip(junk, {}, "junk.zip")
    assert problem.startswith("not a readable zip (")
    (problem,) = check_archive(junk, {}, "junk.zip")
    assert problem.startswith("not a readable zip (")


def test_line_counts_per_type():
    stream = io.BytesIO(b'{"type":"version"}\n{"type":"post","x":1}\n{"type":"post"}\nnot json\n')
    assert check_line_counts(stream, {"version": 1, "post": 2, "?": 1}) == []
    stream.seek(0)
    assert check_line_counts(stream, {"version": 1, "post": 3, "user": 1}) == [
        "1 '?' lines, the manifest says 0",
        "2 'post' lines, the manifest says 3",
        "0 'user' lines, the manifest says 1",
    ]


def test_archive_entries_hashes_and_lines(tmp_path):
    jsonl = b'{"type":"version"}\n{"type":"user"}\n'
    members = {"import.jsonl": jsonl, "data/a.png": b"png"}

    def entry(name: str, body: bytes) -> dict[str, Any]:
        return {"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}

    doc = {
        "archive_entries": [entry(n, b) for n, b in members.items()],
        "export": {"line_counts": {"version": 1, "user": 1}},
    }
    archive = _zip(tmp_path / "export.zip", members)
    assert check_archive(archive, doc, "export.zip") == []
    tampered = _zip(tmp_path / "tampered.zip", {"import.jsonl": b'{"type":"version"}\n', "extra.txt": b"x"})
    assert check_archive(tampered, doc, "tampered.zip") == [
        "entry import.jsonl: size or SHA-256 differs from the manifest",
        "entry extra.txt: not listed in the manifest",
        "entry data/a.png: missing",
        "import.jsonl: 0 'user' lines, the manifest says 1",
    ]
