"""The Airflow assets mmgov's DAGs emit their events on (one per URI of ``mmgov.events``)."""

from __future__ import annotations

from airflow.sdk import Asset

from mmgov.events import COMPLIANCE_EXPORT_URI, GDPR_EXPORT_URI, RETENTION_URI, uri_for_event

COMPLIANCE_EXPORT = Asset(COMPLIANCE_EXPORT_URI)
RETENTION = Asset(RETENTION_URI)
GDPR_EXPORT = Asset(GDPR_EXPORT_URI)
_BY_URI = {COMPLIANCE_EXPORT_URI: COMPLIANCE_EXPORT, RETENTION_URI: RETENTION, GDPR_EXPORT_URI: GDPR_EXPORT}


def asset_for_event(event: str) -> Asset | None:
    """The asset an event is emitted on, or ``None``."""
    uri = uri_for_event(event)
    return None if uri is None else _BY_URI[uri]
