"""The compliance export run: the task bodies of the ``compliance_export`` DAG and an in-process runner.

Stages (each a task, each retryable on its own):

1. :func:`task_resolve_window` - run parameters or the data interval -> an :class:`ExportRequest`
   (window, format, batch size, destination, folder); audit ``compliance_export.started``.
2. :func:`task_extract_format_package` - keyset batches from the database (extract), rendered by
   the format (format) into one deterministic zip per batch in staging (package), with the
   database's counts of the window taken in the same snapshot. Extraction, formatting and
   packaging are separate modules but are pipelined batch by batch in one task: materialising a
   whole window between tasks would cost a second copy of it, and the counts must come from the
   snapshot the rows came from (a REPEATABLE READ transaction cannot span tasks).
3. :func:`task_reconcile` - counts and staged files checked; a mismatch fails the run, nothing delivered.
4. :func:`task_deliver` - format delivery hooks, atomic publish, stale batches removed, staging
   cleared; audit ``compliance_export.completed`` (emitted on the ``mmgov://compliance-export``
   asset); the run summary is returned (XCom) and logged as one line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from mmgov.compliance import ledger
from mmgov.compliance.delivery import (
    Destination,
    StagedFile,
    destination_from_settings,
    run_key,
)
from mmgov.compliance.export_window import ExportWindow, ExportWindowError, resolve_window
from mmgov.compliance.extract import DbCounts, WindowCounts, WindowReader
from mmgov.compliance.formats import ComplianceFormat, FileSource, format_names, get_format
from mmgov.compliance.ledger import LateSpan
from mmgov.compliance.model import ExportBatch
from mmgov.compliance.packaging import BatchZipWriter
from mmgov.compliance.reconcile import BatchRecord, raise_for_problems, reconcile
from mmgov.errors import MmgovError
from mmgov.file_store import file_store_from_settings
from mmgov.gc_passes import fewer_gc_passes
from mmgov.settings import Settings

log = logging.getLogger(__name__)
EVENT_PREFIX = "compliance_export."
LATE_PREFIX = "late-"  # late batches: late-batchNNN-<spanStart>-<spanEnd>.zip


@dataclass(frozen=True)
class ExportRequest:
    """What one run exports, resolved once (retries of later tasks reuse it)."""

    window: ExportWindow
    source: str  # "params", "data_interval" or "since_last_export"
    export_format: str
    batch_size: int
    destination: str  # where the run folder goes (description, no secrets)
    run_folder: str
    run_key: str
    settle_seconds: int = 0  # Mmgov.ExportSettleSeconds when the window was resolved
    ends_at_settle: bool = False  # an "up to now" run: the window ends at now minus the settle margin

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["window"] = self.window.as_dict()
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ExportRequest:
        return cls(**{**raw, "window": ExportWindow.from_dict(raw["window"])})


def resolve_request(
    params: Mapping[str, Any],
    settings: Settings,
    *,
    interval_start: Any = None,
    interval_end: Any = None,
    run_id: str = "manual",
    now_ms: int | None = None,
    last_export_end_ms: int | None = None,
) -> ExportRequest:
    """Validate the run parameters and settle the window, format and destination.

    ``last_export_end_ms`` (:func:`mmgov.compliance.last_export.last_export_end_ms`) starts a manual
    run that has neither parameters nor a data interval.
    """
    export_format = params.get("export_format") or settings.MessageExportSettings.ExportFormat
    if export_format not in format_names():
        raise ExportWindowError(
            f"export_format must be one of {', '.join(format_names())}; got {export_format!r}"
        )
    window, source = resolve_window(
        export_from=params.get("export_from"),
        export_to=params.get("export_to"),
        interval_start=interval_start,
        interval_end=interval_end,
        floor_ms=settings.MessageExportSettings.ExportFromTimestamp,
        now_ms=now_ms,
        last_export_end_ms=last_export_end_ms,
        settle_ms=settings.Mmgov.ExportSettleSeconds * 1000,
    )
    dest = destination_from_settings(settings)
    up_to_now = source == "since_last_export" or (
        source == "params" and params.get("export_to") in (None, "")
    )
    return ExportRequest(
        window=window,
        source=source,
        export_format=export_format,
        batch_size=settings.MessageExportSettings.BatchSize,
        destination=dest.describe(),
        run_folder=window.folder_name,
        run_key=run_key(run_id),
        settle_seconds=settings.Mmgov.ExportSettleSeconds,
        ends_at_settle=up_to_now,
    )


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


def recount_previous(
    conn: psycopg.Connection, request: ExportRequest, manifest: Manifest
) -> dict[str, Any] | None:
    """The previous run's window counted again (:func:`mmgov.compliance.ledger.recount_previous`); a
    growth the sweep did not capture is logged as an error and audited (the summary carries it; the
    DAG's ``check_previous_window`` alerts)."""
    if manifest.ledger_run is None:
        return None
    found = ledger.recount_previous(conn, manifest.ledger_run, request.window)
    if found and found["uncaptured"]:
        from mmgov.audit import record

        record(
            conn, EVENT_PREFIX + "uncaptured_growth", {"run_key": request.run_key, "previous_window": found}
        )
        log.error(
            "compliance export: %d post versions appeared in the previous window %s after this run's sweep "
            "read it (posts at export %s, now %s); the next run's late batch exports them while that window "
            "is within Mmgov.LateArrivalLookbackHours",
            found["uncaptured"],
            found["window"],
            found["posts_at_export"],
            found["posts_now"],
        )
    return found


def deliver(
    request: ExportRequest,
    manifest: Manifest,
    fmt: ComplianceFormat,
    destination: Destination,
    *,
    run_id: str | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the format's delivery hook, publish atomically, drop stale batches, write the signed
    custody manifest last (:mod:`mmgov.custody.exports`); return the summary (``previous``: the
    recount of the previous window, :func:`recount_previous`)."""
    from mmgov.custody import exports as custody
    from mmgov.custody.signing import load_signer

    folder, key = request.run_folder, request.run_key
    records = manifest.all_batches
    signer = load_signer()  # a bad key fails here, before anything is sent or published
    hook_figures: dict[str, Any] = {}
    if type(fmt).deliver_batch is not ComplianceFormat.deliver_batch:
        for rec in records:
            with destination.local_copy(folder, key, rec.staged.zip_name) as path:
                for name, value in fmt.deliver_batch(
                    path, rec.result, key=f"{folder}/{rec.zip_name}"
                ).items():
                    hook_figures[name] = (
                        hook_figures.get(name, 0) + value if isinstance(value, int) else value
                    )
    removed: list[str] = []
    store = custody.store_of(destination)
    custody.withdraw(store, folder)  # an earlier run's manifest must not describe this run's files
    if fmt.publishes_archive:
        destination.publish(folder, key, [r.staged for r in records])
        removed = destination.remove_stale(folder, {r.staged.zip_name for r in records})
    ref = custody.write_compliance_manifest(
        store, request, manifest, fmt, signer=signer, run_id=run_id or request.run_key
    )
    destination.finish(folder, key)
    summary = summarize(request, records, destination, removed, hook_figures, fmt.publishes_archive)
    summary["custody"] = ref.as_dict()
    summary.update(_completeness(request, manifest, previous))
    if previous and previous["uncaptured"]:
        summary["status"] = "warning"
    return summary


def _completeness(
    request: ExportRequest, manifest: Manifest, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """The summary's settle margin, late batches and the recount of the previous window."""
    out: dict[str, Any] = {"settle_seconds": request.settle_seconds}
    if request.ends_at_settle:
        out["settle_note"] = (
            f"window ends at now minus Mmgov.ExportSettleSeconds ({request.settle_seconds} s): "
            "later posts go to the next run"
        )
    if manifest.ledger_run is not None:
        out["late"] = [
            {
                "span": part.span.span.as_dict(),
                "posts": sum(r.result.posts for r in part.batches),
                "batches": [r.zip_name for r in part.batches],
                "by_window": [w for w in part.by_window if w["late_posts"]],  # the manifest lists all
            }
            for part in manifest.late
        ]
        out["late_posts"] = sum(item["posts"] for item in out["late"])
        out["previous_window"] = previous
    return out


def summarize(
    request: ExportRequest,
    records: list[BatchRecord],
    destination: Destination,
    removed: list[str],
    hook_figures: dict[str, Any],
    published: bool,
) -> dict[str, Any]:
    warnings = [w for r in records for w in r.result.warnings]
    missing = sum(r.result.files_missing for r in records)
    return {
        "status": "warning" if warnings else "success",
        "format": request.export_format,
        "window": request.window.as_dict(),
        "source": request.source,
        "messages": sum(r.result.posts for r in records),
        "message_entries": sum(r.result.messages for r in records),
        "files": sum(r.result.files_copied for r in records),
        "files_missing": missing,
        "files_skipped": sum(r.result.files_skipped for r in records),
        "warnings": len(warnings),
        "warning_lines": warnings[:50],
        "batches": [r.zip_name for r in records],
        "location": destination.describe(request.run_folder) if published else None,
        "removed_stale": removed,
        **({"delivery": hook_figures} if hook_figures else {}),
    }


def export_window_to_destination(
    conn: psycopg.Connection,
    window: ExportWindow,
    settings: Settings,
    *,
    export_format: str = "csv",
    files: FileSource | None = None,
    destination: Destination | None = None,
    batch_size: int | None = None,
    run_id: str = "local",
) -> dict[str, Any]:
    """The whole pipeline in-process (tests, benchmarks, scripts): stage, reconcile, deliver."""
    destination = destination or destination_from_settings(settings)
    request = ExportRequest(
        window=window,
        source="params",
        export_format=export_format,
        batch_size=batch_size or settings.MessageExportSettings.BatchSize,
        destination=destination.describe(),
        run_folder=window.folder_name,
        run_key=run_key(run_id),
    )
    fmt = get_format(export_format, settings)
    manifest = stage_export(
        conn, request, fmt, files or file_store_from_settings(settings.FileSettings), destination
    )
    check_staged(request, manifest, destination)
    return deliver(request, manifest, fmt, destination, run_id=run_id)


def run_export(
    conn: psycopg.Connection,
    settings: Settings,
    params: Mapping[str, Any],
    *,
    run_id: str,
    interval_start: Any = None,
    interval_end: Any = None,
    now_ms: int | None = None,
    files: FileSource | None = None,
    destination: Destination | None = None,
) -> dict[str, Any]:
    """One run as the DAG does it, in-process: resolve the window (settle margin), stage it and the late
    batches (ledger), reconcile, recount the previous window, deliver, mark the run delivered.

    ``conn``: autocommit, with mmgov's schema.
    """
    from mmgov.compliance.last_export import last_export_end_ms

    now = int(time.time() * 1000) if now_ms is None else now_ms
    request = resolve_request(
        params,
        settings,
        interval_start=interval_start,
        interval_end=interval_end,
        run_id=run_id,
        now_ms=now,
        last_export_end_ms=last_export_end_ms(conn),
    )
    destination = destination or destination_from_settings(settings)
    fmt = get_format(request.export_format, settings)
    tracking = begin_tracking(conn, request, settings, now)
    manifest = stage_export(
        conn,
        request,
        fmt,
        files or file_store_from_settings(settings.FileSettings),
        destination,
        tracking=tracking,
    )
    check_staged(request, manifest, destination)
    previous = recount_previous(conn, request, manifest)
    summary = deliver(request, manifest, fmt, destination, run_id=run_id, previous=previous)
    from mmgov.audit import record

    record(conn, EVENT_PREFIX + "completed", completed_payload(run_id, request, summary))
    ledger.mark_delivered(conn, tracking.run, int(time.time() * 1000))
    return summary


def completed_payload(run_id: str, request: ExportRequest, summary: dict[str, Any]) -> dict[str, Any]:
    """The audit payload of ``compliance_export.completed``."""
    return {
        "run_id": run_id,
        **summary,
        "warning_lines": summary["warning_lines"][:10],
        # The retention export guard reads these: nothing updated at or after window_end_ms is deleted.
        "window_start_ms": request.window.start_ms,
        "window_end_ms": request.window.end_ms,
    }


# --- Airflow task bodies (called from dags/compliance_export.py) ---------------------------------
# Errors a retry cannot fix fail without retries at the task edge (mmgov_airflow.outcomes.task_edge).


def _audit(event: str, payload: dict[str, Any]) -> None:
    from mmgov.audit import record
    from mmgov.db import hook_connection
    from mmgov.state import ensure_mmgov_schema

    with hook_connection() as conn:
        conn.autocommit = True
        ensure_mmgov_schema(conn)
        record(conn, event, payload)


def task_resolve_window(
    params: Mapping[str, Any], *, interval_start: Any, interval_end: Any, run_id: str
) -> dict[str, Any]:
    from mmgov.compliance.last_export import last_export_end_ms
    from mmgov.db import hook_connection
    from mmgov.settings import load_settings
    from mmgov.state import ensure_mmgov_schema

    settings = load_settings()  # a bad value of a key this DAG reads fails here, first
    file_store_from_settings(settings.FileSettings).check_root()  # before anything is created beside it
    with hook_connection() as conn:
        conn.autocommit = True
        ensure_mmgov_schema(conn)
        since = last_export_end_ms(conn)
    request = resolve_request(
        params,
        settings,
        interval_start=interval_start,
        interval_end=interval_end,
        run_id=run_id,
        last_export_end_ms=since,
    )
    _audit(EVENT_PREFIX + "started", {"run_id": run_id, **request.as_dict()})
    log.info(
        "compliance export of %s: window [%d, %d) from %s, format %s, into %s/%s",
        run_id,
        request.window.start_ms,
        request.window.end_ms,
        request.source,
        request.export_format,
        request.destination,
        request.run_folder,
    )
    return request.as_dict()


def task_extract_format_package(request_dict: Mapping[str, Any]) -> dict[str, Any]:
    from mmgov.db import hook_connection
    from mmgov.settings import load_settings
    from mmgov.state import ensure_mmgov_schema

    settings = load_settings()
    request = ExportRequest.from_dict(request_dict)
    fmt = get_format(request.export_format, settings)
    with hook_connection() as conn:
        conn.autocommit = True
        ensure_mmgov_schema(conn)
        tracking = begin_tracking(conn, request, settings, int(time.time() * 1000))
        manifest = stage_export(
            conn,
            request,
            fmt,
            file_store_from_settings(settings.FileSettings),
            destination_from_settings(settings),
            tracking=tracking,
        )
    return manifest.as_dict()


def task_reconcile(request_dict: Mapping[str, Any], manifest_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Reconcile what was staged; then count the previous window again (``previous_window``)."""
    from mmgov.compliance.reconcile import ReconciliationError
    from mmgov.db import hook_connection
    from mmgov.file_store import enforce_missing_files
    from mmgov.settings import load_settings

    settings = load_settings()
    request = ExportRequest.from_dict(request_dict)
    manifest = Manifest.from_dict(manifest_dict)
    missing = sum(b.result.files_missing for b in manifest.batches)
    store = file_store_from_settings(settings.FileSettings).describe()
    enforce_missing_files(settings.Mmgov.MissingFiles, missing, store)  # before anything is delivered
    try:
        report = check_staged(request, manifest, destination_from_settings(settings))
    except ReconciliationError as exc:
        _audit(
            EVENT_PREFIX + "reconciliation_failed",
            {"window": request.window.as_dict(), "error": str(exc)},
        )
        raise
    with hook_connection() as conn:
        conn.autocommit = True
        report["previous_window"] = recount_previous(conn, request, manifest)
    return report


def task_deliver(
    request_dict: Mapping[str, Any],
    manifest_dict: Mapping[str, Any],
    checked: Mapping[str, Any] | None = None,
    *,
    run_id: str,
) -> dict[str, Any]:
    from mmgov.db import hook_connection
    from mmgov.settings import load_settings

    settings = load_settings()
    request = ExportRequest.from_dict(request_dict)
    manifest = Manifest.from_dict(manifest_dict)
    fmt = get_format(request.export_format, settings)
    summary = deliver(
        request,
        manifest,
        fmt,
        destination_from_settings(settings),
        run_id=run_id,
        previous=(checked or {}).get("previous_window"),
    )
    _audit(EVENT_PREFIX + "completed", completed_payload(run_id, request, summary))
    if manifest.ledger_run is not None:
        with hook_connection() as conn:
            conn.autocommit = True
            ledger.mark_delivered(conn, manifest.ledger_run, int(time.time() * 1000))
    log.info("compliance_export summary: %s", json.dumps(summary, sort_keys=True))
    return summary


class UncapturedGrowthError(MmgovError):
    """The previous window grew after this run's late-arrival sweep read it (an alert; this run was delivered)."""

    code = "COMPLIANCE_EXPORT_UNCAPTURED_GROWTH"
    retryable = False  # the task edge fails the task at once: a retry recounts the same growth


def task_check_previous_window(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """Fail (an alert, no retry) when the previous window grew by versions no run exported; the export
    itself is delivered. Returns the recount."""
    previous = summary.get("previous_window")
    if previous and previous.get("uncaptured"):
        raise UncapturedGrowthError(
            f"{previous['uncaptured']} post versions appeared in the "
            f"previous window {previous['window']} after this run's late-arrival sweep read it (posts at its "
            f"export {previous['posts_at_export']}, now {previous['posts_now']}). This run was delivered; the "
            "next run's late batch exports them if the window is still within Mmgov.LateArrivalLookbackHours, "
            "otherwise export that window again."
        )
    return previous


def on_task_failure(context: Mapping[str, Any]) -> None:
    """Failure callback: audit ``compliance_export.failed`` (alerts are sent by the notifiers)."""
    ti = context.get("ti") or context.get("task_instance")
    exc = context.get("exception")
    payload = {
        "run_id": getattr(ti, "run_id", None),
        "task_id": getattr(ti, "task_id", None),
        "try_number": getattr(ti, "try_number", None),
        "error": f"{type(exc).__name__}: {exc}" if exc else None,
    }
    log.error("Failed job compliance_export %s", json.dumps(payload, default=str))
    try:
        _audit(EVENT_PREFIX + "failed", payload)
    except Exception:
        log.exception("could not record compliance_export.failed in the audit log")
