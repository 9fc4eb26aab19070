"""A format's accelerator (PostgreSQL renders its posts without files) writes the zips its Python
rendering writes, byte for byte: every entry of every zip, for every format that has one."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mmgov.compliance.formats import format_class, format_names
from tests.compliance.builders import Workspace, rendering_workspace

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
START, END = T0, T0 + 100_000

ACCELERATED = ["csv", "actiance"]


def test_every_format_with_an_accelerator_is_checked_against_its_python_rendering():
    with_one = [name for name in format_names() if format_class(name).accelerator is not None]
    assert with_one == sorted(ACCELERATED)


def _entries(zips: list[Path]) -> dict[tuple[str, str], bytes]:
    out = {}
    for z in zips:
        with zipfile.ZipFile(z) as zf:
            out.update({(z.name, name): zf.read(name) for name in zf.namelist()})
    return out


@pytest.mark.parametrize("export_format", ACCELERATED)
def test_accelerated_zips_equal_the_python_path(
    ws: Workspace, run_export, tmp_path, monkeypatch, export_format
):
    posts = rendering_workspace(ws, at=T0, before=START - 50)

    accelerated = run_export(START, END, batch_size=7, dest=tmp_path / "db", export_format=export_format)
    monkeypatch.setattr(format_class(export_format), "accelerator", None)
    in_python = run_export(START, END, batch_size=7, dest=tmp_path / "py", export_format=export_format)

    assert len(accelerated.zips) == len(in_python.zips) > 10
    assert _entries(accelerated.zips) == _entries(in_python.zips)
    for key in ("messages", "message_entries", "attachments", "members"):
        assert accelerated.summary.get(key) == in_python.summary.get(key), key
    assert accelerated.summary["messages"] == posts
    # one entry per post, plus the "created" entries of del0, del2 and del-file (deleted inside the window)
    assert accelerated.summary["message_entries"] == posts + 3
