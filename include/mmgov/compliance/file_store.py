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
    if ".." in parts:
        raise AttachmentUnavailable(path, "file path with '..' refused (it could leave the file store)")
    # Mattermost's paths are already normal (no empty or "." component): normpath only otherwise.
    clean = posixpath.normpath(path) if "" in parts or "." in parts else path
    if clean in (".", "") or clean.startswith("../"):
        raise AttachmentUnavailable(path, "file path does not name a file inside the file store")
    return clean


# Linux names the real path of every open file here: reading it back after the open checks the very
# file that will be read (no window between a check and the open), for one syscall.
_FD_PATHS = "/proc/self/fd"
# O_NONBLOCK: a FIFO planted in the store fails the regular-file check instead of hanging the open
# (it changes nothing for regular files).
_OUTSIDE = "file path leads outside the file store (symlink?)"
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


class LocalFileStore:
    """The ``local`` driver: files under ``FileSettings.Directory``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @cached_property
    def _real_root(self) -> str:
        return os.path.realpath(self.root)

    @cached_property
    def _inside(self) -> str:
        """The prefix of every real path inside the root."""
        return self._real_root.rstrip(os.sep) + os.sep

    @cached_property
    def _fd_paths(self) -> bool:
        return os.path.isdir(_FD_PATHS)

    def describe(self) -> str:
        return f"local:{self.root}"

    def resolve(self, path: str) -> str:
        """The real path of a store file (symlinks followed), after checking it stays inside the root."""
        full = os.path.realpath(os.path.join(self._real_root, safe_relative_path(path)))
        if not full.startswith(self._inside):
            raise AttachmentUnavailable(path, _OUTSIDE)
        return full

    def open(self, path: str) -> IO[bytes]:
        """The store file ``path``, unbuffered; a context manager that closes it."""
        fd = self._open_inside(path)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder, a FIFO, a device
                raise AttachmentUnavailable(path, "not a regular file")
            return open(fd, "rb", buffering=0)  # the caller's `with` closes it
        except BaseException:
            os.close(fd)
            raise

    def _open_inside(self, path: str) -> int:
        """A read-only descriptor of the store file ``path``; never one of a file outside the root.

        On Linux the kernel follows the path (symlinks included) and the opened file's real path is
        read back from ``/proc/self/fd``: one ``open`` and one ``readlink`` per file, about half the
        time of resolving first (0.46 against 1.06 s for 37,500 attachments). Elsewhere the path is
        resolved with ``realpath`` first and opened without following a final symlink.
        """
        if self._fd_paths:
            full, flags = os.path.join(self._real_root, safe_relative_path(path)), _OPEN_FLAGS
        else:
            full, flags = self.resolve(path), _OPEN_FLAGS | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(full, flags)
        except FileNotFoundError:
            raise AttachmentUnavailable(path, "file not found in the file store") from None
        except OSError as exc:
            reason = "symlink refused" if exc.errno == errno.ELOOP else f"cannot open: {exc.strerror}"
            raise AttachmentUnavailable(path, reason) from None
        if self._fd_paths:
            try:
                real = os.readlink(f"{_FD_PATHS}/{fd}")
            except OSError:  # pragma: no cover - the descriptor was just opened
                real = ""
            if not real.startswith(self._inside):
                os.close(fd)
                raise AttachmentUnavailable(path, _OUTSIDE)
        return fd


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
