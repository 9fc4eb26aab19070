"""Sensors of mmgov's DAGs (Airflow-facing; the rules live in ``include/mmgov``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor


class ExportSettledSensor(TimeDeltaSensor):
    """Wait until the run's data interval ended ``Mmgov.ExportSettleSeconds`` ago, deferred: the wait
    holds no worker slot (the triggerer fires it).

    A run without a data interval (a manual run of the unscheduled DAG: Airflow gives it none, or an
    empty one) does not wait: its window ends at now minus the margin (:mod:`mmgov.compliance.export_window`).
    """

    def __init__(self, *, settle_seconds: int, **kwargs: Any) -> None:
        super().__init__(delta=timedelta(seconds=settle_seconds), deferrable=True, **kwargs)

    def execute(self, context: Any) -> Any:
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        if start is None or end is None or start == end:
            self.log.info("no data interval: the window ends at now minus the settle margin, no wait")
            return None
        return super().execute(context)
