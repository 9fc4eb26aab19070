"""``python -m mmgov.bulk_export validate <import.jsonl | export folder | export.zip>``.

Exit status 0 when the export is valid (warnings allowed), 1 when it has errors, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys

from mmgov.bulk_export.export_check import validate_export
from mmgov.bulk_export.import_report import print_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmgov.bulk_export", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("validate", help="check an export against Mattermost's bulk-import rules")
    check.add_argument("path", help="import.jsonl, an export folder, or an export .zip")
    refs = check.add_mutually_exclusive_group()
    refs.add_argument(
        "--strict",
        dest="strict",
        action="store_true",
        default=None,
        help="every referenced team/channel/user must be defined (default for workspace exports)",
    )
    refs.add_argument(
        "--lenient",
        dest="strict",
        action="store_false",
        help="do not require referenced users/teams to be defined (default for per-person exports)",
    )
    check.add_argument(
        "--no-file-check",
        dest="check_files",
        action="store_false",
        help="do not check that referenced files are in the export",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--limit", type=int, default=50, help="findings to print (default 50)")
    args = parser.parse_args(argv)
    try:
        report = validate_export(args.path, strict=args.strict, check_files=args.check_files)
    except (OSError, KeyError) as exc:
        print(f"cannot read {args.path}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_report(report, sys.stdout, limit=args.limit)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
