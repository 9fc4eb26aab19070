"""The Airflow assets mmgov's events are emitted on: one per URI of ``mmgov.events``, the same object each time."""

from __future__ import annotations

from airflow.sdk import Asset
from mmgov_airflow.assets import COMPLIANCE_EXPORT, GDPR_EXPORT, RETENTION, asset_for_event

from mmgov.events import COMPLIANCE_EXPORT_URI, GDPR_EXPORT_URI, RETENTION_URI


def test_each_asset_carries_its_events_uri():
    assert (
        Asset(COMPLIANCE_EXPORT_URI),
        Asset(RETENTION_URI),
        Asset(GDPR_EXPORT_URI),
    ) == (COMPLIANCE_EXPORT, RETENTION, GDPR_EXPORT)


def test_asset_for_event():
    assert asset_for_event("compliance_export.completed") is COMPLIANCE_EXPORT
    assert asset_for_event("legal_hold.released") is RETENTION
    assert asset_for_event("export.completed") is GDPR_EXPORT
    assert asset_for_event("custody.attested") is None
