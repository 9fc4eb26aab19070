"""The ``mmgov`` command: one entry point for the areas' command lines.

``mmgov retention ...`` (policies, legal holds, preview, restore), ``mmgov gdpr ...`` (validate a
bulk export), ``mmgov airflow-settings ...``
(load airflow_settings.yaml into an Airflow), ``mmgov verify PATH`` (an export against its signed
manifest), ``mmgov custody ...`` (attestations, rollup, expiry, keys), ``mmgov settings check`` (the
settings variable). Seeding a synthetic workspace is a development tool: ``python -m mmgov_dev.synth``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS = {
    "retention": ("mmgov.retention.cli", "policies, legal holds, purge preview, restore"),
    "gdpr": ("mmgov.bulk_export.__main__", "validate a bulk export (import.jsonl or zip)"),
    "airflow-settings": ("mmgov.airflow_settings", "load airflow_settings.yaml into Airflow"),
    "verify": ("mmgov.custody.verify", "verify an export or attestation against its signed manifest"),
    "custody": ("mmgov.custody.cli", "retention attestations, monthly rollup, export expiry, signing keys"),
    "settings": (
        "mmgov.settings_check",
        "check the mattermost_settings JSON: every error, key and allowed values",
    ),
}


def usage() -> str:
    lines = ["usage: mmgov <command> [args...]", "", "commands:"]
    lines += [f"  {name:<17} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``mmgov <command> ...`` to the command's own ``main(argv)``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(
            f"mmgov: unknown command {name!r}; allowed: {', '.join(COMMANDS)}\n\n{usage()}", file=sys.stderr
        )
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
