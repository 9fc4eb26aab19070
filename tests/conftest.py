"""Shared fixtures: real PostgreSQL with Mattermost's schema, file stores, S3 and SMTP on loopback, Airflow.

Databases are cloned from session templates (``CREATE DATABASE ... TEMPLATE``), so every test gets a
fresh one in a fraction of a second, and all of them are dropped at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from mmgov.mattermost_schema import create_mattermost_schema
from mmgov.state import ensure_mmgov_schema
from mmgov_dev.devenv import AirflowEnv
from tests.support.postgres import DatabaseFactory, database_name, postgres_server
from tests.support.s3 import S3Endpoint, start_s3
from tests.support.smtp import SmtpServer

DEMO_END_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: fixed so the demo workspace is deterministic
DEMO_POSTS = 3000


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URI of a real PostgreSQL server (embedded unless MMGOV_DATABASE_URL is set)."""
    # Not under pytest's basetemp: pytest prunes all but its 3 newest run folders, which would delete
    # a running server's data (and socket) when other pytest runs start meanwhile.
    root = Path(tempfile.mkdtemp(prefix="mmgov-pg-"))
    try:
        with postgres_server(root) as uri:
            yield uri
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def db_factory(pg_server: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(pg_server)
    yield factory
    # The embedded server is deleted whole at the end: dropping each database first would only cost
    # a checkpoint per database (seconds each for Mattermost's 80 tables and 248 indexes: minutes a session).
    if os.environ.get("MMGOV_DATABASE_URL"):
        factory.drop_all()


@pytest.fixture(scope="session")
def mm_template(db_factory: DatabaseFactory) -> str:
    """Name of a template database holding Mattermost's empty schema and mmgov's own schema."""
    dsn = db_factory.create("mmtpl")
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_mattermost_schema(conn)
        ensure_mmgov_schema(conn)
    return database_name(dsn)


@pytest.fixture
def mm_dsn(db_factory: DatabaseFactory, mm_template: str) -> str:
    """A fresh, empty Mattermost database (schema only) for this test."""
    return db_factory.create("mm", template=mm_template)


@pytest.fixture
def mm_conn(mm_dsn: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to :func:`mm_dsn`."""
    with psycopg.connect(mm_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def file_store(tmp_path: Path) -> Path:
    """An empty local Mattermost file store folder."""
    path = tmp_path / "filestore"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def demo_template(db_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory):
    """A template database with a small deterministic synthetic workspace, and its file store."""
    from mmgov_dev.synth import SynthConfig, generate

    files = tmp_path_factory.mktemp("demo-filestore")
    dsn = db_factory.create("demotpl")
    with psycopg.connect(dsn, autocommit=True) as conn:
        summary = generate(
            conn, SynthConfig(posts=DEMO_POSTS, seed=7, days=60, end_ms=DEMO_END_MS, file_root=files)
        )
        ensure_mmgov_schema(conn)
    return database_name(dsn), files, summary


@pytest.fixture
def demo_db(db_factory: DatabaseFactory, demo_template, tmp_path: Path):
    """A fresh copy of the demo workspace: ``(dsn, file_store, summary)``; the file store is a copy too."""
    name, files, summary = demo_template
    store = tmp_path / "demo-filestore"
    shutil.copytree(files, store)
    return db_factory.create("demo", template=name), store, summary


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """A real S3 API (moto server mode) on 127.0.0.1."""
    server, endpoint = start_s3()
    yield endpoint
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: S3Endpoint) -> str:
    """A fresh, empty bucket on the loopback S3."""
    return s3_endpoint.new_bucket()


@pytest.fixture
def s3_conn(monkeypatch: pytest.MonkeyPatch, s3_endpoint: S3Endpoint) -> S3Endpoint:
    """The ``mattermost_s3`` connection pointing at the loopback S3 (as Airflow reads it: from the env)."""
    monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_S3", s3_endpoint.airflow_conn_json())
    return s3_endpoint


@pytest.fixture
def minio_file_settings(monkeypatch: pytest.MonkeyPatch, s3_endpoint: S3Endpoint) -> dict[str, Any]:
    """A MinIO-backed Mattermost's ``FileSettings`` (bucket and prefix aside): the ``mattermost_s3``
    connection holds only credentials, the endpoint (the loopback S3, plain HTTP) is in the settings."""
    doc = json.loads(s3_endpoint.airflow_conn_json())
    doc["extra"].pop("endpoint_url")
    monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_S3", json.dumps(doc))
    return {
        "DriverName": "amazons3",
        "AmazonS3Endpoint": urlsplit(s3_endpoint.url).netloc,
        "AmazonS3SSL": False,
    }


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 with STARTTLS and AUTH (see tests.support.smtp)."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def airflow_metadata_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite Airflow metadata DB, copied into each test's AIRFLOW_HOME."""
    home = tmp_path_factory.mktemp("airflow-template")
    env = AirflowEnv(home=home, mattermost_dsn="postgresql://unused@127.0.0.1/unused")
    env.migrate()
    return home / "airflow.db"


@pytest.fixture
def airflow_env(tmp_path: Path, airflow_metadata_template: Path):
    """Factory: ``airflow_env(mattermost_dsn, settings, connections=...)`` -> a ready :class:`AirflowEnv`."""

    def make(mattermost_dsn: str, settings: dict | None = None, **kwargs) -> AirflowEnv:
        env = AirflowEnv(
            home=tmp_path / "airflow", mattermost_dsn=mattermost_dsn, settings=settings or {}, **kwargs
        )
        env.migrate(template=airflow_metadata_template)
        return env

    return make
