"""A run's request (``mmgov.compliance.export_request``): the window, format and destination, settled once."""

from __future__ import annotations

import pytest

from mmgov.compliance.export_request import resolve_request
from mmgov.compliance.export_window import ExportWindowError
from mmgov.settings import Settings

JAN1 = 1_767_225_600_000


class TestResolveRequest:
    def test_request_says_when_it_ends_at_the_settle_margin(self):
        settings = Settings.parse({"Mmgov": {"ExportSettleSeconds": 60}})
        up_to_now = resolve_request({"export_from": JAN1}, settings, now_ms=JAN1 + 10**9)
        assert (up_to_now.window.end_ms, up_to_now.settle_seconds, up_to_now.ends_at_settle) == (
            JAN1 + 10**9 - 60_000,
            60,
            True,
        )
        given = resolve_request({"export_from": JAN1, "export_to": JAN1 + 5}, settings, now_ms=JAN1 + 10**9)
        assert not given.ends_at_settle

    def test_request_validates_format(self):
        settings = Settings.parse({"MessageExportSettings": {"ExportFormat": "csv"}})
        with pytest.raises(ExportWindowError, match="export_format must be one of"):
            resolve_request(
                {"export_from": JAN1, "export_to": JAN1 + 1, "export_format": "pdf"},
                settings,
                now_ms=JAN1 + 10,
            )
        req = resolve_request(
            {"export_from": JAN1, "export_to": JAN1 + 1},
            settings,
            now_ms=JAN1 + 300_001,  # the end lies Mmgov.ExportSettleSeconds (300) in the past
            run_id="manual__2026-01-01T00:00:00+00:00",
        )
        assert req.export_format == "csv"
        assert req.run_key == "manual__2026-01-01T00_00_00_00_00"
        assert req.destination.endswith("data/export")
