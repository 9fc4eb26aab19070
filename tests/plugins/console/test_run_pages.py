"""The console's purge run pages: a run's preview (times in the configured zone) and restoring one channel."""

from __future__ import annotations

import time

import pytest

from mmgov.ids import new_id
from tests.plugins.browser import field_error, text
from tests.retention.builders import deleted_posts

pytestmark = pytest.mark.airflow


def test_run_preview_and_restore_one_channel(admin, db, ws, console_settings):
    from mmgov.retention.preview import preview_purge
    from mmgov.retention.purge import soft_delete

    suffix = new_id()[:6]
    team = ws.team(f"r{suffix}")
    keep, gone = ws.channel(team, name="keep"), ws.channel(team, name="gone")
    ws.now = int(time.time() * 1000)
    posts = {ws.post(keep, 200), ws.post(gone, 200)}
    s = console_settings
    run = preview_purge(db, s, dag_run_id=f"manual__{suffix}")
    soft_delete(db, s, run["run_id"])
    assert posts <= deleted_posts(db)
    status, body = admin.get("/mmgov/console/runs")
    assert run["run_id"] in body
    status, body = admin.get(f"/mmgov/console/runs/{run['run_id']}")
    page = text(body)
    assert status == 200
    assert f"r{suffix} / keep" in page
    assert "(times in Europe/Berlin)" in page
    assert "Global message retention (DataRetentionSettings) 100 days created before" in page
    status, body = admin.post(f"/mmgov/console/runs/{run['run_id']}/restore", {"channel": keep})
    assert status == 400
    assert field_error(body, "confirm") == "Tick \u201cI confirm\u201d to restore."
    status, body = admin.post(
        f"/mmgov/console/runs/{run['run_id']}/restore", {"channel": keep, "confirm": "yes"}
    )
    assert status == 200
    assert f"Restore: restored 1 messages and 0 files in channel r{suffix} / keep" in text(body)
    status, body = admin.post(
        f"/mmgov/console/runs/{run['run_id']}/restore", {"channel": keep, "confirm": "yes"}
    )
    assert "nothing left to restore" in text(body)
