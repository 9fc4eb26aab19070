"""The page registry (plugins/mmgov_airflow/console/pages.py): importing it registers every page group,
so each navigation entry opens, and the console's root leads to the first page."""

from __future__ import annotations

import re

import pytest
from mmgov_airflow.console.base import NAV

from tests.plugins.browser import text

pytestmark = pytest.mark.airflow


def test_every_navigation_entry_opens_with_the_navigation(admin):
    for page, title in NAV:
        status, body = admin.get(f"/mmgov/console/{page}")
        assert status == 200, (page, text(body))
        assert re.findall(r'href="[^"]*/console/(\w+)"', body)[: len(NAV)] == [name for name, _ in NAV]
        assert f'href="/mmgov/console/{page}" class="here">{title}</a>' in body


def test_the_root_opens_the_retention_policies(admin):
    status, body = admin.get("/mmgov/console/")
    assert status == 200
    assert "Retention policies" in text(body)
    assert 'href="/mmgov/console/policies" class="here">' in body


def test_the_stylesheet_is_served(admin):
    status, body, _ = admin.request("GET", "/mmgov/console/static/console.css")
    assert status == 200
    assert "nav" in body
