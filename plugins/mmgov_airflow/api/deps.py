"""Shared dependencies of mmgov's API routers: the Mattermost database and the settings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request

from mmgov.errors import MmgovError
from mmgov.settings import Settings, load_raw_variable

_schema_ready: set[str] = set()
_schema_lock = threading.Lock()


def mattermost_db() -> Iterator[psycopg.Connection]:
    """An autocommit connection to the ``mattermost_db`` connection; mmgov's schema ensured once per process."""
    import mmgov.custody.attestation  # registers custody.sql (a restore re-attests)
    import mmgov.retention  # noqa: F401 - registers retention.sql
    from mmgov.db import hook_connection
    from mmgov.state import ensure_mmgov_schema

    conn = hook_connection()
    conn.autocommit = True
    try:
        key = conn.info.dsn
        if key not in _schema_ready:
            with _schema_lock:
                ensure_mmgov_schema(conn)
                _schema_ready.add(key)
        yield conn
    finally:
        conn.close()


def mattermost_settings() -> Settings:
    """The ``mattermost_settings`` variable, read as the API server reads it (environment first, then
    Airflow's metadata database: :func:`mmgov.settings.load_raw_variable`)."""
    return Settings.parse(load_raw_variable(api_server=True))


async def json_body(request: Request) -> Any:
    """The request's JSON body (400 with a clear message when it is not JSON)."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise MmgovError(
            f"request body is not valid JSON: {exc}", code="MMGOV_INVALID_JSON", status=400
        ) from exc


DbDep = Annotated[psycopg.Connection, Depends(mattermost_db)]
SettingsDep = Annotated[Settings, Depends(mattermost_settings)]
BodyDep = Annotated[Any, Depends(json_body)]
