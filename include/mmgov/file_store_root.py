"""The file store's root must exist and be readable before a run reads from it or writes beside it.

Mattermost treats a missing *file* as a warning (the export goes on, the file is listed), but a
missing *root* (``FileSettings.Directory`` that does not exist, an ``AmazonS3Bucket`` that cannot be
read) means every file would be "missing": a run that went on would look complete while holding none
of them. So the run fails at once, naming the key, before any output folder is created.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mmgov.errors import MmgovError
from mmgov.settings import FileSettings


class FileStoreUnavailable(MmgovError):
    """The file store's root does not exist or cannot be read."""

    code = "FILE_STORE_UNAVAILABLE"
    status = 500


def check_file_store_root(fs: FileSettings, *, s3_client: Any = None) -> str:
    """Raise :class:`FileStoreUnavailable` unless the store's root can be read; return its description.

    S3: ``HeadBucket`` (403/404 are for good; a 5xx or a lost connection is the cause, so the task's
    retries apply).
    """
    if fs.DriverName == "amazons3":
        from mmgov.compliance.file_store import S3FileStore

        store = S3FileStore(
            fs.AmazonS3Bucket,
            fs.AmazonS3PathPrefix,
            client=s3_client,
            endpoint=fs.AmazonS3Endpoint,
            region=fs.AmazonS3Region,
            ssl=fs.AmazonS3SSL,
        )
        try:
            store.client.head_bucket(Bucket=fs.AmazonS3Bucket)
        except Exception as exc:
            raise FileStoreUnavailable(
                f"FileSettings.AmazonS3Bucket {fs.AmazonS3Bucket!r} cannot be read "
                f"(the file store; connection mattermost_s3): {exc}"
            ) from exc
        return store.describe()
    root = Path(fs.Directory)
    if not root.is_dir():
        reason = "is not a folder" if root.exists() else "does not exist"
        raise FileStoreUnavailable(
            f"FileSettings.Directory {fs.Directory!r} {reason} (the file store's root, "
            f"resolved to {root.resolve()}); set it to the folder Mattermost keeps uploaded files in"
        )
    if not os.access(root, os.R_OK | os.X_OK):
        raise FileStoreUnavailable(f"FileSettings.Directory {fs.Directory!r} cannot be read by this worker")
    return str(root)


MISSING_FILES_MODES = ("warn", "fail")


class FilesMissing(MmgovError):
    """Files are missing from an existing store and ``Mmgov.MissingFiles`` is ``fail``."""

    code = "EXPORT_FILES_MISSING"
    status = 500


def enforce_missing_files(mode: str, missing: int, store: str) -> None:
    """``Mmgov.MissingFiles``: ``warn`` (Mattermost's behaviour: listed, the run goes on and alerts)
    or ``fail`` (raise :class:`FilesMissing` before anything is delivered)."""
    if missing and mode == "fail":
        raise FilesMissing(
            f"{missing} file(s) referenced by the exported posts are missing from the file store {store}; "
            "Mmgov.MissingFiles is fail, so nothing is delivered (set it to warn to export without them)"
        )
