"""The retention DAGs run for real (``airflow dags test``): the workspace they purge, what the run
recorded, and a purge run waiting in its approval task while an api-server answers it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from mmgov_dev.devenv import AIRFLOW_BIN, AirflowEnv
from tests.retention.builders import Workspace
from tests.support.airflow_api import ApiServer, start_api_server

BASE_SETTINGS = {
    "DataRetentionSettings": {
        "EnableMessageDeletion": True,
        "MessageRetentionDays": 30,
        "BatchSize": 2,
        "TimeBetweenBatchesMilliseconds": 10,
        "PreservePinnedPosts": True,
    },
}
HITL = "/api/v2/dags/retention_purge/dagRuns/{run_id}/taskInstances/approval/-1/hitlDetails"
WAIT_SECONDS = 240


def world(dsn: str) -> tuple[set[str], set[str]]:
    """Five expired posts and three spared (recent, pinned, under a longer policy): (expired, spared)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        ws = Workspace(conn, now=int(time.time() * 1000))
        team = ws.team("eng")
        chan, keep = ws.channel(team), ws.channel(team)
        ws.policy("keep", None, channels=[keep])
        expired = {ws.post(chan, 40) for _ in range(5)}
        spared = {ws.post(chan, 5), ws.post(chan, 40, pinned=True), ws.post(keep, 400)}
    return expired, spared


def task_states(env: AirflowEnv, dag_id: str) -> dict[str, str]:
    with sqlite3.connect(env.home / "airflow.db") as db:
        rows = db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (dag_id,)).fetchall()
    return dict(rows)


def return_value(env: AirflowEnv, dag_id: str, task_id: str):
    with sqlite3.connect(env.home / "airflow.db") as db:
        row = db.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND task_id = ? AND key = 'return_value'",
            (dag_id, task_id),
        ).fetchone()
    value = json.loads(row[0])
    return json.loads(value) if isinstance(value, str) else value


@dataclass
class WaitingPurge:
    """A ``dags test retention_purge`` run whose approval task has asked (``detail``: its HITL detail)."""

    server: ApiServer
    run: subprocess.Popen
    detail: dict
    log_path: Path

    @property
    def run_id(self) -> str:
        return self.detail["task_instance"]["dag_run_id"]

    def answer(self, option: str, user: str) -> tuple[int, dict]:
        return self.server.request(
            "PATCH",
            HITL.format(run_id=self.run_id),
            {"chosen_options": [option], "params_input": {}},
            user=user,
        )

    def finish(self) -> None:
        """Wait for the run to end, which must succeed."""
        assert self.run.wait(timeout=WAIT_SECONDS) == 0, self.log_path.read_text()[-3000:]


def _waiting_detail(server: ApiServer, run: subprocess.Popen, log_path: Path) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        assert run.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, "the approval task never asked"
        status, body = server.request(
            "GET", "/api/v2/dags/retention_purge/dagRuns/~/hitlDetails", user="admin"
        )
        waiting = [d for d in (body or {}).get("hitl_details", []) if not d.get("response_received")]
        if status == 200 and waiting:
            return waiting[0]
        time.sleep(1)


@contextmanager
def purge_waiting_for_approval(
    env: AirflowEnv, environ: dict[str, str] | None = None
) -> Iterator[WaitingPurge]:
    """An api-server and a real purge run (not a dry run) waiting for its answer; both stopped at the end.

    ``environ``: the run's environment (default ``env.environ()``), e.g. with the api-server's users.
    """
    server = start_api_server(env)
    log_path = env.home / "dags-test.log"
    run = None
    try:
        with log_path.open("w") as log:
            run = subprocess.Popen(
                [str(AIRFLOW_BIN), "dags", "test", "retention_purge", "-c", '{"dry_run": false}'],
                env=environ or env.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        yield WaitingPurge(server, run, _waiting_detail(server, run, log_path), log_path)
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        server.stop()
