"""Where exports and custody files live: a local folder or an S3 prefix, seen the same way.

Paths are relative POSIX names under the store's root; a name with ``..`` or a leading ``/`` is
refused, so a name read from a manifest or the database never escapes the root. Writes of small
files (manifests, signatures, attestations) are atomic: a temporary name then ``os.replace`` (fsync'd)
locally, one PUT on S3 (an object appears whole or not at all).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from mmgov.errors import MmgovError

CHUNK = 1024 * 1024


class StoreError(MmgovError):
    """A path outside the store's root, or a store that cannot be read or written."""

    code = "MMGOV_CUSTODY_STORE_ERROR"
    status = 400


def safe_name(name: str) -> str:
    """A normalised relative POSIX name; refuses absolute names, ``..``, NUL and backslashes."""
    if not name:
        return ""
    if name.startswith("/") or "\\" in name or "\x00" in name:
        raise StoreError(f"path {name!r} must be relative (no leading '/', no '\\\\', no NUL)")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../") or ".." in norm.split("/"):
        raise StoreError(f"path {name!r} escapes the store's root")
    return "" if norm == "." else norm


def join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class ArtifactStore(Protocol):
    """What the custody code needs of a folder or S3 prefix."""

    def describe(self, name: str = "") -> str: ...
    def put_atomic(self, name: str, data: bytes) -> None: ...
    def read_bytes(self, name: str) -> bytes | None: ...
    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]: ...
    def list(self, folder: str) -> dict[str, int]: ...
    def delete(self, name: str) -> None: ...
    def local_path(self, name: str) -> Path | None: ...


@dataclass
class LocalStore:
    root: Path

    def _path(self, name: str) -> Path:
        safe = safe_name(name)
        return self.root / safe if safe else self.root

    def describe(self, name: str = "") -> str:
        return str(self._path(name))

    def local_path(self, name: str) -> Path | None:
        return self._path(name)

    def put_atomic(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def read_bytes(self, name: str) -> bytes | None:
        path = self._path(name)
        return path.read_bytes() if path.is_file() else None

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        with open(self._path(name), "rb") as fh:
            yield fh

    def list(self, folder: str) -> dict[str, int]:
        """Every file under ``folder`` (recursively, relative to it) with its size; symlinks are listed
        as files of size -1 (never followed: an export holds none)."""
        base = self._path(folder)
        out: dict[str, int] = {}
        if not base.is_dir():
            return out
        for dirpath, dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, base)
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                full = os.path.join(dirpath, name)
                key = name if rel == "." else f"{rel}/{name}"
                out[key.replace(os.sep, "/")] = -1 if os.path.islink(full) else os.path.getsize(full)
        return out

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def remove_empty_dirs(self, folder: str) -> None:
        base = self._path(folder)
        for dirpath, _dirs, _files in sorted(os.walk(base), key=lambda t: -len(t[0])):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)


@dataclass
class S3Store:
    bucket: str
    prefix: str
    client: Any

    def _key(self, name: str) -> str:
        return join(self.prefix, safe_name(name))

    def describe(self, name: str = "") -> str:
        return f"s3://{self.bucket}/{self._key(name)}"

    def local_path(self, name: str) -> Path | None:
        return None

    def put_atomic(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data)

    def read_bytes(self, name: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        try:
            yield body
        finally:
            body.close()

    def list(self, folder: str) -> dict[str, int]:
        base = self._key(folder)
        base = base + "/" if base else ""
        out: dict[str, int] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base):
            for obj in page.get("Contents", []):
                out[obj["Key"][len(base) :]] = int(obj["Size"])
        return out

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def remove_empty_dirs(self, folder: str) -> None:
        """S3 has no folders."""


def store_of(destination: Any) -> LocalStore | S3Store:
    """The store behind a compliance export destination (:mod:`mmgov.compliance.delivery`)."""
    if getattr(destination, "kind", "") == "s3":
        return S3Store(destination.bucket, destination.prefix, destination.client)
    return LocalStore(Path(destination.root))


def store_for_location(location: str, *, s3_client: Any = None) -> tuple[LocalStore | S3Store, str]:
    """``(store, name)`` for a local path or an ``s3://bucket/key`` URL: the store is rooted at the
    parent of what the location names, ``name`` is its last part."""
    if location.startswith("s3://"):
        bucket, _, key = location[len("s3://") :].partition("/")
        key = key.strip("/")
        if not bucket or not key:
            raise StoreError(f"{location!r}: an S3 location is s3://bucket/key")
        parent, _, name = key.rpartition("/")
        return S3Store(bucket, parent, s3_client), name
    path = Path(location).absolute()
    return LocalStore(path.parent), path.name


def hash_stream(stream: IO[bytes]) -> tuple[int, str]:
    """(bytes, SHA-256 hex) of a stream read to its end in 1 MiB chunks."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()
