"""When the ``compliance_export`` DAG runs: daily at ``DailyRunTime``, windows tiling time from a sane start.

- ``EnableExport`` false: no schedule (manual runs only).
- ``EnableExport`` true: ``CronDataIntervalTimetable("MM HH * * *")`` in ``Mmgov.Timezone`` (default
  UTC); each run exports its data interval, the previous run's end being the next run's start.
- ``ExportFromTimestamp`` > 0: ``start_date`` is the last run time at or before it and catchup is on,
  so every interval from there is exported once (the first window is cut to start exactly at
  ``ExportFromTimestamp``). ``ExportFromTimestamp`` = 0: catchup is off and ``start_date`` is a fixed
  past date, so the first run exports the latest complete interval (the day before the export was
  enabled) and never the history since the epoch; older history is a manual run or a backfill.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from mmgov.settings import MessageExportSettings, check_hhmm

# Fixed so that DAG parsing is deterministic; with catchup off only the latest interval runs.
DEFAULT_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def daily_cron(daily_run_time: str) -> str:
    """``HH:MM`` -> ``"MM HH * * *"`` (validated: a bad value raises SettingsError naming the key)."""
    check_hhmm("MessageExportSettings.DailyRunTime", daily_run_time)
    hours, minutes = daily_run_time.split(":")
    return f"{int(minutes)} {int(hours)} * * *"


def start_and_catchup(export: MessageExportSettings, timezone: str = "UTC") -> tuple[dt.datetime, bool]:
    """``(start_date, catchup)`` for the DAG."""
    if export.ExportFromTimestamp <= 0:
        return DEFAULT_START, False
    tz = ZoneInfo(timezone)
    since = dt.datetime.fromtimestamp(export.ExportFromTimestamp / 1000, tz=tz)
    hours, minutes = (int(x) for x in export.DailyRunTime.split(":"))
    tick = since.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if tick > since:
        tick -= dt.timedelta(days=1)
    return tick, True
