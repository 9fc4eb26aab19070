"""Assets that carry mmgov's events, so other DAGs can be scheduled on them.

The asset objects are built on first use (``from mmgov.events import RETENTION``): the audit trail
and the command line use only the URIs and so do not load Airflow.
"""

from __future__ import annotations

from typing import Any

COMPLIANCE_EXPORT_URI = "mmgov://compliance-export"
RETENTION_URI = "mmgov://retention"
GDPR_EXPORT_URI = "mmgov://gdpr-export"
_ASSET_URIS = {
    "COMPLIANCE_EXPORT": COMPLIANCE_EXPORT_URI,
    "RETENTION": RETENTION_URI,
    "GDPR_EXPORT": GDPR_EXPORT_URI,
}

# Event name prefix -> asset URI. The GDPR export's events are the seed's ``export.*``;
# the compliance export's are ``compliance_export.*``.
_BY_PREFIX = {
    "compliance_export.": COMPLIANCE_EXPORT_URI,
    "retention.": RETENTION_URI,
    "legal_hold.": RETENTION_URI,
    "export.": GDPR_EXPORT_URI,
}
_assets: dict[str, Any] = {}


def asset(uri: str) -> Any:
    """The ``airflow.sdk.Asset`` of ``uri`` (one object per URI)."""
    if uri not in _assets:
        from airflow.sdk import Asset

        _assets[uri] = Asset(uri)
    return _assets[uri]


def uri_for_event(event: str) -> str | None:
    """The URI of the asset an event is emitted on, or ``None`` (no Airflow import)."""
    return next((uri for prefix, uri in _BY_PREFIX.items() if event.startswith(prefix)), None)


def asset_for_event(event: str) -> Any | None:
    """The asset an event is emitted on, or ``None``."""
    uri = uri_for_event(event)
    return None if uri is None else asset(uri)


def __getattr__(name: str) -> Any:
    if name in _ASSET_URIS:
        return asset(_ASSET_URIS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
