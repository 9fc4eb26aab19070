"""Load ``airflow_settings.yaml`` (Astro CLI format) into any Airflow with its own import commands.

The file's ``airflow: {connections, variables, pools}`` lists are converted to the JSON files that
``airflow connections import``, ``airflow variables import`` and ``airflow pools import`` accept,
and those commands are run in the current environment (``AIRFLOW_HOME``,
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``, ...), overwriting entries of the same name::

    python -m mmgov.airflow_settings [airflow_settings.yaml] [--only pools ...] [--skip-connection ID ...]
    python -m mmgov.airflow_settings airflow_settings.yaml --out DIR    # only write the JSON files

Nothing is deleted: to remove an entry, use the UI or ``airflow connections delete``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mmgov.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FILE = PROJECT_ROOT / "airflow_settings.yaml"
KINDS = ("connections", "variables", "pools")
# What the import commands print for an entry they skipped, though they exit 0.
_FAILURE_MARKERS = ("Could not import", "Variable import failed", "failed to be updated", "Failed to update")

# Astro CLI key -> Airflow Connection field.
_CONN_FIELDS = {
    "conn_type": "conn_type",
    "conn_host": "host",
    "conn_schema": "schema",
    "conn_login": "login",
    "conn_password": "password",
    "conn_port": "port",
    "conn_extra": "extra",
    "conn_description": "description",
}


@dataclass
class AirflowSettings:
    """Connections (``conn_id`` -> Airflow connection fields), variables and pools of a settings file."""

    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)

    def set_connection(self, conn_id: str, value: Mapping[str, Any] | str) -> None:
        """Put (or replace) a connection: Airflow fields, their JSON, or a connection URI."""
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = json.loads(value)
        if isinstance(value, str):
            from airflow.models.connection import Connection

            conn = Connection(conn_id=conn_id, uri=value)
            value = {
                "conn_type": conn.conn_type,
                "host": conn.host,
                "schema": conn.schema,
                "login": conn.login,
                "password": conn.password,
                "port": conn.port,
                "extra": conn.extra_dejson,
            }
        self.connections[conn_id] = {k: v for k, v in value.items() if v not in (None, "")}

    def set_variable(self, name: str, value: Any, description: str | None = None) -> None:
        """Put (or replace) a variable; a mapping or list is stored as JSON."""
        if not isinstance(value, str):
            value = json.dumps(value, indent=2)
        self.variables[name] = {"value": value, "description": description}


def _require(where: str, item: Any, key: str) -> Any:
    if not isinstance(item, Mapping) or item.get(key) in (None, ""):
        raise SettingsError(f"{where}: '{key}' is required")
    return item[key]


def _check_keys(where: str, item: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(item) - set(allowed))
    if unknown:
        raise SettingsError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")


def parse(doc: Any, source: str = "airflow_settings.yaml") -> AirflowSettings:
    """Validate an Astro-format document and return its entries (errors name the entry and key)."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("airflow"), Mapping):
        raise SettingsError(f"{source}: expected a top-level 'airflow:' mapping")
    root = doc["airflow"]
    _check_keys(f"{source}: airflow", root, KINDS)
    out = AirflowSettings()
    for i, item in enumerate(root.get("connections") or []):
        where = f"{source}: airflow.connections[{i}]"
        conn_id = _require(where, item, "conn_id")
        where = f"{source}: connection {conn_id}"
        _check_keys(where, item, ["conn_id", *_CONN_FIELDS])
        _require(where, item, "conn_type")
        if conn_id in out.connections:
            raise SettingsError(f"{where} is defined twice")
        extra = item.get("conn_extra")
        if isinstance(extra, str) and extra.strip():
            try:
                extra = json.loads(extra)
            except json.JSONDecodeError as exc:
                raise SettingsError(f"{where}: conn_extra must be a mapping or JSON object: {exc}") from exc
        if extra not in (None, "") and not isinstance(extra, Mapping):
            raise SettingsError(f"{where}: conn_extra must be a mapping, got {type(extra).__name__}")
        port = item.get("conn_port")
        if port not in (None, "") and (isinstance(port, bool) or not str(port).isdigit()):
            raise SettingsError(f"{where}: conn_port must be a port number, got {port!r}")
        fields_ = {_CONN_FIELDS[k]: v for k, v in item.items() if k in _CONN_FIELDS}
        fields_["extra"] = dict(extra or {})
        if fields_.get("port") not in (None, ""):
            fields_["port"] = int(fields_["port"])
        out.set_connection(conn_id, fields_)
    for i, item in enumerate(root.get("variables") or []):
        where = f"{source}: airflow.variables[{i}]"
        name = _require(where, item, "variable_name")
        _check_keys(
            f"{source}: variable {name}", item, ["variable_name", "variable_value", "variable_description"]
        )
        if name in out.variables:
            raise SettingsError(f"{source}: variable {name} is defined twice")
        value = item.get("variable_value")
        out.set_variable(name, "" if value is None else value, item.get("variable_description"))
    for i, item in enumerate(root.get("pools") or []):
        where = f"{source}: airflow.pools[{i}]"
        name = _require(where, item, "pool_name")
        where = f"{source}: pool {name}"
        _check_keys(where, item, ["pool_name", "pool_slot", "pool_description", "pool_include_deferred"])
        slots = item.get("pool_slot")
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < -1:
            raise SettingsError(
                f"{where}: pool_slot must be a whole number >= 0 (-1 = unlimited), got {slots!r}"
            )
        out.pools[name] = {
            "slots": slots,
            "description": item.get("pool_description") or "",
            "include_deferred": bool(item.get("pool_include_deferred", False)),
        }
    return out


def read(path: Path | str = DEFAULT_FILE) -> AirflowSettings:
    """Read and validate a settings file."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML: {exc}") from exc
    return parse(doc, source=path.name)


def write_import_files(
    settings: AirflowSettings, folder: Path, kinds: Sequence[str] = KINDS
) -> dict[str, Path]:
    """Write the import JSON files (one per non-empty kind) into ``folder``; return kind -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    docs: dict[str, dict[str, Any]] = {
        "connections": {
            cid: {**{k: v for k, v in c.items() if k != "extra"}, "extra_dejson": c.get("extra") or {}}
            for cid, c in settings.connections.items()
        },
        "variables": {
            name: ({"value": v["value"], "description": v["description"]} if v["description"] else v["value"])
            for name, v in settings.variables.items()
        },
        "pools": settings.pools,
    }
    out: dict[str, Path] = {}
    for kind in kinds:
        if docs[kind]:
            path = folder / f"{kind}.json"
            path.write_text(json.dumps(docs[kind], indent=2) + "\n")
            path.chmod(0o600)  # holds passwords
            out[kind] = path
    return out


def import_commands(files: Mapping[str, Path]) -> list[list[str]]:
    """The ``airflow ... import`` argument lists for the written files (connections first)."""
    args = {
        "connections": lambda p: ["connections", "import", str(p), "--overwrite"],
        "variables": lambda p: ["variables", "import", str(p), "--action-on-existing-key", "overwrite"],
        "pools": lambda p: ["pools", "import", str(p)],
    }
    return [args[kind](files[kind]) for kind in KINDS if kind in files]


def airflow_executable() -> str:
    """The ``airflow`` command beside this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("airflow")
    if beside.exists():
        return str(beside)
    found = shutil.which("airflow")
    if not found:
        raise FileNotFoundError("the airflow command is not installed (make install)")
    return found


def load_into_airflow(
    settings: AirflowSettings,
    *,
    env: Mapping[str, str] | None = None,
    kinds: Sequence[str] = KINDS,
    timeout: float = 300,
) -> list[str]:
    """Import ``settings`` into the Airflow that ``env`` (default: this process's) configures.

    Returns each command's output; raises ``RuntimeError`` with the output when one fails.
    """
    outputs = []
    with tempfile.TemporaryDirectory(prefix="mmgov-airflow-settings-") as tmp:
        files = write_import_files(settings, Path(tmp), kinds)
        for args in import_commands(files):
            result = subprocess.run(
                [airflow_executable(), *args],
                env=dict(env if env is not None else os.environ),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            text = (result.stdout + result.stderr).strip()
            if result.returncode != 0 or any(marker in text for marker in _FAILURE_MARKERS):
                raise RuntimeError(
                    f"airflow {' '.join(args[:2])} exited {result.returncode}:\n{text[-3000:]}"
                )
            outputs.append(text)
    return outputs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmgov.airflow_settings", description=__doc__.split("\n")[0]
    )
    parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE), help="settings file (Astro CLI format)")
    parser.add_argument("--only", action="append", choices=KINDS, help="import only this kind (repeatable)")
    parser.add_argument(
        "--skip-connection", action="append", default=[], metavar="CONN_ID", help="leave this one out"
    )
    parser.add_argument("--out", metavar="DIR", help="write the import JSON files to DIR and stop")
    args = parser.parse_args(argv)
    kinds = args.only or list(KINDS)
    try:
        settings = read(args.file)
        for conn_id in args.skip_connection:
            if settings.connections.pop(conn_id, None) is None:
                raise SettingsError(f"--skip-connection {conn_id}: no such connection in {args.file}")
    except (OSError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if "mattermost_settings" in settings.variables:
        from mmgov.settings import Settings

        try:
            Settings.parse(settings.variables["mattermost_settings"]["value"])
        except SettingsError as exc:
            print(f"error: {args.file}: variable mattermost_settings: {exc}", file=sys.stderr)
            return 2
    if args.out:
        for kind, path in write_import_files(settings, Path(args.out), kinds).items():
            print(f"{kind}: {path}")
        return 0
    for text in load_into_airflow(settings, kinds=kinds):
        print(text)
    counts = {k: len(getattr(settings, k)) for k in kinds}
    print("Loaded " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" from {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
