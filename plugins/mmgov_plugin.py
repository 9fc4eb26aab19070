"""The mmgov Airflow plugin: mounts mmgov's REST API (``mmgov_airflow.api.app``) on the api-server at ``/mmgov``,
adds "Governance" to Airflow's navigation (the console at ``/mmgov/console``, shown in the UI at
``/plugin/governance``), the approval guard (only approvers answer mmgov's approval tasks) and the
run-note listener (``mmgov_airflow.outcomes``)."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from mmgov_airflow import outcomes
from mmgov_airflow.api.app import URL_PREFIX, app
from mmgov_airflow.approval_guard import ApprovalGuard


class MmgovPlugin(AirflowPlugin):
    name = "mmgov"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "mmgov API"}
    ]
    listeners: ClassVar[list[Any]] = [outcomes]  # run notes (mmgov_airflow.outcomes)
    # Only the approvers answer mmgov's approval tasks, whatever the auth manager (UI and REST alike).
    fastapi_root_middlewares: ClassVar[list[dict[str, Any]]] = [
        {"middleware": ApprovalGuard, "args": [], "kwargs": {}, "name": "mmgov approval guard"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Governance",
            "href": f"{URL_PREFIX}/console/",
            "url_route": "governance",
            "destination": "nav",
            "nav_top_level": True,
            "category": "Governance",
        }
    ]
