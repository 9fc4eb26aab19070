"""The mattermost_settings variable: Mattermost's defaults, and clear errors naming the key."""

from __future__ import annotations

import json

import pytest

from mmgov.errors import SettingsError
from mmgov.settings import Settings, check_hhmm


class TestDefaults:
    def test_empty_gives_mattermost_defaults(self):
        s = Settings.parse({})
        assert s.FileSettings.DriverName == "local"
        assert s.FileSettings.Directory == "./data/"
        assert s.MessageExportSettings.EnableExport is False
        assert s.MessageExportSettings.ExportFormat == "actiance"
        assert s.MessageExportSettings.DailyRunTime == "01:00"
        assert s.MessageExportSettings.BatchSize == 10000
        assert s.MessageExportSettings.GlobalRelaySettings.CustomerType == "A9"
        assert s.DataRetentionSettings.DeletionJobStartTime == "02:00"
        assert s.DataRetentionSettings.BatchSize == 3000
        assert s.DataRetentionSettings.TimeBetweenBatchesMilliseconds == 100
        assert s.DataRetentionSettings.PreservePinnedPosts is False
        assert s.Mmgov.RetentionApproval == "on_change"
        assert s.Mmgov.PurgeGraceDays == 30

    @pytest.mark.parametrize("raw", [None, "", "{}"], ids=["none", "empty-string", "empty-json"])
    def test_nothing_is_defaults(self, raw):
        assert Settings.parse(raw) == Settings()

    def test_json_string_is_parsed(self):
        s = Settings.parse(
            json.dumps({"MessageExportSettings": {"ExportFormat": "csv", "EnableExport": True}})
        )
        assert s.MessageExportSettings.ExportFormat == "csv"
        assert s.MessageExportSettings.EnableExport is True


class TestRetentionHours:
    @pytest.mark.parametrize(
        ("hours", "days", "expected"),
        [(0, 365, 365 * 24), (12, 365, 12), (0, 2, 48), (0, 0, 365 * 24)],
        ids=["days-default", "hours-win", "days", "fallback-365-days"],
    )
    def test_resolution(self, hours, days, expected):
        s = Settings.parse(
            {
                "DataRetentionSettings": {
                    "MessageRetentionHours": hours,
                    "MessageRetentionDays": days,
                    "FileRetentionHours": hours,
                    "FileRetentionDays": days,
                }
            }
        )
        assert s.DataRetentionSettings.message_retention_hours == expected
        assert s.DataRetentionSettings.file_retention_hours == expected


class TestMattermostKeysAccepted:
    def test_pasted_config_json_sections_with_unused_keys(self):
        s = Settings.parse(
            {
                "FileSettings": {
                    "EnableFileAttachments": True,
                    "MaxFileSize": 104857600,
                    "DriverName": "local",
                    "Directory": "/var/mm/data",
                },
                "MessageExportSettings": {
                    "DownloadExportResults": False,
                    "GlobalRelaySettings": {"SMTPServerTimeout": 1800, "CustomerType": "A10"},
                },
                "DataRetentionSettings": {"EnableBoardsDeletion": False, "RetentionIdsBatchSize": 100},
            }
        )
        assert s.FileSettings.Directory == "/var/mm/data"
        assert s.MessageExportSettings.GlobalRelaySettings.CustomerType == "A10"

    def test_custom_port_given_as_number(self):
        s = Settings.parse({"MessageExportSettings": {"GlobalRelaySettings": {"CustomSMTPPort": 2525}}})
        assert s.MessageExportSettings.GlobalRelaySettings.CustomSMTPPort == "2525"


BAD = [
    ({"MessageExportSettings": {"DailyRunTime": "25:00"}}, r"MessageExportSettings\.DailyRunTime.*HH:MM"),
    ({"MessageExportSettings": {"DailyRunTime": "1:00"}}, r"DailyRunTime"),
    (
        {"MessageExportSettings": {"ExportFormat": "pdf"}},
        r"ExportFormat must be one of csv, actiance, globalrelay",
    ),
    ({"MessageExportSettings": {"BatchSize": 0}}, r"MessageExportSettings\.BatchSize must be >= 1"),
    ({"MessageExportSettings": {"EnableExport": "yes"}}, r"EnableExport must be true or false"),
    ({"MessageExportSettings": {"ExportFromTimestamp": -5}}, r"ExportFromTimestamp must be >= 0"),
    (
        {"MessageExportSettings": {"GlobalRelaySettings": {"CustomerType": "A11"}}},
        r"CustomerType must be one of A9, A10, CUSTOM",
    ),
    (
        {"MessageExportSettings": {"GlobalRelaySettings": {"CustomSMTPPort": "70000"}}},
        r"CustomSMTPPort must be a port",
    ),
    (
        {"MessageExportSettings": {"GlobalRelaySettings": {"SMTPPassword": "x"}}},
        r"SMTPPassword is a secret.*globalrelay_smtp",
    ),
    ({"FileSettings": {"DriverName": "azure"}}, r"FileSettings\.DriverName must be one of local, amazons3"),
    ({"FileSettings": {"DriverName": "amazons3"}}, r"AmazonS3Bucket is required"),
    ({"FileSettings": {"AmazonS3SecretAccessKey": "x"}}, r"secret.*mattermost_s3"),
    (
        {"FileSettings": {"Directroy": "/x"}},
        r"FileSettings\.Directroy is not a known setting; allowed keys: .*Directory",
    ),
    ({"DataRetentionSettings": {"DeletionJobStartTime": "2am"}}, r"DeletionJobStartTime"),
    ({"DataRetentionSettings": {"BatchSize": -1}}, r"DataRetentionSettings\.BatchSize must be >= 1"),
    (
        {"DataRetentionSettings": {"MessageRetentionDays": 1.5}},
        r"MessageRetentionDays must be a whole number",
    ),
    (
        {"DataRetentionSettings": {"TimeBetweenBatchesMilliseconds": -1}},
        r"TimeBetweenBatchesMilliseconds must be >= 0",
    ),
    ({"DataRetentionSettings": {"PreservePinnedPosts": 1}}, r"PreservePinnedPosts must be true or false"),
    (
        {"Mmgov": {"RetentionApproval": "sometimes"}},
        r"Mmgov\.RetentionApproval must be one of always, on_change, never",
    ),
    ({"Mmgov": {"PurgeGraceDays": -1}}, r"PurgeGraceDays must be >= 0"),
    (
        {"Mmgov": {"RetentionApprovalTimeoutHours": 0}},
        r"RetentionApprovalTimeoutHours must be a number of hours > 0",
    ),
    ({"Mmgov": {"RetentionApprovalTimeoutHours": "1h"}}, r"RetentionApprovalTimeoutHours must be a number"),
    ({"Mmgov": {"RetentionAnomalyFactor": 1}}, r"RetentionAnomalyFactor must be a number > 1"),
    ({"Mmgov": {"ExportDestination": "relative/dir"}}, r"ExportDestination must be empty"),
    ({"Mmgov": {"Timezone": "Mars/Olympus"}}, r"Mmgov\.Timezone must be an IANA time zone"),
    ({"Mmgov": {"GlobalRelayMaxEmailBytes": 0}}, r"GlobalRelayMaxEmailBytes must be >= 1"),
    ({"Mmgov": {"ExportSettleSeconds": -1}}, r"Mmgov\.ExportSettleSeconds must be >= 0"),
    (
        {"Mmgov": {"LateArrivalLookbackHours": -1}},
        r"Mmgov\.LateArrivalLookbackHours must be a number of hours >= 0",
    ),
    ({"SqlSettings": {}}, r"unknown section\(s\) SqlSettings; allowed: FileSettings"),
    ({"FileSettings": []}, r"FileSettings must be a JSON object"),
    ("{not json", r"not valid JSON"),
    ("[1, 2]", r"must be a JSON object"),
]


@pytest.mark.parametrize(
    ("raw", "match"), BAD, ids=[m.split("\\")[0][:40] + str(i) for i, (_, m) in enumerate(BAD)]
)
def test_bad_values_name_the_key_and_allowed_values(raw, match):
    with pytest.raises(SettingsError, match=match):
        Settings.parse(raw)


def test_approval_timeout_may_be_a_fraction_of_an_hour():
    assert (
        Settings.parse({"Mmgov": {"RetentionApprovalTimeoutHours": 0.5}}).Mmgov.RetentionApprovalTimeoutHours
        == 0.5
    )
    assert (
        Settings.parse({"Mmgov": {"RetentionApprovalTimeoutHours": 48}}).Mmgov.RetentionApprovalTimeoutHours
        == 48
    )


def test_settings_error_is_a_400_with_a_code():
    with pytest.raises(SettingsError) as info:
        Settings.parse({"Mmgov": {"RetentionApproval": "x"}})
    assert info.value.to_dict()["status_code"] == 400
    assert info.value.code == "MMGOV_INVALID_SETTING"


@pytest.mark.parametrize("value", ["00:00", "09:30", "23:59"])
def test_hhmm_accepts(value):
    assert check_hhmm("X", value) == value


@pytest.mark.parametrize("value", ["24:00", "12:60", "7:05", "", None, 700])
def test_hhmm_rejects(value):
    with pytest.raises(SettingsError, match="X must be a 24-hour time"):
        check_hhmm("X", value)


def test_parse_time_reads_env_without_airflow(monkeypatch):
    from mmgov.settings import load_settings_at_parse

    monkeypatch.setenv(
        "AIRFLOW_VAR_MATTERMOST_SETTINGS", json.dumps({"MessageExportSettings": {"DailyRunTime": "03:15"}})
    )
    assert load_settings_at_parse().MessageExportSettings.DailyRunTime == "03:15"
    monkeypatch.setenv(
        "AIRFLOW_VAR_MATTERMOST_SETTINGS", json.dumps({"MessageExportSettings": {"DailyRunTime": "3pm"}})
    )
    # A bad value never fails parsing: its default applies (the DAG's first task fails on it).
    assert load_settings_at_parse().MessageExportSettings.DailyRunTime == "01:00"
