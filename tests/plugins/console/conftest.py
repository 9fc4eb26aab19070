"""The Governance console's page tests (one module per page group) share one api-server and its
database (starting one costs ~30 s), configured with :data:`CONSOLE_SETTINGS`,
and sign in as Airflow's ``admin``. Every test makes its own names (``new_id``), so they do not collide.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mmgov.settings import Settings
from tests.plugins.api_server import mattermost_database, running_api_server
from tests.plugins.browser import Browser
from tests.retention.builders import settings
from tests.support.airflow_api import ApiServer

# The config.json the console's api-server reads.
CONSOLE_SETTINGS = {
    "DataRetentionSettings": {
        "EnableMessageDeletion": True,
        "MessageRetentionDays": 100,
        "TimeBetweenBatchesMilliseconds": 0,
    },
    "Mmgov": {"RetentionApproval": "never", "Timezone": "Europe/Berlin"},
}


@pytest.fixture(scope="package")
def api_dsn(db_factory, mm_template) -> str:
    return mattermost_database(db_factory, mm_template, "console")


@pytest.fixture(scope="package")
def api(api_dsn, tmp_path_factory, airflow_metadata_template) -> Iterator[ApiServer]:
    with running_api_server(tmp_path_factory, airflow_metadata_template, api_dsn, CONSOLE_SETTINGS) as server:
        yield server


@pytest.fixture
def admin(api) -> Browser:
    return Browser(api, "admin")


@pytest.fixture
def console_settings() -> Settings:
    """The settings the console's api-server reads, for the domain calls a test makes itself."""
    return settings(**CONSOLE_SETTINGS)
