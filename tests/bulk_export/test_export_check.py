"""Checking a written export (folder, ZIP or .jsonl) as Mattermost's importer and ``mmctl import
validate`` would: the lines, then the files they name under ``data/``."""

from __future__ import annotations

import json
import zipfile

import pytest

from mmgov.bulk_export.__main__ import main
from mmgov.bulk_export.export_check import validate_export
from mmgov_dev.synth.files import EMOJI_PNG
from tests.bulk_export.import_lines import base


def test_zip_and_folder_exports_and_the_cli(tmp_path, capsys):
    text = "\n".join(json.dumps(line) for line in base()) + "\n"
    folder = tmp_path / "export"
    (folder / "data" / "a").mkdir(parents=True)
    (folder / "import.jsonl").write_text(text)
    (folder / "data" / "a" / "b.txt").write_text("x")
    (folder / "data" / "exported_emoji" / "e1").mkdir(parents=True)
    (folder / "data" / "exported_emoji" / "e1" / "image").write_bytes(EMOJI_PNG)
    report = validate_export(folder)
    assert report.ok, report.errors
    assert [f.message for f in report.warnings] == [
        "attachment 'x/y.png' is not in the export (data/x/y.png)"
    ]
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("import.jsonl", text)
        zf.writestr("data/a/b.txt", "x")
        zf.writestr("data/x/y.png", "x")
        zf.writestr("data/exported_emoji/e1/image", EMOJI_PNG)
    assert validate_export(archive).warning_count == 0
    assert main(["validate", str(archive)]) == 0
    assert capsys.readouterr().out.startswith("valid: 13 lines")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(text.replace('"type": "O"', '"type": "Z"', 1))
    assert main(["validate", str(broken), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error_count"] == 1
    assert main(["validate", str(tmp_path / "missing.jsonl")]) == 2


def _folder(tmp_path, lines, files: dict[str, bytes]):
    folder = tmp_path / "export"
    folder.mkdir(parents=True)
    (folder / "import.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (no pixel data: Mattermost reads the size first)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def test_emoji_images_are_looked_up_under_data(tmp_path):
    """mmctl's validate looks for ``path.Join("data", image)`` and Mattermost's importer resolves a ZIP's
    paths under ``data/`` (import.go processAttachments): an image at the export root only is missing,
    and an emoji whose image cannot be opened stops the import (import_functions.go importEmoji)."""
    lines = [ln for ln in base() if ln["type"] != "post"]  # no attachments to warn about
    at_root = _folder(tmp_path / "a", lines, {"exported_emoji/e1/image": EMOJI_PNG})
    report = validate_export(at_root)
    assert "emoji.file.missing" in report.codes("error")
    under_data = _folder(tmp_path / "b", lines, {"data/exported_emoji/e1/image": EMOJI_PNG})
    assert validate_export(under_data).ok


@pytest.mark.parametrize(
    ("kind", "data", "code"),
    [
        ("emoji", EMOJI_PNG, None),
        ("emoji", b"GIF89a broken", "emoji.image.undecodable"),
        ("emoji", EMOJI_PNG[:40], "emoji.image.undecodable"),
        ("profile", EMOJI_PNG, None),
        ("profile", b"\x89PNG fake", "profile_image.image.undecodable"),
        ("profile", _png_claiming(8000, 5000), "profile_image.image.undecodable"),
    ],
    ids=[
        "emoji-png",
        "emoji-not-an-image",
        "emoji-truncated",
        "profile-png",
        "profile-not-an-image",
        "profile-8k",
    ],
)
def test_images_must_decode(tmp_path, kind, data, code):
    """mmctl's validate decodes emoji images (``validateSupportedImage``: image.Decode with gif, jpeg,
    png, webp: validate.go); the importer decodes profile pictures (``importProfileImage`` ->
    ``checkImageLimits``, at most FileSettings.MaxImageResolution, then SetProfileImageFromFile:
    import_functions.go)."""
    lines = [ln for ln in base() if ln["type"] != "post"]
    user = next(ln for ln in lines if ln["type"] == "user")["user"]
    user["profile_image"] = "users/u1/profile.png"
    files = {"data/exported_emoji/e1/image": EMOJI_PNG, "data/users/u1/profile.png": EMOJI_PNG}
    files["data/exported_emoji/e1/image" if kind == "emoji" else "data/users/u1/profile.png"] = data
    report = validate_export(_folder(tmp_path, lines, files))
    if code is None:
        assert report.ok, report.errors
    else:
        assert code in report.codes("error"), report.errors


def test_an_svg_emoji_image_without_extension_is_a_warning(tmp_path):
    """mmctl's validate tells SVG by the ``.svg`` extension and would reject SVG bytes under another
    name (validate.go); the server's ``importEmoji`` stores the bytes undecoded (import_functions.go)."""
    lines = [ln for ln in base() if ln["type"] != "post"]
    folder = _folder(
        tmp_path, lines, {"data/exported_emoji/e1/image": b'<svg xmlns="http://www.w3.org/2000/svg"/>'}
    )
    report = validate_export(folder)
    assert report.ok, report.errors
    assert report.codes("warning") == {"emoji.image.svg_without_extension": 1}


def test_an_svg_emoji_image_must_be_xml(tmp_path):
    """mmctl's validate parses an ``.svg`` emoji image as XML instead of decoding it (validate.go)."""
    lines = [ln for ln in base() if ln["type"] != "post"]
    emoji = next(ln for ln in lines if ln["type"] == "emoji")["emoji"]
    emoji["image"] = "exported_emoji/e1/image.svg"
    good = _folder(tmp_path / "a", lines, {"data/exported_emoji/e1/image.svg": b"<svg/>"})
    assert validate_export(good).ok
    bad = _folder(tmp_path / "b", lines, {"data/exported_emoji/e1/image.svg": b"<svg"})
    assert "emoji.image.undecodable" in validate_export(bad).codes("error")


def test_a_missing_profile_picture_stops_the_import(tmp_path):
    """``ValidateUserImportData`` stats the profile image: a missing one is an error (import_validators.go)."""
    lines = [ln for ln in base() if ln["type"] != "post"]
    next(ln for ln in lines if ln["type"] == "user")["user"]["profile_image"] = "users/u1/profile.png"
    report = validate_export(_folder(tmp_path, lines, {"data/exported_emoji/e1/image": EMOJI_PNG}))
    assert "profile_image.file.missing" in report.codes("error")


def test_an_image_larger_than_mattermost_reads_is_refused(tmp_path, monkeypatch):
    """``importProfileImage`` reads at most FileSettings.MaxFileSize bytes (import_functions.go)."""
    from mmgov.bulk_export import mattermost_rules

    monkeypatch.setattr(mattermost_rules, "MAX_FILE_SIZE", len(EMOJI_PNG) - 1)
    lines = [ln for ln in base() if ln["type"] != "post"]
    report = validate_export(_folder(tmp_path, lines, {"data/exported_emoji/e1/image": EMOJI_PNG}))
    assert any("FileSettings.MaxFileSize" in f.message for f in report.errors), report.errors
