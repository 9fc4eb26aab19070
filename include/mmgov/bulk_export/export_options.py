"""The trigger form of ``gdpr_export`` (the seed's fields plus ``users``), validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mmgov.bulk_export.errors import ExportParamError

# Defaults favour completeness (a GDPR request must miss nothing); roles/schemes are not personal data.
DEFAULTS: dict[str, Any] = {
    "include_attachments": True,
    "include_profile_pictures": True,
    "include_archived_channels": True,
    "include_roles_and_schemes": False,
    "create_archive": True,
}
BOOL_FIELDS = tuple(DEFAULTS)
MAX_USERS = 100


@dataclass(frozen=True)
class ExportOptions:
    """What to export and where; built from the run's params by :meth:`from_params`."""

    output_path: Path
    include_attachments: bool = True
    include_profile_pictures: bool = True
    include_archived_channels: bool = True
    include_roles_and_schemes: bool = False
    create_archive: bool = True
    users: tuple[str, ...] = ()

    @property
    def per_person(self) -> bool:
        """True when only the data of ``users`` is exported."""
        return bool(self.users)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ExportOptions:
        """Validate the trigger-form values; unknown keys are ignored (Airflow adds its own)."""
        vals: dict[str, Any] = {}
        for key in BOOL_FIELDS:
            value = params.get(key, DEFAULTS[key])
            if value is None:
                value = DEFAULTS[key]
            if not isinstance(value, bool):
                raise ExportParamError(f"{key} must be true or false, got {value!r}")
            vals[key] = value
        raw_path = params.get("output_path")
        if not isinstance(raw_path, str) or not raw_path.strip():
            raise ExportParamError(
                f"output_path is required: an absolute folder path on the Airflow worker, got {raw_path!r}"
            )
        path = Path(raw_path.strip())
        if not path.is_absolute():
            raise ExportParamError(f"output_path must be an absolute folder path, got {raw_path!r}")
        vals["output_path"] = path
        vals["users"] = _check_users(params.get("users"))
        return cls(**vals)

    def to_params(self) -> dict[str, Any]:
        """The JSON-ready form (XCom, job row, audit payloads)."""
        doc = asdict(self)
        doc["output_path"] = str(self.output_path)
        doc["users"] = list(self.users)
        return doc


def _check_users(raw: Any) -> tuple[str, ...]:
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):  # a comma-separated string typed into a text box
        raw = [part for part in raw.replace("\n", ",").split(",")]
    if not isinstance(raw, list | tuple):
        raise ExportParamError(f"users must be a list of usernames or e-mail addresses, got {raw!r}")
    out: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise ExportParamError(
                f"users must contain usernames or e-mail addresses (strings), got {item!r}"
            )
        value = item.strip().lower()
        if not value:
            continue
        if len(value) > 128:
            raise ExportParamError(
                f"users: {item!r} is longer than 128 characters (not a username or e-mail)"
            )
        if value not in out:
            out.append(value)
    if len(out) > MAX_USERS:
        raise ExportParamError(f"users may name at most {MAX_USERS} people per run, got {len(out)}")
    return tuple(out)
