"""The DAG's schedule from MessageExportSettings: DailyRunTime and ExportFromTimestamp."""

from __future__ import annotations

import datetime as dt

import pytest

from mmgov.compliance.schedule import DEFAULT_START, daily_cron, start_and_catchup
from mmgov.errors import SettingsError
from mmgov.settings import MessageExportSettings, Settings

JAN1 = 1_767_225_600_000

UTC = dt.UTC


class TestSchedule:
    def test_cron(self):
        assert daily_cron("01:00") == "0 1 * * *"
        assert daily_cron("23:59") == "59 23 * * *"
        with pytest.raises(SettingsError, match="DailyRunTime"):
            daily_cron("24:00")

    def test_bad_daily_run_time_is_a_settings_error_at_parse(self):
        with pytest.raises(SettingsError, match=r"MessageExportSettings\.DailyRunTime"):
            Settings.parse({"MessageExportSettings": {"DailyRunTime": "1am"}})

    def test_without_export_from_timestamp_no_catchup(self):
        assert start_and_catchup(MessageExportSettings()) == (DEFAULT_START, False)

    def test_export_from_timestamp_starts_at_the_tick_before(self):
        since = JAN1 + 13 * 3_600_000  # 13:00 UTC, after the 01:00 run
        start, catchup = start_and_catchup(
            MessageExportSettings(ExportFromTimestamp=since, DailyRunTime="01:00")
        )
        assert (start, catchup) == (dt.datetime(2026, 1, 1, 1, tzinfo=UTC), True)
        early = JAN1 + 1_800_000  # 00:30 UTC, before the 01:00 run
        start, _ = start_and_catchup(MessageExportSettings(ExportFromTimestamp=early, DailyRunTime="01:00"))
        assert start == dt.datetime(2025, 12, 31, 1, tzinfo=UTC)
