"""A browser for the Governance console and the API docs: pages with Airflow's session cookie.

Shared by tests/plugins/console/ (one module per page group) and tests/plugins/api/test_docs.py.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from html import unescape
from urllib.parse import urlencode

from tests.support.airflow_api import ApiServer

PAGE_SECONDS = 1.0


class Browser:
    """GET/POST pages with Airflow's session cookie (``_token``), as the UI's iframe does."""

    def __init__(self, api: ApiServer, user: str | None):
        self.api, self.user = api, user

    def request(
        self, method: str, path: str, form: dict | None = None, *, origin: str | None = "self"
    ) -> tuple[int, str, float]:
        headers = {}
        if self.user is not None:
            headers["Cookie"] = f"_token={self.api.token(self.user)}"
        data = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if origin is not None:
            headers["Origin"] = self.api.base_url if origin == "self" else origin
        req = urllib.request.Request(self.api.base_url + path, data=data, method=method, headers=headers)  # noqa: S310
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback
                status, body = resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read().decode()
        return status, body, time.monotonic() - started

    def get(self, path: str) -> tuple[int, str]:
        status, body, seconds = self.request("GET", path)
        assert seconds < PAGE_SECONDS, f"{path} took {seconds:.2f}s"
        return status, body

    def post(self, path: str, form: dict, **kw) -> tuple[int, str]:
        status, body, _ = self.request("POST", path, form, **kw)
        return status, body


def text(html: str) -> str:
    """The page's visible text, whitespace collapsed."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def field_error(html: str, field: str) -> str:
    found = re.search(rf'data-field="{field}">(.*?)</span>', html, flags=re.S)
    return unescape(found.group(1)) if found else ""
