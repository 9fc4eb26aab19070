"""The GDPR export job: start (checks, job row, ``export.started``), write, finish (terminal event).

Safety rule: the Mattermost database is only read, inside ONE ``REPEATABLE READ READ ONLY``
transaction, so every line of an export comes from the same snapshot (no post without its channel,
no count that moved while exporting); the second connection that streams the posts of a
whole-workspace export imports that transaction's snapshot (:mod:`mmgov.bulk_export.background_lines`). The output appears under its final name only when complete
(:mod:`mmgov.bulk_export.archive`); on any failure the partial output is removed, the job row is set
``failed`` and ``export.failed`` is recorded. Nothing to undo: an export never changes Mattermost.

The three steps are the three tasks of the ``gdpr_export`` DAG:

* :func:`start_export` - parse the trigger form (the task first checks the triggering user may
  export: EXPORT_PERMISSION_DENIED, 403, :mod:`mmgov.authz`), check that ``output_path`` is writable
  (EXPORT_OUTPUT_PATH_UNAVAILABLE, 503) before any work, create the job row (``pending``),
  record ``export.started``;
* :func:`run_export` - ``running``; stream every entity type in the seed's order, copying files,
  updating per-entity progress (job row, log line, ``export.progress``); rename the output;
* :func:`finish_export` - ``completed``; ``export.completed`` or ``export.completed_with_warnings``;
  return the run's summary.

The task bodies that call them are :mod:`mmgov.bulk_export.tasks`; progress reporting is
:mod:`~mmgov.bulk_export.progress`, the post count check :mod:`~mmgov.bulk_export.reconciliation`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from mmgov import audit
from mmgov.bulk_export import job_state
from mmgov.bulk_export.archive import JSONL_BUFFER, check_encryptable, check_output_path, open_sink
from mmgov.bulk_export.background_lines import BackgroundPosts
from mmgov.bulk_export.channels import export_channels
from mmgov.bulk_export.context import BATCH_SIZE, PROGRESS_KEYS, ExportContext
from mmgov.bulk_export.direct import export_direct_channels
from mmgov.bulk_export.emoji import export_emoji
from mmgov.bulk_export.errors import ExportFailed
from mmgov.bulk_export.export_options import ExportOptions
from mmgov.bulk_export.file_copy import FileCopier
from mmgov.bulk_export.jsonl_writer import JsonlWriter
from mmgov.bulk_export.person_scope import build_person_scope, resolve_people
from mmgov.bulk_export.post_sql import has_post_extras
from mmgov.bulk_export.posts import PostCounts, PostStream
from mmgov.bulk_export.progress import ProgressReporter
from mmgov.bulk_export.reconciliation import count_posts_in_database, reconcile_posts
from mmgov.bulk_export.roles import export_roles_and_schemes
from mmgov.bulk_export.teams import export_teams
from mmgov.bulk_export.users import export_bots, export_users
from mmgov.custody.gdpr import ExportCustody, write_gdpr_manifest
from mmgov.errors import MmgovError
from mmgov.file_store import FileSource
from mmgov.gc_passes import fewer_gc_passes
from mmgov.settings import Settings
from mmgov.twin_connection import can_export_snapshot, export_snapshot, open_twin, snapshot

log = logging.getLogger(__name__)


EXPORT_WORK_MEM = "128MB"


# The export's per-transaction configuration (mmgov.twin_connection.snapshot()), on every connection it reads with.
# Scans start at the first block (no synchronized scans, e.g. with the reconciliation count running
# beside the posts): the lines come in the same order whatever else reads the table.
TRANSACTION_SETTINGS = sql.SQL(
    "SELECT set_config('jit', 'off', true), set_config('work_mem', {}, true),"
    " set_config('max_parallel_workers_per_gather', '0', true), set_config('synchronize_seqscans', 'off', true)"
).format(sql.Literal(EXPORT_WORK_MEM))


@dataclass
class ExportResult:
    """What :func:`run_export` produced (JSON-ready through :meth:`to_dict`)."""

    job_id: str
    output_path: str
    file_size_bytes: int
    num_warnings: int
    progress: dict[str, int]
    scope: str
    users: list[str] = field(default_factory=list)
    reconciliation: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    custody: dict[str, Any] = field(default_factory=dict)  # the signed manifest (mmgov.custody.gdpr)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_name(job_id: str, started: datetime) -> str:
    """``gdpr-export-<UTC time>-<8 hex of the job id>``: unique per run, sorts by time."""
    digest = hashlib.sha1(job_id.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"gdpr-export-{started.strftime('%Y%m%dT%H%M%SZ')}-{digest}"


# -- step 1 -------------------------------------------------------------------------------------
def start_export(
    conn: psycopg.Connection,  # autocommit: the job row and the event commit at once
    job_id: str,
    params: dict[str, Any],
    *,
    actor: str | None,
    settings: Settings,
) -> dict[str, Any]:
    """Validate the run and record it (``pending``, ``export.started``); returns the options as JSON.

    Who may export is the Airflow task's check (:func:`start_run`, :mod:`mmgov.authz`).
    """
    options = ExportOptions.from_params(params)
    check_encryptable(options.create_archive, settings.Mmgov.ExportRecipients)
    check_output_path(options.output_path)
    if options.users:
        resolve_people(conn, options.users)  # unknown names fail now, before any work
    actor_id = actor or audit.SYSTEM_ACTOR
    job_state.create_job(conn, job_id, actor_id, options.to_params())
    audit.record(
        conn,
        "export.started",
        {
            "job_id": job_id,
            "actor_id": actor_id,
            "include_attachments": options.include_attachments,
            "include_archived": options.include_archived_channels,
            "include_profile_pictures": options.include_profile_pictures,
            "include_roles_and_schemes": options.include_roles_and_schemes,
            "create_archive": options.create_archive,
            "output_path": str(options.output_path),
            "scope": "users" if options.users else "workspace",
            "users": list(options.users),
        },
        actor_id,
    )
    log.info("GDPR export %s started by %s: %s", job_id, actor_id, options.to_params())
    return {"job_id": job_id, "actor": actor_id, "options": options.to_params()}


# -- step 2 -------------------------------------------------------------------------------------
def run_export(
    conn: psycopg.Connection,
    state_conn: psycopg.Connection,
    job_id: str,
    options: ExportOptions,
    store: FileSource,
    *,
    batch_size: int = BATCH_SIZE,
    started: datetime | None = None,
    custody: ExportCustody | None = None,
    missing_files: str = "warn",
) -> ExportResult:
    """Write the whole export (see the module docstring). ``conn`` reads Mattermost (an idle
    connection); ``state_conn`` (autocommit) writes progress and events while the read goes on.
    ``custody``: signing key and age recipients (default: the ``mmgov_signing`` connection, no
    encryption); the signed manifest is written beside the export once it is complete.
    ``missing_files`` (``Mmgov.MissingFiles``): ``fail`` aborts the export when a file could not be copied."""
    from mmgov.file_store import enforce_missing_files

    t0 = time.monotonic()
    custody = custody or ExportCustody.load()
    started = started or datetime.now(UTC)
    output_dir = check_output_path(options.output_path)
    job_state.mark_running(state_conn, job_id)
    name = export_name(job_id, started)
    sink = None
    copier = None
    spool = output_dir / f".{name}.direct_posts.partial"
    # Whole workspace: the posts stream on a second connection, in the same snapshot.
    twin = (
        open_twin(conn, purpose="GDPR export")
        if not options.users and can_export_snapshot(conn, purpose="GDPR export")
        else None
    )
    try:
        sink = open_sink(
            output_dir, name, create_archive=options.create_archive, recipients=custody.recipients
        )
        copier = FileCopier(store, sink, output_dir / f".{name}.warnings.partial")
        writer = JsonlWriter(sink.jsonl())
        with snapshot(conn, settings=TRANSACTION_SETTINGS):
            person = None
            if options.users:
                people = resolve_people(conn, options.users)
                person = build_person_scope(conn, people, include_archived=options.include_archived_channels)
            ctx = ExportContext(
                conn=conn, writer=writer, copier=copier, options=options, person=person, batch_size=batch_size
            )
            ctx.report = ProgressReporter(state_conn, job_id, ctx.progress)
            ctx.post_extras = has_post_extras(conn)
            snapshot_id = export_snapshot(conn) if twin is not None else None
            with fewer_gc_passes(disable=True):
                _write_all(ctx, job_id, started, spool, twin if snapshot_id else None, snapshot_id)
            reconciliation = reconcile_posts(ctx)
        ctx.progress["attachments_exported"] = copier.copied["attachments"] + copier.copied["emoji"]
        ctx.progress["profile_pictures_exported"] = copier.copied["profile_pictures"]
        ctx.progress["num_warnings"] = copier.warnings
        enforce_missing_files(missing_files, copier.warnings, store.describe())  # before it looks complete
        final = sink.commit(copier.close())
        ref = write_gdpr_manifest(
            sink,
            final,
            line_counts=dict(writer.counts),
            progress=dict(ctx.progress),
            warnings=copier.warnings,
            job={"job_id": job_id, **{k: v for k, v in options.to_params().items() if k != "output_path"}},
            custody=custody,
        )
    except BaseException as exc:
        spool.unlink(missing_ok=True)
        if copier is not None:
            copier.discard()
        if sink is not None:
            sink.abort()
        reason = f"{type(exc).__name__}: {exc}".strip()
        _record_failure(state_conn, job_id, reason)
        if isinstance(exc, MmgovError) or not isinstance(exc, Exception):
            raise
        raise ExportFailed(f"The data export encountered an error: {reason}") from exc
    finally:
        if twin is not None:
            twin.close()
    result = ExportResult(
        job_id=job_id,
        output_path=str(final),
        file_size_bytes=_size(final),
        num_warnings=copier.warnings,
        progress=dict(ctx.progress),
        scope="users" if options.users else "workspace",
        users=list(options.users),
        reconciliation=reconciliation,
        duration_s=round(time.monotonic() - t0, 3),
        custody=ref.as_dict(),
    )
    job_state.update_progress(state_conn, job_id, result.progress)
    log.info(
        "GDPR export %s written to %s (%d bytes, %d warnings) in %.1fs",
        job_id,
        final,
        result.file_size_bytes,
        result.num_warnings,
        result.duration_s,
    )
    return result


def _write_all(
    ctx: ExportContext,
    job_id: str,
    started: datetime,
    spool_path: Path,
    twin: psycopg.Connection | None = None,
    snapshot_id: str | None = None,
) -> None:
    """Every entity type, in the seed's order (rule_02). With ``twin`` (a connection) and the
    ``snapshot_id`` of ``ctx.conn``'s transaction, the posts stream there while the sections before
    them are written (:mod:`mmgov.bulk_export.background_lines`)."""
    with open(spool_path, "w+", encoding="utf-8", newline="\n", buffering=JSONL_BUFFER) as spool:
        direct_writer = JsonlWriter(spool)
        stream = PostStream(
            ctx,
            direct_writer,
            on_progress=lambda posts, direct: (
                ctx.set_progress("posts_exported", posts),
                ctx.set_progress("direct_posts_exported", direct),
            ),
        )
        with ExitStack() as stack:
            background = None
            if twin is not None and snapshot_id is not None and ctx.person is None:
                background = stack.enter_context(
                    BackgroundPosts(
                        twin,
                        snapshot_id,
                        TRANSACTION_SETTINGS,
                        ctx.writer,
                        spool_path.parent,
                        stream.line_stream,
                        direct_writer,
                    )
                )
            _write_before_posts(ctx, job_id, started)
            count_posts_in_database(ctx)
            streams = []
            if background is not None:
                background.release()
                direct_lines = background.direct_lines()
                streams = [background.wait(stream.on_progress, direct_lines), *direct_lines]
        posts, direct = stream.run(streams)
        _section_done(ctx, "posts_exported", posts)
        export_emoji(ctx)
        export_direct_channels(ctx)
        ctx.writer.append(direct_writer)
        _section_done(ctx, "direct_posts_exported", direct)
    spool_path.unlink()


def _write_before_posts(ctx: ExportContext, job_id: str, started: datetime) -> None:
    """Version, roles and schemes, teams, channels, users, bots."""
    opts = ctx.options
    ctx.writer.version(
        {
            "job_id": job_id,
            "scope": "users" if ctx.person is not None else "workspace",
            "users": [p.username for p in ctx.person.people] if ctx.person is not None else [],
            "options": {k: v for k, v in opts.to_params().items() if k not in ("output_path", "users")},
        },
        created=started,
    )
    if opts.include_roles_and_schemes:
        export_roles_and_schemes(ctx)
    export_teams(ctx)
    export_channels(ctx)
    export_users(ctx)
    export_bots(ctx)


def _section_done(ctx: ExportContext, key: str, counts: PostCounts) -> None:
    ctx.progress["attachments_exported"] = ctx.copier.copied["attachments"]
    ctx.post_totals[key] = counts.posts
    ctx.post_totals[key.replace("_exported", "_skipped")] = counts.skipped_posts
    ctx.set_progress(key, counts.posts, entity_done=True)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def _record_failure(state_conn: psycopg.Connection, job_id: str, reason: str) -> None:
    """Job row ``failed`` and ``export.failed`` (once per job); never raises over the real error."""
    try:
        if state_conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            state_conn.rollback()
        record_failed(state_conn, job_id, reason)
    except Exception:
        log.exception("GDPR export %s: could not record the failure", job_id)


def record_failed(conn: psycopg.Connection, job_id: str, reason: str) -> bool:
    """Set the job ``failed`` and record ``export.failed`` unless already done; True if recorded now."""
    job = job_state.get_job(conn, job_id)
    if job is not None and job["status"] == "failed":
        return False
    if job is None:
        job_state.mark_running(conn, job_id)
    job_state.finish_job(conn, job_id, "failed", error=reason[:2000])
    audit.record(conn, "export.failed", {"job_id": job_id, "error_reason": reason[:2000]})
    log.error("GDPR export %s failed: %s", job_id, reason)
    return True


# -- step 3 -------------------------------------------------------------------------------------
def finish_export(conn: psycopg.Connection, result: dict[str, Any]) -> dict[str, Any]:
    """``completed``; ``export.completed`` or ``export.completed_with_warnings``; the run's summary."""
    job_id = result["job_id"]
    warnings = int(result["num_warnings"])
    job_state.finish_job(
        conn, job_id, "completed", output_path=result["output_path"], progress=result["progress"]
    )
    event = "export.completed_with_warnings" if warnings else "export.completed"
    audit.record(
        conn,
        event,
        {
            "job_id": job_id,
            "output_path": result["output_path"],
            "file_size_bytes": result["file_size_bytes"],
            "warning_count": warnings,
            "custody": result.get("custody") or {},
        },
    )
    summary = {"status": "completed_with_warnings" if warnings else "completed", **result}
    counters = " ".join(f"{k}={result['progress'].get(k, 0)}" for k in PROGRESS_KEYS)
    log.info(
        "GDPR export %s %s: %s -> %s (%d bytes)",
        job_id,
        summary["status"],
        counters,
        result["output_path"],
        result["file_size_bytes"],
    )
    return summary
