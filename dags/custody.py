"""
### custody

Chain of custody, daily at 03:30 (`Mmgov.Timezone`):

- `expire_exports`: removes delivered compliance exports and GDPR exports older than
  `Mmgov.ExportRetentionDays` (0, the default, keeps them forever) from the export root (folder or
  S3) and the GDPR output folders. Never one under a legal hold; never one whose manifest fails
  `verify` (the task fails and alerts, naming them). Each removal is audited with the manifest's
  digest.
- `attestation_rollup`: the signed monthly rollup of the retention attestations
  (`retention-attestations/YYYY/MM/rollup-YYYY-MM.json` + `.csv`) for the previous and the current
  month.

Signing key: the Airflow connection `mmgov_signing` (password = Ed25519 private key in PEM).
See docs/chain-of-custody.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable
from mmgov_airflow.alerts import default_args
from mmgov_airflow.outcomes import task_edge

from mmgov.custody import tasks
from mmgov.settings import load_settings_at_parse

SETTINGS = load_settings_at_parse()
DB_POOL = SETTINGS.Mmgov.DatabasePool  # tasks querying the Mattermost database


@dag(
    dag_id="custody",
    schedule=CronTriggerTimetable("30 3 * * *", timezone=SETTINGS.Mmgov.Timezone),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["mmgov", "custody"],
    doc_md=__doc__,
)
def custody():
    @task(pool=DB_POOL)
    @task_edge(outcome=True)
    def expire_exports() -> dict:
        return tasks.task_expire()

    @task(pool=DB_POOL)
    @task_edge
    def attestation_rollup(**context) -> list:
        return tasks.task_rollup(context.get("logical_date"))

    expire_exports()
    attestation_rollup()


custody()
