"""The mmgov Airflow plugin: mounts mmgov's REST API (``mmgov_airflow.api.app``) on the api-server at ``/mmgov``; the
run-note listener (``mmgov_airflow.outcomes``)."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from mmgov_airflow import outcomes
from mmgov_airflow.api.app import URL_PREFIX, app


class MmgovPlugin(AirflowPlugin):
    name = "mmgov"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "mmgov API"}
    ]
    listeners: ClassVar[list[Any]] = [outcomes]  # run notes (mmgov_airflow.outcomes)
