"""What one compliance export run exports: the window, format, batch size and destination, resolved
once from the run parameters or the data interval (retries of later tasks reuse it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mmgov.compliance.delivery import destination_from_settings, run_key
from mmgov.compliance.export_window import ExportWindow, ExportWindowError, resolve_window
from mmgov.compliance.formats import format_names
from mmgov.settings import Settings


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
