"""The mmgov Airflow plugin: mounts mmgov's REST API (``mmgov_airflow.api.app``) on the api-server at ``/mmgov``."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from mmgov_airflow.api.app import URL_PREFIX, app


class MmgovPlugin(AirflowPlugin):
    name = "mmgov"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "mmgov API"}
    ]
