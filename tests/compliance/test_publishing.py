"""mmgov.compliance.publishing: a staged run delivered atomically (nothing under a final name until
its bytes are complete), a crash while publishing finished by the retry, the custody manifest last.

Batches, window edges and reconciliation of whole runs are tests/compliance/test_batches_and_delivery.py.
"""

from __future__ import annotations

import pytest

import mmgov.compliance.delivery as delivery_mod
from mmgov.compliance.delivery import LocalDestination
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.formats import get_format
from mmgov.compliance.publishing import deliver
from mmgov.compliance.staging import check_staged, stage_export
from mmgov.file_store import LocalFileStore
from tests.compliance.builders import csv_request, town_channel
from tests.compliance.conftest import settings_for

T0 = 1_767_225_600_000
START, END = T0, T0 + 100_000


def _staged_run(mm_conn, ws, file_store, tmp_path):
    """Seven posts of one channel staged as a CSV export into ``tmp_path/exports`` (not yet delivered)."""
    chan, alice = town_channel(ws, T0 - 1000)
    for i in range(7):
        ws.post(f"p{i}", channel=chan, user=alice, create=T0 + i)
    window = ExportWindow(START, END)
    dest = LocalDestination(tmp_path / "exports")
    fmt = get_format("csv", settings_for(file_store))
    request = csv_request(window)
    manifest = stage_export(mm_conn, request, fmt, LocalFileStore(file_store), dest)
    return window, dest, fmt, request, manifest


class TestAtomicDelivery:
    def test_failure_between_format_and_deliver_leaves_nothing_final(self, mm_conn, ws, file_store, tmp_path):
        window, dest, fmt, request, manifest = _staged_run(mm_conn, ws, file_store, tmp_path)
        check_staged(request, manifest, dest)
        # The run dies here (worker lost between format and deliver): nothing under a final name.
        final = tmp_path / "exports" / window.folder_name
        assert not final.exists()
        assert not list((tmp_path / "exports").rglob("batch*.zip.part"))
        # The retry of deliver finishes the job from staging.
        summary = deliver(request, manifest, fmt, dest)
        assert sorted(p.name for p in final.iterdir()) == sorted(
            [*(r.zip_name for r in manifest.batches), "manifest.json"]  # the custody manifest, written last
        )
        assert summary["messages"] == 7
        assert summary["status"] == "success"

    def test_crash_in_the_middle_of_publishing_is_finished_by_the_retry(
        self, mm_conn, ws, file_store, tmp_path, monkeypatch
    ):
        window, dest, fmt, request, manifest = _staged_run(mm_conn, ws, file_store, tmp_path)
        calls = {"n": 0}
        original = delivery_mod.os.replace

        def flaky_replace(src, dst):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError("disk went away")
            return original(src, dst)

        monkeypatch.setattr(delivery_mod.os, "replace", flaky_replace)
        with pytest.raises(OSError, match="disk went away"):
            deliver(request, manifest, fmt, dest)
        monkeypatch.setattr(delivery_mod.os, "replace", original)
        final = tmp_path / "exports" / window.folder_name
        assert len(list(final.glob("batch*.zip"))) == 1  # only complete files, under their final names
        check_staged(request, manifest, dest)  # reconcile still passes: published + staged cover all
        deliver(request, manifest, fmt, dest)
        assert sorted(p.name for p in final.iterdir()) == sorted(
            [*(r.zip_name for r in manifest.batches), "manifest.json"]  # the custody manifest, written last
        )
