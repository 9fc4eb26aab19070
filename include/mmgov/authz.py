"""Who may approve a purge, and who may export personal data or restore a purge: the rules in one place.

* **Approvers** (the ``approval`` task of ``retention_purge`` and ``retention_physical_removal``): the
  Airflow users named in ``Mmgov.RetentionApprovers``; when it is empty, the Airflow admins.
* **Exporters and restorers** (``gdpr_export``, ``restore``): the Airflow admins and the Airflow users
  named in ``Mmgov.GdprExportAdmins``.

"Airflow admin" is the auth manager's own notion (``mmgov_airflow.api.auth.is_admin`` on the
api-server). A *task* can only see what the configuration says: SimpleAuthManager's users and roles
(``[core] simple_auth_manager_users``); FAB and other auth managers keep users and roles in the
metadata database, which Airflow 3 closes to tasks. There a task knows no admin, so only the names in
the settings count in tasks (fail closed); the api-server still asks the auth manager.

A GDPR export run must carry a person: the triggering Airflow user (UI, REST, ``airflowctl``). The
local ``airflow dags trigger`` records the OS login, which then must be an allowed Airflow user name.
A run with no triggering user (a schedule, an asset, another DAG) is refused. ``airflow dags test``
(Airflow records the user ``dag_test``) is allowed: it runs the tasks in the caller's own process with
the connections already in hand, so there is nothing to refuse; the audit trail records ``dag_test``.
"""

from __future__ import annotations

from collections.abc import Iterable

from mmgov.bulk_export.errors import ExportPermissionDenied
from mmgov.settings import Settings

DAG_TEST_USER = "dag_test"  # Airflow's triggering_user_name of `airflow dags test`
SIMPLE_AUTH_MANAGER = "SimpleAuthManager"


def auth_manager_name() -> str:
    """The class name of ``[core] auth_manager`` (e.g. ``SimpleAuthManager``, ``FabAuthManager``)."""
    from airflow.configuration import conf

    return conf.get("core", "auth_manager", fallback=SIMPLE_AUTH_MANAGER).rsplit(".", 1)[-1]


def simple_admins(users: Iterable[str]) -> tuple[str, ...]:
    """The ``ADMIN`` users of SimpleAuthManager's ``user:role[:teams]`` list."""
    return tuple(
        u.split(":")[0] for u in users if len(u.split(":")) > 1 and u.split(":")[1].upper() == "ADMIN"
    )


def task_admins() -> tuple[str, ...] | None:
    """The Airflow admins as a task sees them: SimpleAuthManager's ``ADMIN`` users, else ``None`` (unknown)."""
    if auth_manager_name() != SIMPLE_AUTH_MANAGER:
        return None
    from airflow.configuration import conf

    return simple_admins(conf.getlist("core", "simple_auth_manager_users", fallback=[]) or [])


def approvers(settings: Settings, admins: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Who may answer an approval: ``Mmgov.RetentionApprovers``, else the admins (``None``: unknown here)."""
    return settings.Mmgov.RetentionApprovers or admins


def may_approve(user: str, settings: Settings, *, is_admin: bool) -> bool:
    """Whether Airflow user ``user`` may approve or reject a purge or removal."""
    named = settings.Mmgov.RetentionApprovers
    return user in named if named else is_admin


def may_export(user: str, settings: Settings, *, is_admin: bool) -> bool:
    """Whether Airflow user ``user`` may run a GDPR export or restore a purge."""
    return is_admin or user in settings.Mmgov.GdprExportAdmins


def check_export_permission(user: str | None, settings: Settings, admins: tuple[str, ...] | None) -> None:
    """Raise :class:`ExportPermissionDenied` unless the run's triggering ``user`` may export (see module doc)."""
    allowed = settings.Mmgov.GdprExportAdmins
    if user == DAG_TEST_USER:
        return
    if user is None:
        raise ExportPermissionDenied(
            "this run has no triggering user (scheduled, asset-triggered or started by another DAG); "
            "a GDPR export must be triggered by an Airflow admin or a user in Mmgov.GdprExportAdmins "
            f"({', '.join(allowed) or 'empty'}) from the UI, the REST API or airflowctl"
        )
    if may_export(user, settings, is_admin=admins is not None and user in admins):
        return
    who = (
        f"the Airflow admins ({', '.join(admins) or 'none'})"
        if admins is not None
        else f"the users in Mmgov.GdprExportAdmins only (the {auth_manager_name()} roles are not visible to tasks)"
    )
    raise ExportPermissionDenied(
        f"Only system administrators can run data exports: Airflow user {user!r} may not; allowed are {who} "
        f"and Mmgov.GdprExportAdmins ({', '.join(allowed) or 'empty'})"
    )
