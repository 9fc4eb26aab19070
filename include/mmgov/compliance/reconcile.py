"""Reconciliation before delivery: what was written must match what the database holds.

Two independent checks. For the window, the database's own counts (``count(*)`` queries run in
the snapshot the rows were read from) must equal the rows the extractor handed out and the rows
the format reports it wrote. For every batch, what the format reports (post rows; files copied +
missing with a warning + skipped by a documented rule) must equal what it was given. Batches must
be numbered 1..n, their time ranges must tile the window, and every staged zip must still be there
with the size and SHA-256 it was written with. Any mismatch raises :class:`ReconciliationError` and nothing is
delivered (a short archive is worse than a failed, alerted run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mmgov.compliance.delivery import StagedFile
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.formats import BatchResult
from mmgov.errors import MmgovError


class ReconciliationError(MmgovError):
    """Exported counts differ from the database, or a staged batch is missing or altered."""

    code = "COMPLIANCE_EXPORT_RECONCILIATION_FAILED"
    status = 500


@dataclass
class BatchRecord:
    """One staged batch: its range, what the extractor gave the format, and what the format wrote."""

    number: int
    zip_name: str
    start_ms: int
    end_ms: int
    extracted_posts: int
    extracted_files: int
    result: BatchResult
    staged: StagedFile
    # For the custody manifest: (updateat, id) of the first and last post, entries in the zip.
    first_post: tuple[int, str] | None = None
    last_post: tuple[int, str] | None = None
    zip_entries: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_post": list(self.first_post) if self.first_post else None,
            "last_post": list(self.last_post) if self.last_post else None,
            "zip_entries": self.zip_entries,
            "number": self.number,
            "zip_name": self.zip_name,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "extracted_posts": self.extracted_posts,
            "extracted_files": self.extracted_files,
            "result": self.result.as_dict(),
            "staged": self.staged.as_dict(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BatchRecord:
        return cls(
            number=int(raw["number"]),
            zip_name=raw["zip_name"],
            start_ms=int(raw["start_ms"]),
            end_ms=int(raw["end_ms"]),
            extracted_posts=int(raw["extracted_posts"]),
            extracted_files=int(raw["extracted_files"]),
            result=BatchResult.from_dict(raw["result"]),
            staged=StagedFile(**raw["staged"]),
            first_post=tuple(raw["first_post"]) if raw.get("first_post") else None,
            last_post=tuple(raw["last_post"]) if raw.get("last_post") else None,
            zip_entries=int(raw.get("zip_entries", 0)),
        )


@dataclass
class ReconciliationReport:
    """Totals on both sides; ``problems`` is empty when they agree."""

    db_posts: int = 0
    db_files: int = 0
    exported_posts: int = 0
    exported_files: int = 0
    batches: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "db_posts": self.db_posts,
            "db_files": self.db_files,
            "exported_posts": self.exported_posts,
            "exported_files": self.exported_files,
            "batches": self.batches,
            "ok": self.ok,
            "problems": self.problems,
        }


def reconcile(
    window: ExportWindow,
    db_posts: int,
    db_files: int,
    records: list[BatchRecord],
    verify_staged: Callable[[StagedFile], str | None] | None = None,
) -> ReconciliationReport:
    """Compare database counts with what was extracted and written; return the report (check ``ok``)."""
    report = ReconciliationReport(batches=len(records), db_posts=db_posts, db_files=db_files)
    extracted_posts = extracted_files = 0
    if not records:
        report.problems.append("no batch was written (every window yields at least one)")
    expected_start = window.start_ms
    for i, rec in enumerate(records, start=1):
        r = rec.result
        extracted_posts += rec.extracted_posts
        extracted_files += rec.extracted_files
        report.exported_posts += r.posts
        report.exported_files += r.files
        where = f"batch {rec.number} ({rec.zip_name})"
        if rec.number != i:
            report.problems.append(f"{where}: expected batch number {i}")
        if rec.start_ms != expected_start:
            report.problems.append(
                f"{where}: starts at {rec.start_ms}, expected {expected_start} (gap or overlap)"
            )
        expected_start = rec.end_ms
        if r.posts != rec.extracted_posts:
            report.problems.append(
                f"{where}: {rec.extracted_posts} posts extracted, format handled {r.posts}"
            )
        if r.files != rec.extracted_files:
            report.problems.append(
                f"{where}: {rec.extracted_files} files extracted, format accounted for {r.files} "
                f"({r.files_copied} copied, {r.files_missing} missing, {r.files_skipped} skipped)"
            )
        if verify_staged is not None:
            problem = verify_staged(rec.staged)
            if problem:
                report.problems.append(f"{where}: {problem}")
    if extracted_posts != db_posts or extracted_files != db_files:
        report.problems.append(
            f"window: database has {db_posts} posts / {db_files} files, extractor read "
            f"{extracted_posts} posts / {extracted_files} files"
        )
    if report.exported_posts != db_posts:
        report.problems.append(
            f"window: database has {db_posts} posts, formats handled {report.exported_posts}"
        )
    if report.exported_files != db_files:
        report.problems.append(
            f"window: database has {db_files} files, formats accounted for {report.exported_files}"
        )
    if records and records[-1].end_ms != window.end_ms:
        report.problems.append(f"last batch ends at {records[-1].end_ms}, window ends at {window.end_ms}")
    return report


def raise_for_problems(report: ReconciliationReport) -> None:
    if report.ok:
        return
    shown = "; ".join(report.problems[:10])
    more = f" (+{len(report.problems) - 10} more)" if len(report.problems) > 10 else ""
    raise ReconciliationError(
        f"compliance export reconciliation failed, nothing delivered: database {report.db_posts} posts / "
        f"{report.db_files} files, exported {report.exported_posts} posts / {report.exported_files} files: "
        f"{shown}{more}"
    )
