"""Where the last successful compliance export ended: the start of an on-demand "since last" run.

Each successful run records ``compliance_export.completed`` with its ``window_end_ms`` in the audit
trail (``mmgov.compliance.tasks``). The retention export guard reads the same mark: nothing updated at
or after it may be deleted.
"""

from __future__ import annotations

import psycopg

COMPLETED_EVENT = "compliance_export.completed"


def last_export_end_ms(conn: psycopg.Connection) -> int | None:
    """The highest ``window_end_ms`` of a completed compliance export, or ``None`` if none completed."""
    row = conn.execute(
        "SELECT max((payload->>'window_end_ms')::bigint) FROM mmgov.audit_log"
        " WHERE event = %s AND payload ? 'window_end_ms'",
        (COMPLETED_EVENT,),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])
