"""The console's retention policy pages (list, create, edit, delete) and a channel's effective policy."""

from __future__ import annotations

import pytest

from mmgov.ids import new_id
from tests.plugins.browser import field_error, text

pytestmark = pytest.mark.airflow


class TestPolicyPages:
    def test_create_edit_delete_policy_by_names(self, admin, ws, db):
        suffix = new_id()[:6]
        team = ws.team(f"ops{suffix}")
        chan = ws.channel(team, name="alerts")
        status, body = admin.post(
            "/mmgov/console/policies/new",
            {"name": f"Ops {suffix}", "days": "45", "teams": "", "channels": f"ops{suffix}/alerts"},
        )
        assert status == 200, text(body)  # redirected to the list
        assert f"Policy 'Ops {suffix}' created." in text(body)
        assert f"Ops {suffix} 45 days - ops{suffix} / alerts next purge after" in text(body)
        pid = db.execute(
            "SELECT policyid FROM retentionpolicieschannels WHERE channelid = %s", (chan,)
        ).fetchone()[0]
        status, body = admin.get(f"/mmgov/console/policies/{pid}/edit")
        assert f'value="ops{suffix}/alerts"' in body
        status, body = admin.post(
            f"/mmgov/console/policies/{pid}/edit",
            {"name": f"Ops {suffix}", "forever": "yes", "teams": f"ops{suffix}", "channels": ""},
        )
        assert status == 200
        assert f"Ops {suffix} forever ops{suffix} -" in text(body)
        status, body = admin.get(f"/mmgov/console/policies/{pid}/delete")
        assert f"Delete the retention policy \u201cOps {suffix}\u201d (forever)?" in text(body)
        assert admin.post(f"/mmgov/console/policies/{pid}/delete", {})[0] == 400  # not confirmed
        status, body = admin.post(f"/mmgov/console/policies/{pid}/delete", {"confirm": "yes"})
        assert f"Policy 'Ops {suffix}' deleted." in text(body)

    @pytest.mark.parametrize(
        ("form", "field", "code"),
        [
            ({"name": "x", "days": "0"}, "days", "RETENTION_INVALID_DURATION"),
            ({"name": "x", "days": "ten"}, "days", "RETENTION_INVALID_DURATION"),
            ({"name": "", "days": "3"}, "name", "RETENTION_INVALID_POLICY"),
            ({"name": "x", "days": "3", "teams": "no-such-team"}, "teams", "RETENTION_INVALID_TEAM"),
            ({"name": "x", "days": "3", "channels": "nope/nothing"}, "channels", "RETENTION_INVALID_CHANNEL"),
        ],
        ids=["zero-days", "not-a-number", "no-name", "unknown-team", "unknown-channel"],
    )
    def test_errors_inline_next_to_the_field(self, admin, form, field, code):
        status, body = admin.post("/mmgov/console/policies/new", {"teams": "", "channels": "", **form})
        assert status == 400
        assert field_error(body, field).startswith(f"{code}: ")

    def test_scope_conflict_is_shown_at_channels(self, admin, ws):
        suffix = new_id()[:6]
        team = ws.team(f"c{suffix}")
        ws.channel(team, name="one")
        form = {"days": "3", "teams": "", "channels": f"c{suffix}/one"}
        assert admin.post("/mmgov/console/policies/new", {"name": "first", **form})[0] == 200
        status, body = admin.post("/mmgov/console/policies/new", {"name": "second", **form})
        assert status == 400
        assert field_error(body, "channels").startswith("RETENTION_SCOPE_CONFLICT: ")

    def test_effective_policy_says_which_rule(self, admin, ws):
        suffix = new_id()[:6]
        team = ws.team(f"e{suffix}")
        ws.channel(team, name="general")
        status, body = admin.get(f"/mmgov/console/effective?channel=e{suffix}/general")
        assert status == 200
        assert "Decided by the global setting (DataRetentionSettings)" in text(body)
        assert "Keeps messages 100 days" in text(body)
        status, body = admin.get("/mmgov/console/effective?channel=nope/none")
        assert status == 400
        assert field_error(body, "channel").startswith("RETENTION_INVALID_CHANNEL: no such channel")
