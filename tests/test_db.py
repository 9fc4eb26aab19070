"""Reading the Mattermost database's Airflow connection (``AIRFLOW_CONN_MATTERMOST_DB``) without loading Airflow:
every form Airflow accepts (URI, JSON, ``__extra__``, a unix-socket host), and the one-line refusals."""

from __future__ import annotations

import pytest

from mmgov.db import ConnectionInvalid, conninfo_from_airflow


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "postgres://mm%40corp:p%2Fw@db.example:5433/mattermost?sslmode=require&cursor=dictcursor",
            {
                "host": "db.example",
                "port": 5433,
                "user": "mm@corp",
                "password": "p/w",
                "dbname": "mattermost",
                "sslmode": "require",
            },
        ),
        (
            '{"conn_type": "postgres", "host": "/run/pg", "login": "mm", "schema": "mm", "port": 5432,'
            ' "extra": {"sslmode": "disable", "cursor": "x"}}',
            {"host": "/run/pg", "user": "mm", "dbname": "mm", "port": 5432, "sslmode": "disable"},
        ),
        (
            'postgresql://mm@db/mm?__extra__={"connect_timeout": "5"}',
            {"host": "db", "user": "mm", "dbname": "mm", "connect_timeout": "5"},
        ),
        (
            "postgresql://postgres:@/mm?host=/tmp/mmgov-pg/pgdata",  # the embedded server's unix socket
            {"host": "/tmp/mmgov-pg/pgdata", "user": "postgres", "dbname": "mm"},
        ),
    ],
    ids=["uri", "json", "uri-extra-json", "uri-socket-host"],
)
def test_conninfo_from_airflow_forms(value, expected):
    assert conninfo_from_airflow(value) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [("{not json", "not valid JSON"), ("mysql://u@h/db", "must be a postgres connection, got type 'mysql'")],
    ids=["bad-json", "not-postgres"],
)
def test_conninfo_from_airflow_refusals(value, words):
    with pytest.raises(ConnectionInvalid, match=words):
        conninfo_from_airflow(value)
