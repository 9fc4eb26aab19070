"""Assets that carry mmgov's events, so other DAGs can be scheduled on them."""

from __future__ import annotations

from airflow.sdk import Asset

COMPLIANCE_EXPORT = Asset("mmgov://compliance-export")
RETENTION = Asset("mmgov://retention")
GDPR_EXPORT = Asset("mmgov://gdpr-export")

# Event name prefix -> asset. The GDPR export's events are the seed's ``export.*``;
# the compliance export's are ``compliance_export.*``.
_BY_PREFIX = {
    "compliance_export.": COMPLIANCE_EXPORT,
    "retention.": RETENTION,
    "legal_hold.": RETENTION,
    "export.": GDPR_EXPORT,
}


def asset_for_event(event: str) -> Asset | None:
    """The asset an event is emitted on, or ``None``."""
    for prefix, asset in _BY_PREFIX.items():
        if event.startswith(prefix):
            return asset
    return None
