"""mmgov.compliance.globalrelay_ledger: the rows that keep an accepted email from being mailed twice.

How the delivery uses them (retries, re-runs) is tests/compliance/test_globalrelay_delivery.py; here
the ledger on its own, in a real Mattermost database.
"""

from __future__ import annotations

import datetime as dt

import psycopg

from mmgov.compliance.globalrelay_delivery import EmlEntry
from mmgov.compliance.globalrelay_ledger import LEDGER_TABLE, DeliveryLedger
from mmgov.db import airflow_conn_json


def _email(index: int, sha: str = "") -> EmlEntry:
    return EmlEntry(index, f"{index:04d}.eml", 100 + index, sha or f"sha{index}", "mm@x", f"<m{index}@x>")


def test_delivered_is_what_was_recorded_for_that_key(mm_conn):
    ledger = DeliveryLedger(mm_conn)
    assert ledger.delivered("run/batch001.zip") == set()
    ledger.record("run/batch001.zip", _email(1), "gr@archive", "smtp.gr:25", "250 ok")
    ledger.record("run/batch001.zip", _email(0), "gr@archive", "smtp.gr:25", "250 ok")
    ledger.record("run/batch002.zip", _email(0), "gr@archive", "smtp.gr:25", "250 ok")
    assert ledger.delivered("run/batch001.zip") == {(0, "sha0"), (1, "sha1")}
    # The same place with other bytes is another email: it is not taken as delivered.
    ledger.record("run/batch001.zip", _email(1, "changed"), "gr@archive", "smtp.gr:25", "250 ok")
    assert ledger.delivered("run/batch001.zip") == {(0, "sha0"), (1, "sha1"), (1, "changed")}


def test_a_row_is_committed_at_once_and_recording_twice_keeps_the_first(mm_conn, mm_dsn):
    ledger = DeliveryLedger(mm_conn)
    ledger.record("k", _email(0), "gr@archive", "smtp.gr:25", "250 first")
    ledger.record("k", _email(0), "gr@archive", "smtp.gr:25", "250 second")
    with psycopg.connect(mm_dsn) as other:  # another session sees it: the row survives a failed task
        rows = other.execute(f"SELECT smtp_reply FROM {LEDGER_TABLE} WHERE delivery_key = 'k'").fetchall()
    assert rows == [("250 first",)]


def test_sent_lists_the_rows_in_key_and_email_order_for_the_manifest(mm_conn):
    ledger = DeliveryLedger(mm_conn)
    for key, index in (("b", 1), ("a", 2), ("b", 0), ("a", 0), ("other", 0)):
        ledger.record(key, _email(index), "gr@archive", "smtp.gr:25", "250 ok")
    rows = ledger.sent(["a", "b"])
    assert [(r["delivery_key"], r["email_index"]) for r in rows] == [("a", 0), ("a", 2), ("b", 0), ("b", 1)]
    first = rows[0]
    assert {k: v for k, v in first.items() if k != "sent_at"} == {
        "delivery_key": "a",
        "email_index": 0,
        "email_name": "0000.eml",
        "message_id": "<m0@x>",
        "sha256": "sha0",
        "size": 100,
        "rcpt_to": "gr@archive",
        "smtp_server": "smtp.gr:25",
        "smtp_reply": "250 ok",
    }
    assert dt.datetime.fromisoformat(first["sent_at"]).tzinfo is not None


def test_open_uses_the_mattermost_db_connection(mm_conn, mm_dsn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MATTERMOST_DB", airflow_conn_json(mm_dsn))
    DeliveryLedger(mm_conn).record("k", _email(3), "gr@archive", "smtp.gr:25", "250 ok")
    with DeliveryLedger.open() as ledger:
        assert ledger.delivered("k") == {(3, "sha3")}
        conn = ledger.conn
    assert conn.closed
