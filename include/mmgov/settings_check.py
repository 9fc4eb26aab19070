"""Settings errors stay contained: every error found at once, each DAG held only to the keys it uses.

A bad value in the ``mattermost_settings`` variable must never make a DAG vanish (parse) nor stop a
DAG that does not use that key. So:

- :func:`settings_errors` lists every error, one per key (``Section.Key`` and what is allowed);
- :func:`parse_lenient` (DAG parsing) drops the bad keys, so their defaults apply and nothing raises;
- :func:`parse_for` (task time) raises the errors of the keys the running DAG uses
  (:data:`DAG_SETTINGS`) and otherwise parses leniently;
- ``python -m mmgov settings check [FILE|-]`` prints them all (the variable by default).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from mmgov.errors import SettingsError
from mmgov.settings import (
    _SECTIONS,
    VARIABLE_NAME,
    DataRetentionSettings,
    FileSettings,
    MessageExportSettings,
    MmgovSettings,
    Settings,
)

TOP = VARIABLE_NAME  # the key of errors about the whole variable (not JSON, unknown section)
PARSERS: dict[str, Callable[[Any], Any]] = {
    "FileSettings": FileSettings.parse,
    "MessageExportSettings": MessageExportSettings.parse,
    "DataRetentionSettings": DataRetentionSettings.parse,
    "Mmgov": MmgovSettings.parse,
}
assert tuple(PARSERS) == _SECTIONS

# The settings each DAG reads (a section, or a prefix of ``Section.Key``). A bad value elsewhere
# leaves the DAG running on that key's default, which it never reads.
_EXPORT_SIDE = ("Mmgov.ExportDestination", "Mmgov.ExportRecipients", "Mmgov.Timezone", "Mmgov.MissingFiles")
_POOLS = ("Mmgov.DatabasePool", "Mmgov.SmtpPool")
DAG_SETTINGS: dict[str, tuple[str, ...]] = {
    "compliance_export": (
        "FileSettings",
        "MessageExportSettings",
        "Mmgov.GlobalRelay",
        "Mmgov.CsvMembershipRows",
        *_EXPORT_SIDE,
        *_POOLS,
    ),
    "gdpr_export": ("FileSettings", "Mmgov.GdprExportAdmins", *_EXPORT_SIDE, *_POOLS),
    "retention_purge": _SECTIONS,
    "retention_physical_removal": _SECTIONS,
    "custody": (
        "FileSettings",
        "Mmgov.ExportRetentionDays",
        "Mmgov.GdprExportAdmins",
        *_EXPORT_SIDE,
        *_POOLS,
    ),
}


def _load(raw: Mapping[str, Any] | str | bytes | None) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The variable as a dict, or the error that it is not one."""
    if raw is None or raw == "":
        return {}, []
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            return {}, [(TOP, f"{VARIABLE_NAME} is not valid JSON: {exc}")]
    if not isinstance(raw, Mapping):
        return {}, [(TOP, f"{VARIABLE_NAME} must be a JSON object with sections {', '.join(_SECTIONS)}")]
    return dict(raw), []


def settings_errors(raw: Mapping[str, Any] | str | bytes | None) -> list[tuple[str, str]]:
    """Every error of the variable as ``(key, message)``; empty when it is valid."""
    return _check(raw)[1]


def _check(raw: Mapping[str, Any] | str | bytes | None) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The variable without its bad keys (their defaults apply), and the errors."""
    data, errors = _load(raw)
    clean: dict[str, Any] = {}
    for section, body in data.items():
        if section not in PARSERS:
            errors.append(
                (TOP, f"{VARIABLE_NAME} has unknown section {section}; allowed: {', '.join(_SECTIONS)}")
            )
            continue
        parse = PARSERS[section]
        if not isinstance(body, Mapping):
            try:
                parse(body)
            except SettingsError as exc:
                errors.append((section, str(exc)))
            continue
        good: dict[str, Any] = {}
        for key, value in body.items():
            try:
                parse({key: value})
            except SettingsError as exc:
                # A rule needing another key (an S3 driver needs its bucket) is the section's, below.
                if key == "GlobalRelaySettings" or str(exc).startswith(f"{section}.{key} "):
                    errors.append((f"{section}.{key}", str(exc)))
                    continue
            good[key] = value
        try:  # rules across keys (an S3 driver needs its bucket)
            parse(good)
        except SettingsError as exc:
            errors.append((section, str(exc)))
            continue
        clean[section] = good
    return clean, errors


def _used(key: str, uses: Collection[str]) -> bool:
    return key == TOP or any(key.startswith(u) or u.startswith(key + ".") for u in uses)


def parse_lenient(raw: Mapping[str, Any] | str | bytes | None) -> tuple[Settings, list[tuple[str, str]]]:
    """Settings with every bad key at its default (never raises), and the errors that were dropped."""
    clean, errors = _check(raw)
    return Settings.parse(clean), errors


def parse_for(raw: Mapping[str, Any] | str | bytes | None, uses: Collection[str] | None) -> Settings:
    """Settings for a DAG that reads ``uses`` (None: everything): raise the errors of those keys.

    The :class:`SettingsError` names every offending key, one per line.
    """
    if uses is None:
        return Settings.parse(raw)
    settings, errors = parse_lenient(raw)
    relevant = [message for key, message in errors if _used(key, uses)]
    if relevant:
        raise SettingsError("\n".join(relevant) if len(relevant) > 1 else relevant[0])
    return settings


def uses_of(dag_id: str | None) -> tuple[str, ...] | None:
    """The settings ``dag_id`` reads; None (all of them) for anything else."""
    return DAG_SETTINGS.get(dag_id or "")


# --- python -m mmgov settings check [FILE|-] ----------------------------------------------------------


def _read(source: str | None) -> str | None:
    if source is None:
        from mmgov.settings import load_raw_variable

        return load_raw_variable()
    if source == "-":
        return sys.stdin.read()
    with open(source, encoding="utf-8") as fh:
        return fh.read()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mmgov settings", description="Check the mattermost_settings JSON.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="print every error with its key and the allowed values")
    check.add_argument(
        "source", nargs="?", help=f"a JSON file, or - for stdin (default: the {VARIABLE_NAME} variable)"
    )
    args = parser.parse_args(argv)
    try:
        raw = _read(args.source)
    except OSError as exc:
        print(f"mmgov settings: cannot read {args.source}: {exc}", file=sys.stderr)
        return 2
    errors = settings_errors(raw)
    for key, message in errors:
        print(message if message.startswith(key) else f"{key}: {message}")
    affected = sorted({dag for dag, uses in DAG_SETTINGS.items() for key, _ in errors if _used(key, uses)})
    if errors:
        print(f"{len(errors)} error(s); DAGs whose first task fails: {', '.join(affected)}", file=sys.stderr)
        return 1
    print(f"{VARIABLE_NAME}: OK")
    return 0
