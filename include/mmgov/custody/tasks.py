"""Task bodies of the ``custody`` DAG (daily): export expiry and the attestation rollups."""

from __future__ import annotations

import datetime as dt
from typing import Any


def _months(now: dt.datetime) -> list[str]:
    """The previous month and the current one (restores within the grace period change both)."""
    first = now.replace(day=1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    return [f"{previous:%Y-%m}", f"{first:%Y-%m}"]


def task_expire() -> dict[str, Any]:
    """Remove expired exports; fail (alert) without retry when some were kept because verify failed."""
    from mmgov.custody.expiry import expire_exports, raise_if_refused
    from mmgov.retention.tasks import mattermost_connection
    from mmgov.settings import load_settings
    from mmgov.state import ensure_mmgov_schema

    settings = load_settings()
    with mattermost_connection() as conn:  # a bad signing key (SigningKeyError): no retry, at the task edge
        ensure_mmgov_schema(conn)
        summary = expire_exports(conn, settings)
    raise_if_refused(summary)  # ExpiryRefused: no retry (mmgov_airflow.outcomes.task_edge)
    return summary


def task_rollup(logical_date: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Write the signed monthly rollups of the previous and the current month."""
    from mmgov.custody.attestation import export_root, write_rollup
    from mmgov.custody.signing import load_signer
    from mmgov.retention.tasks import mattermost_connection
    from mmgov.settings import load_settings
    from mmgov.state import ensure_mmgov_schema

    settings = load_settings()
    signer = load_signer()  # a bad key (SigningKeyError): no retry, at the task edge
    store = export_root(settings)
    with mattermost_connection() as conn:
        ensure_mmgov_schema(conn)
        return [
            write_rollup(conn, month, store, signer)
            for month in _months(logical_date or dt.datetime.now(dt.UTC))
        ]
