"""File copying safety: what cannot be copied is a warning, never a read outside the file store; odd names survive."""

from __future__ import annotations

import os

import pytest

from mmgov.bulk_export.archive import FolderSink
from mmgov.bulk_export.file_copy import FileCopier
from mmgov.file_store import LocalFileStore
from tests.bulk_export.workspace import export_once


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../outside.txt", "'..' refused"),
        ("/etc/hostname", "absolute file path refused"),
        ("link/secret.txt", "outside the file store"),
        ("missing.txt", "not found"),
        ("a-folder", "not a regular file"),
    ],
    ids=["dotdot", "absolute", "symlink-out", "missing", "directory"],
)
def test_a_file_that_cannot_be_copied_is_a_warning(tmp_path, path, reason):
    store = tmp_path / "store"
    (store / "a-folder").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("never copied")
    os.symlink(outside, store / "link")
    (tmp_path / "outside.txt").write_text("never copied")
    sink = FolderSink(tmp_path, "exp")
    copier = FileCopier(LocalFileStore(store), sink, tmp_path / "w.txt")
    assert copier.copy("attachment", path, f"data/{path.replace('..', 'x')}", "post p") is False
    warnings = copier.close().read_text().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith(f'attachment "{path}" (post p): ')
    assert reason in warnings[0]
    sink.commit(None)
    assert not any(p.is_file() and p.name != "import.jsonl" for p in (tmp_path / "exp").rglob("*"))


def test_file_names_with_odd_characters_survive(edge_workspace, tmp_path):
    odd = "20260101/teams/alpha/channels/town/users/alice/f9/rapport été, v2 (final).txt"
    edge_workspace.b.file("f9", "p4", "dave", odd, b"contenu")
    export = export_once(edge_workspace.dsn, tmp_path / "out", edge_workspace.store)
    assert export.members[f"data/{odd}"] == b"contenu"
    p4 = next(p for p in export.of_type("post") if p["message"] == "Dave asks something")
    assert p4["attachments"] == [{"path": odd}]
