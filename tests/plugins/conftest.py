"""One real ``airflow api-server`` per test module over its own Mattermost database with mmgov's schema.

A module sets ``SETTINGS`` (the config.json mmgov reads) and uses ``api`` (the server), ``db`` (a
connection to that database) and ``ws`` (a workspace builder on it).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

import mmgov.bulk_export.job_state
import mmgov.retention  # noqa: F401 - registers retention.sql
from mmgov.state import ensure_mmgov_schema
from tests.retention.builders import Workspace
from tests.support.airflow_api import ApiServer, start_api_server


@pytest.fixture(scope="module")
def api_dsn(request: pytest.FixtureRequest, db_factory, mm_template) -> str:
    """The module's Mattermost database (named after the module), with mmgov's schema."""
    dsn = db_factory.create(request.module.__name__.rsplit(".", 1)[-1], template=mm_template)
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_mmgov_schema(conn)
    return dsn


@pytest.fixture(scope="module")
def api(
    request: pytest.FixtureRequest, api_dsn, tmp_path_factory, airflow_metadata_template
) -> Iterator[ApiServer]:
    """The api-server (with mmgov's plugin) reading ``api_dsn`` with the module's ``SETTINGS``."""
    from mmgov_dev.devenv import AirflowEnv

    env = AirflowEnv(
        home=tmp_path_factory.mktemp("af-api"), mattermost_dsn=api_dsn, settings=request.module.SETTINGS
    )
    env.migrate(template=airflow_metadata_template)
    server = start_api_server(env)
    yield server
    server.stop()


@pytest.fixture
def db(api_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(api_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def ws(db: psycopg.Connection) -> Workspace:
    return Workspace(db)
