"""The real Airflow UI in headless Chromium: log in, trigger compliance_export from its form, approve a purge.

Users of three SimpleAuthManager roles: the admin approves; a viewer and an op user are refused the
approval (mmgov's approval guard), and an op user's gdpr_export run fails with EXPORT_PERMISSION_DENIED.

Airflow runs as ``make airflow`` starts it, on a copy of the demo workspace
(``tests/support/airflow_ui.py``). Screenshots land in ``test-artifacts/airflow-ui/`` with the Airflow log.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest

from tests.support.airflow_ui import (
    APPROVAL_SETTLE_SECONDS,
    DAGS,
    EXPORT_FROM,
    EXPORT_TO,
    demo_airflow,
    ensure_compliance_export,
    shot,
    wait_for_run,
)
from tests.support.local_airflow import PROJECT

ARTIFACTS = PROJECT / "test-artifacts" / "airflow-ui"
EXPORT_FORMAT = "actiance"  # not the settings' default (csv): proves the form's value was used

pytestmark = [pytest.mark.browser, pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(1200)]

# Non-admin users besides LocalAirflow's admin (SimpleAuthManager role = the name).
OTHER_USERS = {"viewer": secrets.token_urlsafe(12), "op": secrets.token_urlsafe(12)}


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _shot(page, name: str) -> Path:
    return shot(page, ARTIFACTS, name)


@pytest.fixture(scope="module")
def ui_airflow(db_factory, demo_template, tmp_path_factory):
    """A running local Airflow (as ``make airflow`` starts it) on a copy of the demo workspace."""
    if not (DAGS / "compliance_export.py").exists():
        pytest.skip("dags/compliance_export.py does not exist yet")
    with demo_airflow(
        db_factory,
        demo_template,
        tmp_path_factory.mktemp("airflow-ui"),
        name="ui",
        dags=sorted(p.stem for p in DAGS.glob("*.py") if not p.name.startswith("_")),
        users={user: (user, password) for user, password in OTHER_USERS.items()},
        artifacts=ARTIFACTS,
    ) as running:
        yield running.local, running.store


def sign_in(page, local, username: str, password: str) -> None:
    """Sign in through SimpleAuthManager's login form (signing out whoever was signed in)."""
    page.context.clear_cookies()
    page.goto(f"{local.url}/")
    page.wait_for_url("**/auth/login**")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
    page.get_by_role("link", name="Dags").first.wait_for()


@pytest.fixture(scope="module")
def logged_in(browser_page, ui_airflow):
    """The browser, signed in as the admin."""
    local, _store = ui_airflow
    sign_in(browser_page, local, local.username, local.password)
    return browser_page


def audit_rows(local, event: str) -> list[dict]:
    """mmgov's audit rows of ``event`` in the Mattermost database of this Airflow."""
    import psycopg

    from mmgov import audit

    with psycopg.connect(local.mattermost_dsn) as conn:
        return audit.history(conn, event_prefix=event)


def fill_param(dialog, page, name: str, value: str) -> None:
    """Fill the trigger form's field for Param ``name`` (select, text area or input)."""
    field = dialog.locator(f"#element_{name}")
    tag, kind = field.evaluate("e => [e.tagName.toLowerCase(), (e.getAttribute('type') || '').toLowerCase()]")
    if tag == "div":  # an enum: react-select
        field.get_by_role("combobox").click()
        page.get_by_role("option", name=value, exact=True).click()
        assert field.inner_text().strip().splitlines()[-1] == value  # the shown selection
    elif kind == "datetime-local":
        field.fill(datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M"))
    elif kind == "number":
        field.fill(str(_ms(value)))
    else:
        field.fill(value)


def xcom(local, dag_id: str, run_id: str, task_id: str) -> Any:
    """A task's return value, through the REST API."""
    path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/return_value"
    value = local.api("GET", path)["value"]
    return json.loads(value) if isinstance(value, str) else value


def test_trigger_compliance_export_from_the_form(logged_in, ui_airflow):
    local, store = ui_airflow
    page = logged_in
    page.goto(f"{local.url}/dags/compliance_export")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    assert dialog.get_by_text("Single Run", exact=True).is_visible()
    unpause = dialog.get_by_label("Unpause compliance_export on trigger")
    if unpause.count():
        assert unpause.is_checked(), "a paused DAG's run would never start"
    fill_param(dialog, page, "export_format", EXPORT_FORMAT)
    fill_param(dialog, page, "export_from", EXPORT_FROM)
    fill_param(dialog, page, "export_to", EXPORT_TO)
    _shot(page, "01-trigger-form")
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    page.wait_for_url("**/dags/compliance_export/runs/**")
    run_id = unquote(page.url.split("/runs/", 1)[1].split("/")[0].split("?")[0])
    assert run_id.startswith("manual__"), run_id

    run = wait_for_run(local, "compliance_export", run_id)
    assert run["state"] == "success", f"run {run_id}: {run}"
    assert run["conf"]["export_format"] == EXPORT_FORMAT
    assert {run["conf"]["export_from"], run["conf"]["export_to"]} == {EXPORT_FROM, EXPORT_TO}

    page.reload()
    page.get_by_text("Success").first.wait_for()
    _shot(page, "02-compliance-export-success")

    start_ms, end_ms = _ms(EXPORT_FROM), _ms(EXPORT_TO)
    folders = sorted((store / "export").glob(f"compliance-export-*-{start_ms}-{end_ms}"))
    assert folders, f"no export of [{start_ms}, {end_ms}) under {store / 'export'}"
    batches = sorted(folders[-1].glob("batch*.zip"))
    assert batches, f"no batch zip in {folders[-1]}"
    assert all(b.stat().st_size > 0 for b in batches)
    # The run's summary (the last task's XCom) describes that export.
    summary = xcom(local, "compliance_export", run_id, "deliver")
    assert summary["format"] == EXPORT_FORMAT
    assert summary["messages"] > 0
    assert folders[-1].name in summary["location"]
    assert sorted(summary["batches"]) == [b.name for b in batches]


def test_approve_a_retention_purge_in_the_ui(logged_in, ui_airflow):
    if not (DAGS / "retention_purge.py").exists():
        pytest.skip("dags/retention_purge.py does not exist yet (retention engineer)")
    local, _store = ui_airflow
    page = logged_in
    ensure_compliance_export(local)

    # Trigger from the form with dry_run off (the default). The form unpauses the DAG, so the
    # scheduler may also start the latest scheduled run, which asks first (max_active_runs=1):
    # approve whichever run waits.
    page.goto(f"{local.url}/dags/retention_purge")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    page.wait_for_url("**/dags/retention_purge/runs/**")

    deadline = time.monotonic() + 300
    waiting: dict | None = None
    states: dict = {}
    while time.monotonic() < deadline and waiting is None:
        tis = local.api("GET", "/dags/retention_purge/dagRuns/~/taskInstances?limit=100")["task_instances"]
        states = {(t["dag_run_id"], t["task_id"]): t["state"] for t in tis}
        waiting = next((t for t in tis if t["state"] == "awaiting_input"), None)
        if any(s in ("failed", "upstream_failed") for s in states.values()):
            break
        time.sleep(2)
    if waiting is None:
        previews = {}
        for run_id in {r for r, _ in states}:
            if states.get((run_id, "preview")) == "success":
                p = xcom(local, "retention_purge", run_id, "preview")
                previews[run_id] = {
                    k: p.get(k) for k in ("messages_to_delete", "files_to_delete", "spared", "approval")
                }
        pytest.fail(f"no retention_purge run waited for approval: {states}; previews: {previews}")
    run_id, waiting = waiting["dag_run_id"], waiting["task_id"]
    waiting_since = time.monotonic()
    run_path = f"/dags/retention_purge/dagRuns/{quote(run_id, safe='')}"

    task_url = f"{local.url}/dags/retention_purge/runs/{quote(run_id, safe='')}/tasks/{waiting}"

    # A viewer and an op user see the request (Airflow 3.3's UI offers the buttons to everyone who can
    # read the task) but are refused: mmgov's approval guard answers 403 (the UI's "Access Denied") and
    # audits the attempt; the task keeps waiting.
    for n, user in enumerate(OTHER_USERS):
        sign_in(page, local, user, OTHER_USERS[user])
        page.goto(task_url)
        page.get_by_role("link", name="Required Action").click()
        page.get_by_text(f"Who may answer: {local.username}").first.wait_for()
        page.get_by_role("button", name="Approve", exact=True).click()
        page.get_by_text("Access Denied").first.wait_for()
        deadline = time.monotonic() + 30
        while not any(r["actor"] == user for r in audit_rows(local, "retention.approval_refused")):
            assert time.monotonic() < deadline, f"no refusal audited for {user}"
            time.sleep(0.5)
        assert page.get_by_text("Response received").count() == 0
        _shot(page, f"03{'ab'[n]}-retention-approval-refused-{user}")
    hitl = local.api("GET", f"{run_path}/taskInstances/{waiting}/-1/hitlDetails")
    assert hitl["response_received"] is False
    assert hitl["assigned_users"] == [{"id": local.username, "name": local.username}]
    refused = audit_rows(local, "retention.approval_refused")
    assert sorted(r["actor"] for r in refused) == sorted(OTHER_USERS)

    sign_in(page, local, local.username, local.password)
    page.goto(task_url)
    page.get_by_role("link", name="Required Action").click()
    approve = page.get_by_role("button", name="Approve", exact=True)
    approve.wait_for()
    page.get_by_text("Retention purge: approve deleting").first.wait_for()
    _shot(page, "03-retention-approval-required")
    # Answer as a person would, not within seconds: Airflow 3.3's scheduler fails a HITL task when the
    # answer re-queues it before the executor's event for the deferral is processed ("finished with
    # state success, but the task instance's state attribute is queued"), a race seen under CI load.
    time.sleep(max(0.0, APPROVAL_SETTLE_SECONDS - (time.monotonic() - waiting_since)))
    approve.click()
    page.get_by_text("Response received").wait_for()
    _shot(page, "04-retention-approved")

    run = wait_for_run(local, "retention_purge", run_id)
    assert run["state"] == "success", f"run {run_id}: {run}"
    tis = local.api("GET", f"{run_path}/taskInstances")["task_instances"]
    states = {t["task_id"]: t["state"] for t in tis}
    assert states[waiting] == "success"
    assert states.get("soft_delete") == "success", states
    hitl = xcom(local, "retention_purge", run_id, waiting)
    assert hitl["chosen_options"] == ["Approve"]
    assert local.username in json.dumps(hitl["responded_by_user"])
    page.goto(f"{local.url}/dags/retention_purge/runs/{quote(run_id, safe='')}")
    page.get_by_text("Success").first.wait_for()
    _shot(page, "05-retention-purge-success")


def test_an_op_user_cannot_export(browser_page, ui_airflow):
    """gdpr_export triggered from the form by an op user: the run fails at start, writes nothing, is audited."""
    local, store = ui_airflow
    page = browser_page
    out = store.parent / "gdpr-by-op"
    sign_in(page, local, "op", OTHER_USERS["op"])
    page.goto(f"{local.url}/dags/gdpr_export")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    fill_param(dialog, page, "output_path", str(out))
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    page.wait_for_url("**/dags/gdpr_export/runs/**")
    run_id = unquote(page.url.split("/runs/")[1].split("/")[0])

    run = wait_for_run(local, "gdpr_export", run_id)
    assert run["state"] == "failed", run
    assert run["triggering_user_name"] == "op"
    assert run["tasks"]["start"] == "failed"
    assert run["tasks"]["write"] in ("upstream_failed", None), run["tasks"]
    tries = local.api("GET", f"/dags/gdpr_export/dagRuns/{quote(run_id, safe='')}/taskInstances/start")
    assert tries["try_number"] == 1  # no retry
    page.goto(f"{local.url}/dags/gdpr_export/runs/{quote(run_id, safe='')}/tasks/start")
    page.get_by_text("EXPORT_PERMISSION_DENIED").first.wait_for(timeout=60_000)
    _shot(page, "06-gdpr-export-refused-for-op")
    denied = [r for r in audit_rows(local, "export.permission_denied") if r["payload"]["job_id"] == run_id]
    assert [r["actor"] for r in denied] == ["op"]
    assert not out.exists()  # nothing written, not even the folder
