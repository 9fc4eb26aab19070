"""An api-server (with mmgov's plugin) over its own Mattermost database, for the conftests of tests/plugins/
(one per test module, or one per package that shares it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from mmgov.state import ensure_mmgov_schema
from tests.support.airflow_api import ApiServer, start_api_server


def mattermost_database(db_factory, mm_template: str, name: str) -> str:
    """A new Mattermost database named after ``name``, with mmgov's schema."""
    dsn = db_factory.create(name, template=mm_template)
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_mmgov_schema(conn)
    return dsn


@contextmanager
def running_api_server(
    tmp_path_factory, airflow_metadata_template, dsn: str, settings: dict[str, Any]
) -> Iterator[ApiServer]:
    """An api-server (with mmgov's plugin) reading ``dsn`` with ``settings``, stopped on exit."""
    from mmgov_dev.devenv import AirflowEnv

    env = AirflowEnv(home=tmp_path_factory.mktemp("af-api"), mattermost_dsn=dsn, settings=settings)
    env.migrate(template=airflow_metadata_template)
    server = start_api_server(env)
    try:
        yield server
    finally:
        server.stop()
