"""Task defaults every mmgov DAG uses: retries with backoff and failure alerts.

Callbacks sit at task level (``default_args``): DAG-level callbacks are unreliable in Airflow 3.3.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mmgov_airflow.notifiers import ConfiguredSmtpNotifier, MattermostWebhookNotifier


def failure_notifiers() -> list[Any]:
    """One notifier per alert channel; each skips when its connection is not configured."""
    return [ConfiguredSmtpNotifier(), MattermostWebhookNotifier()]


def default_args(*, retries: int = 2, retry_delay: timedelta = timedelta(minutes=1)) -> dict[str, Any]:
    """``default_args`` for a DAG: owner, retries with exponential backoff, failure alerts."""
    return {
        "owner": "mmgov",
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": failure_notifiers(),
    }
