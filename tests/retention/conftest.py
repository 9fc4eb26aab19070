"""Retention fixtures: a fresh Mattermost database with mmgov's retention tables, and a row builder."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

import mmgov.retention  # noqa: F401 - registers retention.sql with ensure_mmgov_schema
from mmgov.state import ensure_mmgov_schema
from tests.retention.builders import Workspace
from tests.support.airflow_api import ApiServer, start_api_server


@pytest.fixture
def conn(mm_conn: psycopg.Connection) -> psycopg.Connection:
    """Autocommit connection to a fresh Mattermost database with mmgov's schema (retention included)."""
    ensure_mmgov_schema(mm_conn)
    return mm_conn


@pytest.fixture
def ws(conn: psycopg.Connection) -> Workspace:
    return Workspace(conn)


@pytest.fixture
def export_root(tmp_path, monkeypatch) -> None:
    """The export root (retention attestations are written there) of the DAG runs' settings, in this test's folder."""
    from tests.retention.dag_runs import BASE_SETTINGS

    monkeypatch.setitem(BASE_SETTINGS, "FileSettings", {"Directory": str(tmp_path / "filestore")})


@pytest.fixture(scope="module")
def api(tmp_path_factory, airflow_metadata_template, pg_server) -> Iterator[ApiServer]:
    """A real api-server (users of every role): the CLI asks it whose token it is (mmgov.actor)."""
    from mmgov_dev.devenv import AirflowEnv

    env = AirflowEnv(home=tmp_path_factory.mktemp("af-cli"), mattermost_dsn=pg_server)
    env.migrate(template=airflow_metadata_template)
    server = start_api_server(env)
    yield server
    server.stop()
