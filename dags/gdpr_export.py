"""
### gdpr_export: whole-workspace or per-person data export (GDPR access and portability)

Writes Mattermost's bulk-import format (`import.jsonl`, one JSON object per line: version, roles and
schemes, teams, channels, users, bots, posts with their replies, emoji, direct channels, direct
posts), the attachments and profile pictures under `data/`, custom emoji under `exported_emoji/`,
and `warnings.txt` for files that could not be copied, under **output_path**: a folder
`gdpr-export-<time>-<id>/` or one ZIP `gdpr-export-<time>-<id>.zip`. Soft-deleted users, channels and
posts are included with their deletion times.

Leave **users** empty for the whole workspace, or list usernames / e-mail addresses to export only
those people's data (profile, memberships, preferences, the threads and DMs/GMs they took part in,
their reactions and files). See `docs/gdpr-export.md` for exactly what is included and why.

Tasks: `start` (checks: permission, writable output path, known users; job `pending`;
`export.started`) -> `write` (job `running`; streams the export; progress per entity in
`mmgov.gdpr_export_jobs` and `export.progress`) -> `finish` (job `completed`;
`export.completed` or `export.completed_with_warnings`; returns the summary). A failure sets the job
`failed`, records `export.failed`, alerts, and leaves no complete-looking output.

Only Airflow admins and the users in `Mmgov.GdprExportAdmins` may run it: anyone else's run fails in
`start` with `EXPORT_PERMISSION_DENIED`, writes nothing, is audited and alerts (`mmgov.authz`; the
runbook's *Who may do what*). `access_control` also grants the DAG to the FAB `Admin` role.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from mmgov_airflow.alerts import default_args
from mmgov_airflow.assets import GDPR_EXPORT
from mmgov_airflow.outcomes import task_edge

from mmgov.bulk_export.tasks import finish_run, on_export_failure, start_run, write_run
from mmgov.settings import load_settings_at_parse

SETTINGS = load_settings_at_parse()
DB_POOL = SETTINGS.Mmgov.DatabasePool  # tasks querying the Mattermost database

# No retries: the seed marks EXPORT_FAILED "Retry: No". Failures are deterministic (unwritable path,
# disk full, bad parameter) and a retry would re-read the whole workspace; the alert goes out at once.
DEFAULT_ARGS = default_args(retries=0)
DEFAULT_ARGS["on_failure_callback"] = [*DEFAULT_ARGS["on_failure_callback"], on_export_failure]

# FAB auth manager: only the Admin role gets this DAG (see docs/gdpr-export.md for removing the
# global DAG permissions of the other roles). The default SimpleAuthManager ignores access_control.
ACCESS_CONTROL = {
    "Admin": {
        "DAGs": {"can_read", "can_edit", "can_delete"},
        "DAG Runs": {"can_read", "can_create", "can_edit", "can_delete"},
    },
}

PARAMS = {
    "output_path": Param(
        type="string",
        minLength=2,
        pattern="^/",
        title="Output folder",
        description="Absolute folder on the Airflow worker where the export (a ZIP or a folder) is written. "
        "Created if missing; must be writable, else the run fails at once with EXPORT_OUTPUT_PATH_UNAVAILABLE.",
    ),
    "users": Param(
        [],
        type="array",
        items={"type": "string", "minLength": 1, "maxLength": 128},
        maxItems=100,
        title="People (empty = whole workspace)",
        description="Usernames or e-mail addresses, one per line: export only these people's data "
        "(GDPR access / portability request). Leave empty to export the whole workspace.",
    ),
    "include_attachments": Param(
        True,
        type="boolean",
        title="Include file attachments",
        description="Copy the files attached to the exported posts into data/ (the JSONL lists them either way).",
    ),
    "include_profile_pictures": Param(
        True,
        type="boolean",
        title="Include profile pictures",
        description="Copy uploaded user and bot profile pictures into data/users/<id>/profile.png.",
    ),
    "include_archived_channels": Param(
        True,
        type="boolean",
        title="Include archived channels",
        description="Export archived channels (and deleted teams) with their messages and deletion times.",
    ),
    "include_roles_and_schemes": Param(
        False,
        type="boolean",
        title="Include roles and schemes",
        description="Export permission schemes and roles (workspace configuration, not personal data).",
    ),
    "create_archive": Param(
        True,
        type="boolean",
        title="Create a ZIP archive",
        description="One ZIP holding import.jsonl, data/, exported_emoji/ and warnings.txt; otherwise a folder.",
    ),
}


@dag(
    dag_id="gdpr_export",
    schedule=None,
    catchup=False,
    max_active_runs=2,
    params=PARAMS,
    access_control=ACCESS_CONTROL,
    default_args=DEFAULT_ARGS,
    tags=["mmgov", "gdpr", "export"],
    doc_md=__doc__,
)
def gdpr_export():
    @task(pool=DB_POOL)
    @task_edge
    def start(params=None, run_id=None, dag_run=None) -> dict:
        """Check the request and record it (job pending, export.started)."""
        return start_run(dict(params or {}), run_id, getattr(dag_run, "triggering_user_name", None))

    @task(pool=DB_POOL)
    @task_edge
    def write(job: dict) -> dict:
        """Stream the export into output_path; per-entity progress while it runs."""
        return write_run(job)

    @task(outlets=[GDPR_EXPORT], pool=DB_POOL)
    @task_edge(outcome=True)
    def finish(result: dict) -> dict:
        """Job completed; export.completed / export.completed_with_warnings; the run's summary."""
        return finish_run(result)

    finish(write(start()))


gdpr_export()
