"""
### retention_purge

Daily at `DataRetentionSettings.DeletionJobStartTime` (time zone `Mmgov.Timezone`): resolve the
retention policies (channel > team > global), **preview** what would be deleted per policy, team
and channel (and what is spared: legal holds, pinned posts, posts the compliance export has not
captured), ask an approver (`Mmgov.RetentionApprovers`, default the Airflow admins) to **approve**
when `Mmgov.RetentionApproval` requires it, **soft-delete**
in batches of `BatchSize` (restorable for `Mmgov.PurgeGraceDays`), and **report**
(`retention.deletion_completed`).

Params: `dry_run` (preview only, nothing deleted). A rejection deletes nothing and alerts; a
timeout fails the approval task (alert) and deletes nothing. Restore: `python -m mmgov.retention
restore <run_id>`. Physical removal is the separate DAG `retention_physical_removal`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
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
    dag_id="retention_purge",
    schedule=CronTriggerTimetable(f"{int(MINUTE)} {int(HOUR)} * * *", timezone=SETTINGS.Mmgov.Timezone),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params={"dry_run": Param(False, type="boolean", description="Preview only: nothing is deleted")},
    tags=["mmgov", "retention"],
    doc_md=__doc__,
)
def retention_purge():
    @task(multiple_outputs=False, pool=DB_POOL)
    @task_edge
    def preview(params: dict, run_id: str) -> dict:
        from mmgov.retention import tasks

        return tasks.preview(dag_run_id=run_id, dry_run=bool(params["dry_run"]))

    @task.branch
    @task_edge
    def decide(summary: dict, params: dict) -> str:
        from mmgov.retention.approval import next_task

        return next_task(summary, dry_run=bool(params["dry_run"]))

    approval = RecordedApprovalOperator(
        task_id="approval",
        subject=(
            "Retention purge: approve deleting {{ ti.xcom_pull(task_ids='preview')['messages_to_delete'] }} messages"
            " and {{ ti.xcom_pull(task_ids='preview')['files_to_delete'] }} files?"
        ),
        body="{{ ti.xcom_pull(task_ids='preview')['markdown'] }}",
        response_timeout=timedelta(hours=SETTINGS.Mmgov.RetentionApprovalTimeoutHours),
        retries=0,  # asking again after a timeout is a new run's job
    )

    @task(trigger_rule="none_failed_min_one_success", multiple_outputs=False, pool=DB_POOL)
    @task_edge
    def soft_delete(summary: dict) -> dict:
        from mmgov.retention import tasks

        ti = get_current_context()["ti"]
        return tasks.soft_delete(summary["run_id"], ti.xcom_pull(task_ids="approval", key=DECISION_KEY))

    @task(
        trigger_rule="none_failed_min_one_success", outlets=[RETENTION], multiple_outputs=False, pool=DB_POOL
    )
    @task_edge(outcome=True)
    def report(summary: dict) -> dict:
        from mmgov.retention import tasks

        context = get_current_context()
        result = tasks.report(
            summary["run_id"], context["ti"].xcom_pull(task_ids="approval", key=DECISION_KEY)
        )
        if result["alert"]:
            alert_rejected(result, context)
        return result

    planned = preview()
    branch = decide(planned)
    deleted = soft_delete(planned)
    reported = report(planned)
    branch >> [approval, deleted, reported]
    approval >> deleted >> reported


retention_purge()
