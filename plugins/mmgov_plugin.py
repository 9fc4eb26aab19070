"""The mmgov Airflow plugin: mmgov's REST API at ``/mmgov`` and the approval guard on the api-server."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from mmgov_airflow.api.app import URL_PREFIX, app
from mmgov_airflow.approval_guard import ApprovalGuard


class MmgovPlugin(AirflowPlugin):
    name = "mmgov"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "mmgov API"}
    ]
    # Only the approvers answer mmgov's approval tasks, whatever the auth manager (UI and REST alike).
    fastapi_root_middlewares: ClassVar[list[dict[str, Any]]] = [
        {"middleware": ApprovalGuard, "args": [], "kwargs": {}, "name": "mmgov approval guard"}
    ]
