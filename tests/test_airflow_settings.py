"""airflow_settings.yaml: complete for the code, valid, and really importable into an Airflow."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from mmgov.airflow_settings import airflow_executable, import_commands, parse, read, write_import_files
from mmgov.errors import SettingsError
from mmgov.settings import VARIABLE_NAME, Settings
from mmgov_dev.devenv import AirflowEnv

PROJECT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = PROJECT / "airflow_settings.yaml"
CODE_DIRS = ("include", "plugins", "dags")
# Connection ids in the code: `X_CONN_ID = "..."` constants and `conn_id="..."` keyword arguments.
_CONN_ID_PATTERNS = (
    re.compile(r"""^\s*[A-Z_]*CONN_ID\s*(?::\s*\w+\s*)?=\s*["']([a-z0-9_]+)["']""", re.M),
    re.compile(r"""\b\w*conn_id\s*=\s*["']([a-z0-9_]+)["']"""),
)


def connection_ids_in_code() -> set[str]:
    found: set[str] = set()
    for folder in CODE_DIRS:
        for path in (PROJECT / folder).rglob("*.py"):
            text = path.read_text()
            for pattern in _CONN_ID_PATTERNS:
                found.update(pattern.findall(text))
    return found


def test_file_parses_and_holds_every_connection_the_code_uses():
    settings = read(SETTINGS_FILE)
    used = connection_ids_in_code()
    assert {"mattermost_db", "mmgov_alert_smtp", "mmgov_alert_webhook"} <= used, used  # the scan works
    required = used | {"mattermost_db", "mattermost_s3", "globalrelay_smtp"}  # interface.md
    assert required <= set(settings.connections), f"missing: {sorted(required - set(settings.connections))}"
    types = {cid: c["conn_type"] for cid, c in settings.connections.items()}
    assert types["mattermost_db"] == "postgres"
    assert types["mattermost_s3"] == "aws"
    assert types["globalrelay_smtp"] == types["mmgov_alert_smtp"] == "smtp"
    assert types["mmgov_alert_webhook"] == "http"
    # What the notifiers read (plugins/mmgov_airflow/notifiers.py).
    assert settings.connections["mmgov_alert_smtp"]["extra"]["to"]
    assert settings.connections["mmgov_alert_webhook"]["password"]


def test_variable_is_a_full_mattermost_settings_example():
    settings = read(SETTINGS_FILE)
    raw = json.loads(settings.variables[VARIABLE_NAME]["value"])
    parsed = Settings.parse(raw)
    assert set(raw) == {"FileSettings", "MessageExportSettings", "DataRetentionSettings", "Mmgov"}
    assert parsed.MessageExportSettings.GlobalRelaySettings.CustomerType == "CUSTOM"
    assert parsed.DataRetentionSettings.EnableMessageDeletion is True
    for section in ("FileSettings", "MessageExportSettings", "DataRetentionSettings"):
        declared = set(type(getattr(parsed, section)).__dataclass_fields__)
        assert set(raw[section]) == declared, (
            f"{section}: example lacks {sorted(declared - set(raw[section]))}"
        )


def test_pools_include_the_mattermost_db_pool():
    pools = read(SETTINGS_FILE).pools
    assert pools["mattermost_db"]["slots"] >= 1
    assert pools["mattermost_db"]["description"]


def test_import_files_have_the_formats_airflow_imports(tmp_path):
    files = write_import_files(read(SETTINGS_FILE), tmp_path)
    conns = json.loads(files["connections"].read_text())
    assert conns["mattermost_db"]["conn_type"] == "postgres"
    assert conns["mattermost_db"]["port"] == 5432
    assert isinstance(conns["mmgov_alert_smtp"]["extra_dejson"], dict)
    variables = json.loads(files["variables"].read_text())
    assert Settings.parse(variables[VARIABLE_NAME]["value"])
    pools = json.loads(files["pools"].read_text())
    assert set(pools["mattermost_db"]) >= {"slots", "description"}
    assert files["connections"].stat().st_mode & 0o077 == 0  # passwords: owner only
    assert [c[:2] for c in import_commands(files)] == [
        ["connections", "import"],
        ["variables", "import"],
        ["pools", "import"],
    ]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "top-level 'airflow:'"),
        ({"airflow": {"connections": [{"conn_type": "postgres"}]}}, "'conn_id' is required"),
        ({"airflow": {"connections": [{"conn_id": "x"}]}}, "connection x: 'conn_type' is required"),
        (
            {"airflow": {"connections": [{"conn_id": "x", "conn_type": "http", "conn_hots": "h"}]}},
            "conn_hots",
        ),
        (
            {"airflow": {"connections": [{"conn_id": "x", "conn_type": "http", "conn_port": "ab"}]}},
            "conn_port",
        ),
        ({"airflow": {"pools": [{"pool_name": "p", "pool_slot": "4"}]}}, "pool p: pool_slot"),
        ({"airflow": {"variables": [{"variable_value": "v"}]}}, "'variable_name' is required"),
        ({"airflow": {"dags": []}}, "unknown key(s) dags"),
    ],
)
def test_bad_entries_are_named(doc, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        parse(doc)


@pytest.mark.airflow
def test_loads_into_a_migrated_airflow(airflow_env, tmp_path):
    env: AirflowEnv = airflow_env("postgresql://unused@127.0.0.1:1/unused")
    environ = env.environ()
    # Only the metadata database may answer: no connection or variable from the environment.
    environ.pop("AIRFLOW_CONN_MATTERMOST_DB")
    environ.pop("AIRFLOW_VAR_MATTERMOST_SETTINGS")
    airflow = airflow_executable()
    load = subprocess.run(
        [str(Path(airflow).with_name("python")), "-m", "mmgov.airflow_settings", str(SETTINGS_FILE)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert load.returncode == 0, load.stdout + load.stderr
    assert "Loaded 6 connections, 1 variables, 2 pools" in load.stdout

    def airflow_json(*args: str):
        result = subprocess.run(
            [airflow, *args, "-o", "json"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return json.loads(result.stdout[result.stdout.index("[") :])

    expected = read(SETTINGS_FILE)
    (conn,) = airflow_json("connections", "get", "mattermost_db")
    want = expected.connections["mattermost_db"]
    assert (conn["conn_type"], conn["host"], conn["port"], conn["schema"], conn["login"]) == (
        "postgres",
        want["host"],
        str(want["port"]),
        want["schema"],
        want["login"],
    )
    assert conn["password"] == want["password"]
    (alert,) = airflow_json("connections", "get", "mmgov_alert_smtp")
    assert alert["extra_dejson"]["to"] == expected.connections["mmgov_alert_smtp"]["extra"]["to"]
    variable = subprocess.run(
        [airflow, "variables", "get", VARIABLE_NAME], env=environ, capture_output=True, text=True, check=True
    ).stdout
    assert Settings.parse(variable[variable.index("{") :]) == Settings.parse(
        expected.variables[VARIABLE_NAME]["value"]
    )
    pools = {p["pool"]: p for p in airflow_json("pools", "list")}
    assert int(pools["mattermost_db"]["slots"]) == expected.pools["mattermost_db"]["slots"]
    # Loading twice overwrites, it does not fail.
    again = subprocess.run(load.args, env=environ, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
