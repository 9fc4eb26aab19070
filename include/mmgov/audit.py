"""The audit trail and events every DAG uses.

``record(conn, event, payload, actor)`` appends a row to ``mmgov.audit_log`` (append-only, enforced
by a trigger) and, when called inside an Airflow task that declares the event's asset among its
outlets, adds the event to that asset event's ``extra`` so other DAGs can be scheduled on it.
Event names follow the seeds: ``export.started``, ``retention.policy_created``, ...
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

import psycopg

from mmgov.events import uri_for_event

log = logging.getLogger(__name__)
SYSTEM_ACTOR = "system"


def record(
    conn: psycopg.Connection,
    event: str,
    payload: dict[str, Any] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> int:
    """Append ``event`` to the audit trail (committed at once) and emit it as an asset event."""
    body = dict(payload or {})
    body.setdefault("timestamp", int(time.time() * 1000))
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO mmgov.audit_log (event, actor, payload) VALUES (%s, %s, %s::jsonb) RETURNING id",
            (event, actor, json.dumps(body, default=str)),
        ).fetchone()
    audit_id = int(row[0])
    _emit_asset_event(event, body, actor, audit_id)
    return audit_id


def history(conn: psycopg.Connection, *, event_prefix: str = "", limit: int = 100) -> list[dict[str, Any]]:
    """The newest audit rows whose event starts with ``event_prefix``."""
    rows = conn.execute(
        "SELECT id, at, event, actor, payload FROM mmgov.audit_log"
        " WHERE starts_with(event, %s) ORDER BY id DESC LIMIT %s",
        (event_prefix, limit),
    ).fetchall()
    return [dict(zip(("id", "at", "event", "actor", "payload"), r, strict=True)) for r in rows]


def _emit_asset_event(event: str, payload: dict[str, Any], actor: str, audit_id: int) -> None:
    uri = uri_for_event(event)
    if uri is None or "airflow.sdk" not in sys.modules:  # no Airflow loaded: not inside a task
        return
    try:
        from airflow.sdk import get_current_context

        context = get_current_context()
    except Exception:  # noqa: BLE001 - not inside a task (CLI, REST API): the audit row is the record
        return
    outlets = getattr(context.get("task"), "outlets", None) or []
    # Airflow normalises an asset's URI ("mmgov://retention" -> "mmgov://retention/"): compare without it.
    outlet = next((o for o in outlets if str(getattr(o, "uri", "")).rstrip("/") == uri), None)
    if outlet is None:
        return
    extra = context["outlet_events"][outlet].extra
    entry = {"event": event, "actor": actor, "audit_id": audit_id, "payload": payload}
    extra.setdefault("events", []).append(json.loads(json.dumps(entry, default=str)))
    extra["last_event"] = event
    log.info("mmgov event %s recorded (audit id %s) for asset %s", event, audit_id, uri)
