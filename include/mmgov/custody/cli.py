"""``mmgov custody ...``: attestations, their monthly rollup, export expiry, signing keys.

    mmgov custody keygen --out signing          # signing.pem (private: the mmgov_signing password)
                                                # and signing.pub.pem (give it to auditors)
    mmgov custody key-id signing.pub.pem        # the key id manifests name
    mmgov custody attest RUN_ID                 # (re)write version 1 of a purge run's attestation
    mmgov custody rollup 2026-01                # the signed monthly rollup of retention attestations
    mmgov custody expire                        # remove exports older than Mmgov.ExportRetentionDays

The database is ``--dsn`` or the Airflow connection ``mattermost_db``; settings: ``--settings`` (a
file or JSON) or the ``mattermost_settings`` variable; the key: the ``mmgov_signing`` connection.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from mmgov.errors import MmgovError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mmgov custody", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", help="libpq URI of the Mattermost database (default: mattermost_db)")
    parser.add_argument("--settings", help="mattermost_settings as a file or JSON (default: the variable)")
    sub = parser.add_subparsers(dest="command", required=True)
    keygen = sub.add_parser("keygen", help="a new Ed25519 signing key pair (PEM files)")
    keygen.add_argument("--out", type=Path, required=True, help="path prefix: <out>.pem and <out>.pub.pem")
    key_id = sub.add_parser("key-id", help="the key id of a PEM public key")
    key_id.add_argument("public_key", type=Path)
    attest = sub.add_parser("attest", help="write a purge run's attestation (version 1) if missing")
    attest.add_argument("run_id")
    rollup = sub.add_parser("rollup", help="write the signed monthly rollup of retention attestations")
    rollup.add_argument("month", help="YYYY-MM (UTC)")
    sub.add_parser(
        "expire", help="remove exports older than Mmgov.ExportRetentionDays (held/unverified kept)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        result = _run(args)
    except (MmgovError, OSError) as exc:
        print(f"mmgov custody: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 1 if isinstance(result, dict) and result.get("refused") else 0


def _run(args: argparse.Namespace) -> object:
    from mmgov.custody.signing import Signer, load_public_keys, load_signer, public_pem

    if args.command == "keygen":
        signer = Signer.generate()
        private, public = Path(f"{args.out}.pem"), Path(f"{args.out}.pub.pem")
        private.touch(mode=0o600, exist_ok=False)
        private.write_text(signer.private_pem())
        public.write_bytes(public_pem(signer.public_key))
        return {"private_key": str(private), "public_key": str(public), "key_id": signer.key_id}
    if args.command == "key-id":
        return list(load_public_keys([args.public_key]))
    from mmgov.db import cli_connection  # the CLI's one way to reach the database (mmgov.db)
    from mmgov.retention.cli import _settings
    from mmgov.state import ensure_mmgov_schema

    settings = _settings(args.settings)
    with cli_connection(args.dsn) as conn:
        ensure_mmgov_schema(conn)
        if args.command == "attest":
            from mmgov.custody.attestation import attest_reported_run

            return attest_reported_run(conn, settings, args.run_id)
        if args.command == "rollup":
            from mmgov.custody.attestation import export_root, write_rollup

            return write_rollup(conn, args.month, export_root(settings), load_signer())
        from mmgov.custody.expiry import expire_exports

        return expire_exports(conn, settings)
