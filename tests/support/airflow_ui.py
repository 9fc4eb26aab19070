"""A local Airflow on a copy of the demo workspace, and the REST helpers, for the UI tests in headless Chromium.

Airflow is started by the same code as ``make airflow`` (``scripts/airflow_local.py``: ``airflow
standalone``, LocalExecutor, SimpleAuthManager login) on free ports, in a temp AIRFLOW_HOME, with its
metadata in a database of the test PostgreSQL server and a copy of the demo workspace as the
Mattermost database. Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.support.local_airflow import PROJECT, airflow_local, running_airflow

DAGS = PROJECT / "dags"
CHROMIUM = Path(os.environ.get("MMGOV_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A week inside the demo workspace (60 days up to 2026-01-01, tests/conftest.py).
EXPORT_FROM = "2025-12-01T00:00:00Z"
EXPORT_TO = "2025-12-08T00:00:00Z"
# Answering a Required Action at once races its deferral under load: wait this long after it asks.
APPROVAL_SETTLE_SECONDS = 15.0


@dataclass(frozen=True)
class DemoAirflow:
    local: Any  # airflow_local.LocalAirflow
    store: Path  # the local file store (a copy of the demo workspace's)
    mattermost_dsn: str


@contextmanager
def demo_airflow(
    db_factory,
    demo_template,
    root: Path,
    *,
    name: str,
    dags: list[str],
    users: dict[str, tuple[str, str]] | None = None,
    timezone: str | None = None,
    artifacts: Path | None = None,
) -> Iterator[DemoAirflow]:
    """A running local Airflow (:func:`running_airflow`) on a copy of the demo workspace and its files."""
    template, files, _summary = demo_template
    store = root / "filestore"
    shutil.copytree(files, store)
    mattermost = db_factory.create(f"{name}mm", template=template)
    settings = airflow_local().local_settings(store, approval="always")
    if timezone is not None:
        settings["Mmgov"]["Timezone"] = timezone
    with running_airflow(
        db_factory,
        root,
        name=name,
        mattermost_dsn=mattermost,
        settings=settings,
        dags=dags,
        users=users,
        artifacts=artifacts,
    ) as local:
        yield DemoAirflow(local, store, mattermost)


def shot(page, artifacts: Path, name: str) -> Path:
    """A full-page screenshot ``<artifacts>/<name>.png``."""
    artifacts.mkdir(parents=True, exist_ok=True)
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_run(local, dag_id: str, run_id: str, *, timeout: float = 600) -> dict:
    """Poll the REST API until the run ends; return it (with its task states on failure)."""
    deadline = time.monotonic() + timeout
    token = local.token()
    path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
    run: dict = {}
    while time.monotonic() < deadline:
        run = local.api("GET", path, token=token)
        if run["state"] in ("success", "failed"):
            break
        time.sleep(3)
    if run.get("state") != "success":
        tis = local.api("GET", f"{path}/taskInstances", token=token)["task_instances"]
        run["tasks"] = {t["task_id"]: t["state"] for t in tis}
    return run


def ensure_compliance_export(local) -> None:
    """Retention deletes only what an export captured: make sure one export has completed."""
    runs = local.api("GET", "/dags/compliance_export/dagRuns?state=success&limit=1")["dag_runs"]
    if runs:
        return
    local.api("PATCH", "/dags/compliance_export", {"is_paused": False})
    run = local.api(
        "POST",
        "/dags/compliance_export/dagRuns",
        {"logical_date": None, "conf": {"export_from": EXPORT_FROM, "export_to": EXPORT_TO}},
    )
    assert wait_for_run(local, "compliance_export", run["dag_run_id"])["state"] == "success"
