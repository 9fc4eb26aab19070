"""Deterministic batch zips: fixed timestamps and permissions, entries in write order.

Re-running a window over unchanged data gives byte-identical zips (the reason for fixed
timestamps: the zip's own clock must not leak in). Entries are deflated at level 1: exports are
dominated by CSV/XML text, where higher levels cost several times the CPU for ~10% less size;
attachments that are already compressed (images, video, archives, Office files) are stored.

Deflate and CRC-32 are zlib-ng's (the pinned ``zlib-ng`` package: zlib's API over zlib-ng 2.3). At
level 1 it deflates export CSV about 2.5x faster than the standard library's zlib, and the small,
repetitive attachments of a chat export over 10x faster. Re-runs must be byte-identical, so the
engine's output must depend on the input and the level alone: repeated exports check that (see the
tests and docs/compliance-export.md). Intel's ISA-L, which this module used first, failed it: the
same 100k-post export gave an entry that differed by one byte in 4 of 27 runs. Without ``zlib-ng``
the standard library's zlib is used.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

try:  # zlib-ng: zlib's API, deflate and CRC-32 several times faster (see above)
    from zlib_ng import zlib_ng as _engine
except ImportError:  # pragma: no cover - zlib-ng is pinned in requirements.txt
    _engine = None

COMPRESS_LEVEL = 1
# Attachments with these extensions are already compressed: deflating them again costs time for nothing.
STORED_EXTENSIONS = frozenset(
    [
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "heic",
        "avif",
        "mp3",
        "mp4",
        "m4a",
        "m4v",
        "mov",
        "avi",
        "mkv",
        "webm",
        "ogg",
        "oga",
        "ogv",
        "opus",
        "flac",
        "zip",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "zst",
        "7z",
        "rar",
        "docx",
        "xlsx",
        "pptx",
        "odt",
        "ods",
        "odp",
        "epub",
        "jar",
        "apk",
    ]
)
CHUNK = 1024 * 1024
# Attachments up to this size are read whole and written in one go (most are: chat uploads are small).
SMALL_ENTRY = 1024 * 1024
_DOS_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_timestamp(epoch_ms: int) -> tuple[int, int, int, int, int, int]:
    """A zip ``date_time`` for an epoch time (UTC, whole even seconds, not before 1980)."""
    when = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    if when.year < 1980:
        return _DOS_EPOCH
    return (when.year, when.month, when.day, when.hour, when.minute, when.second - when.second % 2)


class BatchZipWriter:
    """A :class:`~mmgov.compliance.formats.ZipSink` over a seekable binary file."""

    def __init__(self, fileobj: IO[bytes], *, timestamp_ms: int, compresslevel: int = COMPRESS_LEVEL):
        self._zip = zipfile.ZipFile(
            fileobj, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._date_time = zip_timestamp(timestamp_ms)
        self._level = compresslevel
        self._names: list[str] = []
        self._seen: set[str] = set()

    def _info(
        self, name: str, size: int | None = None, *, store_if_compressed: bool = False
    ) -> zipfile.ZipInfo:
        if not name or name.startswith("/") or "\\" in name or ".." in name.split("/"):
            raise ValueError(f"zip entry name {name!r} must be a relative POSIX path without '..'")
        if name in self._seen:
            raise ValueError(f"zip entry {name!r} written twice")
        self._seen.add(name)
        self._names.append(name)
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        stored = store_if_compressed and name.rsplit(".", 1)[-1].lower() in STORED_EXTENSIONS
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        # A ZipInfo passed to ZipFile.open() ignores the archive's compresslevel: set it on the entry.
        info._compresslevel = None if stored else self._level  # (3.13+ keeps this name as an alias)
        info.create_system = 3  # Unix, whatever the host
        info.external_attr = 0o100644 << 16
        if size is not None:
            info.file_size = size
        return info

    @contextmanager
    def open(
        self, name: str, *, size: int | None = None, store_if_compressed: bool = False
    ) -> Iterator[IO[bytes]]:
        """Write a new entry as a stream (zip64 when the size is unknown: entries may pass 2 GiB).

        ``store_if_compressed``: keep already-compressed content (by file extension) uncompressed.
        """
        info = self._info(name, size, store_if_compressed=store_if_compressed)
        with self._zip.open(info, "w", force_zip64=size is None) as stream:
            use_engine(stream, self._level)
            if size is not None:  # a copy in 1 MiB chunks
                yield stream
                return
            # A format's own entry, written in many small pieces: each write of the entry stream
            # checksums and deflates, and the deflate releases the GIL (a chance for the other
            # threads to take it for up to a switch interval). Gathered into 1 MiB writes instead.
            with io.BufferedWriter(stream, CHUNK) as buffered:  # type: ignore[arg-type]
                yield buffered  # type: ignore[misc]

    def write_bytes(self, name: str, data: bytes) -> None:
        info = self._info(name, len(data))
        with self._zip.open(info, "w") as stream:
            use_engine(stream, self._level)
            stream.write(data)

    def write_text(self, name: str, text: str) -> None:
        self.write_bytes(name, text.encode("utf-8"))

    def copy_from(self, name: str, source: IO[bytes], size: int | None = None) -> int:
        if size is None:
            size = _known_size(source)
        if size is not None and size <= SMALL_ENTRY:
            # A small file in one read of its size, plus one byte that tells whether it grew since.
            # (Not a read of SMALL_ENTRY + 1: an unbuffered read allocates all it may return, and
            # a 1 MiB buffer per attachment cost more than the reads: 0.3-0.9 s per 20,000 files.)
            data = source.read(size + 1)
            if len(data) <= size:
                self._write_whole(self._info(name, len(data), store_if_compressed=True), data)
                return len(data)
            size = None  # it grew: stream it, what was read first
            source = io.BufferedReader(_Chained(data, source))  # type: ignore[arg-type]
        with self.open(name, size=size, store_if_compressed=True) as dest:
            copied = 0
            while chunk := source.read(CHUNK):
                dest.write(chunk)
                copied += len(chunk)
        return copied

    def _write_whole(self, info: zipfile.ZipInfo, data: bytes) -> None:
        """Write one entry whose content is in memory: CRC and compression first, then its local
        header (final values) and data in one go. The bytes are those ``ZipFile.open(info, "w")``
        writes for one write of ``data`` (which then seeks back to rewrite the header); only for a
        seekable archive, and never while another entry is open (this writer opens one at a time)."""
        zf = self._zip
        if not zf._seekable or zf._writing or zf.fp is None:  # pragma: no cover - not how batches are written
            with zf.open(info, "w") as stream:
                use_engine(stream, self._level)
                stream.write(data)
            return
        if info.compress_type == zipfile.ZIP_DEFLATED:
            compressor = (_engine or zlib).compressobj(self._level, zlib.DEFLATED, -15)  # raw deflate
            payload = compressor.compress(data) + compressor.flush()
        else:
            payload = data
        info.flag_bits = 0
        info.file_size = len(data)
        info.compress_size = len(payload)
        info.CRC = (_engine or zlib).crc32(data)
        if zf.fp.tell() != zf.start_dir:  # (a seek would flush the file's buffer for each entry)
            zf.fp.seek(zf.start_dir)
        info.header_offset = zf.start_dir
        zf._writecheck(info)
        zf._didModify = True
        zf.fp.write(info.FileHeader(False) + payload)
        zf.start_dir = zf.fp.tell()
        zf.filelist.append(info)
        zf.NameToInfo[info.filename] = info

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> BatchZipWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def use_engine(stream: Any, level: int = COMPRESS_LEVEL) -> None:
    """Make a fresh zip entry stream (``ZipFile.open(info, "w")``) deflate and checksum with zlib-ng.

    ``zipfile`` has no hook for either: before the first write, the stream's ``_compressor`` (a zlib
    raw-deflate object) is replaced by zlib-ng's and the stream becomes a :class:`_EngineZipWriteFile`
    (zlib-ng's CRC-32). Stored entries keep no compressor. Without ``zlib-ng`` nothing changes.
    """
    if _engine is None or getattr(stream, "_file_size", None) != 0:
        return
    if type(stream) is not zipfile._ZipWriteFile:  # pragma: no cover - zipfile's own class
        return
    if stream._compressor is not None:
        stream._compressor = _engine.compressobj(level, zlib.DEFLATED, -15)
    stream.__class__ = _EngineZipWriteFile


class _EngineZipWriteFile(zipfile._ZipWriteFile):  # type: ignore[name-defined]
    """``zipfile``'s entry stream with zlib-ng's CRC-32 (about 10x zlib's: 27 against 2.7 GB/s here;
    a 1M-post Actiance export checksums gigabytes of participant blocks). Same checksum, same bytes."""

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if isinstance(data, (bytes, bytearray)):
            nbytes = len(data)
        else:
            data = memoryview(data)
            nbytes = data.nbytes
        self._file_size += nbytes
        self._crc = _engine.crc32(data, self._crc)
        if self._compressor:
            data = self._compressor.compress(data)
            self._compress_size += len(data)
        self._fileobj.write(data)
        return nbytes


class _Chained(io.RawIOBase):
    """``head`` then the rest of ``tail``: a file read whole that turned out bigger than its size."""

    def __init__(self, head: bytes, tail: IO[bytes]):
        self._head = memoryview(head)
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._tail.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _known_size(source: IO[bytes]) -> int | None:
    """The size of a regular file or in-memory buffer, else None (zip64 then)."""
    import os

    try:
        return os.fstat(source.fileno()).st_size - source.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    size = getattr(source, "content_length", None)
    return int(size) if isinstance(size, int) else None
