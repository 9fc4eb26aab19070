"""
### retention_physical_removal

Daily, one hour after `DataRetentionSettings.DeletionJobStartTime`: content that `retention_purge`
soft-deleted more than `Mmgov.PurgeGraceDays` ago is **removed for good**: posts with their
reactions, threads, thread memberships, flagged-post preferences and edit history; file rows and
their objects in the file store (local folder or S3 through the `mattermost_s3` connection).
Held content and rows a user deleted are never touched.

Same approval rules as the purge (`Mmgov.RetentionApproval`): a person approves in the
**approval** task (Required Actions) unless the setting says otherwise. After this, restore is
no longer possible.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable
from mmgov_airflow.alerts import default_args
from mmgov_airflow.approval import DECISION_KEY, RecordedApprovalOperator
from mmgov_airflow.assets import RETENTION
from mmgov_airflow.outcomes import task_edge
from mmgov_airflow.retention_alerts import alert_rejected

from mmgov.settings import load_settings_at_parse

SETTINGS = load_settings_at_parse()
DB_POOL = SETTINGS.Mmgov.DatabasePool  # tasks querying the Mattermost database
HOUR, MINUTE = SETTINGS.DataRetentionSettings.DeletionJobStartTime.split(":")


@dag(
    dag_id="retention_physical_removal",
    schedule=CronTriggerTimetable(
        f"{int(MINUTE)} {(int(HOUR) + 1) % 24} * * *", timezone=SETTINGS.Mmgov.Timezone
    ),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["mmgov", "retention"],
    doc_md=__doc__,
)
def retention_physical_removal():
    @task(multiple_outputs=False, pool=DB_POOL)
    @task_edge
    def preview(run_id: str) -> dict:
        from mmgov.retention import tasks

        return tasks.removal_preview(dag_run_id=run_id)

    @task.branch
    @task_edge
    def decide(summary: dict) -> str:
        from mmgov.retention.approval import next_task

        return next_task(summary, dry_run=False, delete_task="remove")

    approval = RecordedApprovalOperator(
        task_id="approval",
        subject=(
            "Retention: remove for good {{ ti.xcom_pull(task_ids='preview')['messages_to_remove'] }} messages"
            " and {{ ti.xcom_pull(task_ids='preview')['files_to_remove'] }} files?"
        ),
        body="{{ ti.xcom_pull(task_ids='preview')['markdown'] }}",
        response_timeout=timedelta(hours=SETTINGS.Mmgov.RetentionApprovalTimeoutHours),
        retries=0,
    )

    @task(trigger_rule="none_failed_min_one_success", multiple_outputs=False, pool=DB_POOL)
    @task_edge
    def remove(summary: dict) -> dict:
        from mmgov.retention import tasks

        return tasks.removal(
            summary["run_id"], get_current_context()["ti"].xcom_pull(task_ids="approval", key=DECISION_KEY)
        )

    @task(
        trigger_rule="none_failed_min_one_success", outlets=[RETENTION], multiple_outputs=False, pool=DB_POOL
    )
    @task_edge(outcome=True)
    def report(summary: dict) -> dict:
        from mmgov.retention import tasks

        context = get_current_context()
        result = tasks.removal_report(
            summary["run_id"], context["ti"].xcom_pull(task_ids="approval", key=DECISION_KEY)
        )
        if result.get("alert"):
            alert_rejected(result, context)
        return result

    planned = preview()
    branch = decide(planned)
    removed = remove(planned)
    reported = report(planned)
    branch >> [approval, removed, reported]
    approval >> removed >> reported


retention_physical_removal()
