"""Which asset URI each of mmgov's events is emitted on (the DAGs' outlets: mmgov_airflow.assets)."""

from __future__ import annotations

import pytest

from mmgov.events import COMPLIANCE_EXPORT_URI, GDPR_EXPORT_URI, RETENTION_URI, uri_for_event


@pytest.mark.parametrize(
    ("event", "uri"),
    [
        ("compliance_export.completed", COMPLIANCE_EXPORT_URI),
        ("retention.deletion_completed", RETENTION_URI),
        ("legal_hold.created", RETENTION_URI),
        ("export.completed", GDPR_EXPORT_URI),  # the GDPR export keeps the seed's event names
        ("custody.attested", None),
        ("exports.completed", None),  # a prefix match needs the dot
    ],
)
def test_uri_for_event(event, uri):
    assert uri_for_event(event) == uri
