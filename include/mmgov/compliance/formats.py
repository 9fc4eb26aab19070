"""The format interface: how a compliance export format plugs in (see ``FORMATS.md`` next to this file).

A format turns one :class:`~mmgov.compliance.model.ExportBatch` into the entries of one zip and
reports what it wrote in a :class:`BatchResult`. It never queries the database and never decides
where the zip goes: extraction, batching, staging, reconciliation and delivery are shared.

Formats are registered by name (the values of ``MessageExportSettings.ExportFormat`` and of the
``export_format`` run parameter); :func:`get_format` builds one for a run.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

from mmgov.compliance.membership import MemberListing
from mmgov.compliance.model import ExportBatch, ExportedFile
from mmgov.compliance.post_reader import SqlRendering
from mmgov.errors import MmgovError
from mmgov.file_store import AttachmentUnavailable, FileSource
from mmgov.settings import EXPORT_FORMATS, Settings

# Mattermost's own warning texts (shared/export.go), kept so that existing tooling recognises them.
MISSING_FILE_DURING_READ = "File backend read: File missing for post; cannot copy file to archive"
MISSING_FILE_DURING_COPY = "Copy buffer: File missing for post; cannot copy file to archive"
UNKNOWN_CHANNEL_TYPE = "Channel type unknown to this mmgov version; exported with the type as stored"


class UnknownFormatError(MmgovError, ValueError):
    """``export_format`` names no registered format."""

    code = "COMPLIANCE_EXPORT_UNKNOWN_FORMAT"
    status = 400


class ZipSink(Protocol):
    """Where a format writes its entries: one zip per batch, deterministic (fixed timestamps, order kept).

    Entry names are POSIX paths relative to the zip root; writing the same name twice is an error.
    """

    def open(self, name: str) -> AbstractContextManager[IO[bytes]]:
        """A binary stream for a new entry; the entry is complete when the context exits."""
        ...

    def write_bytes(self, name: str, data: bytes) -> None: ...

    def write_text(self, name: str, text: str) -> None:
        """UTF-8, written as given (use ``\\n`` line endings)."""
        ...

    def copy_from(self, name: str, source: IO[bytes]) -> int:
        """Stream ``source`` into a new entry in chunks; returns the bytes copied."""
        ...

    @property
    def names(self) -> list[str]:
        """Entry names written so far, in order."""
        ...


@dataclass
class BatchResult:
    """What a format wrote for one batch. Counts are checked against the database before delivery.

    The reconciliation requires, per batch: ``posts`` == the batch's post rows (each post row is
    either exported or deliberately skipped by a documented rule, counted in ``posts_skipped`` too),
    and ``files_copied + files_missing + files_skipped`` == the batch's ``fileinfo`` rows.
    """

    zip_name: str
    messages: int = 0  # message entries written (a post deleted in the window gives two)
    posts: int = 0  # post rows accounted for (exported + skipped)
    posts_skipped: int = 0  # post rows left out on purpose (e.g. Global Relay drops message deletions)
    uploads: int = 0  # upload entries (metadata AttachmentsCount)
    file_deletions: int = 0  # FileDeleted entries
    files_copied: int = 0  # attachment contents written into the zip
    files_missing: int = 0  # attachments that could not be read (each has a warning)
    files_skipped: int = 0  # attachments left out on purpose (e.g. over Global Relay's size limit)
    members: int = 0  # membership entries written
    channels: int = 0  # channels in the batch
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # format-specific figures (e.g. emails written)

    @classmethod
    def of(cls, batch: ExportBatch) -> BatchResult:
        """A batch's result, started with a warning for each of its channels of a type this version does
        not know (Mattermost adds channel types: 11.8 does): their posts are exported with the raw type
        (CSV ``Channel Type``, Actiance ``RoomID``, Global Relay ``X-Mattermost-ChannelType``)."""
        result = cls(zip_name=batch.zip_name, channels=len(batch.channels))
        for cid, activity in sorted(batch.channels.items()):
            if activity.channel.has_unknown_type:
                result.warn(
                    f"Warning:{UNKNOWN_CHANNEL_TYPE} - Channel: {cid} - Type: {activity.channel.type}"
                )
        return result

    @property
    def files(self) -> int:
        """File rows accounted for."""
        return self.files_copied + self.files_missing + self.files_skipped

    def warn(self, line: str) -> None:
        """Record a warning (one line; it goes to ``warning.txt`` where the format has one, and the summary).

        Characters UTF-8 cannot carry (lone surrogates, e.g. from a path decoded with surrogate
        escapes) are written as ``\\udXXX`` escapes, so the warning never breaks ``warning.txt``, the
        run summary or the audit record.
        """
        line = line.replace("\n", " ")
        if not line.isascii():
            line = line.encode("utf-8", "backslashreplace").decode("utf-8")
        self.warnings.append(line)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["files"] = self.files
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BatchResult:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class ComplianceFormat(ABC):
    """Base class of every export format.

    Subclasses set :attr:`name` and implement :meth:`write_batch`. One instance serves one run
    (all its batches, in order); it may keep state between batches (e.g. a counter), but must not
    rely on seeing every batch in one process: a retried task starts again at batch 1.
    """

    #: Registry name (``csv``, ``actiance``, ``globalrelay``, ``globalrelay-zip``).
    name: ClassVar[str] = ""
    #: False when the zips are a means of delivery, not the deliverable (``globalrelay`` mails the
    #: EMLs and does not keep the zips in the export root); True publishes them there.
    publishes_archive: ClassVar[bool] = True
    #: PostgreSQL's rendering of a post without files for this format, or None (rendered in
    #: Python). With one, the extractor reads those posts as
    #: :data:`~mmgov.compliance.model.RenderedPost` rows into ``batch.rendered`` instead of
    #: classifying them into ``batch.posts``; it must give the bytes the Python path gives.
    accelerator: ClassVar[SqlRendering | None] = None
    #: How the format writes membership (:class:`~mmgov.compliance.membership.MemberListing`).
    member_listing: MemberListing = MemberListing.EVERY_BATCH

    def __init__(self, settings: Settings, export_format: str | None = None):
        self.settings = settings
        self.export_format = export_format or self.name

    @abstractmethod
    def write_batch(self, batch: ExportBatch, out: ZipSink, files: FileSource) -> BatchResult:
        """Write ``batch`` into ``out`` and return the counts and warnings.

        Must be deterministic: the same batch gives byte-identical entries (no clock, no random,
        stable ordering). Missing attachments are warnings (see :func:`copy_attachment`).
        """

    def deliver_batch(self, zip_path: Path, result: BatchResult, *, key: str) -> dict[str, Any]:
        """Extra delivery of one staged, reconciled batch (e.g. mail its EMLs); default: nothing.

        Called by the deliver task after reconciliation, in batch order, with a local copy of the
        zip. ``key`` (``<run folder>/<zip name>``) is stable across retries and re-runs: the
        implementation must be idempotent on it (a retry never sends twice). Returns figures for
        the run summary.
        """
        return {}


def copy_attachment(
    out: ZipSink, entry_name: str, file: ExportedFile, files: FileSource, result: BatchResult
) -> bool:
    """Copy one attachment into ``out`` under ``entry_name``; count it and warn when it is unavailable.

    Returns True when copied. The warning line is Mattermost's:
    ``Warning:<reason text> - Post: <postId> - <path>``.
    """
    try:
        with files.open(file.path) as stream:
            out.copy_from(entry_name, stream)
    except AttachmentUnavailable as exc:
        text = MISSING_FILE_DURING_COPY if exc.during_copy else MISSING_FILE_DURING_READ
        result.warn(f"Warning:{text} - Post: {file.post_id} - {file.path}")
        result.files_missing += 1
        return False
    result.files_copied += 1
    return True


# name -> "module:Class" (imported on first use, so formats may live in modules written later).
_BUILTIN: dict[str, str] = {
    "csv": "mmgov.compliance.csv_format:CsvFormat",
    "actiance": "mmgov.compliance.actiance_format:ActianceFormat",
    "globalrelay": "mmgov.compliance.globalrelay_format:GlobalRelayFormat",
    "globalrelay-zip": "mmgov.compliance.globalrelay_format:GlobalRelayFormat",
}


def format_names() -> list[str]:
    """Every name a run may ask for."""
    return sorted(set(_BUILTIN) | set(EXPORT_FORMATS))


def format_class(name: str) -> type[ComplianceFormat]:
    """The class of the format named ``name``."""
    if name not in _BUILTIN:
        raise UnknownFormatError(f"export_format must be one of {', '.join(format_names())}; got {name!r}")
    module_name, _, class_name = _BUILTIN[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UnknownFormatError(
            f"export_format {name!r} is not available in this build yet ({module_name} is missing)"
        ) from exc
    return getattr(module, class_name)


def get_format(name: str, settings: Settings) -> ComplianceFormat:
    """Build the format named ``name`` for one run."""
    return format_class(name)(settings, name)
