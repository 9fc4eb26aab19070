"""``scripts/airflow_local.py`` (the code behind ``make airflow``) as a module for tests, and a running one."""

from __future__ import annotations

import importlib.util
import json
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]


def airflow_local() -> ModuleType:
    """The ``airflow_local`` script module (loaded once)."""
    if "airflow_local" in sys.modules:
        return sys.modules["airflow_local"]
    spec = importlib.util.spec_from_file_location("airflow_local", PROJECT / "scripts" / "airflow_local.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["airflow_local"] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def running_airflow(
    db_factory,
    root: Path,
    *,
    name: str,
    mattermost_dsn: str,
    settings: dict,
    dags: list[str],
    users: dict[str, tuple[str, str]] | None = None,
    extra_env: dict[str, str] | None = None,
    artifacts: Path | None = None,
) -> Iterator[Any]:
    """A running local Airflow (``airflow standalone`` as ``make airflow`` starts it): its ``LocalAirflow``.

    Free ports, AIRFLOW_HOME in ``root``, metadata in a new database named after ``name``; ``dags``: wait
    until these are parsed; ``users``: SimpleAuthManager users besides the admin, ``{username: (role,
    password)}``; ``artifacts``: where stale screenshots are removed first and the standalone and
    task logs are copied at the end.
    """
    al = airflow_local()
    if artifacts is not None:
        for stale in artifacts.glob("*.png"):
            stale.unlink()
    users = users or {}
    env = dict(extra_env or {})
    if users:
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = ",".join(
            ["admin:admin", *(f"{user}:{role}" for user, (role, _password) in users.items())]
        )
    local = al.LocalAirflow(
        home=root / "home",
        metadata_url=al.sqlalchemy_url(db_factory.create(f"{name}airflow")),
        mattermost_dsn=mattermost_dsn,
        settings=settings,
        port=al.free_port(),
        worker_log_port=al.free_port(),
        trigger_log_port=al.free_port(),
        password=secrets.token_urlsafe(12),
        extra_env=env,
    )
    local.write_passwords(keep_existing=False)
    if users:
        passwords = {
            local.username: local.password,
            **{u: password for u, (_role, password) in users.items()},
        }
        local.passwords_file.write_text(json.dumps(passwords) + "\n")
    local.migrate()
    local.load_settings()
    log = root / "standalone.log"
    proc = local.start(log_file=log)
    try:
        local.wait_ready(proc)
        local.wait_for_dags(dags)
        yield local
    finally:
        al.stop_process_group(proc.pid)
        if artifacts is not None:
            artifacts.mkdir(parents=True, exist_ok=True)
            if log.exists():
                shutil.copyfile(log, artifacts / "airflow-standalone.log")
            task_logs = local.home / "logs"
            if task_logs.exists():
                shutil.rmtree(artifacts / "task-logs", ignore_errors=True)
                shutil.copytree(task_logs, artifacts / "task-logs")
