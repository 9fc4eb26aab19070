"""Retention never deletes what the compliance export has not captured (beyond.md item 5).

When ``MessageExportSettings.EnableExport`` is on, a post may be deleted only if the last
successful compliance export covered it: its ``updateat`` is below that run's window end. The
compliance export records each successful run in the audit trail as ``compliance_export.completed``
with ``window_end_ms``. No completed export yet means nothing may be deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from mmgov.compliance.last_export import last_export_end_ms
from mmgov.settings import Settings


@dataclass(frozen=True)
class ExportGuard:
    """``state``: ``off`` (export disabled), ``on`` (watermark set) or ``blocked`` (no export yet)."""

    state: str
    watermark_ms: int | None

    @property
    def sql_watermark(self) -> int | None:
        """The bound for ``posts.updateat < %s``: ``None`` when off; 0 when blocked (nothing passes)."""
        if self.state == "off":
            return None
        return self.watermark_ms if self.state == "on" else 0

    def describe(self) -> str:
        if self.state == "off":
            return "compliance export disabled: no export guard"
        if self.state == "blocked":
            return (
                "compliance export enabled but no export has completed yet: NOTHING will be deleted "
                "until the first compliance export succeeds"
            )
        return f"only posts last updated before {self.watermark_ms} (end of the last compliance export) are deleted"


def export_guard(conn: psycopg.Connection, settings: Settings) -> ExportGuard:
    """The guard a run applies, decided once at its preview."""
    if not settings.MessageExportSettings.EnableExport:
        return ExportGuard("off", None)
    mark = last_export_end_ms(conn)
    return ExportGuard("blocked", None) if mark is None else ExportGuard("on", mark)
