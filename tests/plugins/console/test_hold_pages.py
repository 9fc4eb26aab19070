"""The console's legal hold pages: place a hold by name with dates, see its coverage, release it."""

from __future__ import annotations

import re
import time

import pytest

from mmgov.ids import new_id
from tests.plugins.browser import field_error, text

pytestmark = pytest.mark.airflow


def test_hold_by_username_with_dates_and_coverage_then_release(admin, ws):
    suffix = new_id()[:6]
    user = ws.user(f"dana{suffix}")
    chan = ws.channel(ws.team())
    ws.now = int(time.time() * 1000)
    for age in (1, 2, 400):
        ws.post(chan, age, user_id=user)
    status, body = admin.post(
        "/mmgov/console/holds",
        {
            "name": f"Case {suffix}",
            "scope": "user",
            "target": f"Dana{suffix}@example.com",
            "start": "",
            "end": "",
        },
    )
    assert status == 200, text(body)
    page = text(body)
    assert f"Legal hold 'Case {suffix}' placed." in page
    assert f"Case {suffix} user @dana{suffix} the beginning no end 3 posts in 1 channels" in page
    status, body = admin.post(
        "/mmgov/console/holds",
        {
            "name": "bad",
            "scope": "user",
            "target": "nobody-at-all",
            "start": "2025-01-02",
            "end": "2025-01-01",
        },
    )
    assert status == 400
    assert field_error(body, "target").startswith("LEGAL_HOLD_INVALID: no such user: 'nobody-at-all'")
    status, body = admin.post(
        "/mmgov/console/holds",
        {
            "name": "bad",
            "scope": "user",
            "target": f"dana{suffix}",
            "start": "2025-01-02",
            "end": "2025-01-01",
        },
    )
    assert field_error(body, "dates").startswith("LEGAL_HOLD_INVALID: start_ms")
    hold_id = re.search(r'holds/(\w+)/release">release', body).group(1)
    status, body = admin.get(f"/mmgov/console/holds/{hold_id}/release")
    assert f"Release the legal hold \u201cCase {suffix}\u201d on the user?" in text(body)
    assert admin.post(f"/mmgov/console/holds/{hold_id}/release", {})[0] == 400  # not confirmed
    status, body = admin.post(f"/mmgov/console/holds/{hold_id}/release", {"confirm": "yes"})
    assert f"Legal hold 'Case {suffix}' released." in text(body)
