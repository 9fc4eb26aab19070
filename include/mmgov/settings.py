"""The ``mattermost_settings`` variable: the parts of Mattermost's ``config.json`` mmgov honours.

Keys and defaults are Mattermost's own, so an admin can paste the sections from ``config.json``.
A key Mattermost has but mmgov does not use is accepted and ignored; a key neither knows (a typo)
or a bad value raises :class:`SettingsError` naming the key and what is allowed. Secrets
(S3 keys, SMTP passwords) are refused here: they belong in Airflow connections.

One module of about 500 lines on purpose: one dataclass per ``config.json`` section with its checks,
so a key's default, type and allowed values sit in one place; the loaders of the variable are last.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from mmgov.errors import SettingsError

VARIABLE_NAME = "mattermost_settings"
EXPORT_FORMATS = ("csv", "actiance", "globalrelay", "globalrelay-zip")
CUSTOMER_TYPES = ("A9", "A10", "CUSTOM")
FILE_DRIVERS = ("local", "amazons3")
APPROVAL_MODES = ("always", "on_change", "never")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

# Keys Mattermost has in these sections that mmgov accepts and ignores.
_IGNORED = {
    "FileSettings": {
        "EnableFileAttachments",
        "EnableMobileUpload",
        "EnableMobileDownload",
        "MaxFileSize",
        "MaxImageResolution",
        "MaxImageDecoderConcurrency",
        "EnablePublicLink",
        "ExtractContent",
        "ArchiveRecursion",
        "InitialFont",
        "AmazonS3SignV2",
        "AmazonS3SSE",
        "AmazonS3Trace",
        "AmazonS3RequestTimeoutMilliseconds",
        "AmazonS3UploadPartSizeBytes",
        "AmazonS3StorageClass",
        "DedicatedExportStore",
        "ExportDriverName",
        "ExportDirectory",
        "ExportAmazonS3Bucket",
        "ExportAmazonS3PathPrefix",
        "ExportAmazonS3Region",
        "ExportAmazonS3Endpoint",
        "ExportAmazonS3SSL",
        "ExportAmazonS3SignV2",
        "ExportAmazonS3SSE",
        "ExportAmazonS3Trace",
        "ExportAmazonS3RequestTimeoutMilliseconds",
        "ExportAmazonS3PresignExpiresSeconds",
        "ExportAmazonS3UploadPartSizeBytes",
        "ExportAmazonS3StorageClass",
        "MaxVoiceMessageDuration",
    },
    "MessageExportSettings": {"DownloadExportResults", "ChannelBatchSize", "ChannelHistoryBatchSize"},
    "GlobalRelaySettings": {"SMTPServerTimeout", "SMTPUsername"},
    "DataRetentionSettings": {"EnableBoardsDeletion", "BoardsRetentionDays", "RetentionIdsBatchSize"},
}
# Secrets: refused with a pointer to the connection that holds them.
_SECRETS = {
    "FileSettings": {
        "AmazonS3AccessKeyId": "mattermost_s3",
        "AmazonS3SecretAccessKey": "mattermost_s3",
        "PublicLinkSalt": "(not needed by mmgov)",
        "ExportAmazonS3AccessKeyId": "mattermost_s3",
        "ExportAmazonS3SecretAccessKey": "mattermost_s3",
    },
    "GlobalRelaySettings": {"SMTPPassword": "globalrelay_smtp"},
}


def _check_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise SettingsError(f"{key} must be true or false, got {value!r}")


def _check_int(key: str, value: Any, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{key} must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise SettingsError(f"{key} must be >= {minimum}, got {value!r}")
    return value


def _check_str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"{key} must be a string, got {value!r}")
    return value


def _check_choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingsError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_hhmm(key: str, value: Any) -> str:
    """Validate a 24-hour ``HH:MM`` time (Mattermost's DailyRunTime / DeletionJobStartTime)."""
    if not isinstance(value, str) or not _HHMM.match(value):
        raise SettingsError(f"{key} must be a 24-hour time HH:MM (00:00 to 23:59), got {value!r}")
    return value


def _unpack(section: str, raw: Any, known: set[str]) -> dict[str, Any]:
    """Return the known keys of ``raw``; reject unknown keys and secrets with a clear error."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SettingsError(f"{section} must be a JSON object, got {type(raw).__name__}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{section}.{key}"
        if key in _SECRETS.get(section, {}):
            raise SettingsError(
                f"{where} is a secret and must not be in the {VARIABLE_NAME} variable; "
                f"put it in the Airflow connection {_SECRETS[section][key]}"
            )
        if key in known:
            out[key] = value
        elif key not in _IGNORED.get(section, set()):
            raise SettingsError(f"{where} is not a known setting; allowed keys: {', '.join(sorted(known))}")
    return out


@dataclass(frozen=True)
class FileSettings:
    """Where Mattermost keeps uploaded files (``FileSettings``)."""

    DriverName: str = "local"
    Directory: str = "./data/"
    AmazonS3Bucket: str = ""
    AmazonS3PathPrefix: str = ""
    AmazonS3Endpoint: str = "s3.amazonaws.com"
    AmazonS3Region: str = ""
    AmazonS3SSL: bool = True

    @classmethod
    def parse(cls, raw: Any, section: str = "FileSettings") -> FileSettings:
        vals = _unpack(section, raw, {f.name for f in fields(cls)})
        for key in (
            "Directory",
            "AmazonS3Bucket",
            "AmazonS3PathPrefix",
            "AmazonS3Endpoint",
            "AmazonS3Region",
        ):
            if key in vals:
                _check_str(f"{section}.{key}", vals[key])
        if "DriverName" in vals:
            _check_choice(f"{section}.DriverName", vals["DriverName"], FILE_DRIVERS)
        if "AmazonS3SSL" in vals:
            _check_bool(f"{section}.AmazonS3SSL", vals["AmazonS3SSL"])
        obj = cls(**vals)
        if obj.DriverName == "amazons3" and not obj.AmazonS3Bucket:
            raise SettingsError(f"{section}.AmazonS3Bucket is required when DriverName is amazons3")
        return obj


@dataclass(frozen=True)
class GlobalRelaySettings:
    """Global Relay account (``MessageExportSettings.GlobalRelaySettings``); secrets in ``globalrelay_smtp``."""

    CustomerType: str = "A9"
    EmailAddress: str = ""
    CustomSMTPServerName: str = ""
    CustomSMTPPort: str = "25"

    @classmethod
    def parse(
        cls, raw: Any, section: str = "MessageExportSettings.GlobalRelaySettings"
    ) -> GlobalRelaySettings:
        vals = _unpack("GlobalRelaySettings", raw, {f.name for f in fields(cls)})
        if "CustomerType" in vals:
            _check_choice(f"{section}.CustomerType", vals["CustomerType"], CUSTOMER_TYPES)
        for key in ("EmailAddress", "CustomSMTPServerName"):
            if key in vals:
                _check_str(f"{section}.{key}", vals[key])
        if "CustomSMTPPort" in vals:
            port = vals["CustomSMTPPort"]
            if isinstance(port, int) and not isinstance(port, bool):
                port = str(port)
            if not isinstance(port, str) or not port.isdigit() or not 0 < int(port) < 65536:
                raise SettingsError(f"{section}.CustomSMTPPort must be a port number 1-65535, got {port!r}")
            vals["CustomSMTPPort"] = port
        return cls(**vals)


@dataclass(frozen=True)
class MessageExportSettings:
    """Compliance export (``MessageExportSettings``)."""

    EnableExport: bool = False
    ExportFormat: str = "actiance"
    DailyRunTime: str = "01:00"
    ExportFromTimestamp: int = 0
    BatchSize: int = 10000
    GlobalRelaySettings: GlobalRelaySettings = field(default_factory=GlobalRelaySettings)

    @classmethod
    def parse(cls, raw: Any, section: str = "MessageExportSettings") -> MessageExportSettings:
        vals = _unpack(section, raw, {f.name for f in fields(cls)})
        if "EnableExport" in vals:
            _check_bool(f"{section}.EnableExport", vals["EnableExport"])
        if "ExportFormat" in vals:
            _check_choice(f"{section}.ExportFormat", vals["ExportFormat"], EXPORT_FORMATS)
        if "DailyRunTime" in vals:
            check_hhmm(f"{section}.DailyRunTime", vals["DailyRunTime"])
        if "ExportFromTimestamp" in vals:
            _check_int(f"{section}.ExportFromTimestamp", vals["ExportFromTimestamp"], minimum=0)
        if "BatchSize" in vals:
            _check_int(f"{section}.BatchSize", vals["BatchSize"], minimum=1)
        vals["GlobalRelaySettings"] = GlobalRelaySettings.parse(vals.get("GlobalRelaySettings"))
        return cls(**vals)


@dataclass(frozen=True)
class DataRetentionSettings:
    """Global retention (``DataRetentionSettings``)."""

    EnableMessageDeletion: bool = False
    EnableFileDeletion: bool = False
    MessageRetentionDays: int = 365
    FileRetentionDays: int = 365
    MessageRetentionHours: int = 0
    FileRetentionHours: int = 0
    DeletionJobStartTime: str = "02:00"
    BatchSize: int = 3000
    TimeBetweenBatchesMilliseconds: int = 100
    PreservePinnedPosts: bool = False

    @classmethod
    def parse(cls, raw: Any, section: str = "DataRetentionSettings") -> DataRetentionSettings:
        vals = _unpack(section, raw, {f.name for f in fields(cls)})
        for key in ("EnableMessageDeletion", "EnableFileDeletion", "PreservePinnedPosts"):
            if key in vals:
                _check_bool(f"{section}.{key}", vals[key])
        for key in ("MessageRetentionDays", "FileRetentionDays"):
            if key in vals:
                _check_int(f"{section}.{key}", vals[key], minimum=0)
        for key in ("MessageRetentionHours", "FileRetentionHours"):
            if key in vals:
                _check_int(f"{section}.{key}", vals[key], minimum=0)
        if "DeletionJobStartTime" in vals:
            check_hhmm(f"{section}.DeletionJobStartTime", vals["DeletionJobStartTime"])
        if "BatchSize" in vals:
            _check_int(f"{section}.BatchSize", vals["BatchSize"], minimum=1)
        if "TimeBetweenBatchesMilliseconds" in vals:
            _check_int(
                f"{section}.TimeBetweenBatchesMilliseconds", vals["TimeBetweenBatchesMilliseconds"], minimum=0
            )
        return cls(**vals)

    @property
    def message_retention_hours(self) -> int:
        """Hours, as Mattermost resolves them: Hours if set, else Days x 24, else 365 days."""
        return _retention_hours(self.MessageRetentionHours, self.MessageRetentionDays)

    @property
    def file_retention_hours(self) -> int:
        """Hours for files, resolved like :attr:`message_retention_hours`."""
        return _retention_hours(self.FileRetentionHours, self.FileRetentionDays)


def _retention_hours(hours: int, days: int) -> int:
    if hours > 0:
        return hours
    if days > 0:
        return days * 24
    return 365 * 24


@dataclass(frozen=True)
class MmgovSettings:
    """mmgov's own settings (no Mattermost equivalent), in the top-level ``Mmgov`` section."""

    RetentionApproval: str = "on_change"
    RetentionAnomalyFactor: float = 3.0
    PurgeGraceDays: int = 30
    RetentionApprovalTimeoutHours: float = 24  # hours; fractions allowed (0.5 = 30 minutes)
    ExportDestination: str = ""
    GlobalRelayIncludeMessageDeletions: bool = False
    GlobalRelayMaxEmailBytes: int = 250 * 1024 * 1024
    # CSV compliance export: membership rows once per window ("window") or in every batch ("batch",
    # Mattermost's own repetition of every member of every active channel in each batch).
    CsvMembershipRows: str = "window"
    Timezone: str = "UTC"
    GdprExportAdmins: tuple[str, ...] = ()
    # Airflow user names who may answer a purge/removal approval (empty: the Airflow admins).
    RetentionApprovers: tuple[str, ...] = ()
    # Chain of custody (mmgov.custody): age recipients every export file is encrypted to (empty: none),
    # and the days delivered exports are kept before the daily expiry removes them (0: forever).
    ExportRecipients: tuple[str, ...] = ()
    ExportRetentionDays: int = 0
    # Compliance export completeness (mmgov.compliance.ledger): a window is exported once its end is this
    # many seconds in the past (commits lag Mattermost's updateat stamps); post versions that still
    # arrive late in windows exported in the last LateArrivalLookbackHours go out in a late batch.
    ExportSettleSeconds: int = 300
    LateArrivalLookbackHours: float = 24
    # Files missing from an existing file store: "warn" (listed, run note + warning alert) or "fail".
    MissingFiles: str = "warn"
    # Airflow pools: tasks querying the Mattermost database, and Global Relay SMTP delivery.
    DatabasePool: str = "default_pool"
    SmtpPool: str = "default_pool"

    @classmethod
    def parse(cls, raw: Any, section: str = "Mmgov") -> MmgovSettings:
        vals = _unpack(section, raw, {f.name for f in fields(cls)})
        if "RetentionApproval" in vals:
            _check_choice(f"{section}.RetentionApproval", vals["RetentionApproval"], APPROVAL_MODES)
        if "RetentionAnomalyFactor" in vals:
            v = vals["RetentionAnomalyFactor"]
            if isinstance(v, bool) or not isinstance(v, int | float) or v <= 1:
                raise SettingsError(f"{section}.RetentionAnomalyFactor must be a number > 1, got {v!r}")
        if "PurgeGraceDays" in vals:
            _check_int(f"{section}.PurgeGraceDays", vals["PurgeGraceDays"], minimum=0)
        if "RetentionApprovalTimeoutHours" in vals:
            v = vals["RetentionApprovalTimeoutHours"]
            if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
                raise SettingsError(
                    f"{section}.RetentionApprovalTimeoutHours must be a number of hours > 0 (0.5 = 30 minutes), "
                    f"got {v!r}"
                )
        if "ExportDestination" in vals:
            dest = _check_str(f"{section}.ExportDestination", vals["ExportDestination"])
            if dest and not (dest.startswith("s3://") or dest.startswith("/")):
                raise SettingsError(
                    f"{section}.ExportDestination must be empty (the file store's export/ folder), "
                    f"an absolute folder path, or s3://bucket/prefix; got {dest!r}"
                )
        if "GlobalRelayIncludeMessageDeletions" in vals:
            _check_bool(
                f"{section}.GlobalRelayIncludeMessageDeletions", vals["GlobalRelayIncludeMessageDeletions"]
            )
        if "GlobalRelayMaxEmailBytes" in vals:
            _check_int(f"{section}.GlobalRelayMaxEmailBytes", vals["GlobalRelayMaxEmailBytes"], minimum=1)
        if "CsvMembershipRows" in vals:
            _check_choice(f"{section}.CsvMembershipRows", vals["CsvMembershipRows"], ("window", "batch"))
        if "Timezone" in vals:
            _check_timezone(f"{section}.Timezone", vals["Timezone"])
        for key in ("GdprExportAdmins", "RetentionApprovers"):
            if key in vals:
                names = vals[key]
                if not isinstance(names, list | tuple) or not all(isinstance(a, str) and a for a in names):
                    raise SettingsError(f"{section}.{key} must be a list of Airflow usernames, got {names!r}")
                vals[key] = tuple(names)
        if "ExportRecipients" in vals:
            from mmgov.custody.encryption import check_recipients

            vals["ExportRecipients"] = check_recipients(
                f"{section}.ExportRecipients", vals["ExportRecipients"]
            )
        if "ExportRetentionDays" in vals:
            _check_int(f"{section}.ExportRetentionDays", vals["ExportRetentionDays"], minimum=0)
        if "ExportSettleSeconds" in vals:
            _check_int(f"{section}.ExportSettleSeconds", vals["ExportSettleSeconds"], minimum=0)
        if "LateArrivalLookbackHours" in vals:
            v = vals["LateArrivalLookbackHours"]
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise SettingsError(
                    f"{section}.LateArrivalLookbackHours must be a number of hours >= 0 (0 turns the late-arrival "
                    f"sweep off), got {v!r}"
                )
        if "MissingFiles" in vals:
            _check_choice(f"{section}.MissingFiles", vals["MissingFiles"], ("warn", "fail"))
        for key in ("DatabasePool", "SmtpPool"):
            if key in vals and (not isinstance(vals[key], str) or not vals[key].strip()):
                raise SettingsError(
                    f"{section}.{key} must be the name of an Airflow pool (default_pool), got {vals[key]!r}"
                )
        return cls(**vals)


def _check_timezone(key: str, value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(_check_str(key, value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(
            f"{key} must be an IANA time zone such as UTC or Europe/Berlin, got {value!r}"
        ) from exc
    return value


_SECTIONS = ("FileSettings", "MessageExportSettings", "DataRetentionSettings", "Mmgov")


@dataclass(frozen=True)
class Settings:
    """All settings mmgov reads, each section with Mattermost's defaults."""

    FileSettings: FileSettings = field(default_factory=FileSettings)
    MessageExportSettings: MessageExportSettings = field(default_factory=MessageExportSettings)
    DataRetentionSettings: DataRetentionSettings = field(default_factory=DataRetentionSettings)
    Mmgov: MmgovSettings = field(default_factory=MmgovSettings)

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | str | None) -> Settings:
        """Parse the variable's JSON (a string or a mapping); ``None`` means all defaults."""
        if raw is None or raw == "":
            raw = {}
        if isinstance(raw, str | bytes):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise SettingsError(f"{VARIABLE_NAME} is not valid JSON: {exc}") from exc
        if not isinstance(raw, Mapping):
            raise SettingsError(f"{VARIABLE_NAME} must be a JSON object with sections {', '.join(_SECTIONS)}")
        unknown = sorted(set(raw) - set(_SECTIONS))
        if unknown:
            raise SettingsError(
                f"{VARIABLE_NAME} has unknown section(s) {', '.join(unknown)}; allowed: {', '.join(_SECTIONS)}"
            )
        return cls(
            FileSettings=FileSettings.parse(raw.get("FileSettings")),
            MessageExportSettings=MessageExportSettings.parse(raw.get("MessageExportSettings")),
            DataRetentionSettings=DataRetentionSettings.parse(raw.get("DataRetentionSettings")),
            Mmgov=MmgovSettings.parse(raw.get("Mmgov")),
        )


ENV_NAME = "AIRFLOW_VAR_" + VARIABLE_NAME.upper()


def load_raw_variable(default: str | None = None, *, api_server: bool = False) -> str | None:
    """The ``mattermost_settings`` variable's text: the one reader of it, for every process.

    Tasks and the dag-processor read it through the Task SDK (its secrets search path: env
    ``AIRFLOW_VAR_MATTERMOST_SETTINGS`` first). ``api_server``: the plugin's API and guards, which
    run in the API server with no Task SDK to ask, read the environment and then Airflow's
    metadata database.
    """
    if api_server:
        raw = os.environ.get(ENV_NAME)
        if raw is not None:
            return raw
        from airflow.models import Variable as MetadataVariable

        return MetadataVariable.get(VARIABLE_NAME, default_var=default)
    from airflow.sdk import Variable

    return Variable.get(VARIABLE_NAME, default=default)


def load_settings(default: str | None = None) -> Settings:
    """Read the ``mattermost_settings`` Airflow variable (env ``AIRFLOW_VAR_MATTERMOST_SETTINGS`` first).

    Meant for task bodies; DAG files call :func:`load_settings_at_parse` instead. Inside a task,
    only the keys its DAG reads can fail it (:mod:`mmgov.settings_check`); elsewhere every key.
    """
    from mmgov.settings_check import parse_for, uses_of

    return parse_for(load_raw_variable(default), uses_of(_current_dag_id()))


def _current_dag_id() -> str | None:
    try:
        from airflow.sdk import get_current_context

        return get_current_context()["dag"].dag_id
    except Exception:  # noqa: BLE001 - not inside a task (CLI, tests, scripts)
        return None


def load_settings_at_parse() -> Settings:
    """Settings for DAG parsing (schedules); never raises, so no DAG vanishes over a bad value.

    Reads ``AIRFLOW_VAR_MATTERMOST_SETTINGS`` from the environment when set; otherwise asks Airflow
    for the variable (the dag-processor serves it through the API, cached with ``[secrets] use_cache``).
    Where no variable exists, Mattermost's defaults apply. A bad key is logged and takes its
    default here; it fails the first task of each DAG that reads it (:mod:`mmgov.settings_check`).
    """
    import logging

    from mmgov.settings_check import parse_lenient

    log = logging.getLogger(__name__)
    raw = os.environ.get(ENV_NAME)
    if raw is None:
        try:
            raw = load_raw_variable(default=None)
        except Exception as exc:  # noqa: BLE001 - no Airflow variable store reachable (plain import)
            log.warning("mattermost_settings unavailable at parse (%s): defaults", exc)
            return Settings()
    settings, errors = parse_lenient(raw)
    for _key, message in errors:
        log.warning("mattermost_settings: %s (its default applies while parsing)", message)
    return settings
