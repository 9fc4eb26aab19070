"""Where an export is written: a folder, or one ZIP (ZIP64, streamed entries).

Safety rule: nothing complete-looking appears under ``output_path`` until the export is complete.
Everything is written under a hidden temporary name (``.<name>.partial``) in ``output_path`` itself
(same filesystem) and renamed to its final name as the very last step; :meth:`ExportSink.abort`
removes the temporary files. A killed worker leaves only a ``.partial`` name, never a final one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
import uuid
import zipfile
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath
from typing import IO

from mmgov.bulk_export.errors import ExportOutputPathUnavailable

JSONL_NAME = "import.jsonl"
WARNINGS_NAME = "warnings.txt"
COPY_CHUNK = 1024 * 1024
JSONL_BUFFER = 1024 * 1024
# The JSONL compresses ~10x; level 1 keeps zlib far from being the bottleneck.
JSONL_COMPRESSLEVEL = 1


def check_output_path(path: Path) -> Path:
    """Create ``path`` if needed and prove it is a writable folder; else EXPORT_OUTPUT_PATH_UNAVAILABLE."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ExportOutputPathUnavailable(f"output_path {str(path)!r} exists and is not a folder") from None
    except OSError as exc:
        raise ExportOutputPathUnavailable(
            f"output_path {str(path)!r} cannot be created: {exc.strerror or exc}"
        ) from None
    if not path.is_dir():
        raise ExportOutputPathUnavailable(f"output_path {str(path)!r} is not a folder")
    probe = path / f".mmgov-write-probe-{uuid.uuid4().hex}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"ok")
        probe.unlink()
    except OSError as exc:
        raise ExportOutputPathUnavailable(
            f"output_path {str(path)!r} is not writable: {exc.strerror or exc}"
        ) from None
    return path


def safe_member_name(name: str) -> str:
    """A relative POSIX member name; refuses absolute names and ``..`` (they would escape the export)."""
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or "\x00" in name or "\\" in name:
        raise ValueError(f"unsafe name inside the export: {name!r}")
    return str(pure)


class ExportSink(ABC):
    """The export being written: the JSONL stream, files, and the final atomic rename."""

    def __init__(self, output_dir: Path, name: str):
        self.output_dir = output_dir
        self.name = name
        self.bytes_written = 0
        self._committed = False
        # Every file of the export: name -> (size, SHA-256), hashed while copied (the custody manifest).
        self.file_hashes: dict[str, tuple[int, str]] = {}
        self.archive_sha256: str | None = None  # the whole ZIP's (or its ciphertext's) SHA-256

    @property
    @abstractmethod
    def final_path(self) -> Path:
        """Where the export is once complete."""

    @abstractmethod
    def jsonl(self) -> IO[str]:
        """The text stream ``import.jsonl`` is written to (UTF-8, ``\\n`` line ends)."""

    @abstractmethod
    def add_file(self, name: str, source: IO[bytes], size: int | None = None) -> int:
        """Copy ``source`` into the export as ``name``; returns the bytes copied."""

    @abstractmethod
    def commit(self, warnings_file: Path | None) -> Path:
        """Finish: close the JSONL, add ``warnings.txt`` if given, rename to :attr:`final_path`."""

    @abstractmethod
    def abort(self) -> None:
        """Remove everything written so far (best effort; never raises)."""

    def _check_final_free(self) -> None:
        if self.final_path.exists():
            raise FileExistsError(f"{self.final_path} already exists; refusing to replace it")


class FolderSink(ExportSink):
    """``<output>/<name>/`` with ``import.jsonl``, ``data/``, ``exported_emoji/``, ``warnings.txt``."""

    def __init__(self, output_dir: Path, name: str):
        super().__init__(output_dir, name)
        self.tmp = output_dir / f".{name}.partial"
        self.tmp.mkdir()
        self._jsonl = open(self.tmp / JSONL_NAME, "w", encoding="utf-8", newline="\n", buffering=JSONL_BUFFER)  # noqa: SIM115
        self._dirs: set[Path] = set()

    @property
    def final_path(self) -> Path:
        return self.output_dir / self.name

    def jsonl(self) -> IO[str]:
        return self._jsonl

    def add_file(self, name: str, source: IO[bytes], size: int | None = None) -> int:
        target = self.tmp / safe_member_name(name)
        if target.parent not in self._dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(target.parent)
        with open(target, "wb") as out:
            copied, digest = _copy(source, out)
        self.file_hashes[target.relative_to(self.tmp).as_posix()] = (copied, digest)
        self.bytes_written += copied
        return copied

    def commit(self, warnings_file: Path | None) -> Path:
        self._jsonl.close()
        if warnings_file is not None:
            shutil.move(str(warnings_file), self.tmp / WARNINGS_NAME)
        for name in (JSONL_NAME, WARNINGS_NAME):  # written as text: hashed once, from the page cache
            if (self.tmp / name).is_file():
                with open(self.tmp / name, "rb") as fh:
                    self.file_hashes[name] = _copy(fh, None)
        self._check_final_free()
        os.rename(self.tmp, self.final_path)
        self._committed = True
        return self.final_path

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._jsonl.close()
        if not self._committed:
            shutil.rmtree(self.tmp, ignore_errors=True)


class ZipArchiveSink(ExportSink):
    """``<output>/<name>.zip``: files are stored as they come; ``import.jsonl`` is added at the end.

    A ZIP can only take one entry at a time, so the JSONL is streamed to a hidden temporary file
    beside the archive while attachments go straight into the archive; :meth:`commit` then copies
    the JSONL in (deflated) and renames the archive. Entries use ZIP64 whenever they may be large.
    """

    def __init__(self, output_dir: Path, name: str, *, recipients: tuple[str, ...] = ()):
        super().__init__(output_dir, name)
        self.recipients = recipients  # Mmgov.ExportRecipients: the archive is stored age-encrypted
        self.tmp = output_dir / f".{name}.zip.partial"
        self.tmp_jsonl = output_dir / f".{name}.jsonl.partial"
        self._zip = zipfile.ZipFile(self.tmp, "x", allowZip64=True)
        self._jsonl = open(self.tmp_jsonl, "w", encoding="utf-8", newline="\n", buffering=JSONL_BUFFER)  # noqa: SIM115
        self._date_time = time.gmtime()[:6]

    @property
    def final_path(self) -> Path:
        return self.output_dir / (f"{self.name}.zip" + (".age" if self.recipients else ""))

    def jsonl(self) -> IO[str]:
        return self._jsonl

    def _entry(self, name: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(safe_member_name(name), date_time=self._date_time)
        info.compress_type = compress
        info.external_attr = 0o644 << 16
        return info

    def add_file(self, name: str, source: IO[bytes], size: int | None = None) -> int:
        info = self._entry(name, zipfile.ZIP_STORED)
        if size is not None:
            info.file_size = size
        force64 = size is None or size >= zipfile.ZIP64_LIMIT
        with self._zip.open(info, "w", force_zip64=force64) as out:
            copied, digest = _copy(source, out)
        self.file_hashes[info.filename] = (copied, digest)
        self.bytes_written += copied
        return copied

    def _add_path(self, name: str, path: Path, compress: int) -> None:
        info = self._entry(name, compress)
        info.file_size = path.stat().st_size  # lets zipfile choose ZIP64 for a JSONL over 2 GiB
        with open(path, "rb") as src, self._zip.open(info, "w") as out:
            self.file_hashes[name] = _copy(src, out)

    def commit(self, warnings_file: Path | None) -> Path:
        self._jsonl.close()
        self._zip.compresslevel = JSONL_COMPRESSLEVEL
        self._add_path(JSONL_NAME, self.tmp_jsonl, zipfile.ZIP_DEFLATED)
        if warnings_file is not None:
            self._add_path(WARNINGS_NAME, warnings_file, zipfile.ZIP_DEFLATED)
        self._zip.close()
        stored = self.tmp
        if self.recipients:  # the plain ZIP never gets a final name
            from mmgov.custody.encryption import encrypt_file

            stored = self.output_dir / f".{self.name}.zip.age.partial"
            encrypt_file(self.tmp, stored, self.recipients)
            self.tmp.unlink()
            self.tmp = stored
        with open(stored, "rb") as fh:
            os.fsync(fh.fileno())
            self.archive_sha256 = _copy(fh, None)[1]  # one read, mostly from the page cache
        self._check_final_free()
        os.rename(stored, self.final_path)
        self._committed = True
        self.tmp_jsonl.unlink(missing_ok=True)
        if warnings_file is not None:
            warnings_file.unlink(missing_ok=True)
        return self.final_path

    def abort(self) -> None:
        for closer in (self._jsonl.close, self._zip.close):
            with contextlib.suppress(OSError, ValueError, zipfile.BadZipFile):
                closer()
        self.tmp_jsonl.unlink(missing_ok=True)
        if not self._committed:
            self.tmp.unlink(missing_ok=True)


def check_encryptable(create_archive: bool, recipients: tuple[str, ...]) -> None:
    """Encryption (``Mmgov.ExportRecipients``) covers one archive: a folder export is refused."""
    if recipients and not create_archive:
        raise ExportOutputPathUnavailable(
            "Mmgov.ExportRecipients is set, so GDPR exports are written as one encrypted archive: "
            "create_archive must be true"
        )


def open_sink(
    output_dir: Path, name: str, *, create_archive: bool, recipients: tuple[str, ...] = ()
) -> ExportSink:
    """A :class:`ZipArchiveSink` or a :class:`FolderSink` for a new export called ``name``."""
    check_encryptable(create_archive, recipients)
    return (
        ZipArchiveSink(output_dir, name, recipients=recipients)
        if create_archive
        else FolderSink(output_dir, name)
    )


def _copy(source: IO[bytes], out: IO[bytes] | None) -> tuple[int, str]:
    """Copy (or only read, when ``out`` is None) in 1 MiB chunks; (bytes, SHA-256 hex)."""
    total = 0
    digest = hashlib.sha256()
    while True:
        chunk = source.read(COPY_CHUNK)
        if not chunk:
            return total, digest.hexdigest()
        digest.update(chunk)
        if out is not None:
            out.write(chunk)
        total += len(chunk)
