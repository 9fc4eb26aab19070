"""``python -m mmgov verify PATH [--public-key FILE]``: is this export what its manifest says?

PATH: a compliance export run folder, one batch zip of it, a GDPR export (``.zip`` with its
``.manifest.json`` beside it, or the export folder), a manifest or attestation JSON, or the same
as an ``s3://bucket/key`` URL. Checks, each failure one line naming the file:

* the manifest is there and parses; its detached signature matches one of the ``--public-key``
  files (key chosen by key id; a key not given, a missing ``.sig``, an unsigned manifest, an
  edited manifest are problems);
* every file the manifest lists is there with its size and SHA-256; in a folder the manifest owns
  (a run folder, a GDPR export folder) no file is missing and none is extra;
* inside each readable zip: the number of entries, every entry's CRC, and the counts the format
  wrote (posts.csv rows, ``<Message>`` elements, emails); inside a GDPR export: each entry's SHA-256
  and the lines of ``import.jsonl`` per type. Encrypted files (``.age``) are checked as ciphertext:
  no private key is needed (their insides are checked after decryption, on the decrypted copy).

Exit status 0 when nothing is wrong, 1 when something is, 2 for a usage error. The checks inside
a zip are :mod:`mmgov.custody.zip_checks`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mmgov.custody import manifest as mf
from mmgov.custody.signing import SIGNATURE_SUFFIX, check_signature, load_public_keys
from mmgov.custody.store import (
    LocalStore,
    S3Store,
    StoreError,
    hash_stream,
    join,
    safe_name,
    store_for_location,
)
from mmgov.custody.zip_checks import check_archive, check_line_counts, check_zip

GDPR_SIDECAR = ".manifest.json"


@dataclass
class Report:
    """What verify found: ``problems`` (each names its file) and ``notes`` (not failures)."""

    target: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    manifest_sha256: str | None = None
    files_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")


@dataclass
class Options:
    public_keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    allow_unsigned: bool = False  # an unsigned manifest is not a problem
    skip_signature: bool = False  # check the files only (the signature is not looked at)
    check_contents: bool = True
    identity: str | None = None  # an age identity: encrypted zips are decrypted to check inside them


def verify_manifest_at(
    store: LocalStore | S3Store,
    folder: str,
    name: str,
    options: Options,
    *,
    only: str | None = None,
) -> Report:
    """Verify the manifest ``<folder>/<name>`` and what it lists (only ``only`` when given)."""
    where = join(folder, name)
    report = Report(store.describe(where))
    data = store.read_bytes(where)
    if data is None:
        report.problem(name, "missing: the export is incomplete, or not an mmgov export")
        return report
    report.manifest_sha256 = hashlib.sha256(data).hexdigest()
    try:
        doc = mf.parse(data)
    except (ValueError, UnicodeDecodeError) as exc:
        report.problem(name, f"not a readable manifest ({exc})")
        return report
    report.manifest = doc
    _check_signature(store, where, name, data, doc, options, report)
    files = doc.get("files") or []
    listed = {f["name"]: f for f in files if isinstance(f, dict) and "name" in f}
    if only is not None and only not in listed:
        report.problem(only, f"not listed in {name}")
        return report
    present = store.list(folder)
    for fname, entry in sorted(listed.items()):
        if only is not None and fname != only:
            continue
        _check_file(store, folder, fname, entry, present, doc, options, report)
    owns = doc.get("owns")  # the folder the manifest owns whole ("": its own): nothing else may be there
    if only is None and isinstance(owns, str):
        own = {name, name + SIGNATURE_SUFFIX}
        inside = [p for p in present if not owns or p.startswith(owns.rstrip("/") + "/")]
        for extra in sorted(set(inside) - set(listed) - own):
            report.problem(extra, f"extra file, not listed in {name}")
    line_counts = (doc.get("export") or {}).get("line_counts")
    jsonl = f"{owns}/import.jsonl" if owns else None
    if only is None and options.check_contents and line_counts and jsonl in listed and jsonl in present:
        with store.open(join(folder, jsonl)) as stream:
            for line in check_line_counts(stream, line_counts):
                report.problem(jsonl, line)
    if doc.get("encryption"):
        report.notes.append(
            "files are encrypted to " + ", ".join(doc["encryption"]["recipients"]) + ": ciphertext checked"
        )
    return report


def _check_signature(
    store: LocalStore | S3Store,
    where: str,
    name: str,
    data: bytes,
    doc: dict[str, Any],
    options: Options,
    report: Report,
) -> None:
    key_id = (doc.get("signing") or {}).get("key_id")
    sig_name = name + SIGNATURE_SUFFIX
    if options.skip_signature:
        report.notes.append(f"{sig_name} not checked (--no-signature)")
        return
    if not key_id:
        if options.allow_unsigned:
            report.notes.append(f"{name} is unsigned")
        else:
            report.problem(
                name, "unsigned (no mmgov_signing connection when it was written); --allow-unsigned"
            )
        return
    signature = store.read_bytes(where + SIGNATURE_SUFFIX)
    if signature is None:
        report.problem(sig_name, f"missing: {name} says it is signed by key {key_id}")
        return
    if not options.public_keys:
        report.problem(sig_name, "not checked: give the signer's public key with --public-key FILE")
        return
    key = options.public_keys.get(key_id)
    if key is None:
        report.problem(
            sig_name,
            f"signed by key {key_id}, not by any key given ({', '.join(sorted(options.public_keys))})",
        )
        return
    if not check_signature(key, signature, data):
        report.problem(
            sig_name, f"signature does not match {name} (the manifest was altered, or the signature)"
        )


def _check_file(
    store: LocalStore | S3Store,
    folder: str,
    fname: str,
    entry: dict[str, Any],
    present: dict[str, int],
    doc: dict[str, Any],
    options: Options,
    report: Report,
) -> None:
    try:
        safe = safe_name(fname)
    except StoreError as exc:
        report.problem(fname, str(exc))
        return
    if safe not in present:
        report.problem(fname, "missing")
        return
    if present[safe] != entry.get("size"):
        report.problem(
            fname, f"size {present[safe]} bytes, the manifest says {entry.get('size')} (truncated or altered)"
        )
        return
    report.files_checked += 1
    container = "batch" in entry or (doc.get("export") or {}).get("layout") == "archive"  # a zip mmgov made
    encrypted = bool(entry.get("encrypted"))
    check_inside = options.check_contents and container and (not encrypted or options.identity is not None)
    with _readable(store, join(folder, safe), seekable=check_inside) as (stream, path):
        if path is not None:
            with open(path, "rb") as fh:
                _size, digest = hash_stream(fh)
        else:
            _size, digest = hash_stream(stream)
        if digest != entry.get("sha256"):
            report.problem(fname, "SHA-256 differs from the manifest (altered)")
            return
        if check_inside and path is not None:
            checker = check_archive if doc.get("kind") == "gdpr_export" else check_zip
            try:
                with _plain(path, options.identity if encrypted else None) as plain:
                    for line in checker(plain, doc, fname):
                        report.problem(fname, line)
            except _Undecryptable as exc:
                report.problem(fname, str(exc))


@contextmanager
def _readable(
    store: LocalStore | S3Store, name: str, *, seekable: bool
) -> Iterator[tuple[IO[bytes] | None, Path | None]]:
    """A local path when the store has one (or, for a zip to look inside, a downloaded copy)."""
    local = store.local_path(name)
    if local is not None:
        yield None, local
        return
    if not seekable:
        with store.open(name) as stream:
            yield stream, None
        return
    with tempfile.TemporaryDirectory(prefix="mmgov-verify-") as tmp:
        path = Path(tmp) / "copy"
        with store.open(name) as stream, open(path, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                out.write(chunk)
        yield None, path


class _Undecryptable(Exception):
    pass


@contextmanager
def _plain(path: Path, identity: str | None) -> Iterator[Path]:
    """``path`` itself, or a decrypted temporary copy when an age identity is given."""
    if identity is None:
        yield path
        return
    from mmgov.custody.encryption import decrypt_file

    with tempfile.TemporaryDirectory(prefix="mmgov-verify-") as tmp:
        plain = Path(tmp) / "plain.zip"
        try:
            decrypt_file(path, plain, identity)
        except Exception as exc:  # noqa: BLE001 - pyrage's DecryptError/IdentityError: a bad key or file
            raise _Undecryptable(f"cannot be decrypted with the --identity given ({exc})") from None
        yield plain


# --- locating the manifest -----------------------------------------------------------------------


def verify_location(location: str, options: Options, *, s3_client: Any = None) -> Report:
    """Verify whatever ``location`` names (see the module docstring)."""
    store, last = store_for_location(location, s3_client=s3_client)
    if isinstance(store, LocalStore) and not (store.root / last).exists():
        report = Report(location)
        report.problem(location, "no such file or folder")
        return report
    if isinstance(store, S3Store):
        listing = store.list(last)
        is_folder = bool(listing)
    else:
        is_folder = (store.root / last).is_dir()
    if store.read_bytes(last + GDPR_SIDECAR) is not None:  # a GDPR export, its manifest beside it
        return verify_manifest_at(store, "", last + GDPR_SIDECAR, options)
    if is_folder:
        return verify_manifest_at(_sub(store, last), "", mf.MANIFEST_NAME, options)
    if last.endswith(".json"):  # a manifest or attestation named directly
        return verify_manifest_at(store, "", last, options)
    return verify_manifest_at(store, "", mf.MANIFEST_NAME, options, only=last)  # one batch of a run folder


def _sub(store: LocalStore | S3Store, folder: str) -> LocalStore | S3Store:
    if isinstance(store, S3Store):
        return S3Store(store.bucket, join(store.prefix, folder), store.client)
    return LocalStore(store.root / folder)


# --- command line --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mmgov verify", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "path", help="run folder, batch zip, GDPR archive or folder, manifest JSON, or s3:// URL"
    )
    parser.add_argument(
        "--public-key", action="append", type=Path, default=[], help="PEM Ed25519 public key (repeatable)"
    )
    parser.add_argument("--no-signature", action="store_true", help="check files only, not the signature")
    parser.add_argument("--allow-unsigned", action="store_true", help="an unsigned manifest is not a problem")
    parser.add_argument(
        "--s3-conn", default="mattermost_s3", help="Airflow aws connection for s3:// (default %(default)s)"
    )
    parser.add_argument(
        "--identity",
        type=Path,
        help="age identity file: also check inside encrypted zips (not needed otherwise)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        keys = load_public_keys(args.public_key)
    except (OSError, ValueError) as exc:
        print(f"mmgov verify: {exc}", file=sys.stderr)
        return 2
    identity = None
    if args.identity:
        lines = [x for x in args.identity.read_text().splitlines() if x.startswith("AGE-SECRET-KEY-")]
        if not lines:
            print(f"mmgov verify: {args.identity}: no AGE-SECRET-KEY- line", file=sys.stderr)
            return 2
        identity = lines[0]
    options = Options(
        keys, allow_unsigned=args.allow_unsigned, skip_signature=args.no_signature, identity=identity
    )
    client = None
    if args.path.startswith("s3://"):
        from mmgov.file_store import s3_client

        client = s3_client(args.s3_conn)
    report = verify_location(args.path, options, s3_client=client)
    if args.json:
        print(
            json.dumps(
                {
                    "target": report.target,
                    "ok": report.ok,
                    "problems": report.problems,
                    "notes": report.notes,
                    "manifest_sha256": report.manifest_sha256,
                },
                indent=2,
            )
        )
    else:
        for line in report.problems:
            print(line)
        for line in report.notes:
            print(f"note: {line}", file=sys.stderr)
        if report.ok:
            kind = (report.manifest or {}).get("kind", "?")
            print(
                f"OK {report.target}: {kind}, {report.files_checked} files checked, manifest SHA-256 {report.manifest_sha256}",
                file=sys.stderr,
            )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
