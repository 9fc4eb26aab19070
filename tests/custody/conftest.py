"""Fixtures for the chain-of-custody tests: a signing key in the ``mmgov_signing`` connection, exports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from mmgov.compliance.delivery import LocalDestination
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.tasks import export_window_to_destination
from mmgov.custody.signing import Signer, public_pem
from mmgov.settings import Settings
from tests.compliance.conftest import ws  # noqa: F401 - fixtures of the Global Relay SMTP tests
from tests.compliance.test_globalrelay_delivery import gr_env, sleeps, workspace  # noqa: F401
from tests.conftest import DEMO_END_MS

WINDOW = ExportWindow(0, DEMO_END_MS + 1)


@dataclass
class SigningKey:
    signer: Signer
    public_key: Path

    @property
    def conn_json(self) -> str:
        return json.dumps({"conn_type": "generic", "password": self.signer.private_pem()})


def make_key(tmp_path: Path, name: str = "signing") -> SigningKey:
    signer = Signer.generate()
    path = tmp_path / f"{name}.pub.pem"
    path.write_bytes(public_pem(signer.public_key))
    return SigningKey(signer, path)


@pytest.fixture
def signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SigningKey:
    """A fresh Ed25519 key in the ``mmgov_signing`` connection (as Airflow reads it: the env)."""
    key = make_key(tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_MMGOV_SIGNING", key.conn_json)
    return key


def demo_settings(store: Path, **mmgov: object) -> Settings:
    return Settings.parse(
        {
            "FileSettings": {"DriverName": "local", "Directory": str(store)},
            "MessageExportSettings": {"BatchSize": 1000},
            "Mmgov": dict(mmgov),
        }
    )


@pytest.fixture
def export_demo(demo_db, tmp_path: Path):
    """``export_demo(fmt="csv", **mmgov)`` -> the run folder of a 3-batch export of the demo workspace."""
    dsn, store, _summary = demo_db

    def run(export_format: str = "csv", dest: Path | None = None, run_id: str = "t", **mmgov: object) -> Path:
        dest = dest or tmp_path / "exports"
        with psycopg.connect(dsn, autocommit=True) as conn:
            summary = export_window_to_destination(
                conn,
                WINDOW,
                demo_settings(store, **mmgov),
                destination=LocalDestination(dest),
                export_format=export_format,
                run_id=run_id,
            )
        folder = dest / WINDOW.folder_name
        assert summary["custody"]["manifest"] == str(folder / "manifest.json")
        return folder

    return run
