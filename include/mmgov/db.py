"""Connections to the Mattermost database: through Airflow's PostgresHook, or a plain DSN."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg

from mmgov.errors import MmgovError

MATTERMOST_CONN_ID = "mattermost_db"
CONN_ENV = "AIRFLOW_CONN_" + MATTERMOST_CONN_ID.upper()
# libpq keywords an Airflow connection's ``extra`` may carry (Airflow's own keys such as
# ``cursor`` or ``__extra__`` are not passed on).
_LIBPQ_EXTRAS = frozenset(
    [
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "sslpassword",
        "connect_timeout",
        "application_name",
        "options",
        "target_session_attrs",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
    ]
)


class ConnectionMissing(MmgovError):
    """The CLI found no ``mattermost_db`` connection anywhere Airflow would look."""

    code = "MMGOV_CONNECTION_MISSING"
    status = 400


class ConnectionInvalid(MmgovError):
    """``AIRFLOW_CONN_MATTERMOST_DB`` is set but is neither a postgres URI nor Airflow's JSON form."""

    code = "MMGOV_CONNECTION_INVALID"
    status = 400


class DatabaseUnavailable(MmgovError):
    """The Mattermost database refused or did not answer."""

    code = "MMGOV_DATABASE_UNAVAILABLE"
    status = 503


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


def conninfo_from_airflow(value: str, *, name: str = CONN_ENV) -> dict[str, Any]:
    """psycopg keyword arguments of an Airflow connection given as a URI or as Airflow's JSON form.

    Parsed here, without importing Airflow (it takes seconds to load): the form of
    ``AIRFLOW_CONN_<ID>`` is Airflow's (``postgres://user:pass@host:port/db?extra=...`` or
    ``{"conn_type": "postgres", "host": ..., "login": ..., "password": ..., "schema": ..., "port": ...,
    "extra": {...}}``).
    """
    text = value.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ConnectionInvalid(f"{name} is not valid JSON: {exc}") from exc
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        kwargs = {
            "host": doc.get("host") or None,
            "port": doc.get("port") or None,
            "user": doc.get("login") or None,
            "password": doc.get("password") or None,
            "dbname": doc.get("schema") or None,
        }
        kind = str(doc.get("conn_type") or "postgres")
    else:
        parts = urlsplit(text)
        kind = parts.scheme
        query = dict(parse_qsl(parts.query))
        socket_dir = query.pop("host", None)  # libpq's URI form of a unix-socket host: ...@/db?host=/dir
        extra = json.loads(query.pop("__extra__")) if "__extra__" in query else query
        kwargs = {
            "host": unquote(parts.hostname or "") or socket_dir or None,
            "port": parts.port,
            "user": unquote(parts.username or "") or None,
            "password": unquote(parts.password or "") or None,
            "dbname": unquote(parts.path.lstrip("/")) or None,
        }
    if kind.replace("-", "").replace("_", "") not in ("postgres", "postgresql"):
        raise ConnectionInvalid(f"{name} must be a postgres connection, got type {kind!r}")
    kwargs.update({k: v for k, v in extra.items() if k in _LIBPQ_EXTRAS})
    return {k: v for k, v in kwargs.items() if v is not None}


def cli_connection(dsn: str | None = None) -> psycopg.Connection:
    """An autocommit connection for a command line: ``dsn``, else ``mattermost_db`` as Airflow finds it.

    Order: ``--dsn``; ``AIRFLOW_CONN_MATTERMOST_DB`` (parsed without Airflow); Airflow's secrets
    backends and metadata database (``airflow connections add``). None of them: one clear error.
    """
    try:
        if dsn:
            return psycopg.connect(dsn, autocommit=True)
        env = os.environ.get(CONN_ENV)
        if env:
            return psycopg.connect(**conninfo_from_airflow(env), autocommit=True)
        try:
            conn = hook_connection()
        except (MmgovError, psycopg.Error):
            raise
        except Exception as exc:  # AirflowNotFoundException, or no Airflow set up at all
            raise ConnectionMissing(
                f"no Mattermost database: pass --dsn postgresql://USER:PASSWORD@HOST:5432/DB, or set {CONN_ENV}"
                f" (a postgres URI or Airflow's JSON form), or add the Airflow connection with 'airflow"
                f" connections add {MATTERMOST_CONN_ID} --conn-uri postgresql://...'"
                f" ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
            ) from exc
        conn.autocommit = True
        return conn
    except psycopg.OperationalError as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise DatabaseUnavailable(f"cannot connect to the Mattermost database: {first}") from exc


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
