"""docker-compose.yaml: valid Compose, and the pieces a CeleryExecutor stack of mmgov needs.

No Docker engine runs here, so the file is checked against the Compose Specification's JSON schema
and by reading it: services, executor, broker and result backend, mounts, health checks, start order.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from mmgov.airflow_settings import read
from mmgov.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT / "docker-compose.yaml"
SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "data" / "compose-spec.schema.json"

AIRFLOW_COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
TRY_OUT = {"mattermost-db", "mattermost-seed", "minio", "minio-init", "mailpit"}
ONE_SHOT = {"airflow-init", "mattermost-seed", "minio-init"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _airflow_services(services: dict) -> dict[str, dict]:
    return {name: services[name] for name in [*AIRFLOW_COMPONENTS, "airflow-init"]}


def _default(value: str) -> str:
    """The value of ``${VAR:-default}`` when VAR is unset (what `docker compose up` uses by default)."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def test_validates_against_the_compose_specification(compose):
    if not SCHEMA.exists():
        pytest.skip(f"Compose Specification schema not found at {SCHEMA} (shared/data beside the repo)")
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])


def test_has_every_service_of_the_stack(services):
    expected = {"postgres", "redis", "airflow-init", *AIRFLOW_COMPONENTS, *TRY_OUT}
    assert expected <= set(services), f"missing: {sorted(expected - set(services))}"
    for name, command in AIRFLOW_COMPONENTS.items():
        assert services[name]["command"] == command, name


def test_airflow_image_is_built_from_the_pinned_requirements(services):
    pin = re.search(r"^apache-airflow==(\S+)$", (PROJECT / "requirements.txt").read_text(), re.M).group(1)
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert f"apache/airflow:{pin}-python3.11" in dockerfile, "image tag must match requirements.txt's pin"
    install = re.search(r"^RUN pip install .*$", dockerfile, re.M).group(0)
    assert "-r /opt/mmgov/requirements.txt" in install
    assert "-c /opt/mmgov/constraints.txt" in install
    assert re.search(r"^COPY .*requirements\.txt constraints\.txt", dockerfile, re.M)
    for name, svc in _airflow_services(services).items():
        assert svc["build"]["dockerfile"] == "Dockerfile", name
        assert (PROJECT / svc["build"]["context"] / "Dockerfile").exists()


def test_celery_executor_with_redis_broker_and_postgres_backends(services):
    for name, svc in _airflow_services(services).items():
        env = _env(svc)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert (broker.scheme, broker.hostname, broker.port or 6379) == ("redis", "redis", 6379), name
        backend = urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"])
        assert (backend.scheme, backend.hostname) == ("db+postgresql", "postgres"), name
        metadata = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert metadata.scheme.startswith("postgresql"), name
        assert metadata.hostname == "postgres", name
        assert metadata.path == backend.path == "/airflow", name
        api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (api.hostname, api.path) == ("airflow-apiserver", "/execution/"), name
        # Every component must sign and read the same tokens and secrets.
        for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"):
            assert key in env, f"{name}: {key}"
    envs = [_env(s) for s in _airflow_services(services).values()]
    for key in (
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    ):
        assert len({e[key] for e in envs}) == 1, f"{key} differs between components"
    postgres_env = _env(services["postgres"])
    assert postgres_env["POSTGRES_DB"] == "airflow"


def test_project_folders_are_mounted_and_on_pythonpath(services):
    needed = {
        "./dags": "/opt/airflow/dags",
        "./include": "/opt/airflow/include",
        "./plugins": "/opt/airflow/plugins",
    }
    for name, svc in _airflow_services(services).items():
        mounts = {v.split(":")[0]: v.split(":")[1] for v in svc["volumes"] if isinstance(v, str)}
        for source, target in needed.items():
            assert mounts.get(source) == target, f"{name}: {source} not mounted at {target}"
            assert (PROJECT / source).is_dir()
        assert mounts.get("./airflow_settings.yaml") == "/opt/airflow/airflow_settings.yaml", name
        assert mounts.get("mattermost-data") == "/mattermost/data", name
        path = _env(svc)["PYTHONPATH"].split(":")
        assert {"/opt/airflow/include", "/opt/airflow/plugins"} <= set(path), name
        assert "./dev" not in mounts, f"{name}: the development tools (dev/) are not for workers"


def test_long_running_services_have_health_checks(services):
    long_running = {n for n, s in services.items() if s.get("restart") != "no"}
    assert long_running >= {"postgres", "redis", *AIRFLOW_COMPONENTS, "mattermost-db", "minio", "mailpit"}
    assert not (long_running & ONE_SHOT), "one-shot services must not restart"
    for name in long_running:
        check = services[name].get("healthcheck")
        assert check, f"{name} has no health check"
        assert check.get("test"), f"{name} has no health check command"
        assert not check.get("disable"), f"{name}: health check disabled"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    assert "8974/health" in " ".join(services["airflow-scheduler"]["healthcheck"]["test"])
    assert _env(services["airflow-scheduler"])["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    assert "inspect ping" in " ".join(services["airflow-worker"]["healthcheck"]["test"])


def test_start_order_uses_conditions(services):
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on must use the long form with conditions"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            expected = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert spec.get("condition") == expected, f"{name} -> {dep}: {spec}"
    for name in AIRFLOW_COMPONENTS:
        deps = services[name]["depends_on"]
        assert {"postgres", "redis", "airflow-init"} <= set(deps), name
    worker = services["airflow-worker"]["depends_on"]
    assert {"mattermost-seed", "minio-init", "airflow-apiserver"} <= set(worker)


def test_workers_can_be_scaled(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert _env(worker)["DUMB_INIT_SETSID"] == "0"  # warm shutdown


def test_init_migrates_creates_admin_and_imports_settings(services):
    init = services["airflow-init"]
    script = init["command"][1].replace("\\\n", " ")
    assert "airflow db migrate" in script
    assert "airflow users create --role Admin" in script
    assert "python -m mmgov.airflow_settings /opt/airflow/airflow_settings.yaml" in script
    assert init["restart"] == "no"
    assert (
        subprocess.run(["bash", "-n", "-c", init["command"][1].replace("$$", "$")], check=False).returncode
        == 0
    )


def test_connections_and_variable_come_from_the_environment(services):
    settings_file = read(PROJECT / "airflow_settings.yaml")
    env = _env(services["airflow-worker"])
    hosts = set(services)
    for conn_id in ("mattermost_db", "mattermost_s3", "globalrelay_smtp", "mmgov_alert_smtp"):
        conn = json.loads(env[f"AIRFLOW_CONN_{conn_id.upper()}"])
        assert conn["conn_type"] == settings_file.connections[conn_id]["conn_type"], conn_id
        if conn.get("host"):
            assert conn["host"] in hosts, f"{conn_id} points at {conn['host']}, not a service"
        endpoint = (conn.get("extra") or {}).get("endpoint_url")
        if endpoint:
            assert urlsplit(endpoint).hostname in hosts, conn_id
    db = json.loads(env["AIRFLOW_CONN_MATTERMOST_DB"])
    mm_env = _env(services["mattermost-db"])
    assert (db["login"], db["password"]) == (mm_env["POSTGRES_USER"], mm_env["POSTGRES_PASSWORD"])
    s3 = json.loads(env["AIRFLOW_CONN_MATTERMOST_S3"])
    minio_env = _env(services["minio"])
    assert (s3["login"], s3["password"]) == (minio_env["MINIO_ROOT_USER"], minio_env["MINIO_ROOT_PASSWORD"])
    raw = env["AIRFLOW_VAR_MATTERMOST_SETTINGS"]
    parsed = Settings.parse(raw)
    assert parsed == Settings.parse(settings_file.variables["mattermost_settings"]["value"])
    assert json.loads(raw) == json.loads(settings_file.variables["mattermost_settings"]["value"])
    bucket = urlsplit(parsed.Mmgov.ExportDestination).hostname
    assert f"local/{bucket}" in " ".join(services["minio-init"]["command"]), "export bucket not created"
    assert parsed.FileSettings.Directory.rstrip("/") == "/mattermost/data"


def test_mattermost_seed_runs_the_generator_into_the_try_out_database(services):
    seed = services["mattermost-seed"]
    script = seed["command"][1]
    match = re.search(r"python -m mmgov_dev\.synth (.*?)(?:\n\s*fi|$)", script, re.S)
    assert match, "mattermost-seed must run python -m mmgov_dev.synth"
    args = match.group(1).replace("\\\n", " ").split()
    assert args[args.index("--posts") + 1]
    dsn = urlsplit(args[args.index("--dsn") + 1])
    assert dsn.hostname == "mattermost-db"
    assert (
        args[args.index("--database") + 1]
        == json.loads(_env(services["airflow-worker"])["AIRFLOW_CONN_MATTERMOST_DB"])["schema"]
    )
    assert args[args.index("--file-root") + 1] == "/mattermost/data"
    assert _default(_env(seed)["MMGOV_SEED_POSTS"]).isdigit()
    assert "mattermost-data:/mattermost/data" in seed["volumes"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in seed["volumes"]}
    assert mounts["./dev"] in _env(seed)["PYTHONPATH"].split(":")  # the generator is a dev tool
    assert subprocess.run(["bash", "-n", "-c", script.replace("$$", "$")], check=False).returncode == 0
    check = script.split("python -c '", 1)[1].split("'", 1)[0]
    compile(check, "mattermost-seed check", "exec")
