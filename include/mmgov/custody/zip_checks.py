"""What ``mmgov verify`` checks inside a zip: its entries and CRCs and the counts the format wrote
(compliance batch zips), or each entry's SHA-256 and the lines per type (a GDPR export archive)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from mmgov.custody.store import hash_stream


def _csv_rows(zf: zipfile.ZipFile) -> int:
    with zf.open("posts.csv") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        return max(sum(1 for _ in csv.reader(text)) - 1, 0)


def _xml_messages(zf: zipfile.ZipFile) -> int:
    count = 0
    for info in zf.infolist():
        if info.filename.endswith(".xml"):
            with zf.open(info) as fh:
                tail = b""
                while chunk := fh.read(1024 * 1024):
                    data = tail + chunk
                    count += data.count(b"<Message>")
                    tail = data[-16:]
                    count -= tail.count(b"<Message>")
    return count


def _emails(zf: zipfile.ZipFile) -> int:
    return sum(1 for i in zf.infolist() if i.filename.endswith(".eml"))


# Per export format: (what is counted, how to count it in a zip, the batch figures it must equal).
# CSV: one posts.csv row per message entry, upload, file deletion and membership row. Actiance: one
# <Message> per message entry and file deletion (uploads are <FileTransfer>). Global Relay: the emails.
ZIP_COUNTS: dict[str, tuple[str, Callable[[zipfile.ZipFile], int], Callable[[dict[str, Any]], int]]] = {
    "csv": (
        "posts.csv rows",
        _csv_rows,
        lambda b: b["entries"] + b["uploads"] + b["file_deletions"] + b["members"],
    ),
    "actiance": ("<Message> elements", _xml_messages, lambda b: b["entries"] + b["file_deletions"]),
    "globalrelay-zip": ("emails", _emails, lambda b: int((b.get("format_figures") or {}).get("emails", 0))),
}


def check_zip(path: Path, doc: dict[str, Any], fname: str) -> list[str]:
    """Problems inside one zip of a manifest: entries, CRCs, the format's counts."""
    problems: list[str] = []
    batch = next((b for b in doc.get("batches", []) if b.get("file") == fname), None)
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                problems.append(f"entry {bad} fails its CRC check")
            if batch is None:
                return problems
            entries = len(zf.infolist())
            if entries != batch.get("zip_entries"):
                problems.append(f"{entries} entries in the zip, the manifest says {batch.get('zip_entries')}")
            counter = ZIP_COUNTS.get((doc.get("export") or {}).get("format", ""))
            if counter is not None:
                what, count, expected = counter
                found, want = count(zf), expected(batch)
                if found != want:
                    problems.append(f"{found} {what} in the zip, the manifest's counts give {want}")
    except zipfile.BadZipFile as exc:
        problems.append(f"not a readable zip ({exc})")
    return problems


def check_line_counts(stream: IO[bytes], expected: dict[str, int]) -> list[str]:
    """Lines of ``import.jsonl`` per type (each line starts ``{"type":"<type>"``) against the manifest."""
    found: dict[str, int] = {}
    prefix = b'{"type":"'
    for line in stream:
        kind = line[len(prefix) : line.find(b'"', len(prefix))].decode() if line.startswith(prefix) else "?"
        found[kind] = found.get(kind, 0) + 1
    return [
        f"{found.get(k, 0)} {k!r} lines, the manifest says {expected.get(k, 0)}"
        for k in sorted(set(found) | set(expected))
        if found.get(k, 0) != expected.get(k, 0)
    ]


def check_archive(path: Path, doc: dict[str, Any], fname: str) -> list[str]:
    """Inside a GDPR archive: every entry's SHA-256, none missing or extra, lines per type."""
    problems: list[str] = []
    entries = {e["name"]: e for e in doc.get("archive_entries") or []}
    try:
        with zipfile.ZipFile(path) as zf:
            names = set()
            for info in zf.infolist():
                names.add(info.filename)
                entry = entries.get(info.filename)
                if entry is None:
                    problems.append(f"entry {info.filename}: not listed in the manifest")
                    continue
                with zf.open(info) as fh:
                    size, digest = hash_stream(fh)
                if (size, digest) != (entry["size"], entry["sha256"]):
                    problems.append(f"entry {info.filename}: size or SHA-256 differs from the manifest")
            problems += [f"entry {n}: missing" for n in sorted(set(entries) - names)]
            counts = (doc.get("export") or {}).get("line_counts")
            if counts and "import.jsonl" in names:
                with zf.open("import.jsonl") as fh:
                    problems += [f"import.jsonl: {p}" for p in check_line_counts(fh, counts)]
    except zipfile.BadZipFile as exc:
        problems.append(f"not a readable zip ({exc})")
    return problems
