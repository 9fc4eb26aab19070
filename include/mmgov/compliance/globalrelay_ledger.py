"""The Global Relay delivery ledger: which emails the SMTP server accepted, one autocommitted row each.

Its rows are the delivery's safety rule (see :mod:`mmgov.compliance.globalrelay_delivery`): an email
with a row is never mailed again; deleting a batch's rows (``sql/globalrelay.sql``) mails it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg

from mmgov.state import SCHEMA, ensure_mmgov_schema, register_ddl

if TYPE_CHECKING:
    from mmgov.compliance.globalrelay_delivery import EmlEntry

register_ddl("globalrelay.sql")

LEDGER_TABLE = f"{SCHEMA}.globalrelay_delivery"


class DeliveryLedger:
    """``mmgov.globalrelay_delivery``: which emails the server accepted (autocommit, one row per email)."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.conn.autocommit = True
        ensure_mmgov_schema(conn)

    @classmethod
    @contextmanager
    def open(cls) -> Iterator[DeliveryLedger]:
        """On the ``mattermost_db`` connection (the mmgov schema lives in the Mattermost database)."""
        from mmgov.db import hook_connection

        conn = hook_connection()
        try:
            yield cls(conn)
        finally:
            conn.close()

    def delivered(self, key: str) -> set[tuple[int, str]]:
        rows = self.conn.execute(
            f"SELECT email_index, sha256 FROM {LEDGER_TABLE} WHERE delivery_key = %s", (key,)
        ).fetchall()
        return {(int(i), s) for i, s in rows}

    def sent(self, keys: list[str]) -> list[dict[str, Any]]:
        """The ledger rows of these delivery keys, in key and email order (the custody manifest)."""
        rows = self.conn.execute(
            f"SELECT delivery_key, email_index, email_name, message_id, sha256, size_bytes, rcpt_to,"
            f" smtp_server, smtp_reply, sent_at FROM {LEDGER_TABLE} WHERE delivery_key = ANY(%s)"
            " ORDER BY delivery_key, email_index",
            (keys,),
        ).fetchall()
        names = ("delivery_key", "email_index", "email_name", "message_id", "sha256", "size")
        names += ("rcpt_to", "smtp_server", "smtp_reply", "sent_at")
        return [dict(zip(names, (*r[:9], r[9].isoformat()), strict=True)) for r in rows]

    def record(self, key: str, entry: EmlEntry, rcpt: str, server: str, reply: str) -> None:
        self.conn.execute(
            f"INSERT INTO {LEDGER_TABLE} (delivery_key, email_index, sha256, email_name, size_bytes, mail_from,"
            " rcpt_to, smtp_server, smtp_reply, message_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (
                key,
                entry.index,
                entry.sha256,
                entry.name,
                entry.size,
                entry.mail_from,
                rcpt,
                server,
                reply,
                entry.message_id,
            ),
        )
