"""Copying attachments, profile pictures and emoji images from the file store into the export.

Safety rule (the seed's rule_06): a file that cannot be copied (missing, unreadable, or a path that
could leave the store root: absolute, ``..``, a symlink out) never aborts the export and is never
read outside the store; it becomes one line of ``warnings.txt`` (kind, path, owner record, reason).
Reading goes through :mod:`mmgov.file_store` (local folder or S3 via the amazon provider's
``S3Hook``, connection ``mattermost_s3``), the same store the compliance export reads.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mmgov.bulk_export.archive import ExportSink
from mmgov.file_store import AttachmentUnavailable, FileSource

log = logging.getLogger(__name__)
DATA_DIR = "data"
EMOJI_DIR = "exported_emoji"


class SourceReadError(OSError):
    """Reading a store file failed part-way: the export fails rather than hold a truncated copy."""


class _CheckedReader:
    """Wraps a source stream so read errors are told apart from errors writing the export."""

    def __init__(self, stream: IO[bytes], path: str):
        self.stream = stream
        self.path = path

    def read(self, size: int = -1) -> bytes:
        try:
            return self.stream.read(size)
        except OSError as exc:
            raise SourceReadError(
                f"reading {self.path!r} from the file store failed part-way: {exc}"
            ) from exc


@dataclass
class FileCopier:
    """Copies store files into an :class:`ExportSink`; failures go to a warnings file, not up."""

    store: FileSource
    sink: ExportSink
    warnings_path: Path
    warnings: int = 0
    copied: dict[str, int] = field(
        default_factory=lambda: {"attachments": 0, "profile_pictures": 0, "emoji": 0}
    )
    bytes_copied: int = 0
    _warnings_fh: IO[str] | None = None

    def copy(
        self,
        kind: str,
        store_path: str,
        member: str,
        owner: str,
        *,
        quiet_missing: bool = False,
        count: bool = True,
        consequence: str = "",
    ) -> bool:
        """Copy ``store_path`` to ``member``; on failure write a warning and return False.

        ``quiet_missing``: a missing file is expected (e.g. a default avatar never stored), no warning.
        ``count``: False for a second copy of the same file (not counted again).
        ``consequence``: what the caller does about a failure, appended to the warning's reason.
        """
        with contextlib.ExitStack() as stack:
            try:
                source = stack.enter_context(self.store.open(store_path))
            except AttachmentUnavailable as exc:
                if quiet_missing and "not found" in exc.reason:
                    return False
                self.warn(kind, store_path, owner, exc.reason + consequence)
                return False
            except OSError as exc:  # opening the source only: errors writing the export fail the job
                self.warn(kind, store_path, owner, f"cannot read: {exc.strerror or exc}{consequence}")
                return False
            self.bytes_copied += self.sink.add_file(
                member, _CheckedReader(source, store_path), _size_of(source)
            )
        if count:
            key = {"attachment": "attachments", "profile_picture": "profile_pictures", "emoji": "emoji"}[kind]
            self.copied[key] += 1
        return True

    def warn(self, kind: str, path: str, owner: str, reason: str) -> None:
        """Append one line to ``warnings.txt``: ``<kind> "<path>" (<owner>): <reason>``."""
        if self._warnings_fh is None:
            self._warnings_fh = open(self.warnings_path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        safe_path = path.replace("\n", "\\n").replace("\r", "\\r")
        self._warnings_fh.write(f'{kind} "{safe_path}" ({owner}): {reason}\n')
        self.warnings += 1
        log.warning("GDPR export: %s %r (%s) not copied: %s", kind, path, owner, reason)

    def close(self) -> Path | None:
        """Close the warnings file; its path when there were warnings, else ``None``."""
        if self._warnings_fh is None:
            return None
        self._warnings_fh.close()
        self._warnings_fh = None
        return self.warnings_path

    def discard(self) -> None:
        """Close and delete the warnings file (export aborted)."""
        self.close()
        self.warnings_path.unlink(missing_ok=True)


def attachment_member(path: str) -> str:
    """Where an attachment goes in the export: ``data/<fileinfo.path>``."""
    return f"{DATA_DIR}/{path}"


def profile_picture_path(user_id: str) -> str:
    """The picture's path in the store and (under ``data/``) in the export: ``users/<id>/profile.png``."""
    return f"users/{user_id}/profile.png"


def emoji_store_path(emoji_id: str) -> str:
    """Where Mattermost keeps a custom emoji image: ``emoji/<id>/image``."""
    return f"emoji/{emoji_id}/image"


def emoji_member(emoji_id: str) -> str:
    """Where it goes in the export (rule_08): ``exported_emoji/<id>/image``."""
    return f"{EMOJI_DIR}/{emoji_id}/image"


def _size_of(source: Any) -> int | None:
    """The stream's size when it can tell (local files, spooled S3 downloads), else ``None``."""
    try:
        pos = source.tell()
        size = source.seek(0, 2)
        source.seek(pos)
        return size
    except (AttributeError, OSError, ValueError):
        return None
