"""The API docs (plugins/mmgov_airflow/api/docs.py): Swagger UI from installed files, no CDN."""

from __future__ import annotations

import re

import pytest

from tests.plugins.browser import Browser

pytestmark = pytest.mark.airflow
SETTINGS: dict = {}


def test_api_docs_are_served_without_a_cdn(api):
    status, body, _ = Browser(api, None).request("GET", "/mmgov/docs")
    assert status == 200
    assert "cdn" not in body.lower()
    assert not re.search(r"(src|href)=['\"]https?://", body)
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/mmgov/docs/static/{asset}" in body
        status, content, _ = Browser(api, None).request("GET", f"/mmgov/docs/static/{asset}")
        assert status == 200
        assert len(content) > 10_000
    status, spec, _ = Browser(api, None).request("GET", "/mmgov/openapi.json")
    assert status == 200
    assert "/api/v4/data_retention/search/{kind}" in spec
