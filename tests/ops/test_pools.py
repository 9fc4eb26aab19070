"""Pools that work, on a real scheduler: two GDPR export runs share a one-slot ``Mmgov.DatabasePool``.

``airflow standalone`` (LocalExecutor, as ``make airflow`` starts it) on a copy of the demo workspace.
The two runs are triggered together and could run side by side (``max_active_runs=2``, 32 executor
slots); with the pool at one slot no two of their database tasks ever overlap. The run notes written
by the scheduler's listener are checked on the way.
"""

from __future__ import annotations

import itertools
import secrets
import shutil
import time
from datetime import datetime
from urllib.parse import quote

import pytest

from tests.support.local_airflow import airflow_local

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.timeout(1200)]
POOL = "mattermost_db"


@pytest.fixture
def scheduler_airflow(db_factory, demo_template, tmp_path):
    al = airflow_local()
    name, files, _summary = demo_template
    store = tmp_path / "filestore"
    shutil.copytree(files, store)
    settings = al.local_settings(store, approval="never")
    settings["Mmgov"].update({"DatabasePool": POOL, "SmtpPool": "globalrelay_smtp"})
    local = al.LocalAirflow(
        home=tmp_path / "home",
        metadata_url=al.sqlalchemy_url(db_factory.create("poolsairflow")),
        mattermost_dsn=db_factory.create("poolsmm", template=name),
        settings=settings,
        port=al.free_port(),
        worker_log_port=al.free_port(),
        trigger_log_port=al.free_port(),
        password=secrets.token_urlsafe(12),
    )
    local.write_passwords(keep_existing=False)
    local.migrate()
    local.load_settings()  # declares the pools of airflow_settings.yaml (mattermost_db: 4 slots)
    local.airflow("pools", "set", POOL, "1", "one slot for this test")
    proc = local.start(log_file=tmp_path / "standalone.log")
    try:
        local.wait_ready(proc)
        local.wait_for_dags(["gdpr_export"])
        yield local, tmp_path
    finally:
        al.stop_process_group(proc.pid)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_two_runs_never_overlap_in_a_one_slot_pool(scheduler_airflow):
    local, root = scheduler_airflow
    token = local.token()
    local.api("PATCH", "/dags/gdpr_export", {"is_paused": False}, token=token)
    run_ids = []
    for n in (1, 2):
        body = {"logical_date": None, "conf": {"output_path": str(root / f"out{n}"), "create_archive": False}}
        run_ids.append(local.api("POST", "/dags/gdpr_export/dagRuns", body, token=token)["dag_run_id"])
    deadline = time.monotonic() + 900
    runs = {}
    while time.monotonic() < deadline:
        runs = {
            r: local.api("GET", f"/dags/gdpr_export/dagRuns/{quote(r, safe='')}", token=token)
            for r in run_ids
        }
        if all(run["state"] in ("success", "failed") for run in runs.values()):
            break
        time.sleep(3)
    assert [run["state"] for run in runs.values()] == ["success", "success"], runs
    tis = []
    for run_id in run_ids:
        tis += local.api(
            "GET", f"/dags/gdpr_export/dagRuns/{quote(run_id, safe='')}/taskInstances", token=token
        )["task_instances"]
    assert {ti["task_id"]: ti["pool"] for ti in tis} == {"start": POOL, "write": POOL, "finish": POOL}
    spans = sorted(
        (_when(ti["start_date"]), _when(ti["end_date"]), ti["dag_run_id"], ti["task_id"]) for ti in tis
    )
    for before, after in itertools.pairwise(spans):
        assert after[0] >= before[1], f"{after[2:]} started before {before[2:]} ended: the pool let both run"
    # The two runs interleave or follow each other, but the pool held one task at a time.
    assert len(spans) == 6
    for run in runs.values():  # the scheduler's listener wrote each run's note
        assert run["note"].startswith("26 users, 3,000 messages, 143 files -> "), run[
            "note"
        ]  # demo workspace
        assert f"-> {root}/out" in run["note"]
