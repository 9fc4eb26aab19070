"""Connections to the Mattermost database: through Airflow's PostgresHook, or a plain DSN."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import psycopg

MATTERMOST_CONN_ID = "mattermost_db"


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection:
    """Open a psycopg connection from a libpq DSN or URI."""
    return psycopg.connect(dsn, autocommit=autocommit)


def hook_connection(conn_id: str = MATTERMOST_CONN_ID) -> psycopg.Connection:
    """Open a connection through the postgres provider's hook (psycopg 3 under SQLAlchemy 2)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn = PostgresHook(postgres_conn_id=conn_id).get_conn()
    if not isinstance(conn, psycopg.Connection):  # pragma: no cover - depends on installed drivers
        raise RuntimeError("mmgov needs psycopg 3: install the pinned requirements")
    return conn


def airflow_conn_json(dsn: str) -> str:
    """Render a postgres URI as an Airflow connection in JSON (works for unix-socket hosts too)."""
    parts = urlsplit(dsn)
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    host = unquote(query.pop("host", "") or parts.hostname or "")
    doc: dict[str, object] = {
        "conn_type": "postgres",
        "host": host,
        "login": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "schema": parts.path.lstrip("/"),
    }
    if parts.port:
        doc["port"] = parts.port
    if query:
        doc["extra"] = query
    return json.dumps(doc)


def with_database(dsn: str, dbname: str) -> str:
    """Return ``dsn`` pointing at another database on the same server."""
    parts = urlsplit(dsn)
    return parts._replace(path="/" + dbname).geturl()
