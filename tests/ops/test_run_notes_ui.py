"""The run notes in the real Airflow UI (headless Chromium): an export's outcome and a rejected purge.

``airflow standalone`` (as ``make airflow`` starts it) on a copy of the demo workspace; runs are
triggered and answered through the REST API, then each run's page is opened and screenshotted with
its note. Screenshots: ``test-artifacts/run-notes/``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.airflow_ui import (
    APPROVAL_SETTLE_SECONDS,
    CHROMIUM,
    EXPORT_FROM,
    EXPORT_TO,
    demo_airflow,
    wait_for_run,
)

pytestmark = [pytest.mark.browser, pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(1500)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "run-notes"


@pytest.fixture(scope="module")
def notes_airflow(db_factory, demo_template, tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with demo_airflow(
        db_factory,
        demo_template,
        tmp_path_factory.mktemp("run-notes-ui"),
        name="notes",
        dags=["compliance_export", "retention_purge"],
    ) as running:
        yield running.local, running.store


def _sign_in(page, local) -> None:
    page.goto(f"{local.url}/")
    page.wait_for_url("**/auth/login**")
    page.get_by_label("Username").fill(local.username)
    page.get_by_label("Password").fill(local.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def _show_run(page, local, dag_id: str, run_id: str, note_start: str, shot: str) -> None:
    page.goto(f"{local.url}/dags/{dag_id}/runs/{quote(run_id, safe='')}")
    page.get_by_text(note_start, exact=False).first.wait_for(timeout=60_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)


def _trigger(local, dag_id: str, conf: dict) -> str:
    local.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
    return local.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})["dag_run_id"]


def test_export_note_and_rejected_purge_note_in_the_ui(browser_page, notes_airflow):
    local, store = notes_airflow
    page = browser_page
    _sign_in(page, local)

    export_run = _trigger(
        local,
        "compliance_export",
        {"export_from": EXPORT_FROM, "export_to": EXPORT_TO, "export_format": "csv"},
    )
    run = wait_for_run(local, "compliance_export", export_run)
    assert run["state"] == "success", run
    assert re.match(r"^[1-9][\d,]* messages, [\d,]+ files -> ", run["note"]), run["note"]
    assert f"-> {store / 'export'}/compliance-export-" in run["note"]
    assert "**unsigned** (no `mmgov_signing` connection)" in run["note"]
    _show_run(page, local, "compliance_export", export_run, run["note"][:40], "01-compliance-export-note")

    # Unpausing may also start the latest scheduled run, which asks first (max_active_runs=1): reject
    # whichever run asks.
    _trigger(local, "retention_purge", {"dry_run": False})
    deadline = time.monotonic() + 900
    waiting = None
    while waiting is None:
        assert time.monotonic() < deadline, "no retention_purge run asked for approval"
        tis = local.api("GET", "/dags/retention_purge/dagRuns/~/taskInstances?limit=100")["task_instances"]
        waiting = next((t for t in tis if t["state"] == "awaiting_input"), None)
        time.sleep(3)
    purge_run = waiting["dag_run_id"]
    time.sleep(APPROVAL_SETTLE_SECONDS)  # answering at once races the deferral under load (see the UI test)
    path = f"/dags/retention_purge/dagRuns/{quote(purge_run, safe='')}/taskInstances/approval/-1/hitlDetails"
    local.api("PATCH", path, {"chosen_options": ["Reject"], "params_input": {}})
    run = wait_for_run(local, "retention_purge", purge_run)
    assert run["state"] == "success", run
    assert run["note"].startswith(f"REJECTED by {local.username}: nothing deleted. (planned: "), run["note"]
    tis = local.api("GET", f"/dags/retention_purge/dagRuns/{quote(purge_run, safe='')}/taskInstances")
    states = {t["task_id"]: t["state"] for t in tis["task_instances"]}
    assert (states["soft_delete"], states["report"]) == ("skipped", "skipped")
    _show_run(page, local, "retention_purge", purge_run, "REJECTED by", "02-retention-purge-rejected-note")
