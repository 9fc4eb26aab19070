"""Fixtures for the compliance export tests: a row builder, settings, and a runner returning the zips."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mmgov.compliance.delivery import LocalDestination
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.tasks import export_window_to_destination
from mmgov.settings import Settings
from tests.compliance.builders import Workspace


@pytest.fixture
def ws(mm_conn: psycopg.Connection, file_store: Path) -> Workspace:
    return Workspace(mm_conn, file_store)


def settings_for(file_store: Path, **export: Any) -> Settings:
    return Settings.parse(
        {
            "FileSettings": {"DriverName": "local", "Directory": str(file_store)},
            "MessageExportSettings": {"EnableExport": True, "ExportFormat": "csv", **export},
        }
    )


@dataclass
class ExportOutput:
    summary: dict[str, Any]
    folder: Path

    @property
    def zips(self) -> list[Path]:
        return sorted(self.folder.glob("batch*.zip"))

    def read(self, zip_path: Path, name: str) -> str:
        with zipfile.ZipFile(zip_path) as zf:
            return zf.read(name).decode("utf-8")

    def names(self, zip_path: Path) -> list[str]:
        with zipfile.ZipFile(zip_path) as zf:
            return zf.namelist()

    def csv_lines(self) -> list[str]:
        """posts.csv lines of every batch, header excluded, in batch order."""
        out: list[str] = []
        for z in self.zips:
            out.extend(self.read(z, "posts.csv").split("\n")[1:-1])
        return out


@pytest.fixture
def run_export(mm_conn: psycopg.Connection, file_store: Path, tmp_path: Path):
    """``run_export(start, end, batch_size=..., dest=..., export_format=...)`` -> :class:`ExportOutput`
    (CSV unless ``export_format`` says otherwise, into a local folder)."""

    def run(
        start: int,
        end: int,
        *,
        batch_size: int = 10000,
        dest: Path | None = None,
        run_id: str = "t",
        export_format: str = "csv",
    ) -> ExportOutput:
        dest = dest or tmp_path / "exports"
        settings = settings_for(file_store, BatchSize=batch_size, ExportFormat=export_format)
        window = ExportWindow(start, end)
        summary = export_window_to_destination(
            mm_conn,
            window,
            settings,
            export_format=export_format,
            destination=LocalDestination(dest),
            run_id=run_id,
        )
        return ExportOutput(summary, dest / window.folder_name)

    return run
