"""The settle sensor of compliance_export: scheduled runs wait deferred (no worker slot), manual runs don't."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.sdk.exceptions import TaskDeferred
from mmgov_airflow.sensors import ExportSettledSensor

UTC = dt.UTC


def _context(start: dt.datetime | None, end: dt.datetime | None) -> dict:
    return {"data_interval_start": start, "data_interval_end": end}


def test_a_recent_interval_defers_until_it_has_settled():
    sensor = ExportSettledSensor(task_id="wait_for_settle", settle_seconds=300)
    end = dt.datetime.now(UTC).replace(microsecond=0)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(_context(end - dt.timedelta(days=1), end))
    assert deferred.value.trigger.moment == end + dt.timedelta(seconds=300)
    assert deferred.value.method_name == "execute_complete"


def test_a_settled_interval_does_not_wait():
    sensor = ExportSettledSensor(task_id="wait_for_settle", settle_seconds=300)
    end = dt.datetime.now(UTC) - dt.timedelta(seconds=301)
    assert sensor.execute(_context(end - dt.timedelta(days=1), end)) is True


@pytest.mark.parametrize(
    "interval",
    [(None, None), (dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 1, tzinfo=UTC))],
    ids=["none", "empty"],
)
def test_a_run_without_an_interval_does_not_wait(interval):
    # a manual run of the unscheduled DAG: its window ends at now minus the margin instead
    sensor = ExportSettledSensor(task_id="wait_for_settle", settle_seconds=300)
    assert sensor.execute(_context(*interval)) is None
