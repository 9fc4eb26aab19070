"""The mmgov app (plugins/mmgov_airflow/api/app.py) on a real ``airflow api-server``: every error is JSON
``{id, message, status_code}`` on the API and a page on the console."""

from __future__ import annotations

import pytest

from mmgov.ids import new_id
from tests.plugins.browser import Browser, text

pytestmark = pytest.mark.airflow
SETTINGS: dict = {}
POLICIES = "/mmgov/api/v4/data_retention/policies"


def test_a_domain_error_is_json_with_its_code(api):
    status, error = api.request("GET", f"{POLICIES}/{new_id()}", user="admin")
    assert status == 404
    assert error["id"] == "RETENTION_POLICY_NOT_FOUND"
    assert error["status_code"] == 404


def test_a_domain_error_on_a_console_page_is_a_page(api):
    status, body, _ = Browser(api, "admin").request("GET", f"/mmgov/console/policies/{new_id()}/edit")
    assert status == 404
    assert "RETENTION_POLICY_NOT_FOUND" in text(body)
    assert body.lstrip().lower().startswith("<!doctype html")


def test_an_invalid_parameter_is_a_400_naming_it(api):
    status, error = api.request("GET", f"{POLICIES}?per_page=0", user="admin")
    assert status == 400
    assert error["id"] == "MMGOV_INVALID_REQUEST"
    assert error["message"].startswith("query.per_page: ")
    assert error["status_code"] == 400


def test_an_unknown_path_is_a_json_404(api):
    status, error = api.request("GET", "/mmgov/api/v4/no_such_area", user="admin")
    assert (status, error) == (404, {"id": "MMGOV_HTTP_404", "message": "Not Found", "status_code": 404})
