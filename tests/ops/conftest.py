"""The headless Chromium page the UI tests drive (one per test module)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.airflow_ui import CHROMIUM, CHROMIUM_FLAGS


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Any]:
    """A page of headless Debian Chromium (new empty profile), or a skip saying what is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install chromium (make browser-deps)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt; make install)"
    )
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="mmgov-chromium-") as profile:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        context.set_default_timeout(30_000)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
