"""Which posts a run exports: time parameters, the window from parameters or the data interval, the request."""

from __future__ import annotations

import datetime as dt

import pytest

from mmgov.compliance.export_window import ExportWindow, ExportWindowError, parse_time_param, resolve_window

JAN1 = 1_767_225_600_000

UTC = dt.UTC


class TestTimeParams:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (JAN1, JAN1),
            (str(JAN1), JAN1),
            ("2026-01-01T00:00:00Z", JAN1),
            ("2026-01-01T01:00:00+01:00", JAN1),
            ("2026-01-01", JAN1),
            ("2026-01-01T00:00:00.123Z", JAN1 + 123),
            (None, None),
            ("", None),
        ],
        ids=["int", "digits", "iso-z", "iso-offset", "date", "millis", "none", "empty"],
    )
    def test_accepted(self, value, expected):
        assert parse_time_param("export_from", value) == expected

    @pytest.mark.parametrize(
        ("value", "match"),
        [
            ("yesterday", "ISO-8601"),
            (1_767_225_600, "looks like epoch seconds"),
            (-5, ">= 0"),
            (1.5, "whole epoch milliseconds"),
            (True, "epoch milliseconds or an ISO-8601"),
        ],
        ids=["words", "seconds", "negative", "float", "bool"],
    )
    def test_refused_with_the_field_name(self, value, match):
        with pytest.raises(ExportWindowError, match=match) as err:
            parse_time_param("export_to", value)
        assert "export_to" in str(err.value)


class TestResolveWindow:
    def test_params_win(self):
        window, source = resolve_window(export_from=JAN1, export_to=JAN1 + 10, now_ms=JAN1 + 100)
        assert (window, source) == (ExportWindow(JAN1, JAN1 + 10), "params")

    def test_export_to_defaults_to_now(self):
        window, _ = resolve_window(export_from=JAN1, now_ms=JAN1 + 100)
        assert window == ExportWindow(JAN1, JAN1 + 100)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"export_to": JAN1}, "without export_from"),
            ({"export_from": JAN1, "export_to": JAN1}, "must be before"),
            ({"export_from": JAN1, "export_to": JAN1 + 10**6}, "in the future"),
            ({}, "no export has completed yet"),
        ],
        ids=["to-only", "empty", "future", "no-interval"],
    )
    def test_errors(self, kwargs, match):
        with pytest.raises(ExportWindowError, match=match):
            resolve_window(**kwargs, now_ms=JAN1 + 100)

    def test_unscheduled_manual_run_exports_since_the_last_export(self):
        # Airflow gives a manual run of an unscheduled DAG no interval, or an empty one.
        empty = dt.datetime(2026, 1, 1, tzinfo=UTC)
        for interval in ({}, {"interval_start": empty, "interval_end": empty}):
            window, source = resolve_window(**interval, last_export_end_ms=JAN1 + 10, now_ms=JAN1 + 100)
            assert (window, source) == (ExportWindow(JAN1 + 10, JAN1 + 100), "since_last_export")
        # No export yet: ExportFromTimestamp starts it; it is also a floor under the last export.
        window, _ = resolve_window(floor_ms=JAN1 + 20, now_ms=JAN1 + 100)
        assert window == ExportWindow(JAN1 + 20, JAN1 + 100)
        window, _ = resolve_window(floor_ms=JAN1 + 20, last_export_end_ms=JAN1 + 10, now_ms=JAN1 + 100)
        assert window == ExportWindow(JAN1 + 20, JAN1 + 100)
        # Parameters still win over the last export.
        window, source = resolve_window(export_from=JAN1, last_export_end_ms=JAN1 + 10, now_ms=JAN1 + 100)
        assert (window, source) == (ExportWindow(JAN1, JAN1 + 100), "params")

    def test_data_interval_and_floor(self):
        start = dt.datetime(2026, 1, 1, 1, tzinfo=UTC)
        end = dt.datetime(2026, 1, 2, 1, tzinfo=UTC)
        window, source = resolve_window(interval_start=start, interval_end=end, now_ms=JAN1 + 10**9)
        assert source == "data_interval"
        assert window == ExportWindow(JAN1 + 3_600_000, JAN1 + 90_000_000)
        floored, _ = resolve_window(
            interval_start=start, interval_end=end, floor_ms=JAN1 + 7_200_000, now_ms=JAN1 + 10**9
        )
        assert floored.start_ms == JAN1 + 7_200_000
        with pytest.raises(ExportWindowError, match="ends in the future"):
            resolve_window(interval_start=start, interval_end=end, now_ms=JAN1)

    def test_settle_margin(self):
        """Mmgov.ExportSettleSeconds: an "up to now" window ends the margin before now; a later end is refused."""
        settle, now = 300_000, JAN1 + 10**9
        window, _ = resolve_window(export_from=JAN1, now_ms=now, settle_ms=settle)
        assert window == ExportWindow(JAN1, now - settle)
        window, source = resolve_window(last_export_end_ms=JAN1, now_ms=now, settle_ms=settle)
        assert (window, source) == (ExportWindow(JAN1, now - settle), "since_last_export")
        # the last export ended inside the margin (the margin grew): an empty window, not a backwards one
        window, _ = resolve_window(last_export_end_ms=now - 10, now_ms=now, settle_ms=settle)
        assert window == ExportWindow(now - settle, now - settle)
        assert resolve_window(export_from=JAN1, export_to=now - settle, now_ms=now, settle_ms=settle)[
            0
        ].end_ms == (now - settle)
        with pytest.raises(
            ExportWindowError, match=r"export_to \(\d+\) is less than Mmgov.ExportSettleSeconds \(300 s\)"
        ):
            resolve_window(export_from=JAN1, export_to=now - settle + 1, now_ms=now, settle_ms=settle)
        start = dt.datetime(2026, 1, 1, 1, tzinfo=UTC)
        end = dt.datetime(2026, 1, 2, 1, tzinfo=UTC)
        end_ms = JAN1 + 90_000_000
        with pytest.raises(ExportWindowError, match=r"data interval end .* Mmgov\.ExportSettleSeconds"):
            resolve_window(
                interval_start=start, interval_end=end, now_ms=end_ms + settle - 1, settle_ms=settle
            )
        window, _ = resolve_window(
            interval_start=start, interval_end=end, now_ms=end_ms + settle, settle_ms=settle
        )
        assert window.end_ms == end_ms

    def test_pendulum_datetimes_from_airflow(self):
        import pendulum

        start = pendulum.datetime(2026, 1, 1, 1, tz="UTC")
        end = pendulum.datetime(2026, 1, 2, 2, tz="Europe/Berlin")  # 01:00 UTC
        window, _ = resolve_window(interval_start=start, interval_end=end, now_ms=JAN1 + 10**9)
        assert window == ExportWindow(JAN1 + 3_600_000, JAN1 + 90_000_000)

    def test_folder_name_and_edges(self):
        w = ExportWindow(JAN1, JAN1 + 90_000_000)
        assert w.folder_name == f"compliance-export-2026-01-02-01h00m-{JAN1}-{JAN1 + 90_000_000}"
        assert w.contains(JAN1)
        assert not w.contains(JAN1 + 90_000_000)
        with pytest.raises(ExportWindowError):
            ExportWindow(10, 5)
