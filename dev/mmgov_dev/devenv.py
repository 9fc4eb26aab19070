"""A local Airflow for the demo, the tests and the benchmarks: environment and ``airflow dags test``.

Everything Airflow needs is given as environment variables (``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*``,
``AIRFLOW__SECTION__KEY``), so the project's files are the whole configuration.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmgov.db import airflow_conn_json

PROJECT_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_BIN = Path(sys.executable).with_name("airflow")


@dataclass
class AirflowEnv:
    """An ``AIRFLOW_HOME`` with a SQLite (or given) metadata DB and mmgov's connections/variables."""

    home: Path
    mattermost_dsn: str
    settings: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    metadata_url: str | None = None

    def environ(self) -> dict[str, str]:
        """The process environment for Airflow commands."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url
                or f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "AIRFLOW_CONN_MATTERMOST_DB": airflow_conn_json(self.mattermost_dsn),
                "AIRFLOW_VAR_MATTERMOST_SETTINGS": json.dumps(self.settings),
                "PYTHONPATH": os.pathsep.join(
                    [str(PROJECT_ROOT / "include"), str(PROJECT_ROOT / "plugins"), env.get("PYTHONPATH", "")]
                ).rstrip(os.pathsep),
            }
        )
        for conn_id, value in self.connections.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = value
        for name, value in self.variables.items():
            env[f"AIRFLOW_VAR_{name.upper()}"] = value
        return env

    def migrate(self, *, template: Path | None = None) -> None:
        """Create the metadata DB (copying a migrated SQLite ``template`` when given: much faster)."""
        self.home.mkdir(parents=True, exist_ok=True)
        target = self.home / "airflow.db"
        if template is not None and self.metadata_url is None:
            shutil.copyfile(template, target)
            return
        run_airflow(["db", "migrate"], self, check=True)

    def dags_test(
        self,
        dag_id: str,
        conf: dict[str, Any] | None = None,
        *,
        logical_date: str | None = None,
        timeout: float = 900,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``airflow dags test`` (tasks run in this process tree, for real). Raises on failure."""
        args = ["dags", "test", dag_id]
        if logical_date:
            args.append(logical_date)
        if conf is not None:
            args += ["-c", json.dumps(conf)]
        return run_airflow(args, self, check=True, timeout=timeout)

    def run_notes(self, dag_id: str) -> dict[str, str | None]:
        """Each run of ``dag_id`` (oldest first) -> its note (``mmgov_airflow.outcomes`` writes them)."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.metadata_url or f"sqlite:///{self.home / 'airflow.db'}")
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT dr.run_id, n.content FROM dag_run dr LEFT JOIN dag_run_note n"
                        " ON n.dag_run_id = dr.id WHERE dr.dag_id = :dag_id ORDER BY dr.id"
                    ),
                    {"dag_id": dag_id},
                ).all()
        finally:
            engine.dispose()
        return {run_id: note for run_id, note in rows}


def demo_settings(file_root: Path, *, approval: str = "always") -> dict[str, Any]:
    """The ``mattermost_settings`` of the demo and the local Airflow (Mattermost key names).

    A local file store, CSV export enabled, 45-day retention with pinned posts spared; ``approval``
    is ``Mmgov.RetentionApproval`` (the unattended demo uses ``never``, the local UI ``always``).
    """
    return {
        "FileSettings": {"DriverName": "local", "Directory": str(file_root)},
        "MessageExportSettings": {
            "EnableExport": True,
            "ExportFormat": "csv",
            "DailyRunTime": "01:00",
            "BatchSize": 10000,
        },
        "DataRetentionSettings": {
            "EnableMessageDeletion": True,
            "EnableFileDeletion": True,
            "MessageRetentionDays": 45,
            "FileRetentionDays": 45,
            "DeletionJobStartTime": "02:00",
            "BatchSize": 3000,
            "TimeBetweenBatchesMilliseconds": 10,
            "PreservePinnedPosts": True,
        },
        "Mmgov": {"RetentionApproval": approval},
    }


class AirflowCommandError(RuntimeError):
    """An Airflow CLI command failed; carries its output."""

    def __init__(self, args: list[str], result: subprocess.CompletedProcess[str]):
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        super().__init__(f"airflow {' '.join(args)} exited {result.returncode}:\n{tail}")
        self.result = result


def run_airflow(
    args: list[str], env: AirflowEnv, *, check: bool = True, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run the ``airflow`` CLI with ``env``'s environment; raise with the output's tail on failure."""
    result = subprocess.run(
        [str(AIRFLOW_BIN), *args],
        env=env.environ(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and (result.returncode != 0 or "state=failed" in result.stdout + result.stderr):
        raise AirflowCommandError(args, result)
    return result
