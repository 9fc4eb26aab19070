"""
### compliance_export

Mattermost's compliance export (message export) as a DAG: every post whose `updateat` falls in the
run's window, exactly once, as `csv`, `actiance`, `globalrelay` or `globalrelay-zip`.

**Window**: half-open `[start, end)` on `posts.updateat`. Scheduled runs (daily at
`MessageExportSettings.DailyRunTime`, `Mmgov.Timezone`, when `EnableExport` is true) export their
data interval (`CronDataIntervalTimetable`): consecutive runs tile time with no gap and no overlap, and
`airflow backfill create` re-exports past windows. Manual runs take `export_from` / `export_to`
(epoch ms or ISO-8601) or else export their data interval; with no schedule (`EnableExport` off) a
manual run exports everything since the last successful export, up to now.

**Settle margin**: a scheduled run first waits (`wait_for_settle`, deferred: no worker slot) until its
interval ended `Mmgov.ExportSettleSeconds` ago; a manual "up to now" run ends at now minus the margin.

**Tasks**: `wait_for_settle` -> `resolve_window` -> `extract_format_package` (one snapshot of
the window streamed in batches of `BatchSize`, one zip each, into staging; then the late batches: versions of windows delivered in the
last `Mmgov.LateArrivalLookbackHours` that no run exported) -> `reconcile` (database counts vs
written, fails loudly; the previous window counted again) -> `deliver` (atomic publish to
`<export root>/compliance-export-YYYY-MM-DD-HHhMMm-<start>-<end>/`; summary in XCom) ->
`check_previous_window` (fails, as an alert, when the previous window grew by versions no run exported).

**Configuration**: connection `mattermost_db`, variable `mattermost_settings`; `mattermost_s3` for
S3; alerts via `mmgov_alert_smtp` / `mmgov_alert_webhook`. See docs/compliance-export.md.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task
from mmgov_airflow.alerts import default_args
from mmgov_airflow.assets import COMPLIANCE_EXPORT
from mmgov_airflow.outcomes import task_edge
from mmgov_airflow.sensors import ExportSettledSensor

from mmgov.compliance import tasks
from mmgov.compliance.export_window import TIME_PATTERN
from mmgov.compliance.schedule import daily_cron, start_and_catchup
from mmgov.settings import EXPORT_FORMATS, load_settings_at_parse

SETTINGS = load_settings_at_parse()
DB_POOL = SETTINGS.Mmgov.DatabasePool  # tasks querying the Mattermost database
SMTP_POOL = SETTINGS.Mmgov.SmtpPool  # delivery (Global Relay over SMTP)
EXPORT = SETTINGS.MessageExportSettings
START_DATE, CATCHUP = start_and_catchup(EXPORT, SETTINGS.Mmgov.Timezone)
SCHEDULE = (
    CronDataIntervalTimetable(daily_cron(EXPORT.DailyRunTime), timezone=SETTINGS.Mmgov.Timezone)
    if EXPORT.EnableExport
    else None
)
DEFAULT_ARGS = default_args()
DEFAULT_ARGS["on_failure_callback"] = [*DEFAULT_ARGS["on_failure_callback"], tasks.on_task_failure]


@dag(
    dag_id="compliance_export",
    schedule=SCHEDULE,
    start_date=START_DATE,
    catchup=CATCHUP,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["mmgov", "compliance"],
    doc_md=__doc__,
    params={
        "export_from": Param(
            None,
            type=["null", "string", "integer"],
            pattern=TIME_PATTERN,
            minimum=0,
            description="Start of a manual export (epoch ms or ISO-8601 such as 2026-01-05T00:00:00Z, inclusive)",
        ),
        "export_to": Param(
            None,
            type=["null", "string", "integer"],
            pattern=TIME_PATTERN,
            minimum=0,
            description="End of a manual export (epoch ms or ISO-8601, exclusive; default now; after export_from)",
        ),
        "export_format": Param(
            EXPORT.ExportFormat,
            type="string",
            enum=list(EXPORT_FORMATS),
            description="csv, actiance, globalrelay or globalrelay-zip",
        ),
    },
)
def compliance_export():
    settled = ExportSettledSensor(
        task_id="wait_for_settle", settle_seconds=SETTINGS.Mmgov.ExportSettleSeconds
    )

    @task(pool=DB_POOL)
    @task_edge
    def resolve_window(**context) -> dict:
        return tasks.task_resolve_window(
            context["params"],
            interval_start=context.get("data_interval_start"),
            interval_end=context.get("data_interval_end"),
            run_id=context["run_id"],
        )

    @task(pool=DB_POOL)
    @task_edge
    def extract_format_package(request: dict) -> dict:
        return tasks.task_extract_format_package(request)

    @task
    @task_edge
    def reconcile(request: dict, manifest: dict) -> dict:
        return tasks.task_reconcile(request, manifest)

    @task(outlets=[COMPLIANCE_EXPORT], pool=SMTP_POOL)
    @task_edge(outcome=True)
    def deliver(request: dict, manifest: dict, checked: dict, **context) -> dict:
        return tasks.task_deliver(request, manifest, checked, run_id=context["run_id"])

    @task(retries=0)
    @task_edge
    def check_previous_window(summary: dict) -> dict | None:
        return tasks.task_check_previous_window(summary)

    request = resolve_window()
    settled >> request
    manifest = extract_format_package(request)
    checked = reconcile(request, manifest)
    check_previous_window(deliver(request, manifest, checked))


compliance_export()
