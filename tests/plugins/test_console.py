"""The Governance console's pages on a real ``airflow api-server``, signed in with Airflow's session cookie."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from html import unescape
from urllib.parse import urlencode

import pytest

import mmgov.retention  # noqa: F401 - registers retention.sql
from mmgov import audit
from mmgov.ids import new_id
from tests.retention.builders import deleted_posts, settings
from tests.support.airflow_api import ApiServer

pytestmark = pytest.mark.airflow
SETTINGS = {
    "DataRetentionSettings": {
        "EnableMessageDeletion": True,
        "MessageRetentionDays": 100,
        "TimeBetweenBatchesMilliseconds": 0,
    },
    "Mmgov": {"RetentionApproval": "never", "Timezone": "Europe/Berlin"},
}
PAGE_SECONDS = 1.0


class Browser:
    """GET/POST pages with Airflow's session cookie (``_token``), as the UI's iframe does."""

    def __init__(self, api: ApiServer, user: str | None):
        self.api, self.user = api, user

    def request(self, method: str, path: str, form: dict | None = None, *, origin: str | None = "self"):
        headers = {}
        if self.user is not None:
            headers["Cookie"] = f"_token={self.api.token(self.user)}"
        data = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if origin is not None:
            headers["Origin"] = self.api.base_url if origin == "self" else origin
        req = urllib.request.Request(self.api.base_url + path, data=data, method=method, headers=headers)  # noqa: S310
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback
                status, body = resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read().decode()
        return status, body, time.monotonic() - started

    def get(self, path: str) -> tuple[int, str]:
        status, body, seconds = self.request("GET", path)
        assert seconds < PAGE_SECONDS, f"{path} took {seconds:.2f}s"
        return status, body

    def post(self, path: str, form: dict, **kw) -> tuple[int, str]:
        status, body, _ = self.request("POST", path, form, **kw)
        return status, body


def text(html: str) -> str:
    """The page's visible text, whitespace collapsed."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def field_error(html: str, field: str) -> str:
    found = re.search(rf'data-field="{field}">(.*?)</span>', html, flags=re.S)
    return unescape(found.group(1)) if found else ""


@pytest.fixture
def admin(api) -> Browser:
    return Browser(api, "admin")


class TestRefusals:
    @pytest.mark.parametrize("user", ["viewer", "op"])
    def test_non_admin_gets_a_refusal_page(self, api, user):
        status, body = Browser(api, user).get("/mmgov/console/policies")
        assert status == 403
        assert "The Governance console is for Airflow admins only." in text(body)
        assert f"Airflow user '{user}' is not an admin" in text(body)

    def test_not_signed_in_gets_a_sign_in_link(self, api):
        status, body = Browser(api, None).get("/mmgov/console/holds")
        assert status == 401
        assert "Sign in to Airflow first." in text(body)
        assert 'href="/auth/login?next=' in body

    def test_a_form_from_another_site_is_refused(self, admin, db):
        status, body = admin.post(
            "/mmgov/console/policies/new", {"name": "evil", "days": "1"}, origin="http://evil.example"
        )
        assert status == 403
        assert "posted from http://evil.example" in text(body)
        assert (
            db.execute("SELECT count(*) FROM retentionpolicies WHERE displayname = 'evil'").fetchone()[0] == 0
        )


class TestPoliciesAndHolds:
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

    def test_hold_by_username_with_dates_and_coverage_then_release(self, admin, ws):
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


class TestRunsExportsAudit:
    def test_run_preview_and_restore_one_channel(self, admin, db, ws):
        from mmgov.retention.preview import preview_purge
        from mmgov.retention.purge import soft_delete

        suffix = new_id()[:6]
        team = ws.team(f"r{suffix}")
        keep, gone = ws.channel(team, name="keep"), ws.channel(team, name="gone")
        ws.now = int(time.time() * 1000)
        posts = {ws.post(keep, 200), ws.post(gone, 200)}
        s = settings(**SETTINGS)
        run = preview_purge(db, s, dag_run_id=f"manual__{suffix}")
        soft_delete(db, s, run["run_id"])
        assert posts <= deleted_posts(db)
        status, body = admin.get("/mmgov/console/runs")
        assert run["run_id"] in body
        status, body = admin.get(f"/mmgov/console/runs/{run['run_id']}")
        page = text(body)
        assert status == 200
        assert f"r{suffix} / keep" in page
        assert "(times in Europe/Berlin)" in page
        assert "Global message retention (DataRetentionSettings) 100 days created before" in page
        status, body = admin.post(f"/mmgov/console/runs/{run['run_id']}/restore", {"channel": keep})
        assert status == 400
        assert field_error(body, "confirm") == "Tick \u201cI confirm\u201d to restore."
        status, body = admin.post(
            f"/mmgov/console/runs/{run['run_id']}/restore", {"channel": keep, "confirm": "yes"}
        )
        assert status == 200
        assert f"Restore: restored 1 messages and 0 files in channel r{suffix} / keep" in text(body)
        status, body = admin.post(
            f"/mmgov/console/runs/{run['run_id']}/restore", {"channel": keep, "confirm": "yes"}
        )
        assert "nothing left to restore" in text(body)

    def test_compliance_export_history_and_gdpr_jobs(self, admin, db):
        run_id = f"scheduled__{new_id()[:6]}"
        audit.record(
            db,
            "compliance_export.completed",
            {
                "run_id": run_id,
                "format": "actiance",
                "messages": 1234,
                "files": 5,
                "warnings": 1,
                "warning_lines": ["post x: file missing"],
                "location": "/exports/compliance-export-1",
                "window_start_ms": 1_767_225_600_000,
                "window_end_ms": 1_767_312_000_000,
                "custody": {
                    "location": "/nowhere/manifest.json",
                    "sha256": "ab",
                    "signed": False,
                    "key_id": None,
                },
            },
        )
        db.execute(
            "INSERT INTO mmgov.gdpr_export_jobs (job_id, status, actor, progress, output_path)"
            " VALUES (%s, 'completed', 'airflow:admin', '{\"users\": 3, \"posts\": 40}', '/x.zip')",
            (f"job-{run_id}",),
        )
        audit.record(db, "export.completed", {"job_id": f"job-{run_id}", "file_size_bytes": 2048})
        status, body = admin.get("/mmgov/console/exports")
        page = text(body)
        assert status == 200
        assert (
            f"{run_id} 2026-01-01 01:00 CET \u2192 2026-01-02 01:00 CET actiance 1,234 5 1; post x: file missing"
            in page
        )
        assert "written, unsigned" in page
        audit_id = re.search(r"exports/(\d+)/verify", body).group(1)
        status, body = admin.post(f"/mmgov/console/exports/{audit_id}/verify", {})
        assert "verification FAILED" in text(body)
        status, body = admin.get("/mmgov/console/gdpr")
        assert f"job-{run_id} completed airflow:admin" in text(body)
        assert "posts: 40" in text(body)
        assert "2,048 bytes" in text(body)

    def test_audit_filter_and_before_after(self, admin, db):
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
        status, body = admin.get(
            f"/mmgov/console/audit?{urlencode({'event': 'retention.', 'actor': who[8:]})}"
        )
        page = text(body)
        assert status == 200
        assert f"retention.policy_updated {who} field before after display_name Old New" in page
        assert "legal_hold.created" not in page
        status, body = admin.get("/mmgov/console/audit?since=2026-13-01")
        assert status == 400


def test_api_docs_are_served_without_a_cdn(api):
    status, body, _ = Browser(api, None).request("GET", "/mmgov/docs")
    assert status == 200
    assert "cdn" not in body.lower()
    assert not re.search(r"(src|href)=['\"]https?://", body)
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/mmgov/docs/static/{asset}" in body
        status, content, _ = Browser(api, None).request("GET", f"/mmgov/docs/static/{asset}")
        assert status == 200
        assert len(content) > 10_000
    status, spec, _ = Browser(api, None).request("GET", "/mmgov/openapi.json")
    assert status == 200
    assert "/api/v4/data_retention/search/{kind}" in spec
