"""The export window of a run: half-open ``[start_ms, end_ms)`` on ``posts.updateat``.

Windows of consecutive scheduled runs come from Airflow's data intervals
(``CronDataIntervalTimetable``), which tile time: run N ends exactly where run N+1 starts. Because
the window is half-open, a post whose ``updateat`` equals the boundary belongs to the later run
only, so the union of adjacent windows equals one window spanning both, with no duplicate.

A manual run may give ``export_from`` / ``export_to`` (epoch milliseconds or ISO-8601; a naive
ISO time is UTC) like Mattermost's ``--exportFrom``; without them it exports its data interval, or,
when it has none (the DAG is unscheduled because ``EnableExport`` is off), everything since the end of
the last successful export up to now, as Mattermost's "Run export now" does.
``MessageExportSettings.ExportFromTimestamp`` (when > 0) is a floor: nothing before it is exported.

Settle margin (``Mmgov.ExportSettleSeconds``): Mattermost stamps ``updateat`` in the application
server before its transaction commits, and each node of a cluster stamps with its own clock, so a
post can become visible after a reader has passed its ``updateat``. A window is therefore exported
only once its end lies the margin in the past: an "up to now" run ends at now minus the margin, and
an explicit ``export_to`` or a data interval closer to now is refused (the DAG's sensor waits for a
scheduled interval to settle). What still arrives later is caught by the late-arrival sweep
(:mod:`mmgov.compliance.ledger`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from dataclasses import dataclass
from typing import Any

from mmgov.errors import MmgovError

_INT = re.compile(r"^-?\d+$")
# The trigger form's check of export_from / export_to strings (JSON Schema ``pattern``): epoch ms, or an
# ISO-8601 date or time as :func:`parse_time_param` reads it; the task still checks the value and range.
TIME_PATTERN = (
    r"^\s*(\d+|\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?([Zz]|[+-]\d{2}:?\d{2})?)\s*$"
)
# Epoch values below this are taken as seconds by mistake: refuse them rather than export 1970.
_MIN_MS = 10**11  # 1973-03-03 in ms; a current epoch in *seconds* (~1.7e9) is far below


class ExportWindowError(MmgovError, ValueError):
    """A run parameter or data interval that does not give a valid export window."""

    code = "COMPLIANCE_EXPORT_INVALID_WINDOW"
    status = 400


@dataclass(frozen=True, slots=True)
class ExportWindow:
    """``[start_ms, end_ms)`` on ``posts.updateat``; ``start_ms < end_ms`` unless the window is empty."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.start_ms < 0 or self.end_ms < self.start_ms:
            raise ExportWindowError(
                f"export window start {self.start_ms} and end {self.end_ms}: need 0 <= start <= end (epoch ms)"
            )

    def contains(self, update_at: int) -> bool:
        """True when a post with this ``updateat`` belongs to the window (start in, end out)."""
        return self.start_ms <= update_at < self.end_ms

    @property
    def is_empty(self) -> bool:
        return self.start_ms == self.end_ms

    @property
    def folder_name(self) -> str:
        """``compliance-export-YYYY-MM-DD-HHhMMm-<startMs>-<endMs>``; the date is the window end in UTC.

        Mattermost stamps the folder with the job's start time; mmgov uses the window end so that a
        re-run of the same window writes to the same folder (and replaces its files).
        """
        end = dt.datetime.fromtimestamp(self.end_ms / 1000, tz=dt.UTC)
        return f"compliance-export-{end:%Y-%m-%d-%Hh%Mm}-{self.start_ms}-{self.end_ms}"

    def as_dict(self) -> dict[str, int]:
        return {"start_ms": self.start_ms, "end_ms": self.end_ms}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ExportWindow:
        return cls(int(raw["start_ms"]), int(raw["end_ms"]))


def to_epoch_ms(value: dt.datetime) -> int:
    """A timezone-aware datetime (naive = UTC) as epoch milliseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    # Integer arithmetic (no float rounding), and no datetime subtraction: Airflow hands pendulum
    # datetimes, whose differences are pendulum intervals.
    utc = value.astimezone(dt.UTC)
    return calendar.timegm(utc.utctimetuple()) * 1000 + utc.microsecond // 1000


def parse_time_param(name: str, value: Any) -> int | None:
    """``export_from`` / ``export_to``: epoch ms (int or digits) or ISO-8601; ``None``/``""`` -> ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ExportWindowError(f"{name} must be epoch milliseconds or an ISO-8601 time, got {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and _INT.match(value.strip())):
        ms = int(value)
        if ms < 0:
            raise ExportWindowError(f"{name} must be epoch milliseconds >= 0, got {value!r}")
        if 0 < ms < _MIN_MS:
            raise ExportWindowError(
                f"{name}={value!r} looks like epoch seconds; give epoch milliseconds (e.g. {ms * 1000}) or ISO-8601"
            )
        return ms
    if isinstance(value, float):
        raise ExportWindowError(f"{name} must be whole epoch milliseconds, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ExportWindowError(
                f"{name} must be epoch milliseconds or an ISO-8601 time such as 2026-01-05T00:00:00Z, got {value!r}"
            ) from None
        return to_epoch_ms(parsed)
    raise ExportWindowError(f"{name} must be epoch milliseconds or an ISO-8601 time, got {value!r}")


def _as_given(value: Any, ms: int) -> str:
    """A time in the units the user gave: ISO-8601 in, ISO-8601 out; epoch ms in, ms (and ISO) out."""
    iso = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and not _INT.match(value.strip()):
        return iso
    return f"{ms} ({iso})"


def resolve_window(
    *,
    export_from: Any = None,
    export_to: Any = None,
    interval_start: dt.datetime | None = None,
    interval_end: dt.datetime | None = None,
    floor_ms: int = 0,
    now_ms: int | None = None,
    last_export_end_ms: int | None = None,
    settle_ms: int = 0,
) -> tuple[ExportWindow, str]:
    """The window of a run and where it came from (``"params"``, ``"data_interval"`` or ``"since_last_export"``).

    ``floor_ms`` (``ExportFromTimestamp``) raises the start of a *scheduled* window (the first run
    may start before it); manual parameters are taken as given. ``export_to`` defaults to now minus
    ``settle_ms`` (``Mmgov.ExportSettleSeconds``); no window may end later than that (posts could
    still appear in it after the export).
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    settled = now - settle_ms
    start = parse_time_param("export_from", export_from)
    end = parse_time_param("export_to", export_to)
    if start is not None or end is not None:
        if start is None:
            raise ExportWindowError("export_to was given without export_from: give both, or neither")
        end = settled if end is None else end
        if end > now:
            raise ExportWindowError(
                f"export_to {_as_given(export_to, end)} is in the future (now {_as_given(export_to, now)}): "
                "posts could still be added to that window after the export; give a time in the past"
            )
        _check_settled("export_to", end, settled, settle_ms)
        if start >= end:
            shown_to = (
                _as_given(export_to, end) if export_to is not None else f"(now) {_as_given(export_from, end)}"
            )
            raise ExportWindowError(
                f"export_from {_as_given(export_from, start)} must be before export_to {shown_to}; "
                "the window is [export_from, export_to)"
            )
        return ExportWindow(start, end), "params"
    no_interval = interval_start is None or interval_end is None
    if no_interval or to_epoch_ms(interval_start) == to_epoch_ms(interval_end):
        # A manual run of an unscheduled DAG (Airflow gives it no interval, or an empty one).
        since = last_export_end_ms if last_export_end_ms is not None else (floor_ms or None)
        if since is None:
            raise ExportWindowError(
                "this run has no data interval (manual run of an unscheduled DAG) and no export has completed "
                "yet (nor is MessageExportSettings.ExportFromTimestamp set): give export_from "
                "(and optionally export_to) in the run's parameters"
            )
        since = max(since, floor_ms)
        return ExportWindow(min(since, settled), settled), "since_last_export"
    start, end = to_epoch_ms(interval_start), to_epoch_ms(interval_end)
    if start > end:
        raise ExportWindowError(
            f"the run's data interval [{interval_start.isoformat()}, {interval_end.isoformat()}) ends before it "
            "starts: give export_from/export_to, or trigger a scheduled run"
        )
    if end > now:
        raise ExportWindowError(
            f"the run's data interval ends in the future ({interval_end.isoformat()}): it can only be exported "
            "once it has passed"
        )
    _check_settled("the run's data interval end", end, settled, settle_ms)
    if floor_ms and start < floor_ms:
        start = min(floor_ms, end)
    return ExportWindow(start, end), "data_interval"


def _check_settled(what: str, end: int, settled: int, settle_ms: int) -> None:
    if end > settled:
        raise ExportWindowError(
            f"{what} ({end}) is less than Mmgov.ExportSettleSeconds ({settle_ms // 1000} s) before now: "
            f"commits may still land in that window; give a time at or before {settled}, or wait"
        )
