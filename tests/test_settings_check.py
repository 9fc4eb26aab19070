"""Settings errors stay contained (mmgov.settings_check): every error listed, each DAG held to its keys."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mmgov.errors import SettingsError
from mmgov.settings_check import DAG_SETTINGS, parse_for, parse_lenient, settings_errors

BAD = {
    "FileSettings": {"DriverName": "ftp"},
    "MessageExportSettings": {"BatchSize": 0, "GlobalRelaySettings": {"CustomerType": "B7"}},
    "DataRetentionSettings": {"DeletionJobStartTime": "2am", "MessageRetentionDays": 30},
    "Mmgov": {"RetentionApproval": "sometimes", "Timezone": "Mars/Olympus", "PurgeGraceDays": 7},
}


def test_every_error_is_listed_with_its_key_and_the_allowed_values():
    errors = dict(settings_errors(BAD))
    assert sorted(errors) == [
        "DataRetentionSettings.DeletionJobStartTime",
        "FileSettings.DriverName",
        "MessageExportSettings.BatchSize",
        "MessageExportSettings.GlobalRelaySettings",
        "Mmgov.RetentionApproval",
        "Mmgov.Timezone",
    ]
    assert errors["Mmgov.RetentionApproval"] == (
        "Mmgov.RetentionApproval must be one of always, on_change, never; got 'sometimes'"
    )
    assert (
        errors["FileSettings.DriverName"]
        == "FileSettings.DriverName must be one of local, amazons3; got 'ftp'"
    )
    assert "00:00 to 23:59" in errors["DataRetentionSettings.DeletionJobStartTime"]
    assert "A9, A10, CUSTOM" in errors["MessageExportSettings.GlobalRelaySettings"]


def test_lenient_parse_keeps_the_good_keys_and_defaults_the_bad():
    settings, errors = parse_lenient(BAD)
    assert len(errors) == 6
    assert settings.Mmgov.RetentionApproval == "on_change"  # default
    assert settings.Mmgov.PurgeGraceDays == 7  # a good key in the same section
    assert settings.DataRetentionSettings.MessageRetentionDays == 30
    assert settings.DataRetentionSettings.DeletionJobStartTime == "02:00"


@pytest.mark.parametrize(
    "raw", ["{not json", "[1]", {"Mmgov": "x"}, {"Bogus": {}}], ids=["json", "list", "section", "unknown"]
)
def test_lenient_parse_never_raises(raw):
    settings, errors = parse_lenient(raw)
    assert errors
    assert settings.Mmgov.RetentionApproval == "on_change"


def test_a_bad_retention_key_fails_retention_dags_only():
    raw = {"Mmgov": {"RetentionApproval": "sometimes", "ExportDestination": "/srv/exports"}}
    for dag_id in ("compliance_export", "gdpr_export", "custody"):
        assert parse_for(raw, DAG_SETTINGS[dag_id]).Mmgov.ExportDestination == "/srv/exports"
    for dag_id in ("retention_purge", "retention_physical_removal"):
        with pytest.raises(
            SettingsError, match=r"Mmgov\.RetentionApproval must be one of always, on_change, never"
        ):
            parse_for(raw, DAG_SETTINGS[dag_id])


def test_a_bad_file_store_fails_every_dag_and_not_json_fails_all():
    for uses in DAG_SETTINGS.values():
        with pytest.raises(SettingsError, match=r"FileSettings\.DriverName"):
            parse_for({"FileSettings": {"DriverName": "ftp"}}, uses)
        with pytest.raises(SettingsError, match="not valid JSON"):
            parse_for("{", uses)


def test_all_errors_of_the_dag_in_one_message():
    with pytest.raises(SettingsError) as exc:
        parse_for(BAD, DAG_SETTINGS["retention_purge"])
    assert len(str(exc.value).splitlines()) == 6


def _cli(*args: str, stdin: str | None = None, env_value: str | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_VAR")}
    if env_value is not None:
        env["AIRFLOW_VAR_MATTERMOST_SETTINGS"] = env_value
    return subprocess.run(
        [sys.executable, "-m", "mmgov", "settings", "check", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_checks_a_file_stdin_and_the_variable(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(BAD))
    result = _cli(str(path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 6
    assert "Mmgov.RetentionApproval must be one of always, on_change, never; got 'sometimes'" in lines
    assert "retention_purge" in result.stderr
    assert "compliance_export" in result.stderr
    ok = _cli("-", stdin=json.dumps({"Mmgov": {"RetentionApproval": "always"}}))
    assert (ok.returncode, ok.stdout.strip()) == (0, "mattermost_settings: OK")
    from_variable = _cli(env_value=json.dumps({"Mmgov": {"RetentionApproval": "sometimes"}}))
    assert from_variable.returncode == 1
    assert from_variable.stdout.startswith("Mmgov.RetentionApproval must be one of")
    assert "DAGs whose first task fails: retention_physical_removal, retention_purge" in from_variable.stderr


def test_a_rule_across_keys_is_the_sections():
    s3 = {"DriverName": "amazons3", "AmazonS3Bucket": "files"}
    assert settings_errors({"FileSettings": s3}) == []
    assert parse_for({"FileSettings": s3}, DAG_SETTINGS["gdpr_export"]).FileSettings.AmazonS3Bucket == "files"
    assert settings_errors({"FileSettings": {"DriverName": "amazons3"}}) == [
        ("FileSettings", "FileSettings.AmazonS3Bucket is required when DriverName is amazons3")
    ]
