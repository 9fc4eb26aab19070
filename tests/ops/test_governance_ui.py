"""The Governance console in the real Airflow UI (headless Debian Chromium, Playwright).

An admin reaches "Governance" from Airflow's navigation, creates a retention policy and a legal hold
by names, reads the purge preview (names, dates in ``Mmgov.Timezone``, cutoffs, what is spared, the
answer-by time), approves the purge in Airflow's Required Action page, restores one channel, and
finds the compliance export history and the audit row; a non-admin is refused. Airflow is started
as ``make airflow`` does (``scripts/airflow_local.py``) on a copy of the demo workspace.
Screenshots: ``test-artifacts/governance-ui/``.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import psycopg
import pytest

from tests.support.airflow_ui import (
    APPROVAL_SETTLE_SECONDS,
    DAGS,
    demo_airflow,
    ensure_compliance_export,
    shot,
    wait_for_run,
)
from tests.support.local_airflow import PROJECT

ARTIFACTS = PROJECT / "test-artifacts" / "governance-ui"
TIMEZONE = "Europe/Berlin"
VIEWER, VIEWER_PASSWORD = "auditor", "auditor-" + secrets.token_urlsafe(8)

pytestmark = [pytest.mark.browser, pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(1500)]


def _shot(page, name: str) -> Path:
    return shot(page, ARTIFACTS, name)


@pytest.fixture(scope="module")
def gov_airflow(db_factory, demo_template, tmp_path_factory):
    """A running local Airflow with an admin and a viewer (``auditor``) on a copy of the demo workspace."""
    with demo_airflow(
        db_factory,
        demo_template,
        tmp_path_factory.mktemp("governance-ui"),
        name="gov",
        dags=["compliance_export", "retention_purge"],
        users={VIEWER: ("viewer", VIEWER_PASSWORD)},
        timezone=TIMEZONE,
        artifacts=ARTIFACTS,
    ) as running:
        yield running.local, running.mattermost_dsn


def _open(frame, name: str) -> None:
    """Click a console navigation link and wait for that page (its heading)."""
    frame.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()
    frame.get_by_role("heading", name=name, exact=True).wait_for()


def _sign_in(page, local, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{local.url}/auth/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


@pytest.fixture(scope="module")
def names(gov_airflow) -> dict[str, str]:
    """A team channel with posts old enough to purge, and a user with posts elsewhere (demo workspace)."""
    _local, dsn = gov_airflow
    with psycopg.connect(dsn) as conn:
        team, channel, display = conn.execute(
            "SELECT t.name, c.name, t.displayname || ' / ' || c.displayname FROM channels c"
            " JOIN teams t ON t.id = c.teamid JOIN posts p ON p.channelid = c.id"
            " WHERE c.type = 'O' AND p.deleteat = 0 AND p.createat < 1764547200000 AND NOT p.ispinned"
            " GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        user, email = conn.execute(
            "SELECT u.username, u.email FROM users u JOIN posts p ON p.userid = u.id"
            " WHERE u.deleteat = 0 GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    return {"channel": f"{team}/{channel}", "label": display, "user": user, "email": email}


def test_governance_console_end_to_end(browser_page, gov_airflow, names):
    if not (DAGS / "retention_purge.py").exists():
        pytest.skip("dags/retention_purge.py does not exist")
    local, _dsn = gov_airflow
    from playwright.sync_api import expect

    page = browser_page
    _sign_in(page, local, local.username, local.password)

    # Reached from Airflow's navigation: the console is shown in the UI's plugin frame.
    page.get_by_role("link", name="Governance").first.click()
    page.wait_for_url("**/plugin/governance**")
    frame = page.frame_locator("iframe")
    frame.get_by_role("heading", name="Retention policies").wait_for()
    _shot(page, "01-governance-in-airflow-nav")

    # A policy by names, with the seed's error code shown next to the field first.
    frame.get_by_role("link", name="New policy").click()
    frame.get_by_label("Name").fill("Console 30d")
    frame.get_by_label("Keep (days)").fill("0")
    frame.get_by_label("Channels").fill(names["channel"])
    frame.get_by_role("button", name="Create policy").click()
    error = frame.locator('[data-field="days"]')
    error.wait_for()
    assert error.inner_text().startswith("RETENTION_INVALID_DURATION: ")
    _shot(page, "02-policy-inline-error")
    frame.get_by_label("Keep (days)").fill("30")
    frame.get_by_role("button", name="Create policy").click()
    frame.get_by_text("Policy 'Console 30d' created.").wait_for()
    row = frame.get_by_role("row").filter(has_text="Console 30d")
    assert names["label"] in row.inner_text()
    _shot(page, "03-policy-created-by-name")

    # A legal hold on a user by e-mail: the list says what it covers.
    _open(frame, "Legal holds")
    frame.get_by_label("Name").fill("Case 42")
    frame.get_by_label("Holds").select_option("user")
    frame.get_by_label("Who / where").fill(names["email"])
    frame.get_by_label("Reason").fill("litigation")
    frame.get_by_role("button", name="Place hold").click()
    frame.get_by_text("Legal hold 'Case 42' placed.").wait_for()
    hold_row = frame.get_by_role("row").filter(has_text="Case 42").inner_text()
    assert f"@{names['user']}" in hold_row
    assert " posts in " in hold_row
    _shot(page, "04-legal-hold-by-email")

    # A purge: the preview a person decides on, then the approval in Airflow.
    ensure_compliance_export(local)
    local.api("PATCH", "/dags/retention_purge", {"is_paused": False})
    local.api("POST", "/dags/retention_purge/dagRuns", {"logical_date": None, "conf": {}})
    # Unpausing may also start the latest scheduled run first (max_active_runs=1): take whichever waits.
    deadline, waiting, states = time.monotonic() + 300, None, {}
    while time.monotonic() < deadline and waiting is None:
        tis = local.api("GET", "/dags/retention_purge/dagRuns/~/taskInstances?limit=100")["task_instances"]
        states = {(t["dag_run_id"], t["task_id"]): t["state"] for t in tis}
        waiting = next((t for t in tis if t["state"] == "awaiting_input"), None)
        if any(v in ("failed", "upstream_failed") for v in states.values()):
            break
        time.sleep(2)
    assert waiting is not None, states
    dag_run_id = waiting["dag_run_id"]
    waiting_since = time.monotonic()
    page.goto(f"{local.url}/plugin/governance")
    frame = page.frame_locator("iframe")
    _open(frame, "Purge runs")
    frame.get_by_role("row").filter(has_text=dag_run_id).get_by_role("link").first.click()
    frame.get_by_role("heading", name="Preview").wait_for()
    preview = frame.locator("main").inner_text()
    assert f"(times in {TIMEZONE})" in preview
    assert "Answer by " in preview
    assert "without an answer the run fails and deletes nothing" in preview
    assert "Policy \u201cConsole 30d\u201d (channel)\t30 days\tcreated before " in preview
    assert "Global file retention (FileRetentionDays)" in preview
    assert "messages under a legal hold" in preview
    assert "waiting for a person" in preview
    assert names["label"] in preview
    options = frame.get_by_label("What").inner_text()
    assert "Direct message: " in options or "Group message: " in options  # DMs/GMs by their members
    _shot(page, "05-purge-preview-readable")

    # Approve in Airflow's Required Action page (the console links to it).
    frame.get_by_role("link", name="answer in Airflow (Required Action)").click()
    page.wait_for_url("**/tasks/approval/required_actions")
    approve = page.get_by_role("button", name="Approve", exact=True)
    approve.wait_for()
    time.sleep(max(0.0, APPROVAL_SETTLE_SECONDS - (time.monotonic() - waiting_since)))
    _shot(page, "06-required-action-in-airflow")
    approve.click()
    page.get_by_text("Response received").wait_for()
    finished = wait_for_run(local, "retention_purge", dag_run_id)
    assert finished["state"] == "success", finished

    # Restore one channel from the run's page, with a confirmation and a clear outcome.
    page.goto(f"{local.url}/plugin/governance")
    frame = page.frame_locator("iframe")
    _open(frame, "Purge runs")
    run_row = frame.get_by_role("row").filter(has_text=dag_run_id)
    assert "approved by " in run_row.inner_text()
    run_row.get_by_role("link").first.click()
    frame.get_by_label("What").select_option(label=names["label"])
    frame.get_by_label("I confirm").check()
    frame.get_by_role("button", name="Restore").click()
    outcome = frame.locator("#restore-outcome")
    outcome.wait_for()
    assert outcome.inner_text().startswith("restored ")
    assert " in channel " in outcome.inner_text()
    assert frame.get_by_role("status").first.inner_text().startswith("Restore: restored ")  # also on top
    _shot(page, "07-restored-one-channel")

    # The compliance export history and the audit trail.
    _open(frame, "Compliance exports")
    export_row = frame.get_by_role("row").nth(1).inner_text()
    assert "csv" in export_row
    assert "\u2192" in export_row
    _shot(page, "08-compliance-export-history")
    _open(frame, "Audit trail")
    frame.get_by_label("Event").fill("retention.restored")
    frame.get_by_role("button", name="Filter").click()
    expect(frame.get_by_role("cell", name="retention.deletion_completed", exact=True)).to_have_count(0)
    events = frame.locator("main > table > tbody > tr > td:nth-child(2)").all_inner_texts()
    assert events == ["retention.restored"], events
    audit_row = frame.get_by_role("row").filter(has_text="retention.restored").first
    assert local.username in audit_row.inner_text().split()  # the bare Airflow user name (one actor name)
    assert "airflow:" not in audit_row.inner_text()
    assert "note: restored " in audit_row.inner_text()
    _shot(page, "09-audit-trail-filtered")

    # A non-admin is refused, in the UI and on the console's own URL.
    _sign_in(page, local, VIEWER, VIEWER_PASSWORD)
    page.goto(f"{local.url}/plugin/governance")
    refusal = page.frame_locator("iframe").get_by_text("The Governance console is for Airflow admins only.")
    refusal.wait_for()
    expect(page.frame_locator("iframe").get_by_role("navigation")).to_have_count(0)
    _shot(page, "10-non-admin-refused")
    response = page.goto(f"{local.url}/mmgov/console/policies")
    assert response.status == 403
