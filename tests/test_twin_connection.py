"""The twin connection: the export's snapshot on a second connection, and what happens without one."""

from __future__ import annotations

import logging

import psycopg
import pytest
from psycopg import sql

from mmgov import twin_connection
from mmgov.twin_connection import can_export_snapshot, export_snapshot, import_snapshot, open_twin, snapshot

SETTING = "SELECT set_config('work_mem', '7MB', true)"


class TestSnapshot:
    def test_one_database_state_read_only_and_settings_for_this_transaction(self, mm_dsn):
        with psycopg.connect(mm_dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (1)")
            with snapshot(conn, settings=sql.SQL(SETTING)):
                assert conn.execute("SHOW transaction_isolation").fetchone() == ("repeatable read",)
                assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)
                assert conn.execute("SHOW work_mem").fetchone() == ("7MB",)
                assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
                with psycopg.connect(mm_dsn, autocommit=True) as other:
                    other.execute("INSERT INTO t VALUES (2)")
                assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
            assert conn.execute("SHOW work_mem").fetchone() != ("7MB",)  # the settings ended with it
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)

    def test_a_ledger_run_writes_in_it(self, mm_dsn):
        with psycopg.connect(mm_dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int)")
            with snapshot(conn, read_only=False):
                assert conn.execute("SHOW transaction_isolation").fetchone() == ("repeatable read",)
                assert conn.execute("SHOW transaction_read_only").fetchone() == ("off",)
                conn.execute("INSERT INTO t VALUES (1)")
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)

    def test_a_transaction_left_open_is_rolled_back_first(self, mm_dsn):
        with psycopg.connect(mm_dsn) as conn:  # not autocommit: the INSERT opens a transaction
            conn.execute("CREATE TABLE t (x int)")
            conn.commit()
            conn.execute("INSERT INTO t VALUES (1)")
            with snapshot(conn):
                assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_the_twin_sees_the_exports_snapshot_and_only_reads(mm_dsn):
    with psycopg.connect(mm_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
        assert can_export_snapshot(conn)
        twin = open_twin(conn)
        assert twin is not None
        with twin, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)  # the snapshot starts here
            with psycopg.connect(mm_dsn, autocommit=True) as other:
                other.execute("INSERT INTO t VALUES (2)")
            assert twin.info.backend_pid != conn.info.backend_pid
            with import_snapshot(twin, export_snapshot(conn)):
                assert twin.execute("SELECT array_agg(x) FROM t").fetchone() == ([1],)
                with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                    twin.execute("DELETE FROM t")
        with psycopg.connect(mm_dsn) as fresh:
            assert fresh.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_no_twin_when_the_server_refuses_a_connection(mm_dsn, monkeypatch, caplog):
    with psycopg.connect(mm_dsn, autocommit=True) as conn:

        def refuse(*args, **kwargs):
            raise psycopg.OperationalError("FATAL: sorry, too many clients already")

        monkeypatch.setattr(twin_connection.psycopg, "connect", refuse)
        with caplog.at_level(logging.WARNING, logger=twin_connection.__name__):
            assert open_twin(conn, purpose="compliance export") is None
    assert "compliance export: cannot open a second connection" in caplog.text
    assert "too many clients" in caplog.text


def test_a_snapshot_cannot_be_exported_from_inside_a_subtransaction(mm_dsn, caplog):
    """The probe runs in its own transaction: inside another it is a savepoint, which PostgreSQL refuses."""
    with psycopg.connect(mm_dsn, autocommit=True) as conn, conn.transaction():
        with caplog.at_level(logging.WARNING, logger=twin_connection.__name__):
            assert not can_export_snapshot(conn, purpose="GDPR export")
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the outer transaction is still usable
    assert "GDPR export: cannot export a snapshot" in caplog.text
