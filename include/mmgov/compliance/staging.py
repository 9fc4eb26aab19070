"""Stage a run: extract, format and package every batch of the window (and the late reads of the
ledger) into staging, and check what was staged against the database's counts.

The manifest (:class:`Manifest`) is what the staging task hands to the next ones: the window's
counts and one record per batch. Formatting runs one batch behind extraction in a worker thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from mmgov.compliance import ledger
from mmgov.compliance.delivery import Destination, StagedFile
from mmgov.compliance.export_request import ExportRequest
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.extract import DbCounts, WindowCounts, WindowReader
from mmgov.compliance.formats import ComplianceFormat, FileSource, get_format
from mmgov.compliance.ledger import LateSpan
from mmgov.compliance.model import ExportBatch
from mmgov.compliance.packaging import BatchZipWriter
from mmgov.compliance.reconcile import BatchRecord, raise_for_problems, reconcile
from mmgov.gc_passes import fewer_gc_passes
from mmgov.settings import Settings

log = logging.getLogger(__name__)


LATE_PREFIX = "late-"  # late batches: late-batchNNN-<spanStart>-<spanEnd>.zip


@dataclass
class LatePart:
    """A late read: versions of earlier windows (``span``) no delivered run exported, in late batches."""

    span: LateSpan
    db: WindowCounts
    batches: list[BatchRecord]
    by_window: list[dict[str, Any]] = field(default_factory=list)  # late posts per earlier window

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.span.as_dict(),
            "db": asdict(self.db),
            "batches": [b.as_dict() for b in self.batches],
            "by_window": self.by_window,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LatePart:
        span = LateSpan(
            ExportWindow.from_dict(raw["span"]), tuple(map(ExportWindow.from_dict, raw["windows"]))
        )
        return cls(
            span,
            WindowCounts(**raw["db"]),
            [BatchRecord.from_dict(b) for b in raw["batches"]],
            list(raw.get("by_window") or []),
        )


@dataclass
class Manifest:
    """What staging holds for a run: the database's window counts and one record per batch, and the
    late reads (:mod:`mmgov.compliance.ledger`; ``ledger_run``: the run's number there, or None)."""

    db: WindowCounts
    batches: list[BatchRecord]
    mattermost: dict[str, Any] = field(default_factory=dict)  # schema version (the custody manifest)
    late: list[LatePart] = field(default_factory=list)
    ledger_run: int | None = None

    @property
    def all_batches(self) -> list[BatchRecord]:
        return [*self.batches, *(b for part in self.late for b in part.batches)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "db": asdict(self.db),
            "batches": [b.as_dict() for b in self.batches],
            "mattermost": self.mattermost,
            "late": [part.as_dict() for part in self.late],
            "ledger_run": self.ledger_run,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Manifest:
        return cls(
            WindowCounts(**raw["db"]),
            [BatchRecord.from_dict(b) for b in raw["batches"]],
            dict(raw.get("mattermost") or {}),
            [LatePart.from_dict(p) for p in raw.get("late") or []],
            raw.get("ledger_run"),
        )


@dataclass(frozen=True)
class Tracking:
    """A run recorded in the compliance ledger: its number and the spans its sweep reads."""

    run: int
    spans: tuple[LateSpan, ...]


def begin_tracking(
    conn: psycopg.Connection, request: ExportRequest, settings: Settings, now_ms: int
) -> Tracking:
    """Register the run in the ledger (a retry starts over), prune old rows, and find the spans to sweep."""
    lookback = settings.Mmgov.LateArrivalLookbackHours
    run = ledger.begin_run(conn, request.run_key, request.run_folder, request.window, now_ms)
    ledger.prune(conn, now_ms, lookback)
    return Tracking(run, tuple(ledger.late_spans(conn, run, request.window, now_ms, lookback)))


def stage_export(
    conn: psycopg.Connection,
    request: ExportRequest,
    fmt: ComplianceFormat,
    files: FileSource,
    destination: Destination,
    *,
    tracking: Tracking | None = None,
) -> Manifest:
    """Extract, format and package every batch of the window into staging; return the manifest.

    With ``tracking`` the rows go into the ledger, and the versions of earlier windows
    (``tracking.spans``) no delivered run exported are staged as late batches, one late read per span.
    """
    destination.begin(request.run_folder, request.run_key)
    records: list[BatchRecord] = []
    run = tracking.run if tracking else None
    reader = _reader(conn, request.window, request.batch_size, fmt, ledger_run=run)
    with fewer_gc_passes():
        _stage_batches(reader, request, fmt, files, destination, records)
    if reader.counts is None:  # pragma: no cover - the reader always yields at least one batch
        raise RuntimeError("the window reader yielded no batch")
    late: list[LatePart] = []
    if tracking is not None:
        ledger.set_window_count(conn, tracking.run, reader.counts.posts)
        for span in tracking.spans:
            if not ledger.count_unexported(conn, span.span):
                continue
            late_fmt = get_format(request.export_format, fmt.settings)  # a fresh format: no state shared
            late_reader = _reader(
                conn, span.span, request.batch_size, late_fmt, ledger_run=run, unexported_only=True
            )
            late_records: list[BatchRecord] = []
            with fewer_gc_passes():
                _stage_batches(late_reader, request, late_fmt, files, destination, late_records)
            assert late_reader.counts is not None
            by_window = ledger.late_by_window(conn, tracking.run, span)
            late.append(LatePart(span, late_reader.counts, late_records, by_window))
            log.warning(
                "compliance export: %d late post versions of earlier windows %s staged in %s",
                late_reader.counts.posts,
                [w["window"] for w in by_window if w["late_posts"]],
                [r.zip_name for r in late_records],
            )
    from mmgov.custody.mattermost import mattermost_schema

    return Manifest(reader.counts, records, mattermost_schema(conn), late, run)


def _reader(
    conn: psycopg.Connection,
    window: ExportWindow,
    batch_size: int,
    fmt: ComplianceFormat,
    *,
    ledger_run: int | None,
    unexported_only: bool = False,
) -> WindowReader:
    return WindowReader(
        conn,
        window,
        batch_size,
        rendering=fmt.accelerator,
        member_listing=fmt.member_listing,
        ledger_run=ledger_run,
        unexported_only=unexported_only,
        zip_prefix=LATE_PREFIX if unexported_only else "",
    )


def _stage_batches(
    reader: WindowReader,
    request: ExportRequest,
    fmt: ComplianceFormat,
    files: FileSource,
    destination: Destination,
    records: list[BatchRecord],
) -> None:
    """Format and package each batch in a worker thread while the next batch is extracted.

    Two stages, one batch apart: while the database computes and sends batch N+1 (the GIL is free
    while psycopg waits) and zlib deflates (also GIL-free), batch N is rendered. Batches are still
    written one at a time and in order, by one thread, so a format sees them as before. In memory:
    the batch being written and the one being built (the reader looks one row ahead, to know the
    last batch). An error in either stage ends the run with that error.
    """
    folder, key = request.run_folder, request.run_key
    started = time.monotonic()
    posts = 0
    # Mmgov.ExportRecipients: published zips are stored encrypted (the SMTP format mails them plain).
    recipients = fmt.settings.Mmgov.ExportRecipients if fmt.publishes_archive else ()

    def write(batch: ExportBatch, counts: DbCounts) -> BatchRecord:
        with destination.part_file(folder, key, batch.zip_name) as part:
            with open(part, "wb") as fh, BatchZipWriter(fh, timestamp_ms=request.window.end_ms) as zw:
                result = fmt.write_batch(batch, zw, files)
            entries = len(zw.names)
            if recipients:
                from mmgov.custody.encryption import AGE_SUFFIX, encrypt_file

                name = batch.zip_name + AGE_SUFFIX
                with destination.part_file(folder, key, name) as encrypted:
                    encrypt_file(part, encrypted, recipients)
                    staged = destination.stage(encrypted, folder, key, name)
            else:
                staged = destination.stage(part, folder, key, batch.zip_name)
        return BatchRecord(
            batch.number,
            batch.zip_name,
            batch.start_ms,
            batch.end_ms,
            counts.posts,
            counts.files,
            result,
            staged,
            counts.first,
            counts.last,
            entries,
        )

    def done(record: BatchRecord) -> None:
        nonlocal posts
        records.append(record)
        posts += record.result.posts
        log.info(
            "compliance export: staged %s (%d posts, %d files, %d warnings; %d posts so far, %.0f posts/s)",
            record.zip_name,
            record.result.posts,
            record.result.files,
            len(record.result.warnings),
            posts,
            posts / max(time.monotonic() - started, 1e-6),
        )

    # Leaving the pool waits for a running write (so an extraction error never races the worker).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="compliance-export-format") as pool:
        pending: Future[BatchRecord] | None = None
        for batch, counts in reader:
            if pending is not None:
                done(pending.result())
            pending = pool.submit(write, batch, counts)
            del batch, counts  # the worker holds the only reference: freed once written
        if pending is not None:
            done(pending.result())


def check_staged(request: ExportRequest, manifest: Manifest, destination: Destination) -> dict[str, Any]:
    """Reconcile the window and each late read; raise
    :class:`~mmgov.compliance.reconcile.ReconciliationError` on any mismatch."""

    def verify(staged: StagedFile) -> str | None:
        return destination.verify(request.run_folder, request.run_key, staged)

    report = reconcile(request.window, manifest.db.posts, manifest.db.files, manifest.batches, verify)
    raise_for_problems(report)
    out = report.as_dict()
    for part in manifest.late:
        late_report = reconcile(part.span.span, part.db.posts, part.db.files, part.batches, verify)
        raise_for_problems(late_report)
        out.setdefault("late", []).append({**part.span.as_dict(), **late_report.as_dict()})
    return out
