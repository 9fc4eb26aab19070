"""Blobs of the local file store: attachments, profile pictures and custom emoji images.

Every blob's bytes are a pure function of (kind, key, size), so ``fileinfo.size`` is known when
the row is generated and the bytes can be written later, in a background thread, while the
database builds its indexes. Images are real (tiny) PNG and GIF files.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmgov_dev.synth.vocabulary import FILE_NAMES


def make_png(width: int, height: int, rgb: tuple[int, int, int], stripes: int = 0) -> bytes:
    """A valid RGB PNG of ``width`` x ``height``, one colour, optionally with darker stripes."""
    r, g, b = rgb
    rows = []
    for y in range(height):
        dark = stripes and (y // max(1, height // (2 * stripes))) % 2
        px = bytes((r // 2, g // 2, b // 2)) if dark else bytes((r, g, b))
        rows.append(b"\x00" + px * width)
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


TINY_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
EMOJI_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
    b'<circle cx="32" cy="32" r="30" fill="#ffcc4d"/></svg>\n'
)
_COLOURS = ((22, 94, 192), (210, 64, 52), (46, 160, 67), (240, 180, 30), (120, 60, 170), (30, 30, 30))
# (width, height, png bytes): a few attachment images of different sizes.
PNG_VARIANTS: tuple[tuple[int, int, bytes], ...] = tuple(
    (w, h, make_png(w, h, _COLOURS[i % len(_COLOURS)], stripes=i % 4))
    for i, (w, h) in enumerate(((32, 32), (64, 48), (120, 80), (200, 120), (16, 16), (300, 200)))
)
PROFILE_PNGS: tuple[bytes, ...] = tuple(make_png(64, 64, c, stripes=1) for c in _COLOURS)
EMOJI_PNG = make_png(32, 32, (255, 204, 77))


@dataclass(frozen=True, slots=True)
class FileKind:
    """An attachment type: extension, MIME type, candidate names, whether it is an image."""

    extension: str
    mimetype: str
    names: tuple[str, ...]
    image: bool
    header: bytes


FILE_KINDS: tuple[FileKind, ...] = (
    FileKind("png", "image/png", FILE_NAMES["png"], True, b""),
    FileKind("gif", "image/gif", FILE_NAMES["gif"], True, b""),
    FileKind("txt", "text/plain", FILE_NAMES["txt"], False, b""),
    FileKind("pdf", "application/pdf", FILE_NAMES["pdf"], False, b"%PDF-1.4\n%synthetic\n"),
    FileKind("csv", "text/csv", FILE_NAMES["csv"], False, b"id,name,amount\n"),
    FileKind(
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        FILE_NAMES["docx"],
        False,
        b"PK\x03\x04synthetic-docx\n",
    ),
    FileKind("zip", "application/zip", FILE_NAMES["zip"], False, b"PK\x03\x04synthetic-zip\n"),
)
# Relative frequencies of FILE_KINDS, as a 64-entry lookup table.
KIND_TABLE: tuple[int, ...] = tuple(i for i, n in enumerate((22, 3, 10, 13, 7, 5, 4)) for _ in range(n))
assert len(KIND_TABLE) == 64


def blob_size(kind: int, variant: int, size: int) -> int:
    """The byte size of the blob :func:`render_blob` makes for these arguments."""
    if kind == 0:
        return len(PNG_VARIANTS[variant][2])
    if kind == 1:
        return len(TINY_GIF)
    return size


def render_blob(kind: int, variant: int, key: str, size: int) -> bytes:
    """The deterministic content of an attachment (``key`` is the file id)."""
    if kind == 0:
        return PNG_VARIANTS[variant][2]
    if kind == 1:
        return TINY_GIF
    spec = FILE_KINDS[kind]
    if spec.extension in ("txt", "csv"):
        line = f"{key},{spec.extension},synthetic line\n".encode()
    else:
        line = key.encode() + b"\x00\x01\x02\xff"
    body = spec.header + line * (size // len(line) + 1)
    return body[:size]


# A blob to write: (relative path, kind, variant, key, size, thumbnail path, preview path).
BlobTask = tuple[str, int, int, str, int, str, str]
# Raw bytes to write: (relative path, bytes).
RawBlob = tuple[str, bytes]


class BlobWriter:
    """Writes blobs under ``root`` in a background thread (file I/O releases the GIL)."""

    def __init__(self, root: Path, tasks: Sequence[BlobTask], raw: Sequence[RawBlob]) -> None:
        self.root = root
        self.tasks = tasks
        self.raw = raw
        self.written = 0
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="synth-blob-writer", daemon=True)

    def start(self) -> BlobWriter:
        """Start writing; returns self."""
        self._thread.start()
        return self

    def join(self) -> int:
        """Wait for the writer; re-raise its error; return the number of files written."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.written

    def cancel(self) -> None:
        """Stop writing as soon as possible and wait for the thread (errors are dropped)."""
        self._cancelled.set()
        self._thread.join()

    def _put(self, rel: str, data: bytes, made: set[str]) -> None:
        if self._cancelled.is_set():
            raise _Cancelled
        path = os.path.join(self.root, rel)
        folder = os.path.dirname(path)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        with open(path, "wb") as fh:
            fh.write(data)
        self.written += 1

    def _run(self) -> None:
        made: set[str] = set()
        try:
            for rel, data in self.raw:
                self._put(rel, data, made)
            for rel, kind, variant, key, size, thumb, preview in self.tasks:
                self._put(rel, render_blob(kind, variant, key, size), made)
                if thumb:
                    small = PNG_VARIANTS[4][2]
                    self._put(thumb, small, made)
                    self._put(preview, small, made)
        except _Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by join()
            self._error = exc


class _Cancelled(Exception):
    """Raised inside the writer thread when the load failed and writing should stop."""
