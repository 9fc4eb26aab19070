"""The console's audit trail page."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from mmgov import governance
from mmgov_airflow.api.deps import DbDep, SettingsDep
from mmgov_airflow.console.base import (
    ConsoleAdmin,
    at_time,
    date_ms,
    render,
    router,
    timezone_of,
)

# --- audit trail ----------------------------------------------------------------------------------

_HIDDEN = {"before", "after", "timestamp"}


def _readable(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)[:300]
    return str(value)


@router.get("/audit")
def audit_page(
    request: Request,
    admin: ConsoleAdmin,
    conn: DbDep,
    settings: SettingsDep,
    event: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
    before: int | None = Query(None, ge=1),
) -> HTMLResponse:
    tz = timezone_of(settings)
    errors: dict[str, str] = {}
    try:
        since_ms, until_ms = date_ms(since, tz), date_ms(until, tz)
    except ValueError as exc:
        errors["dates"] = f"dates must be YYYY-MM-DD: {exc}"
        since_ms = until_ms = None
    flt = governance.AuditFilter(
        event=event.strip(),
        actor=actor.strip(),
        since=None if since_ms is None else dt.datetime.fromtimestamp(since_ms / 1000, dt.UTC),
        until=None if until_ms is None else dt.datetime.fromtimestamp(until_ms / 1000 + 86_400, dt.UTC),
    )
    rows, next_before = governance.audit_page(conn, flt, before_id=before)
    shown = [
        {
            "at": at_time(r["at"], tz),
            "event": r["event"],
            "actor": r["actor"],
            "changes": [(f, _readable(b), _readable(a)) for f, b, a in governance.changes(r["payload"])],
            "fields": [(k, _readable(v)) for k, v in sorted(r["payload"].items()) if k not in _HIDDEN],
        }
        for r in rows
    ]
    query = {"event": event, "actor": actor, "since": since, "until": until, "before": next_before}
    return render(
        request,
        "audit.html",
        400 if errors else 200,
        title="Audit trail",
        here="audit",
        rows=shown,
        flt=flt,
        since=since,
        until=until,
        tz=tz,
        errors=errors,
        next_before=next_before,
        next_link=f"?{urlencode({k: v for k, v in query.items() if v})}",
    )
