"""Where compliance exports go, and how they get there atomically.

Safety rule: a reader never sees a partial zip under its final name, and a window's folder only
ever holds the batches of one complete, reconciled run. Zips are written to a staging area inside
the destination (``<root>/.mmgov-staging/<run folder>/<run key>/``), verified, and only then
published: locally by ``os.replace`` after ``fsync`` (atomic on one filesystem), on S3 by a
server-side copy (an object appears whole or not at all). Publishing replaces same-named files of an
earlier run of the window; batch files of that earlier run that this run does not have (it had
more batches) are removed afterwards. Staging is removed last, so a retried delivery can finish a
half-done publish. To undo a delivery, delete the run folder: the database is never modified.

Destination: ``Mmgov.ExportDestination`` when set (an absolute folder or ``s3://bucket/prefix``),
else the ``export/`` folder of the Mattermost file store (local ``FileSettings.Directory`` or the
S3 bucket under ``AmazonS3PathPrefix``). S3 credentials: the ``mattermost_s3`` connection.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmgov.errors import MmgovError
from mmgov.file_store import S3Location
from mmgov.settings import Settings

EXPORT_SUBDIR = "export"  # Mattermost's model.ComplianceExportPath
STAGING_DIR = ".mmgov-staging"
_BATCH_FILE = re.compile(r"^batch\d{3,}-\d+-\d+\.zip(\.age)?$")  # .age: encrypted (mmgov.custody)
_RUN_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DeliveryError(MmgovError):
    """The export destination cannot be written, or a staged batch is missing or corrupt."""

    code = "EXPORT_OUTPUT_PATH_UNAVAILABLE"
    status = 500


def run_key(run_id: str) -> str:
    """A file-name-safe form of an Airflow run id (staging sub-folder)."""
    return _RUN_KEY_UNSAFE.sub("_", run_id).strip("._") or "run"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class StagedFile:
    """A batch zip in staging: name, size and SHA-256 (checked again before publishing)."""

    zip_name: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"zip_name": self.zip_name, "size": self.size, "sha256": self.sha256}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalDestination:
    """A folder on a local (or mounted) filesystem."""

    kind = "local"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def describe(self, folder: str = "") -> str:
        return str(self.root / folder) if folder else str(self.root)

    def _staging(self, folder: str, key: str) -> Path:
        return self.root / STAGING_DIR / folder / key

    def begin(self, folder: str, key: str) -> None:
        """Start staging afresh (a retried export must not find a previous try's files)."""
        staging = self._staging(folder, key)
        try:
            if staging.exists():
                shutil.rmtree(staging)
            staging.mkdir(parents=True)
        except OSError as exc:
            raise DeliveryError(f"export destination {self.root} is not writable: {exc}") from exc

    @contextmanager
    def part_file(self, folder: str, key: str, zip_name: str) -> Iterator[Path]:
        """A temporary path to write a zip to, inside staging (same filesystem as the final folder)."""
        part = self._staging(folder, key) / (zip_name + ".part")
        try:
            yield part
        finally:
            part.unlink(missing_ok=True)

    def stage(self, part: Path, folder: str, key: str, zip_name: str) -> StagedFile:
        """fsync the written zip and give it its staged name."""
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        staged = self._staging(folder, key) / zip_name
        info = StagedFile(zip_name, part.stat().st_size, sha256_file(part))
        os.replace(part, staged)
        _fsync_dir(staged.parent)
        return info

    def verify(self, folder: str, key: str, expected: StagedFile) -> str | None:
        """None when the staged (or already published) file matches; else what is wrong."""
        for path in (self._staging(folder, key) / expected.zip_name, self.root / folder / expected.zip_name):
            if path.is_file():
                if path.stat().st_size != expected.size:
                    return f"{path}: size {path.stat().st_size}, expected {expected.size}"
                if sha256_file(path) != expected.sha256:
                    return f"{path}: SHA-256 differs from what was written"
                return None
        return f"{expected.zip_name}: not found in staging nor in {self.root / folder}"

    @contextmanager
    def local_copy(self, folder: str, key: str, zip_name: str) -> Iterator[Path]:
        staged = self._staging(folder, key) / zip_name
        yield staged if staged.exists() else self.root / folder / zip_name

    def publish(self, folder: str, key: str, staged: list[StagedFile]) -> None:
        final_dir = self.root / folder
        final_dir.mkdir(parents=True, exist_ok=True)
        for item in staged:
            src = self._staging(folder, key) / item.zip_name
            if src.exists():
                os.replace(src, final_dir / item.zip_name)
            elif not (final_dir / item.zip_name).is_file():  # published by an earlier try, else lost
                raise DeliveryError(f"staged batch {item.zip_name} is missing from {src.parent}")
        _fsync_dir(final_dir)

    def remove_stale(self, folder: str, keep: set[str]) -> list[str]:
        final_dir = self.root / folder
        removed = []
        for path in sorted(final_dir.iterdir()) if final_dir.is_dir() else []:
            if _BATCH_FILE.match(path.name) and path.name not in keep:
                path.unlink()
                removed.append(path.name)
        if removed:
            _fsync_dir(final_dir)
        return removed

    def finish(self, folder: str, key: str) -> None:
        shutil.rmtree(self._staging(folder, key), ignore_errors=True)
        for parent in (self.root / STAGING_DIR / folder, self.root / STAGING_DIR):
            try:
                parent.rmdir()
            except OSError:
                break

    def list_folder(self, folder: str) -> list[str]:
        final_dir = self.root / folder
        return sorted(p.name for p in final_dir.iterdir()) if final_dir.is_dir() else []


class S3Destination(S3Location):
    """A prefix in an S3 bucket. Zips are built locally, uploaded to a staging key, then copied."""

    kind = "s3"

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def describe(self, folder: str = "") -> str:
        return f"s3://{self.bucket}/{self._key(folder)}"

    def begin(self, folder: str, key: str) -> None:
        self._delete_prefix(self._key(STAGING_DIR, folder, key) + "/")

    @contextmanager
    def part_file(self, folder: str, key: str, zip_name: str) -> Iterator[Path]:
        fd, name = tempfile.mkstemp(prefix="mmgov-export-", suffix=".zip.part")
        os.close(fd)
        try:
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def stage(self, part: Path, folder: str, key: str, zip_name: str) -> StagedFile:
        info = StagedFile(zip_name, part.stat().st_size, sha256_file(part))
        try:
            self.client.upload_file(
                str(part),
                self.bucket,
                self._key(STAGING_DIR, folder, key, zip_name),
                ExtraArgs={"Metadata": {"sha256": info.sha256}, "ContentType": "application/zip"},
            )
        except Exception as exc:
            raise DeliveryError(f"cannot upload {zip_name} to {self.describe(folder)}: {exc}") from exc
        return info

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def verify(self, folder: str, key: str, expected: StagedFile) -> str | None:
        for obj_key in (
            self._key(STAGING_DIR, folder, key, expected.zip_name),
            self._key(folder, expected.zip_name),
        ):
            head = self._head(obj_key)
            if head is None:
                continue
            if int(head["ContentLength"]) != expected.size:
                return f"s3://{self.bucket}/{obj_key}: size {head['ContentLength']}, expected {expected.size}"
            if head.get("Metadata", {}).get("sha256") != expected.sha256:
                return f"s3://{self.bucket}/{obj_key}: SHA-256 metadata differs from what was written"
            return None
        return f"{expected.zip_name}: not found in staging nor in {self.describe(folder)}"

    @contextmanager
    def local_copy(self, folder: str, key: str, zip_name: str) -> Iterator[Path]:
        fd, name = tempfile.mkstemp(prefix="mmgov-export-", suffix=".zip")
        os.close(fd)
        try:
            obj_key = self._key(STAGING_DIR, folder, key, zip_name)
            if self._head(obj_key) is None:
                obj_key = self._key(folder, zip_name)
            self.client.download_file(self.bucket, obj_key, name)
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def publish(self, folder: str, key: str, staged: list[StagedFile]) -> None:
        for item in staged:
            src = self._key(STAGING_DIR, folder, key, item.zip_name)
            dst = self._key(folder, item.zip_name)
            if self._head(src) is None:
                if self._head(dst) is None:
                    raise DeliveryError(
                        f"staged batch {item.zip_name} is missing from s3://{self.bucket}/{src}"
                    )
                continue
            # A managed copy: multipart (UploadPartCopy) for big objects; the object appears on completion.
            self.client.copy(
                {"Bucket": self.bucket, "Key": src}, self.bucket, dst, ExtraArgs={"MetadataDirective": "COPY"}
            )

    def remove_stale(self, folder: str, keep: set[str]) -> list[str]:
        removed = []
        for obj_key in self._list(self._key(folder) + "/"):
            name = obj_key.rsplit("/", 1)[-1]
            if obj_key == self._key(folder, name) and _BATCH_FILE.match(name) and name not in keep:
                self.client.delete_object(Bucket=self.bucket, Key=obj_key)
                removed.append(name)
        return sorted(removed)

    def finish(self, folder: str, key: str) -> None:
        self._delete_prefix(self._key(STAGING_DIR, folder, key) + "/")

    def list_folder(self, folder: str) -> list[str]:
        base = self._key(folder) + "/"
        return sorted(k[len(base) :] for k in self._list(base) if "/" not in k[len(base) :])

    def _list(self, prefix: str) -> list[str]:
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    def _delete_prefix(self, prefix: str) -> None:
        keys = self._list(prefix)
        for i in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys per call
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True},
            )


Destination = LocalDestination | S3Destination


def destination_from_settings(settings: Settings, *, s3_client_override: Any = None) -> Destination:
    """The export root: ``Mmgov.ExportDestination``, else the file store's ``export/`` folder."""
    fs = settings.FileSettings
    dest = settings.Mmgov.ExportDestination
    if dest.startswith("s3://"):
        bucket, _, prefix = dest[len("s3://") :].partition("/")
        if not bucket:
            raise DeliveryError(f"Mmgov.ExportDestination {dest!r} names no bucket (s3://bucket/prefix)")
        return S3Destination.from_file_settings(fs, bucket, prefix, client=s3_client_override)
    if dest:
        return LocalDestination(dest)
    if fs.DriverName == "amazons3":
        prefix = "/".join(p for p in (fs.AmazonS3PathPrefix.strip("/"), EXPORT_SUBDIR) if p)
        return S3Destination.from_file_settings(fs, fs.AmazonS3Bucket, prefix, client=s3_client_override)
    return LocalDestination(Path(fs.Directory) / EXPORT_SUBDIR)
