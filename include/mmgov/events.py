"""Which asset URI carries each of mmgov's events, so other DAGs can be scheduled on them.

Only the URIs live here (the audit trail and the command line use them without loading Airflow);
the ``Asset`` objects the DAGs declare as outlets are built at the edge, in ``mmgov_airflow.assets``.
"""

from __future__ import annotations

COMPLIANCE_EXPORT_URI = "mmgov://compliance-export"
RETENTION_URI = "mmgov://retention"
GDPR_EXPORT_URI = "mmgov://gdpr-export"

# Event name prefix -> asset URI. The GDPR export's events are the seed's ``export.*``;
# the compliance export's are ``compliance_export.*``.
_BY_PREFIX = {
    "compliance_export.": COMPLIANCE_EXPORT_URI,
    "retention.": RETENTION_URI,
    "legal_hold.": RETENTION_URI,
    "export.": GDPR_EXPORT_URI,
}


def uri_for_event(event: str) -> str | None:
    """The URI of the asset an event is emitted on, or ``None``."""
    return next((uri for prefix, uri in _BY_PREFIX.items() if event.startswith(prefix)), None)
