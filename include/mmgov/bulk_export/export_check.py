"""Validate an export as Mattermost would import it: its ``import.jsonl`` line by line
(:mod:`~mmgov.bulk_export.import_validator`), then the files its lines name under ``data/``."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mmgov.bulk_export import mattermost_rules as rules
from mmgov.bulk_export.import_report import ValidationReport
from mmgov.bulk_export.import_validator import MAX_FINDINGS, ImportValidator, validate_lines


class _ExportFiles:
    """The members of an export (a ZIP or a folder): which exist, and their bytes as a stream."""

    def __init__(self, root: Path | zipfile.ZipFile):
        self.root = root
        self.names = set(root.namelist()) if isinstance(root, zipfile.ZipFile) else None

    def lines(self) -> Iterator[bytes]:
        if isinstance(self.root, zipfile.ZipFile):
            return iter(self.root.open("import.jsonl"))
        return iter(open(self.root / "import.jsonl", "rb"))

    def exists(self, name: str) -> bool:
        if self.names is not None:
            return name in self.names
        assert isinstance(self.root, Path)
        return (self.root / name).is_file()

    def open(self, name: str) -> IO[bytes]:
        if isinstance(self.root, zipfile.ZipFile):
            return self.root.open(name)
        return open(self.root / name, "rb")


# What Mattermost does with a file a line names, when it is not in the export: the importer goes on
# without an attachment (``uploadAttachments`` logs it); a profile picture (``ValidateUserImportData``
# stats it) or an emoji image (``importEmoji``, and mmctl's validate) it cannot open stops the import.
_MISSING_IS_ERROR = {"attachment": False, "profile_image": True, "emoji": True}


def _check_files(validator: ImportValidator, files: _ExportFiles, options: dict[str, Any]) -> None:
    """Every file a line names is in the export (under ``data/``, where Mattermost's importer and
    ``mmctl import validate`` look); profile pictures and emoji images decode as Mattermost's do."""
    for line, kind, name in validator.files:
        if kind == "attachment" and options.get("include_attachments") is False:
            continue  # exported without files on purpose
        validator._line = line
        member = f"data/{name}"
        if not files.exists(member):
            report = validator.error if _MISSING_IS_ERROR[kind] else validator.warning
            report(f"{kind}.file.missing", f"{kind} {name!r} is not in the export ({member})")
            continue
        if kind == "attachment":
            continue
        with files.open(member) as stream:
            if kind == "emoji" and name.lower().endswith(".svg"):
                problem = rules.svg_problem(stream)
            elif kind == "emoji":
                problem = rules.image_problem(stream, rules.EMOJI_IMAGE_FORMATS)
            else:
                problem = rules.image_problem(
                    stream, rules.PROFILE_IMAGE_FORMATS, max_pixels=rules.MAX_IMAGE_RESOLUTION
                )
        if problem and kind == "emoji" and not name.lower().endswith(".svg"):
            with files.open(member) as stream:
                if rules.is_svg(stream):
                    # mmctl's validate tells SVG by the .svg extension and would reject it; the
                    # server's importEmoji stores the bytes without decoding them
                    validator.warning(
                        "emoji.image.svg_without_extension",
                        f"emoji {name!r} ({member}) is SVG: Mattermost's importer takes it as is, "
                        "mmctl import validate (which tells SVG by the .svg extension) would reject it",
                    )
                    continue
        if problem:
            validator.error(f"{kind}.image.undecodable", f"{kind} {name!r} ({member}): {problem}")


def validate_export(
    path: str | Path,
    *,
    strict: bool | None = None,
    check_files: bool = True,
    max_findings: int = MAX_FINDINGS,
) -> ValidationReport:
    """Validate ``import.jsonl`` (a file), an export folder or an export ZIP.

    ``strict`` defaults to what the version line says: strict for a whole-workspace export, lenient
    references for a per-person one (other people are named but not exported). ``check_files``
    checks that the files lines name are in the export under ``data/`` (a missing attachment is a
    warning: it should then be listed in ``warnings.txt``) and that profile pictures and emoji
    images decode.
    """
    path = Path(path)
    archive = zipfile.ZipFile(path) if zipfile.is_zipfile(path) else None
    try:
        files = _ExportFiles(archive if archive is not None else path) if archive or path.is_dir() else None
        lines = files.lines() if files is not None else iter(open(path, "rb"))  # noqa: SIM115
        first = next(lines, b"")
        scope, options = _scope_of(first)
        if strict is None:
            strict = scope != "users"
        validator = validate_lines(_chain(first, lines), strict=strict, max_findings=max_findings)
        close = getattr(lines, "close", None)
        if close:
            close()
        if check_files and files is not None:
            _check_files(validator, files, options)
        return validator.report
    finally:
        if archive is not None:
            archive.close()


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _scope_of(first_line: bytes) -> tuple[str, dict[str, Any]]:
    """The scope (``workspace`` or ``users``) and options mmgov recorded in the version line."""
    try:
        additional = (json.loads(first_line).get("info") or {}).get("additional") or {}
        return str(additional.get("scope", "workspace")), dict(additional.get("options") or {})
    except (ValueError, AttributeError, TypeError):
        return "workspace", {}
