"""The embedded server mmgov starts when no MMGOV_DATABASE_URL is given, and its settings."""

from __future__ import annotations

import psycopg
import pytest

from mmgov_dev.embedded_postgres import SERVER_SETTINGS, configure_server, server_uri, stop_embedded


def _show(uri: str, name: str) -> str:
    with psycopg.connect(uri) as conn:
        return conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """A fresh embedded server of our own (never the administrator's MMGOV_DATABASE_URL)."""
    monkeypatch.delenv("MMGOV_DATABASE_URL", raising=False)
    pgdata = tmp_path / "pgdata"
    yield pgdata
    stop_embedded(pgdata)


def test_embedded_server_starts_with_mmgov_settings(embedded):
    uri = server_uri(embedded)
    for name, value in SERVER_SETTINGS.items():
        assert _show(uri, name) == value, name
    # Configured once: starting again asks for no change and no restart.
    assert configure_server(uri) is False
    assert server_uri(embedded) == uri


def test_configure_server_reloads_or_asks_for_a_restart(embedded):
    uri = server_uri(embedded)
    assert configure_server(uri, {"max_wal_size": "2GB"}) is False  # reloadable: applied at once
    assert _show(uri, "max_wal_size") == "2GB"
    assert configure_server(uri, {"shared_buffers": "256MB"}) is True  # needs the postmaster restarted
    assert _show(uri, "shared_buffers") == SERVER_SETTINGS["shared_buffers"]
