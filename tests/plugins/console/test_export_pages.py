"""The console's export pages: compliance export history (with custody verification) and GDPR export jobs."""

from __future__ import annotations

import re

import pytest

from mmgov import audit
from mmgov.ids import new_id
from tests.plugins.browser import text

pytestmark = pytest.mark.airflow


def test_compliance_export_history_and_gdpr_jobs(admin, db):
    run_id = f"scheduled__{new_id()[:6]}"
    audit.record(
        db,
        "compliance_export.completed",
        {
            "run_id": run_id,
            "format": "actiance",
            "messages": 1234,
            "files": 5,
            "warnings": 1,
            "warning_lines": ["post x: file missing"],
            "location": "/exports/compliance-export-1",
            "window_start_ms": 1_767_225_600_000,
            "window_end_ms": 1_767_312_000_000,
            "custody": {
                "location": "/nowhere/manifest.json",
                "sha256": "ab",
                "signed": False,
                "key_id": None,
            },
        },
    )
    db.execute(
        "INSERT INTO mmgov.gdpr_export_jobs (job_id, status, actor, progress, output_path)"
        " VALUES (%s, 'completed', 'airflow:admin', '{\"users\": 3, \"posts\": 40}', '/x.zip')",
        (f"job-{run_id}",),
    )
    audit.record(db, "export.completed", {"job_id": f"job-{run_id}", "file_size_bytes": 2048})
    status, body = admin.get("/mmgov/console/exports")
    page = text(body)
    assert status == 200
    assert (
        f"{run_id} 2026-01-01 01:00 CET \u2192 2026-01-02 01:00 CET actiance 1,234 5 1; post x: file missing"
        in page
    )
    assert "written, unsigned" in page
    audit_id = re.search(r"exports/(\d+)/verify", body).group(1)
    status, body = admin.post(f"/mmgov/console/exports/{audit_id}/verify", {})
    assert "verification FAILED" in text(body)
    status, body = admin.get("/mmgov/console/gdpr")
    assert f"job-{run_id} completed airflow:admin" in text(body)
    assert "posts: 40" in text(body)
    assert "2,048 bytes" in text(body)
