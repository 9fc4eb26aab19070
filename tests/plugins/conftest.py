"""One real ``airflow api-server`` per test module over its own Mattermost database with mmgov's schema.

A module sets ``SETTINGS`` (the config.json mmgov reads) and uses ``api`` (the server), ``db`` (a
connection to that database) and ``ws`` (a workspace builder on it). A package may share one server
among its modules by overriding ``api_dsn`` and ``api`` (tests/plugins/console/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

import mmgov.bulk_export.job_state
import mmgov.retention  # noqa: F401 - registers retention.sql
from tests.plugins.api_server import mattermost_database, running_api_server
from tests.retention.builders import Workspace
from tests.support.airflow_api import ApiServer


@pytest.fixture(scope="module")
def api_dsn(request: pytest.FixtureRequest, db_factory, mm_template) -> str:
    """The module's Mattermost database (named after the module), with mmgov's schema."""
    return mattermost_database(db_factory, mm_template, request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def api(
    request: pytest.FixtureRequest, api_dsn, tmp_path_factory, airflow_metadata_template
) -> Iterator[ApiServer]:
    """The api-server (with mmgov's plugin) reading ``api_dsn`` with the module's ``SETTINGS``."""
    with running_api_server(
        tmp_path_factory, airflow_metadata_template, api_dsn, request.module.SETTINGS
    ) as server:
        yield server


@pytest.fixture
def db(api_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(api_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def ws(db: psycopg.Connection) -> Workspace:
    return Workspace(db)
