"""ZIP and folder outputs, atomic completion, the output path check, safe member names."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mmgov.bulk_export import archive
from mmgov.bulk_export.archive import FolderSink, ZipArchiveSink, check_output_path, safe_member_name
from mmgov.bulk_export.errors import ExportOutputPathUnavailable
from tests.bulk_export.workspace import export_once


def test_zip_and_folder_hold_the_same_export(edge_workspace, tmp_path):
    zipped = export_once(
        edge_workspace.dsn, tmp_path / "z", edge_workspace.store, job_id="z", create_archive=True
    )
    folder = export_once(
        edge_workspace.dsn, tmp_path / "f", edge_workspace.store, job_id="f", create_archive=False
    )
    assert zipped.path.suffix == ".zip"
    assert zipped.path.is_file()
    assert folder.path.is_dir()
    assert zipped.path.name.startswith("gdpr-export-")
    assert folder.path.name.startswith("gdpr-export-")
    assert sorted(zipped.members) == sorted(folder.members)
    assert {"import.jsonl", "warnings.txt"} <= set(zipped.members)
    assert zipped.jsonl.splitlines()[1:] == folder.jsonl.splitlines()[1:]
    assert zipped.warnings == folder.warnings
    assert zipped.summary["file_size_bytes"] == zipped.path.stat().st_size
    with zipfile.ZipFile(zipped.path) as zf:
        assert zf.testzip() is None
        info = {i.filename: i for i in zf.infolist()}
        assert info["import.jsonl"].compress_type == zipfile.ZIP_DEFLATED
    # nothing but the finished export is left behind
    manifest = ".manifest.json"  # beside each export (mmgov.custody)
    assert sorted(p.name for p in (tmp_path / "z").iterdir()) == [
        zipped.path.name,
        zipped.path.name + manifest,
    ]
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [
        folder.path.name,
        folder.path.name + manifest,
    ]


def test_zip_entries_are_streamed_with_zip64_when_the_size_is_unknown(tmp_path):
    sink = ZipArchiveSink(tmp_path, "x")
    sink.jsonl().write('{"type":"version","version":1}\n')

    class Unsized:
        def __init__(self):
            self.chunks = [b"a" * 10, b"b" * 10]

        def read(self, _size=-1):
            return self.chunks.pop(0) if self.chunks else b""

    sink.add_file("data/unsized.bin", Unsized())
    final = sink.commit(None)
    with zipfile.ZipFile(final) as zf:
        assert zf.read("data/unsized.bin") == b"a" * 10 + b"b" * 10
        assert zf.getinfo("data/unsized.bin").extract_version >= 45  # written with a ZIP64 local header
    assert not (tmp_path / ".x.zip.partial").exists()
    assert not (tmp_path / ".x.jsonl.partial").exists()


@pytest.mark.parametrize("problem", ["file", "unwritable", "uncreatable"])
def test_output_path_must_be_a_writable_folder(tmp_path, problem, monkeypatch):
    if problem == "file":
        target = tmp_path / "a-file"
        target.write_text("x")
    elif problem == "uncreatable":
        (tmp_path / "blocker").write_text("x")
        target = tmp_path / "blocker" / "sub"
    else:
        target = tmp_path / "ro"
        target.mkdir()

        def deny(*_a, **_k):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(archive, "open", deny, raising=False)
    with pytest.raises(ExportOutputPathUnavailable, match="output_path") as info:
        check_output_path(target)
    assert info.value.code == "EXPORT_OUTPUT_PATH_UNAVAILABLE"
    assert info.value.status == 503


@pytest.mark.parametrize("name", ["/abs", "../up", "a/../../b", "a\\b", ""])
def test_member_names_cannot_escape_the_export(name):
    with pytest.raises(ValueError, match="unsafe name"):
        safe_member_name(name)


def test_folder_sink_refuses_to_replace_an_existing_export(tmp_path):
    (tmp_path / "same").mkdir()
    sink = FolderSink(tmp_path, "same")
    with pytest.raises(FileExistsError):
        sink.commit(None)
    sink.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same"]


def test_relative_member_path(tmp_path: Path):
    assert safe_member_name("data/a/b.txt") == "data/a/b.txt"
