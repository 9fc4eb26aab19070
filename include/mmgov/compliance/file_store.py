"""Reading attachments from the Mattermost file store (``FileSettings``): a local folder or S3.

Safety rule: a ``fileinfo.path`` from the database is untrusted input. It must be a relative path
inside the store root: absolute paths, ``..`` components, NUL bytes, backslashes and (locally)
symlinks that lead outside the root are refused as :class:`AttachmentUnavailable` (a warning in
the export, never a read outside the store).

Contents are streamed: local files are opened as they are; S3 objects are downloaded (with the
SDK's retries) into a spooled temporary file that stays in memory only up to 8 MiB, so a broken
connection never leaves a truncated attachment in an archive.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from mmgov.compliance.formats import AttachmentUnavailable
from mmgov.settings import FileSettings

S3_CONN_ID = "mattermost_s3"
SPOOL_BYTES = 8 * 1024 * 1024


def safe_relative_path(path: str) -> str:
    """Normalise a store-relative path or raise :class:`AttachmentUnavailable` if it could escape the root."""
    if not isinstance(path, str) or not path.strip():
        raise AttachmentUnavailable(str(path), "empty file path")
    if "\x00" in path or "\\" in path:
        raise AttachmentUnavailable(path, "file path contains a NUL byte or a backslash")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise AttachmentUnavailable(path, "absolute file path refused (paths are relative to the file store)")
    parts = path.split("/")
    if any(p == ".." for p in parts):
        raise AttachmentUnavailable(path, "file path with '..' refused (it could leave the file store)")
    clean = posixpath.normpath(path)
    if clean in (".", "") or clean.startswith("../"):
        raise AttachmentUnavailable(path, "file path does not name a file inside the file store")
    return clean


class LocalFileStore:
    """The ``local`` driver: files under ``FileSettings.Directory``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @cached_property
    def _real_root(self) -> str:
        return os.path.realpath(self.root)

    def describe(self) -> str:
        return f"local:{self.root}"

    def resolve(self, path: str) -> str:
        """The absolute path of a store file, after checking it stays inside the root."""
        rel = safe_relative_path(path)
        folder, _, name = rel.rpartition("/")
        full = self._real_join(self._real_dir(folder) if folder else self._real_root, name)[0]
        if not full.startswith(self._real_root.rstrip(os.sep) + os.sep):
            raise AttachmentUnavailable(path, "file path leads outside the file store (symlink?)")
        return full

    # Resolved folders (``os.path.realpath`` of root/folder), so that a file costs one ``lstat``
    # instead of one per path component; bounded, least recently used out first (Mattermost puts
    # each file in a folder of its own, so the shared parents must outlive the leaves).
    _DIR_CACHE_SIZE = 4096

    @cached_property
    def _dirs(self) -> OrderedDict[str, str]:
        return OrderedDict()

    def _real_dir(self, folder: str) -> str:
        """``os.path.realpath(root/folder)``, one component at a time, with the parents cached."""
        dirs = self._dirs
        cached = dirs.get(folder)
        if cached is not None:
            dirs.move_to_end(folder)
            return cached
        parent, _, name = folder.rpartition("/")
        cached, exists = self._real_join(self._real_dir(parent) if parent else self._real_root, name)
        if exists:  # a missing folder is resolved again next time (it may appear, as a symlink too)
            if len(dirs) >= self._DIR_CACHE_SIZE:
                dirs.popitem(last=False)
            dirs[folder] = cached
        return cached

    @staticmethod
    def _real_join(real_dir: str, name: str) -> tuple[str, bool]:
        """``os.path.realpath(real_dir/name)`` for an already resolved ``real_dir``; and whether it exists."""
        candidate = os.path.join(real_dir, name)
        try:
            if not stat.S_ISLNK(os.lstat(candidate).st_mode):
                return candidate, True
        except OSError:
            return os.path.realpath(candidate), False  # missing or unreadable: realpath decides
        real = os.path.realpath(candidate)
        return real, os.path.exists(real)

    @contextmanager
    def open(self, path: str) -> Iterator[IO[bytes]]:
        full = self.resolve(path)
        try:
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise AttachmentUnavailable(path, "file not found in the file store") from None
        except OSError as exc:
            reason = "symlink refused" if exc.errno == errno.ELOOP else f"cannot open: {exc.strerror}"
            raise AttachmentUnavailable(path, reason) from None
        stream = os.fdopen(fd, "rb", buffering=0)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise AttachmentUnavailable(path, "not a regular file")
            yield stream
        finally:
            stream.close()


class S3FileStore:
    """The ``amazons3`` driver: objects under ``AmazonS3PathPrefix`` in ``AmazonS3Bucket``.

    Credentials come from the Airflow connection ``mattermost_s3`` (type aws); the endpoint is the
    connection's ``endpoint_url`` extra when set, else ``FileSettings.AmazonS3Endpoint``.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        conn_id: str = S3_CONN_ID,
        endpoint: str = "",
        region: str = "",
        ssl: bool = True,
    ):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.conn_id = conn_id
        self._client = client
        self._endpoint = endpoint
        self._region = region
        self._ssl = ssl

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client(
                self.conn_id, endpoint=self._endpoint, region=self._region, ssl=self._ssl
            )
        return self._client

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, path: str) -> str:
        rel = safe_relative_path(path)
        return f"{self.prefix}/{rel}" if self.prefix else rel

    @contextmanager
    def open(self, path: str) -> Iterator[IO[bytes]]:
        from botocore.exceptions import ClientError

        key = self.key(path)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed below
        try:
            try:
                self.client.download_fileobj(self.bucket, key, spool)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in ("404", "NoSuchKey", "NotFound"):
                    raise AttachmentUnavailable(path, "file not found in the S3 file store") from None
                if code in ("403", "AccessDenied"):
                    raise AttachmentUnavailable(path, "access denied by the S3 file store") from None
                raise
            spool.seek(0)
            yield spool
        finally:
            spool.close()


def s3_client(conn_id: str = S3_CONN_ID, *, endpoint: str = "", region: str = "", ssl: bool = True) -> Any:
    """A boto3 S3 client from the Airflow connection (through the amazon provider's S3Hook)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=conn_id, region_name=region or None)
    endpoint_url = hook.conn_config.endpoint_url or _endpoint_url(endpoint, ssl)
    session = hook.get_session(region_name=region or hook.conn_region_name or None)
    return session.client("s3", endpoint_url=endpoint_url, config=hook.config, verify=hook.verify)


def _endpoint_url(endpoint: str, ssl: bool) -> str | None:
    if not endpoint or endpoint == "s3.amazonaws.com":
        return None
    if "://" in endpoint:
        return endpoint
    return f"{'https' if ssl else 'http'}://{endpoint}"


def file_store_from_settings(
    fs: FileSettings, *, s3_client_override: Any = None
) -> LocalFileStore | S3FileStore:
    """The attachment store Mattermost uses, from ``FileSettings``."""
    if fs.DriverName == "amazons3":
        return S3FileStore(
            fs.AmazonS3Bucket,
            fs.AmazonS3PathPrefix,
            client=s3_client_override,
            endpoint=fs.AmazonS3Endpoint,
            region=fs.AmazonS3Region,
            ssl=fs.AmazonS3SSL,
        )
    return LocalFileStore(fs.Directory)
