"""The console's audit trail page: filters by event and actor, a change's before and after."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from mmgov import audit
from mmgov.ids import new_id
from tests.plugins.browser import text

pytestmark = pytest.mark.airflow


def test_audit_filter_and_before_after(admin, db):
    who = f"airflow:auditor{new_id()[:6]}"
    audit.record(
        db,
        "retention.policy_updated",
        {
            "policy_id": "p",
            "changed_fields": ["display_name"],
            "before": {"display_name": "Old"},
            "after": {"display_name": "New"},
        },
        who,
    )
    audit.record(db, "legal_hold.created", {"hold_id": "h"}, who)
    status, body = admin.get(f"/mmgov/console/audit?{urlencode({'event': 'retention.', 'actor': who[8:]})}")
    page = text(body)
    assert status == 200
    assert f"retention.policy_updated {who} field before after display_name Old New" in page
    assert "legal_hold.created" not in page
    status, body = admin.get("/mmgov/console/audit?since=2026-13-01")
    assert status == 400
