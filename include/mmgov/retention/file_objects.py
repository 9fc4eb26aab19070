"""Removing file objects from Mattermost's file store (a local folder or S3) for physical removal.

Safety rule: a path read from the database is never trusted: it must be relative, without ``..``,
backslashes or NUL, and (locally) must resolve inside the store root even through symlinks;
anything else is refused and left in place. Removal cannot be undone; it happens only after the
``fileinfo`` rows are gone (see :mod:`mmgov.retention.physical_removal`).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mmgov.settings import FileSettings

log = logging.getLogger(__name__)
S3_CONN_ID = "mattermost_s3"
S3_DELETE_LIMIT = 1000  # DeleteObjects accepts at most 1,000 keys per request (S3 API reference)


def safe_relative_path(path: str) -> str | None:
    """The normalised store-relative path, or ``None`` when ``path`` could escape the store root."""
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
        return None
    if path.startswith("/") or any(part == ".." for part in path.split("/")):
        return None
    norm = posixpath.normpath(path)
    if norm in (".", "") or norm.startswith("../") or norm.startswith("/"):
        return None
    return norm


@dataclass
class RemovalResult:
    removed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class FileStore(Protocol):
    def remove(self, paths: Iterable[str]) -> RemovalResult: ...


@dataclass
class LocalFileStore:
    """``FileSettings.DriverName = local``: files under ``root``."""

    root: Path

    def remove(self, paths: Iterable[str]) -> RemovalResult:
        result = RemovalResult()
        root = Path(self.root).resolve()
        for raw in paths:
            rel = safe_relative_path(raw)
            target = (root / rel).resolve() if rel is not None else None
            if target is None or target == root or not target.is_relative_to(root):
                log.warning("file path %r escapes the file store root %s: refused", raw, root)
                result.refused.append(raw)
                continue
            try:
                target.unlink(missing_ok=True)
                self._prune_empty_dirs(target.parent, root)
                result.removed.append(raw)
            except OSError as exc:
                result.failed[raw] = f"{type(exc).__name__}: {exc}"
        return result

    @staticmethod
    def _prune_empty_dirs(folder: Path, root: Path) -> None:
        while folder != root and folder.is_relative_to(root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent


@dataclass
class S3FileStore:
    """``FileSettings.DriverName = amazons3``: objects in ``bucket`` under ``prefix``, through S3Hook."""

    bucket: str
    prefix: str = ""
    conn_id: str = S3_CONN_ID
    # FileSettings.AmazonS3Endpoint / Region / SSL: the endpoint of a MinIO (or other S3-compatible) store
    # when the connection names none, as for the compliance export's reads (one client factory: s3_client).
    endpoint: str = ""
    region: str = ""
    ssl: bool = True

    def key(self, rel: str) -> str:
        prefix = self.prefix.strip("/")
        return f"{prefix}/{rel}" if prefix else rel

    def remove(self, paths: Iterable[str]) -> RemovalResult:
        from mmgov.compliance.file_store import s3_client

        result = RemovalResult()
        keys: dict[str, str] = {}
        for raw in paths:
            rel = safe_relative_path(raw)
            if rel is None:
                log.warning("file path %r escapes the S3 store prefix: refused", raw)
                result.refused.append(raw)
            else:
                keys[self.key(rel)] = raw
        client = s3_client(self.conn_id, endpoint=self.endpoint, region=self.region, ssl=self.ssl)
        items = list(keys.items())
        for start in range(0, len(items), S3_DELETE_LIMIT):
            chunk = items[start : start + S3_DELETE_LIMIT]
            response = client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k, _ in chunk], "Quiet": True}
            )
            errors = {e["Key"]: f"{e.get('Code')}: {e.get('Message')}" for e in response.get("Errors", [])}
            for k, raw in chunk:
                if k in errors:
                    result.failed[raw] = errors[k]
                else:
                    result.removed.append(raw)
        return result


def store_from_settings(files: FileSettings) -> FileStore:
    """The store ``FileSettings`` describes."""
    if files.DriverName == "amazons3":
        return S3FileStore(
            bucket=files.AmazonS3Bucket,
            prefix=files.AmazonS3PathPrefix,
            endpoint=files.AmazonS3Endpoint,
            region=files.AmazonS3Region,
            ssl=files.AmazonS3SSL,
        )
    return LocalFileStore(root=Path(files.Directory))
