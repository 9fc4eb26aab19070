"""Retention fixtures: a fresh Mattermost database with mmgov's retention tables, and a row builder."""

from __future__ import annotations

import psycopg
import pytest

import mmgov.retention  # noqa: F401 - registers retention.sql with ensure_mmgov_schema
from mmgov.state import ensure_mmgov_schema
from tests.retention.builders import Workspace


@pytest.fixture
def conn(mm_conn: psycopg.Connection) -> psycopg.Connection:
    """Autocommit connection to a fresh Mattermost database with mmgov's schema (retention included)."""
    ensure_mmgov_schema(mm_conn)
    return mm_conn


@pytest.fixture
def ws(conn: psycopg.Connection) -> Workspace:
    return Workspace(conn)
