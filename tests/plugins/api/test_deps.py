"""The API routers' shared dependencies (plugins/mmgov_airflow/api/deps.py): the settings as the API server
reads them, and a request's JSON body."""

from __future__ import annotations

import asyncio
import json

import pytest
from mmgov_airflow.api.deps import json_body
from starlette.requests import Request

from mmgov.errors import MmgovError


class TestApiServerLoader:
    """The API server's reading (plugins/mmgov_airflow/api/deps.py): the environment, then the metadata DB."""

    def test_the_environment_comes_first(self, monkeypatch):
        from mmgov_airflow.api.deps import mattermost_settings

        from mmgov.settings import load_raw_variable

        raw = json.dumps({"MessageExportSettings": {"DailyRunTime": "03:15"}})
        monkeypatch.setenv("AIRFLOW_VAR_MATTERMOST_SETTINGS", raw)
        assert load_raw_variable(api_server=True) == raw
        assert mattermost_settings().MessageExportSettings.DailyRunTime == "03:15"

    def test_then_the_metadata_database(self, monkeypatch):
        from airflow.models import Variable

        from mmgov.settings import load_raw_variable

        asked: list[tuple[str, str | None]] = []

        def metadata_get(key: str, default_var: str | None = None) -> str | None:
            asked.append((key, default_var))
            return "{}"

        monkeypatch.delenv("AIRFLOW_VAR_MATTERMOST_SETTINGS", raising=False)
        monkeypatch.setattr(Variable, "get", metadata_get)
        assert load_raw_variable("fallback", api_server=True) == "{}"
        assert asked == [("mattermost_settings", "fallback")]


def post(body: bytes) -> Request:
    """A POST request whose body is ``body``, as Starlette hands it to a dependency."""

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({"type": "http", "method": "POST", "path": "/", "headers": []}, receive)


class TestJsonBody:
    def test_the_parsed_body(self):
        assert asyncio.run(json_body(post(b'{"display_name": "x", "team_ids": []}'))) == {
            "display_name": "x",
            "team_ids": [],
        }

    def test_no_body_is_none(self):
        assert asyncio.run(json_body(post(b""))) is None

    def test_not_json_is_a_400_with_a_code(self):
        with pytest.raises(MmgovError, match="request body is not valid JSON") as caught:
            asyncio.run(json_body(post(b"{nope")))
        assert (caught.value.code, caught.value.status) == ("MMGOV_INVALID_JSON", 400)
